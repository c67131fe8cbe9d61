"""OpenAI API end to end: the real `openai` client against a running glmserve on the tiny fixture.

Oracles: streaming must reproduce the non-streamed answer byte for byte (greedy decoding); tool
calls must come out as SGLang's glm45/glm47 detectors parse the forced GLM markup (spec §3:
json.dumps arguments, finish_reason "tool_calls"); reasoning splits as SGLang's glm45 detector.
"""
import json

import httpx
import pytest

from conftest import FIXTURES, SHARED, TINY_SERVER_FLAGS, launch_glmserve

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]


def eos_id():
    cfg = json.loads((FIXTURES / "glm45-tiny" / "config.json").read_text())
    e = cfg["eos_token_id"]
    return e[0] if isinstance(e, list) else e


def token_ids(srv, text):
    r = httpx.post(srv.url + "/v1/tokenize", json={"prompt": text, "add_special_tokens": False},
                   headers=srv.headers(), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["tokens"]


def collect_chat_stream(stream):
    content, reasoning, finish, tool_args, tool_names, usage = "", "", None, {}, {}, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for ch in chunk.choices:
            d = ch.delta
            content += d.content or ""
            reasoning += getattr(d, "reasoning_content", None) or ""
            for tc in d.tool_calls or []:
                tool_args[tc.index] = tool_args.get(tc.index, "") + (tc.function.arguments or "")
                if tc.function.name:
                    tool_names[tc.index] = tc.function.name
            if ch.finish_reason:
                finish = ch.finish_reason
    return dict(content=content, reasoning=reasoning, finish=finish, tool_args=tool_args, tool_names=tool_names,
                usage=usage)


def test_models_list_and_retrieve(tiny_server):
    client = tiny_server.openai()
    models = client.models.list()
    assert [m.id for m in models.data] == ["glm-tiny"]
    assert models.data[0].max_model_len == 4096
    assert client.models.retrieve("glm-tiny").id == "glm-tiny"
    r = httpx.get(tiny_server.url + "/v1/models/not-a-model", timeout=10)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("thinking", [True, False])
def test_chat_stream_equals_non_stream(tiny_server, thinking):
    client = tiny_server.openai()
    extra = {"chat_template_kwargs": {"enable_thinking": thinking}}
    full = client.chat.completions.create(model="glm-tiny", messages=MESSAGES, temperature=0, max_tokens=40,
                                          extra_body=extra)
    msg = full.choices[0].message
    assert full.object == "chat.completion"
    assert full.usage.completion_tokens >= 1
    assert full.usage.total_tokens == full.usage.prompt_tokens + full.usage.completion_tokens
    streamed = collect_chat_stream(client.chat.completions.create(
        model="glm-tiny", messages=MESSAGES, temperature=0, max_tokens=40, stream=True,
        stream_options={"include_usage": True}, extra_body=extra))
    assert streamed["content"] == (msg.content or "")
    assert streamed["reasoning"] == (getattr(msg, "reasoning_content", None) or "")
    assert streamed["finish"] == full.choices[0].finish_reason
    assert streamed["usage"].completion_tokens == full.usage.completion_tokens
    assert streamed["usage"].prompt_tokens == full.usage.prompt_tokens


def test_reasoning_split_matches_separate_reasoning_endpoint(tiny_server):
    """The chat answer's (reasoning, content) equals what /separate_reasoning (SGLang's glm45
    detector, force_reasoning off) gives for <think>+raw text when thinking is on (forced)."""
    client = tiny_server.openai()
    raw = client.completions.create(model="glm-tiny", prompt="hello", temperature=0, max_tokens=20)
    text = raw.choices[0].text
    r = httpx.post(tiny_server.url + "/separate_reasoning",
                   json={"text": "<think>" + text, "reasoning_parser": "glm45"}, timeout=10).json()
    # Without </think> everything after <think> is reasoning (truncated thinking), as SGLang.
    if "</think>" not in text and "<tool_call>" not in text:
        assert r["reasoning_text"] == text and r["text"] == ""


def test_completions_stream_equals_non_stream(tiny_server):
    client = tiny_server.openai()
    full = client.completions.create(model="glm-tiny", prompt="The capital of France is", temperature=0,
                                     max_tokens=24)
    assert full.object == "text_completion"
    text = ""
    finish = None
    for chunk in client.completions.create(model="glm-tiny", prompt="The capital of France is", temperature=0,
                                           max_tokens=24, stream=True):
        for ch in chunk.choices:
            text += ch.text
            finish = ch.finish_reason or finish
    assert text == full.choices[0].text
    assert finish == full.choices[0].finish_reason


def test_n_choices_and_logprobs(tiny_server):
    client = tiny_server.openai()
    r = client.chat.completions.create(model="glm-tiny", messages=MESSAGES, temperature=0, max_tokens=8, n=2,
                                       logprobs=True, top_logprobs=3)
    assert len(r.choices) == 2
    assert r.choices[0].message.content == r.choices[1].message.content  # greedy
    lp = r.choices[0].logprobs.content
    assert len(lp) >= 1
    assert all(len(t.top_logprobs) == 3 for t in lp)
    assert all(t.logprob <= 0 for t in lp)
    # The chosen token is the best alternative under greedy decoding.
    assert all(abs(t.logprob - max(a.logprob for a in t.top_logprobs)) < 1e-4 for t in lp)


def test_stop_string_and_max_tokens(tiny_server):
    client = tiny_server.openai()
    base = client.completions.create(model="glm-tiny", prompt="one two three", temperature=0, max_tokens=30)
    text = base.choices[0].text
    if len(text) < 6:
        pytest.skip("the tiny model produced too little text to pick a stop string")
    stop = text[3:6]
    r = client.completions.create(model="glm-tiny", prompt="one two three", temperature=0, max_tokens=30, stop=[stop])
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].matched_stop == stop
    assert r.choices[0].text == text[: text.index(stop)]
    short = client.completions.create(model="glm-tiny", prompt="one two three", temperature=0, max_tokens=2,
                                      extra_body={"ignore_eos": True})
    assert short.choices[0].finish_reason == "length"
    assert short.usage.completion_tokens == 2


