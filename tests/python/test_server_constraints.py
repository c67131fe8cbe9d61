"""Constrained decoding end to end with the openai client on the tiny (random) model:
response_format json_object must give text that json.loads parses as an object, for several seeds at
temperature 1; tool_choice "required" with several tools must give a parsed call to an allowed
function with both tool-call parsers, though nothing but the constraint steers the model, and forced
calls carry arguments of the declared types.
"""
import json

import pytest

from conftest import TINY_SERVER_FLAGS, launch_glmserve

MESSAGES = [{"role": "user", "content": "Give me a JSON object describing Paris."}]
NO_THINKING = {"chat_template_kwargs": {"enable_thinking": False}}


def tool(name):
    return {"type": "function", "function": {
        "name": name, "description": f"{name} tool",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


TOOLS = [tool("get_weather"), tool("get_time"), tool("book_table")]


def test_json_object_output_parses(tiny_server):
    """A random model wanders: at temperature 1 some seeds do not close the object within max_tokens
    (finish "length"). Every answer that ended by itself must parse, and most must end."""
    client = tiny_server.openai()
    stopped = 0
    for seed in range(1, 9):
        r = client.chat.completions.create(
            model="glm-tiny", messages=MESSAGES, temperature=1.0, seed=seed, max_tokens=1000,
            response_format={"type": "json_object"}, extra_body=NO_THINKING)
        choice = r.choices[0]
        if choice.finish_reason == "stop":
            stopped += 1
            assert isinstance(json.loads(choice.message.content), dict), choice.message.content
        else:
            assert choice.finish_reason == "length"
            with pytest.raises(json.JSONDecodeError):  # cut short, so not yet a whole value
                json.loads(choice.message.content)
    assert stopped >= 3


def test_json_object_streamed_output_parses(tiny_server):
    client = tiny_server.openai()
    text, finish = "", None
    for chunk in client.chat.completions.create(
            model="glm-tiny", messages=MESSAGES, temperature=1.0, seed=2, max_tokens=2000, stream=True,
            response_format={"type": "json_object"}, extra_body=NO_THINKING):
        for ch in chunk.choices:
            text += ch.delta.content or ""
            finish = ch.finish_reason or finish
    assert finish == "stop"
    assert isinstance(json.loads(text), dict), text


def test_json_object_after_reasoning(tiny_server):
    """Thinking on: the constraint waits for </think> (forced here as the first token), so the
    reasoning is free and the answer after it is the JSON object; without that wait the constraint
    would refuse </think> and the whole output would land in reasoning_content."""
    import httpx

    think_end = httpx.post(tiny_server.url + "/v1/tokenize", json={"prompt": "</think>", "add_special_tokens": False},
                           timeout=30).json()["tokens"]
    assert len(think_end) == 1
    client = tiny_server.openai()
    stopped = 0
    for seed in (2, 6, 7):
        r = client.chat.completions.create(
            model="glm-tiny", messages=MESSAGES, temperature=1.0, seed=seed, max_tokens=1000,
            response_format={"type": "json_object"},
            extra_body={"custom_logit_processor": "ForcedSequenceLogitProcessor",
                        "custom_params": {"forced_token_ids": think_end}})
        choice = r.choices[0]
        if choice.finish_reason == "stop":
            stopped += 1
            assert isinstance(json.loads(choice.message.content), dict), choice.message.content
    assert stopped >= 1


def test_json_schema_top_level_type_and_native_api(tiny_server):
    import httpx

    client = tiny_server.openai()
    r = client.chat.completions.create(
        model="glm-tiny", messages=MESSAGES, temperature=1.0, seed=7, max_tokens=200, extra_body=NO_THINKING,
        response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "array"}}})
    assert r.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(r.choices[0].message.content), list)
    native = httpx.post(tiny_server.url + "/generate", json={
        "text": "number:", "sampling_params": {"json_schema": json.dumps({"type": "integer"}), "temperature": 1.0,
                                              "max_new_tokens": 30, "seed": 3}}, timeout=60).json()
    value = json.loads(native["text"])
    assert isinstance(value, int) and not isinstance(value, bool), native["text"]
    bad = httpx.post(tiny_server.url + "/generate", json={
        "text": "x", "sampling_params": {"json_schema": "[1, 2]", "max_new_tokens": 4}}, timeout=60)
    assert bad.status_code == 400


