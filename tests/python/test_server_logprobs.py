"""Logprobs end to end with the real `openai` client: a streamed answer must report exactly the
entries of the non-streamed one (issue #5), one per generated token, also when a multi-byte UTF-8
character is split across tokens and a token therefore adds no text of its own to the stream.

Oracle: the non-streamed answer (SGLang builds both from the same per-token list: each token id
decoded on its own, bytes = that text's UTF-8). The output is forced with the
ForcedSequenceLogitProcessor so the split character is certain, not left to a seed.
"""
import json
import os

import httpx
import pytest

from conftest import FIXTURES, TINY_SERVER_FLAGS, launch_glmserve

# Four-byte characters: the tiny byte-level vocab has no merge for them, so each is several tokens.
TEXT = "or\U0001F642 ok \u00e9\u4e2d\U0001F600!"
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def eos_id():
    e = json.loads((FIXTURES / "glm45-tiny" / "config.json").read_text())["eos_token_id"]
    return e[0] if isinstance(e, list) else e


def token_ids(srv, text):
    r = httpx.post(srv.url + "/v1/tokenize", json={"prompt": text, "add_special_tokens": False},
                   headers=srv.headers(), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["tokens"]


def forced(srv):
    ids = token_ids(srv, TEXT)
    return ids, {"custom_logit_processor": "ForcedSequenceLogitProcessor",
                 "custom_params": {"forced_token_ids": ids + [eos_id()]}}


def split_chars(srv, ids):
    """How many forced tokens decode, on their own, to text that is not whole UTF-8 (U+FFFD)."""
    return sum("\ufffd" in httpx.post(srv.url + "/v1/detokenize", json={"tokens": [i]}, headers=srv.headers(),
                                       timeout=30).json()["text"] for i in ids)


def chat_entries(logprobs):
    return [(t.token, t.bytes, t.logprob, [(a.token, a.bytes, a.logprob) for a in t.top_logprobs])
            for t in logprobs.content]


@pytest.fixture(scope="module")
def servers():
    # Without parsers every chat delta goes straight to content; with both, through the reasoning
    # and tool-call streams (which hold text back): the entries must survive both routes. The
    # speculative server's events carry several tokens at once (fixed depth: it verifies every round).
    bare_flags = ("--served-model-name", "glm-tiny", "--enable-custom-logit-processor")
    os.environ["GLMSERVE_SPECULATIVE_FIXED_DEPTH"] = "1"
    try:
        with launch_glmserve("glm45-tiny", *bare_flags) as bare, \
             launch_glmserve("glm45-tiny", *TINY_SERVER_FLAGS) as parsed, \
             launch_glmserve("glm45-tiny", *bare_flags, "--speculative-algorithm", "NEXTN") as spec:
            yield {"bare": bare, "parsed": parsed, "spec": spec}
    finally:
        del os.environ["GLMSERVE_SPECULATIVE_FIXED_DEPTH"]


@pytest.mark.parametrize("server,thinking,tools", [("bare", False, False), ("parsed", False, False),
                                                   ("parsed", True, False), ("parsed", False, True),
                                                   ("spec", False, False)])
def test_chat_stream_logprobs_equal_non_stream(servers, server, thinking, tools):
    srv = servers[server]
    ids, extra = forced(srv)
    assert split_chars(srv, ids) >= 4, "the forced text must split multi-byte characters"
    extra["chat_template_kwargs"] = {"enable_thinking": thinking}
    kw = dict(model="glm-tiny", messages=[{"role": "user", "content": "hi"}], temperature=0, max_tokens=len(ids) + 4,
              logprobs=True, top_logprobs=3, extra_body=extra)
    if tools:
        kw["tools"] = [WEATHER_TOOL]
    client = srv.openai()
    whole = client.chat.completions.create(**kw)
    want = chat_entries(whole.choices[0].logprobs)
    assert len(want) == len(ids) + 1  # every forced token and the EOS
    got = []
    for chunk in client.chat.completions.create(stream=True, **kw):
        for ch in chunk.choices:
            if ch.logprobs is not None:
                got += chat_entries(ch.logprobs)
    assert got == want


@pytest.mark.parametrize("server", ["bare", "spec"])
def test_completion_stream_logprobs_equal_non_stream(servers, server):
    srv = servers[server]
    ids, extra = forced(srv)
    kw = dict(model="glm-tiny", prompt="hi", temperature=0, max_tokens=len(ids) + 4, logprobs=3, extra_body=extra)
    client = srv.openai()
    whole = client.completions.create(**kw).choices[0]
    lp = whole.logprobs
    assert len(lp.tokens) == len(ids) + 1
    got = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
    text = ""
    for chunk in client.completions.create(stream=True, **kw):
        for ch in chunk.choices:
            text += ch.text
            if ch.logprobs is not None:
                for k in got:
                    got[k] += getattr(ch.logprobs, k)
    assert text == whole.text
    assert got == {k: getattr(lp, k) for k in got}
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)