def forced_tool_call(srv, markup):
    return {
        "custom_logit_processor": "ForcedSequenceLogitProcessor",
        "custom_params": {"forced_token_ids": token_ids(srv, markup) + [eos_id()]},
        "chat_template_kwargs": {"enable_thinking": False},
    }


@pytest.mark.parametrize("parser,markup", [
    ("glm45", "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n"
              "<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>"),
    ("glm47", "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value>"
              "<arg_key>days</arg_key><arg_value>3</arg_value></tool_call>"),
])
def test_tool_calls_both_parsers(parser, markup):
    flags = [f for f in TINY_SERVER_FLAGS]
    flags[flags.index("--tool-call-parser") + 1] = parser
    with launch_glmserve("glm45-tiny", *flags) as srv:
        client = srv.openai()
        extra = forced_tool_call(srv, markup)
        n_forced = len(extra["custom_params"]["forced_token_ids"])
        full = client.chat.completions.create(model="glm-tiny", messages=MESSAGES, tools=[WEATHER_TOOL],
                                              temperature=0, max_tokens=n_forced + 4, extra_body=extra)
        choice = full.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content == ""
        calls = choice.message.tool_calls
        assert len(calls) == 1
        assert calls[0].type == "function"
        assert calls[0].id.startswith("call_")
        assert calls[0].function.name == "get_weather"
        # SGLang types "3" by the schema (integer) and json.dumps with ", " / ": ".
        assert calls[0].function.arguments == '{"city": "Paris", "days": 3}'
        # Same text through SGLang's native endpoint gives the same call.
        native = httpx.post(srv.url + "/parse_function_call", json={
            "text": markup, "tool_call_parser": parser, "tools": [WEATHER_TOOL]}, timeout=10).json()
        assert native["calls"][0]["name"] == "get_weather"
        assert native["calls"][0]["parameters"] == calls[0].function.arguments

        streamed = collect_chat_stream(client.chat.completions.create(
            model="glm-tiny", messages=MESSAGES, tools=[WEATHER_TOOL], temperature=0, max_tokens=n_forced + 4,
            stream=True, extra_body=extra))
        assert streamed["finish"] == "tool_calls"
        assert streamed["tool_names"] == {0: "get_weather"}
        assert streamed["tool_args"] == {0: calls[0].function.arguments}
        assert streamed["content"] == ""