def test_json_schema_properties_enforced(tiny_server):
    """A schema with properties, required keys, an enum, an integer and a nested array: every answer
    that ended by itself validates (the jsonschema library as the oracle)."""
    schema = {"type": "object", "additionalProperties": False, "required": ["city", "days"],
              "properties": {"city": {"enum": ["Paris", "Oslo"]}, "days": {"type": "integer"},
                             "windy": {"type": "boolean"},
                             "hours": {"type": "array", "items": {"type": "number"}}}}
    assert_json_schema_answers_validate(tiny_server, schema, seeds=range(1, 7), max_tokens=300)


def assert_json_schema_answers_validate(srv, schema, seeds, max_tokens):
    """Chat answers under response_format json_schema at temperature 1: every one that ended by itself
    validates (jsonschema as the oracle), and at least two did."""
    jsonschema = pytest.importorskip("jsonschema")
    client = srv.openai()
    stopped = 0
    for seed in seeds:
        r = client.chat.completions.create(
            model="glm-tiny", messages=MESSAGES, temperature=1.0, seed=seed, max_tokens=max_tokens,
            extra_body=NO_THINKING, response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}})
        choice = r.choices[0]
        if choice.finish_reason == "stop":
            stopped += 1
            jsonschema.validate(json.loads(choice.message.content), schema)
    assert stopped >= 2


def test_json_schema_with_refs_and_optionals_as_pydantic_writes_them(tiny_server):
    """The schema shape of `client.beta.chat.completions.parse(response_format=Model)`: nested models under
    $defs referenced with $ref, Optional fields as anyOf [X, null], a recursive model; every answer that
    ended by itself validates (jsonschema as the oracle)."""
    schema = {
        "$defs": {
            "Pet": {"type": "object", "additionalProperties": False, "required": ["kind"],
                    "properties": {"kind": {"enum": ["cat", "dog"]},
                                   "age": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 30},
                                                     {"type": "null"}]}}},
            "Person": {"type": "object", "additionalProperties": False, "required": ["name", "pet", "initials"],
                       "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 8},
                                      "initials": {"type": "string", "pattern": "^[A-Z]{1,3}$"},
                                      "pet": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}], "default": None},
                                      "friends": {"type": "array", "items": {"$ref": "#/$defs/Person"},
                                                  "maxItems": 2}}},
        },
        "type": "object", "additionalProperties": False, "required": ["owner"],
        "properties": {"owner": {"$ref": "#/$defs/Person"}, "ok": {"type": ["boolean", "null"]}},
    }
    assert_json_schema_answers_validate(tiny_server, schema, seeds=range(1, 9), max_tokens=400)


@pytest.mark.parametrize("parser", ["glm45", "glm47"])
def test_required_tool_choice_names_an_allowed_function(parser):
    flags = list(TINY_SERVER_FLAGS)
    flags[flags.index("--tool-call-parser") + 1] = parser
    allowed = {t["function"]["name"] for t in TOOLS}
    with launch_glmserve("glm45-tiny", *flags) as srv:
        client = srv.openai()
        for seed in range(1, 6):
            r = client.chat.completions.create(
                model="glm-tiny", messages=MESSAGES, tools=TOOLS, tool_choice="required", temperature=1.0,
                seed=seed, max_tokens=12)
            # The random model rarely closes the call within 12 tokens (the non-streamed parser then
            # sees an unclosed block and no call). What must hold is that the text after <tool_call>
            # starts with an allowed name and separator, which the streamed tool-call name shows.
            names = set()
            for chunk in client.chat.completions.create(
                    model="glm-tiny", messages=MESSAGES, tools=TOOLS, tool_choice="required", temperature=1.0,
                    seed=seed, max_tokens=12, stream=True):
                for ch in chunk.choices:
                    for tc in ch.delta.tool_calls or []:
                        if tc.function.name:
                            names.add(tc.function.name)
            assert r.choices[0].finish_reason in ("length", "tool_calls", "stop")
            # glm45 streams the name once its newline is there, glm47 once <arg_key> or </tool_call>
            # follows: the constraint makes the model write exactly that.
            assert len(names) == 1 and names <= allowed, names
            for call in r.choices[0].message.tool_calls or []:  # a call closed within the budget
                assert call.function.name in allowed


