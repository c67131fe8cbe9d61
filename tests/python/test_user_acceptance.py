"""Acceptance checks written as a user coming from SGLang would run them: the things such a user's
tools rely on (lm-eval's loglikelihood through /v1/completions echo + logprobs, /generate's
logprob_start_len), each against an oracle from the server itself."""
import contextlib
import json
import os
import signal
import subprocess
import threading
import time

import httpx
import pytest

PROMPT_IDS = [5, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]


@pytest.fixture(scope="module")
def chunked_server(glmserve_launcher):
    # Prefill chunks of 4 tokens: prompt logprobs come from several forward passes.
    with glmserve_launcher("glm45-tiny", "--served-model-name", "glm-tiny", "--chunked-prefill-size", "4") as srv:
        yield srv


def generate(srv, **body):
    r = httpx.post(srv.url + "/generate", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_generate_input_logprobs_match_next_token_logprobs(chunked_server):
    # Oracle: the logprob of prompt token k given tokens < k is the first output token's distribution
    # for the prompt prefix of length k. Warm the prefix cache first: scored positions must be recomputed.
    generate(chunked_server, input_ids=PROMPT_IDS, sampling_params={"max_new_tokens": 1})
    m = generate(chunked_server, input_ids=PROMPT_IDS, return_logprob=True, logprob_start_len=0, top_logprobs_num=20,
                 sampling_params={"max_new_tokens": 1, "temperature": 0})["meta_info"]
    inp, tops = m["input_token_logprobs"], m["input_top_logprobs"]
    assert len(inp) == len(PROMPT_IDS) and len(tops) == len(PROMPT_IDS)
    assert inp[0] == [None, PROMPT_IDS[0], None] and tops[0] is None
    for k in (1, 4, 5, 10):
        o = generate(chunked_server, input_ids=PROMPT_IDS[:k], return_logprob=True, top_logprobs_num=20,
                     sampling_params={"max_new_tokens": 1, "temperature": 0})["meta_info"]
        oracle = {tid: lp for lp, tid, _ in o["output_top_logprobs"][0]}
        assert inp[k][1] == PROMPT_IDS[k]
        assert [t[1] for t in tops[k]] == [t[1] for t in o["output_top_logprobs"][0]]
        for lp, tid, _ in tops[k]:
            assert lp == pytest.approx(oracle[tid], abs=1e-4)
        if PROMPT_IDS[k] in oracle:
            assert inp[k][0] == pytest.approx(oracle[PROMPT_IDS[k]], abs=1e-4)
        assert inp[k][0] <= tops[k][0][0] + 1e-6


def test_generate_logprob_start_len(chunked_server):
    m = generate(chunked_server, input_ids=PROMPT_IDS, return_logprob=True, logprob_start_len=7,
                 sampling_params={"max_new_tokens": 2})["meta_info"]
    assert [t[1] for t in m["input_token_logprobs"]] == PROMPT_IDS[7:]
    assert all(isinstance(t[0], float) for t in m["input_token_logprobs"])
    assert "input_top_logprobs" not in m  # only with top_logprobs_num, like the output side
    m = generate(chunked_server, input_ids=PROMPT_IDS, return_logprob=True, sampling_params={"max_new_tokens": 1})
    assert m["meta_info"]["input_token_logprobs"] == []  # default -1: output tokens only
    r = httpx.post(chunked_server.url + "/generate", json={"input_ids": PROMPT_IDS, "return_logprob": True,
                                                          "logprob_start_len": 11}, timeout=30)
    assert r.status_code == 400 and "logprob_start_len" in r.json()["message"]
    r = httpx.post(chunked_server.url + "/generate", json={"input_ids": PROMPT_IDS, "return_logprob": True,
                                                          "logprob_start_len": -2}, timeout=30)
    assert r.status_code == 400


def completion(srv, **body):
    r = httpx.post(srv.url + "/v1/completions", json={"model": "glm-tiny", **body}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_completions_echo_logprobs_score_the_prompt(chunked_server):
    # lm-eval's loglikelihood request: echo=True, logprobs=1, max_tokens=1, token_logprobs[ctxlen:-1].
    c = completion(chunked_server, prompt=PROMPT_IDS, echo=True, logprobs=1, max_tokens=1, temperature=0)["choices"][0]
    lp = c["logprobs"]
    n = len(PROMPT_IDS) + 1
    assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == len(lp["text_offset"]) == n
    assert lp["token_logprobs"][0] is None and lp["top_logprobs"][0] is None and lp["text_offset"][0] == 0
    assert lp["text_offset"] == sorted(lp["text_offset"])
    m = generate(chunked_server, input_ids=PROMPT_IDS, return_logprob=True, logprob_start_len=0,
                 sampling_params={"max_new_tokens": 1, "temperature": 0})["meta_info"]
    for k in range(1, len(PROMPT_IDS)):
        assert lp["token_logprobs"][k] == pytest.approx(m["input_token_logprobs"][k][0], abs=1e-5)
    assert lp["token_logprobs"][-1] == pytest.approx(m["output_token_logprobs"][0][0], abs=1e-5)
    assert c["text"].endswith(lp["tokens"][-1]) or "\ufffd" in c["text"]
    # Text prompt: the echoed text is the prompt itself and every prompt token is listed.
    c = completion(chunked_server, prompt="hello world", echo=True, logprobs=0, max_tokens=2)["choices"][0]
    assert c["text"].startswith("hello world")
    assert "".join(c["logprobs"]["tokens"][:-2]) == "hello world"
    # Without echo nothing about the prompt is reported.
    c = completion(chunked_server, prompt=PROMPT_IDS, logprobs=1, max_tokens=1)["choices"][0]
    assert len(c["logprobs"]["tokens"]) == 1


def test_completions_echo_logprobs_streaming(chunked_server):
    body = {"model": "glm-tiny", "prompt": PROMPT_IDS, "echo": True, "logprobs": 1, "max_tokens": 3, "stream": True,
            "temperature": 0}
    chunks = []
    with httpx.stream("POST", chunked_server.url + "/v1/completions", json=body, timeout=60) as r:
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks.append(json.loads(line[6:]))
    tokens, lps = [], []
    for ch in chunks:
        for c in ch["choices"]:
            if c["logprobs"]:
                tokens += c["logprobs"]["tokens"]
                lps += c["logprobs"]["token_logprobs"]
    whole = completion(chunked_server, **{k: v for k, v in body.items() if k not in ("stream", "model")})
    assert tokens == whole["choices"][0]["logprobs"]["tokens"]
    assert lps[0] is None and lps[1:] == pytest.approx(whole["choices"][0]["logprobs"]["token_logprobs"][1:], abs=1e-5)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_while_generating_does_not_hang(glmserve_launcher, sig):
    # Non-streaming requests that would run for minutes, a stream, then the signal: the server must
    # exit promptly and cleanly (it used to wait for the non-streaming handlers to finish).
    with glmserve_launcher("glm45-tiny") as srv:
        body = {"text": "x", "sampling_params": {"max_new_tokens": 100000, "ignore_eos": True}}
        clients = [threading.Thread(target=_post_quietly, args=(srv.url + "/generate", body)) for _ in range(3)]
        for t in clients:
            t.start()
        deadline = time.time() + 10
        while httpx.get(srv.url + "/get_server_info", timeout=10).json()["internal_states"][0]["num_running_reqs"] < 3:
            assert time.time() < deadline
            time.sleep(0.05)
        t0 = time.time()
        os.killpg(srv.proc.pid, sig)
        assert srv.proc.wait(timeout=8) == 0
        assert time.time() - t0 < 5
        for t in clients:
            t.join(timeout=10)


def _post_quietly(url, body):
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(url, json=body, timeout=30)


def test_generate_batch_with_sampling_params_per_prompt(chunked_server):
    # SGLang's GenerateReqInput: sampling_params may be a list, one dict per prompt.
    out = generate(chunked_server, text=["a", "b"], sampling_params=[{"max_new_tokens": 1}, {"max_new_tokens": 3}])
    assert [o["meta_info"]["completion_tokens"] for o in out] == [1, 3]
    for bad in ([{"max_new_tokens": 1}], [{"max_new_tokens": 1}, 5]):
        r = httpx.post(chunked_server.url + "/generate", json={"text": ["a", "b"], "sampling_params": bad}, timeout=30)
        assert r.status_code == 400, r.text
    r = httpx.post(chunked_server.url + "/generate", json={"text": "a", "sampling_params": [{}]}, timeout=30)
    assert r.status_code == 400


def test_generate_parallel_samples_n(chunked_server):
    # sampling_params.n > 1: n results per prompt, prompt-major, as a list.
    out = generate(chunked_server, text="a", sampling_params={"max_new_tokens": 2, "n": 3, "seed": 7})
    assert isinstance(out, list) and len(out) == 3
    assert len({o["meta_info"]["id"] for o in out}) == 3
    out = generate(chunked_server, input_ids=[[5, 6], [7]], sampling_params={"max_new_tokens": 2, "n": 2})
    assert [o["meta_info"]["prompt_tokens"] for o in out] == [2, 2, 1, 1]
    out = generate(chunked_server, text="a", rid="mine", sampling_params={"max_new_tokens": 1, "n": 2})
    assert [o["meta_info"]["id"] for o in out] == ["mine-0", "mine-1"]
    r = httpx.post(chunked_server.url + "/generate", json={"text": "a", "stream": True, "sampling_params": {"n": 2}},
                   timeout=30)
    assert r.status_code == 400


def test_serve_takes_argparse_flag_prefixes(glmserve_launcher):
    # launch_server's argparse accepts unambiguous prefixes of long flags; SGLang command lines use them.
    with glmserve_launcher("glm45-tiny", "--mem-frac", "0.5", "--context-len", "2048", "--served=short-name",
                           "--max-running", "3", "--enable-metric") as srv:
        info = httpx.get(srv.url + "/get_server_info", timeout=10).json()
        assert info["mem_fraction_static"] == 0.5 and info["context_length"] == 2048
        assert info["served_model_name"] == "short-name" and info["max_running_requests"] == 3
        assert info["enable_metrics"] is True
        assert httpx.get(srv.url + "/v1/models", timeout=10).json()["data"][0]["max_model_len"] == 2048


def test_serve_refuses_ambiguous_flag_prefix():
    from conftest import FIXTURES, glmserve_binary

    binary = glmserve_binary()
    if binary is None:
        pytest.skip("glmserve is not built")
    # --spec could be any of the --speculative-* flags: refused, as argparse refuses it.
    p = subprocess.run([binary, "serve", "--model-path", str(FIXTURES / "glm45-tiny"), "--spec", "3"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--spec" in p.stderr


def test_logit_bias_is_applied(chunked_server):
    # OpenAI / SGLang logit_bias {"token id": bias}: it used to be accepted and ignored.
    out = generate(chunked_server, text="a", sampling_params={"max_new_tokens": 4, "logit_bias": {"5": 100}})
    assert out["output_ids"] == [5, 5, 5, 5]
    chat = chunked_server.openai().chat.completions.create(
        model="glm-tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=3, temperature=0.8,
        logit_bias={"7": 100}, logprobs=True)
    assert [t.token for t in chat.choices[0].logprobs.content] == [chat.choices[0].logprobs.content[0].token] * 3
    c = completion(chunked_server, prompt="a", max_tokens=2, logit_bias={"9": 100}, logprobs=0)["choices"][0]
    assert len(set(c["logprobs"]["tokens"])) == 1
    # A large negative bias bans the greedy token.
    free = generate(chunked_server, input_ids=PROMPT_IDS, sampling_params={"max_new_tokens": 1, "temperature": 0})
    ban = str(free["output_ids"][0])
    banned = generate(chunked_server, input_ids=PROMPT_IDS,
                      sampling_params={"max_new_tokens": 1, "temperature": 0, "logit_bias": {ban: -100}})
    assert banned["output_ids"] != free["output_ids"]
    for bad in ({"x": 1}, {"5": "a"}, {"99999": 1}, {"-3": 1}):
        r = httpx.post(chunked_server.url + "/v1/completions",
                       json={"model": "glm-tiny", "prompt": "a", "max_tokens": 1, "logit_bias": bad}, timeout=30)
        assert r.status_code == 400, (bad, r.text)


def test_prompt_logprobs_with_speculative_decoding(glmserve_launcher, chunked_server):
    # The MTP draft extends over the same prefill chunks: scoring the prompt must not disturb it.
    body = {"input_ids": PROMPT_IDS, "return_logprob": True, "logprob_start_len": 0,
            "sampling_params": {"max_new_tokens": 6, "temperature": 0}}
    plain = generate(chunked_server, **body)
    with glmserve_launcher("glm45-tiny", "--speculative-algorithm", "EAGLE", "--chunked-prefill-size", "4") as srv:
        spec = generate(srv, **body)
    assert spec["output_ids"] == plain["output_ids"]
    for a, b in zip(spec["meta_info"]["input_token_logprobs"][1:], plain["meta_info"]["input_token_logprobs"][1:]):
        assert a[1] == b[1] and a[0] == pytest.approx(b[0], abs=1e-4)
