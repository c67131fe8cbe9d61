"""SGLang's `stop_regex` end to end: /generate (sampling_params), /v1/completions and /v1/chat/completions
(top-level field). Oracle: Python's re.search over the text `tokenizers` decodes from the plain answer's
first k tokens; the answer must be the plain one cut after the first k that matches, its text untrimmed
(as SGLang's), and the finish reason must name the pattern."""
import re

import httpx
from tokenizers import Tokenizer

from conftest import FIXTURES

TOK = Tokenizer.from_file(str(FIXTURES / "glm45-tiny" / "tokenizer.json"))
PATTERNS = ["[aeiou]{2}", r"\d", "e.{0,3}r", r"\s\s", "^zzz"]


def expected_cut(ids, pattern):
    for k in range(1, len(ids) + 1):
        if re.search(pattern, TOK.decode(ids[:k], skip_special_tokens=True), re.ASCII):
            return k
    return None


def generate(srv, body):
    r = httpx.post(srv.url + "/generate", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_generate_stops_where_python_re_search_first_matches(tiny_server):
    sp = {"max_new_tokens": 40, "temperature": 0, "ignore_eos": True}
    stopped = 0
    for prompt in ["Hello", "The quick brown fox", "1, 2, 3,"]:
        plain = generate(tiny_server, {"text": prompt, "sampling_params": sp})
        for pattern in PATTERNS:
            got = generate(tiny_server, {"text": prompt, "sampling_params": {**sp, "stop_regex": pattern}})
            k = expected_cut(plain["output_ids"], pattern)
            if k is None:
                assert got["output_ids"] == plain["output_ids"], pattern
                assert got["meta_info"]["finish_reason"]["type"] == "length"
                continue
            assert got["output_ids"] == plain["output_ids"][:k], (prompt, pattern)
            assert got["meta_info"]["finish_reason"] == {"type": "stop", "matched": pattern}
            assert got["text"] == TOK.decode(plain["output_ids"][:k], skip_special_tokens=True)
            assert re.search(pattern, got["text"], re.ASCII)
            stopped += 1
    assert stopped >= 5


def test_openai_routes_take_stop_regex_as_a_string_or_a_list(tiny_server):
    client = tiny_server.openai()
    plain = client.completions.create(model="glm-tiny", prompt="Hello", max_tokens=40, temperature=0,
                                      extra_body={"ignore_eos": True})
    for stop_regex in (["[0-9]", "[aeiou]{2}"], "[aeiou]{2}"):
        c = client.completions.create(model="glm-tiny", prompt="Hello", max_tokens=40, temperature=0,
                                      extra_body={"ignore_eos": True, "stop_regex": stop_regex})
        text = c.choices[0].text
        patterns = stop_regex if isinstance(stop_regex, list) else [stop_regex]
        assert any(re.search(p, text, re.ASCII) for p in patterns), text
        assert plain.choices[0].text.startswith(text) and len(text) < len(plain.choices[0].text)
        assert c.choices[0].finish_reason == "stop"
        assert c.choices[0].model_extra["matched_stop"] in patterns
    msg = [{"role": "user", "content": "Say something"}]
    chat = client.chat.completions.create(model="glm-tiny", messages=msg, max_tokens=30, temperature=0,
                                          extra_body={"ignore_eos": True, "stop_regex": "[aeiou]"})
    assert chat.choices[0].finish_reason == "stop" and chat.choices[0].model_extra["matched_stop"] == "[aeiou]"


def test_bad_stop_regex_is_a_400_and_the_server_keeps_serving(tiny_server):
    for bad in ["(a", "a(?=b)", r"(\w)\1", ["ok", "[z-a]"]]:
        r = httpx.post(tiny_server.url + "/generate", timeout=30,
                       json={"text": "Hi", "sampling_params": {"max_new_tokens": 4, "stop_regex": bad}})
        assert r.status_code == 400, (bad, r.text)
        r = httpx.post(tiny_server.url + "/v1/chat/completions", timeout=30,
                       json={"model": "glm-tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4,
                             "stop_regex": bad})
        assert r.status_code == 400, (bad, r.text)
        assert "stop_regex" in r.json()["message"], r.text
    r = httpx.post(tiny_server.url + "/generate", timeout=30, json={"text": "Hi", "sampling_params": {"max_new_tokens": 3}})
    assert r.status_code == 200