TYPED_TOOLS = [
    {"type": "function", "function": {"name": "set_alarm", "parameters": {
        "type": "object",
        "properties": {"day": {"type": "string", "enum": ["monday", "friday"]}, "loud": {"type": "boolean"},
                       "snooze": {"enum": [5, 10]}, "label": {"type": ["boolean", "null"]}},
        "required": ["day", "loud"]}}},
    {"type": "function", "function": {"name": "pick_color", "parameters": {
        "type": "object", "properties": {"color": {"type": "string", "enum": ["red", "dark (navy)", "light.blue"]}},
        "required": ["color"]}}},
]


@pytest.mark.parametrize("parser", ["glm45", "glm47"])
def test_forced_tool_calls_have_arguments_of_the_declared_types(parser):
    """tool_choice "required" / named constrains the whole call in the template's XML (not only the
    name): a random model at temperature 1 must produce exactly one closed call whose parsed arguments
    validate against the tool's JSON schema (jsonschema is the oracle), required keys included."""
    import jsonschema
    flags = list(TINY_SERVER_FLAGS)
    flags[flags.index("--tool-call-parser") + 1] = parser
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in TYPED_TOOLS}
    with launch_glmserve("glm45-tiny", *flags) as srv:
        client = srv.openai()
        for tool_choice in ("required", {"type": "function", "function": {"name": "pick_color"}}):
            names = set()
            for seed in range(1, 7):
                r = client.chat.completions.create(
                    model="glm-tiny", messages=MESSAGES, tools=TYPED_TOOLS, tool_choice=tool_choice,
                    parallel_tool_calls=False, temperature=1.0, seed=seed, max_tokens=300)
                choice = r.choices[0]
                assert choice.finish_reason == "tool_calls", (tool_choice, seed, choice)
                calls = choice.message.tool_calls
                assert len(calls) == 1, calls
                name = calls[0].function.name
                if tool_choice != "required":
                    assert name == "pick_color"
                names.add(name)
                jsonschema.validate(json.loads(calls[0].function.arguments), schemas[name])
            if tool_choice == "required":
                assert names == set(schemas), names  # both tools were reachable


REGEXES = [r"(yes|no)", r"[0-9]{3}-[0-9]{4}", r"(\d{1,2}):(\d\d) ?(AM|PM)", r"[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8}){0,2}",
           r"\{\"answer\": (true|false)\}"]


@pytest.mark.parametrize("pattern", REGEXES)
def test_regex_output_matches_with_every_api(tiny_server, pattern):
    """The `regex` sampling parameter (SGLang's extra parameter) on /generate, chat and completions: a
    random model at temperature 1 is steered only by the constraint; Python's re is the oracle."""
    import re

    for t in answers_with_every_api(tiny_server, {"regex": pattern}, max_tokens=64):
        assert re.fullmatch(pattern, t, flags=re.ASCII), (pattern, t)


def answers_with_every_api(srv, constraint, max_tokens):
    """The answers of /generate (in sampling_params), chat and completions (top-level fields) under one
    constraint, two seeds each, temperature 1: each must have ended by itself."""
    import httpx

    client = srv.openai()
    texts = []
    for seed in (1, 2):
        native = httpx.post(srv.url + "/generate", json={
            "text": "answer:", "sampling_params": {**constraint, "temperature": 1.0, "max_new_tokens": max_tokens,
                                                   "seed": seed}}, timeout=60).json()
        assert native["meta_info"]["finish_reason"]["type"] == "stop", native
        texts.append(native["text"])
        chat = client.chat.completions.create(model="glm-tiny", messages=MESSAGES, temperature=1.0, seed=seed,
                                              max_tokens=max_tokens, extra_body={**constraint, **NO_THINKING})
        assert chat.choices[0].finish_reason == "stop"
        texts.append(chat.choices[0].message.content)
        comp = client.completions.create(model="glm-tiny", prompt="answer:", temperature=1.0, seed=seed,
                                         max_tokens=max_tokens, extra_body=constraint)
        assert comp.choices[0].finish_reason == "stop"
        texts.append(comp.choices[0].text)
    return texts


def test_regex_errors_are_400(tiny_server):
    import httpx

    for body in ({"regex": "(unclosed"}, {"regex": "(?=lookahead)x"}, {"regex": r"(a)\1"},
                 {"regex": "a", "json_schema": json.dumps({"type": "object"})}):
        r = httpx.post(tiny_server.url + "/generate", json={"text": "x", "sampling_params": {**body, "max_new_tokens": 2}},
                       timeout=60)
        assert r.status_code == 400, r.text
        assert "regex" in r.json()["message"] or "json_schema" in r.json()["message"]
    r = httpx.post(tiny_server.url + "/generate", json={"text": "x", "sampling_params": {"max_new_tokens": 2}}, timeout=60)
    assert r.status_code == 200  # and the server keeps serving