@pytest.mark.parametrize("thinking", [False, True])
@pytest.mark.parametrize("parser", ["glm45", "glm47"])
def test_stream_content_around_tool_calls_equals_non_stream(parser, thinking):
    """Text before a call is stripped in message.content; the concatenated stream deltas must be the
    same bytes (and the unchanged text, whitespace included, when no call comes)."""
    call = ("<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>"
            if parser == "glm45" else
            "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>")
    flags = list(TINY_SERVER_FLAGS)
    flags[flags.index("--tool-call-parser") + 1] = parser
    with launch_glmserve("glm45-tiny", *flags) as srv:
        client = srv.openai()
        for markup, content in [("\n Let me check. \n\n" + call + "\n", "Let me check."),
                                ("Sure thing \n" + call + "\nDone.\n", "Sure thing" if parser == "glm45" else None),
                                ("\n\nNo call here, just text. \n", "\n\nNo call here, just text. \n")]:
            if thinking:  # reasoning first: the reasoning parser hands the text after </think> on
                markup = "Thinking it over.</think>" + markup
            extra = forced_tool_call(srv, markup)
            if thinking:
                extra["chat_template_kwargs"] = {"enable_thinking": True}
            n = len(extra["custom_params"]["forced_token_ids"])
            kw = dict(model="glm-tiny", messages=MESSAGES, tools=[WEATHER_TOOL], temperature=0, max_tokens=n + 2,
                      extra_body=extra)
            full = client.chat.completions.create(**kw).choices[0]
            if content is not None:
                assert full.message.content == content
            if thinking:
                assert full.message.reasoning_content == "Thinking it over."
            streamed = collect_chat_stream(client.chat.completions.create(stream=True, **kw))
            assert streamed["content"] == full.message.content, markup
            assert streamed["reasoning"] == (getattr(full.message, "reasoning_content", None) or "")
            assert streamed["finish"] == full.finish_reason
            assert len(streamed["tool_names"]) == len(full.message.tool_calls or [])


def test_named_tool_choice_prefills_the_call(tiny_server):
    """tool_choice naming a function: glmserve prefills "<tool_call>get_weather\\n", so forcing only
    the arguments still yields a call to that function."""
    client = tiny_server.openai()
    rest = "<arg_key>city</arg_key>\n<arg_value>Oslo</arg_value>\n</tool_call>"
    extra = forced_tool_call(tiny_server, rest)
    r = client.chat.completions.create(
        model="glm-tiny", messages=MESSAGES, tools=[WEATHER_TOOL], temperature=0, max_tokens=40,
        tool_choice={"type": "function", "function": {"name": "get_weather"}}, extra_body=extra)
    calls = r.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Oslo"}


def test_tool_choice_none_sends_no_tools_to_template(tiny_server):
    with_tools = httpx.post(tiny_server.url + "/v1/tokenize", json={
        "messages": MESSAGES, "tools": [WEATHER_TOOL]}, timeout=10).json()["count"]
    no_tools = httpx.post(tiny_server.url + "/v1/tokenize", json={
        "messages": MESSAGES, "tools": [WEATHER_TOOL], "tool_choice": "none"}, timeout=10).json()["count"]
    plain = httpx.post(tiny_server.url + "/v1/tokenize", json={"messages": MESSAGES}, timeout=10).json()["count"]
    assert no_tools == plain < with_tools


def test_prompt_matches_jinja2_render(tiny_server):
    """The prompt the server builds equals Python jinja2's render of the checkpoint template with the
    inputs SGLang passes (function objects for tools), tokenized by Hugging Face tokenizers."""
    jinja2 = pytest.importorskip("jinja2")
    tokenizers = pytest.importorskip("tokenizers")
    cfg = json.loads((FIXTURES / "glm45-tiny" / "tokenizer_config.json").read_text())
    source = cfg.get("chat_template")
    if not isinstance(source, str):
        pytest.skip("fixture has no string chat_template")
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    # transformers' tojson: ensure_ascii defaults to False, other json.dumps options pass through.
    env.filters["tojson"] = lambda v, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(
        v, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    env.globals["raise_exception"] = lambda msg: (_ for _ in ()).throw(jinja2.exceptions.TemplateError(msg))
    fn = {"description": "Get the weather", "name": "get_weather",
          "parameters": WEATHER_TOOL["function"]["parameters"], "strict": False}
    text = env.from_string(source).render(messages=MESSAGES, tools=[fn], add_generation_prompt=True)
    tok = tokenizers.Tokenizer.from_file(str(FIXTURES / "glm45-tiny" / "tokenizer.json"))
    expected = tok.encode(text, add_special_tokens=False).ids
    got = httpx.post(tiny_server.url + "/v1/tokenize", json={"messages": MESSAGES, "tools": [WEATHER_TOOL]},
                     timeout=10).json()["tokens"]
    assert got == expected