# `ebnf` (SGLang -> xgrammar): each grammar with the Python regular expression of the same language, the oracle.
EBNF = [
    ('root ::= "yes" | "no"', r"yes|no"),
    # bounded: a random model would otherwise run on to max_tokens inside [a-z]+ or the list
    ('root ::= item ("," item){0,2}\nitem ::= [a-z]{1,4} "=" num\nnum ::= [0-9]{1,3}',
     r"[a-z]{1,4}=[0-9]{1,3}(,[a-z]{1,4}=[0-9]{1,3}){0,2}"),
    ('# an ISO date\nroot ::= year "-" month "-" day\nyear ::= [0-9]{4}\nmonth ::= "0" [1-9] | "1" [0-2]\n'
     'day ::= [0-2] [0-9] | "3" [01]', r"[0-9]{4}-(0[1-9]|1[0-2])-([0-2][0-9]|3[01])"),
]


@pytest.mark.parametrize("grammar,python_re", EBNF)
def test_ebnf_output_is_a_sentence_of_the_grammar_with_every_api(tiny_server, grammar, python_re):
    import re

    for t in answers_with_every_api(tiny_server, {"ebnf": grammar}, max_tokens=48):
        assert re.fullmatch(python_re, t, flags=re.ASCII), (grammar, t)


def test_recursive_ebnf_nested_lists(tiny_server):
    """A recursive grammar (lists of digits and lists): every answer is such a list, as json.loads and a
    recursive check say."""
    grammar = 'root ::= "[" (item ("," item){0,2})? "]"\nitem ::= [0-9] | root'

    def is_list(v):
        return isinstance(v, list) and len(v) <= 3 and all(
            (isinstance(x, int) and 0 <= x <= 9) or is_list(x) for x in v)

    for t in answers_with_every_api(tiny_server, {"ebnf": grammar}, max_tokens=120):
        assert is_list(json.loads(t)) and " " not in t, t


def test_ebnf_errors_are_400(tiny_server):
    import httpx

    for body, why in (({"ebnf": 'root ::= root "x" | "y"'}, "left-recursive"),
                      ({"ebnf": "root ::= missing"}, "not defined"),
                      ({"ebnf": 'root ::= "a"', "regex": "a"}, "Only one of regex, json_schema, or ebnf")):
        r = httpx.post(tiny_server.url + "/generate", json={"text": "x", "sampling_params": {**body, "max_new_tokens": 2}},
                       timeout=60)
        assert r.status_code == 400, r.text
        assert why in r.json()["message"], r.text
    r = httpx.post(tiny_server.url + "/generate", json={"text": "x", "sampling_params": {"max_new_tokens": 2}}, timeout=60)
    assert r.status_code == 200


def test_llama_cpp_style_grammar_and_json_schema_fields(tiny_server):
    """llama.cpp's server takes a GBNF `grammar` (with `.`) and a `json_schema` object beside the OpenAI
    fields; clients written for it work here too (`grammar` = ebnf)."""
    import re

    import httpx

    jsonschema = pytest.importorskip("jsonschema")
    for t in answers_with_every_api(tiny_server, {"grammar": 'root ::= "id-" [0-9]{2} ":" . "!"'}, max_tokens=32):
        assert re.fullmatch(r"id-[0-9]{2}:.!", t, flags=re.ASCII | re.DOTALL), t
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": False}
    client = tiny_server.openai()
    stopped = 0
    for seed in (1, 2, 3):
        r = client.chat.completions.create(model="glm-tiny", messages=MESSAGES, temperature=1.0, seed=seed,
                                           max_tokens=60, extra_body={"json_schema": schema, **NO_THINKING})
        if r.choices[0].finish_reason == "stop":
            stopped += 1
            jsonschema.validate(json.loads(r.choices[0].message.content), schema)
    assert stopped >= 1
    r = httpx.post(tiny_server.url + "/generate", timeout=30, json={
        "text": "x", "sampling_params": {"max_new_tokens": 2, "ebnf": 'root ::= "a"', "grammar": 'root ::= "b"'}})
    assert r.status_code == 400 and "grammar" in r.json()["message"], r.text
