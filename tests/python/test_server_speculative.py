"""Speculative decoding (--speculative-algorithm EAGLE over the fixture's MTP layer) end to end: greedy
answers equal a server without speculation (native /generate, batched, streamed, OpenAI n > 1, stop
strings), acceptance shows in meta_info, /get_server_info and /metrics, and bad flags are refused."""
import json
import os
import subprocess

import httpx
import pytest

from conftest import FIXTURES, REPO, free_port, glmserve_binary, launch_glmserve

PROMPTS = ["Hello", "The quick brown fox", "1, 2, 3, 4,", "Once upon a time there was a little"]


@pytest.fixture(scope="module")
def servers():
    # On the tiny fixture speculation does not pay, so the default guard would mostly decode plainly: keep
    # the explicit depth every round so that these tests exercise verification.
    os.environ["GLMSERVE_SPECULATIVE_FIXED_DEPTH"] = "1"
    try:
        with launch_glmserve("glm45-tiny", "--served-model-name", "m") as plain:
            with launch_glmserve("glm45-tiny", "--served-model-name", "m", "--speculative-algorithm", "NEXTN",
                                 "--enable-metrics") as spec:
                yield plain, spec
    finally:
        del os.environ["GLMSERVE_SPECULATIVE_FIXED_DEPTH"]


def test_guarded_default_stays_exact():
    """Without the override the explicit depth is guarded (plain decoding where it is slower, with a
    warning): answers stay those of plain decoding."""
    sp = {"max_new_tokens": 40, "temperature": 0, "ignore_eos": True}
    with launch_glmserve("glm45-tiny", "--speculative-algorithm", "EAGLE") as spec:
        with launch_glmserve("glm45-tiny") as plain:
            a = generate(plain, {"text": PROMPTS, "sampling_params": sp})
            b = generate(spec, {"text": PROMPTS, "sampling_params": sp})
            assert [x["output_ids"] for x in b] == [x["output_ids"] for x in a]
        assert "speculative decoding: forward cost by tokens (x a one-token decode step) 1: 1.00, 2: " in spec.log()


def generate(srv, body):
    r = httpx.post(srv.url + "/generate", json=body, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def test_greedy_equals_plain_batched_and_streamed(servers):
    plain, spec = servers
    sp = {"max_new_tokens": 24, "temperature": 0, "ignore_eos": True}
    a = generate(plain, {"text": PROMPTS, "sampling_params": sp})
    b = generate(spec, {"text": PROMPTS, "sampling_params": sp})
    assert [x["output_ids"] for x in b] == [x["output_ids"] for x in a]
    assert [x["text"] for x in b] == [x["text"] for x in a]
    for x in b:
        meta = x["meta_info"]
        assert meta["spec_verify_ct"] >= 1
        assert meta["spec_accept_length"] == pytest.approx(meta["completion_tokens"] / meta["spec_verify_ct"])
        assert 0 <= meta["spec_accept_token_num"] <= meta["spec_draft_token_num"]
    assert sum(x["meta_info"]["spec_accept_token_num"] for x in b) > 0  # the fixture's MTP layer is trained
    r = httpx.post(spec.url + "/generate", json={"text": PROMPTS[1], "sampling_params": sp, "stream": True},
                   timeout=120)
    events = [line[6:] for line in r.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    last = json.loads(events[-2])
    assert last["output_ids"] == a[1]["output_ids"] and last["text"] == a[1]["text"]


def test_stop_strings_and_openai_n(servers):
    plain, spec = servers
    full = generate(plain, {"text": PROMPTS[3], "sampling_params": {"max_new_tokens": 30, "temperature": 0}})
    text = full["text"]
    if len(text) < 8:
        pytest.skip("greedy text too short for a stop string")
    sp = {"max_new_tokens": 30, "temperature": 0, "stop": [text[5:8]]}
    a = generate(plain, {"text": PROMPTS[3], "sampling_params": sp})
    b = generate(spec, {"text": PROMPTS[3], "sampling_params": sp})
    assert b["text"] == a["text"] and b["output_ids"] == a["output_ids"]
    assert b["meta_info"]["finish_reason"] == a["meta_info"]["finish_reason"]
    ca = plain.openai().completions.create(model="m", prompt=PROMPTS[2], n=2, temperature=0, max_tokens=16)
    cb = spec.openai().completions.create(model="m", prompt=PROMPTS[2], n=2, temperature=0, max_tokens=16)
    assert [c.text for c in cb.choices] == [c.text for c in ca.choices]


def test_acceptance_in_server_info_and_metrics(servers):
    _, spec = servers
    generate(spec, {"text": PROMPTS[0], "sampling_params": {"max_new_tokens": 16, "temperature": 0}})
    info = httpx.get(spec.url + "/get_server_info", timeout=10).json()
    assert info["speculative_algorithm"] == "EAGLE"
    assert info["speculative_num_steps"] == 3 and info["speculative_num_draft_tokens"] == 4
    assert info["internal_states"][0]["avg_spec_accept_length"] > 1.0
    metrics = httpx.get(spec.url + "/metrics", timeout=10).text
    line = [l for l in metrics.splitlines() if l.startswith("sglang:spec_accept_length")]
    assert line and float(line[0].split()[-1]) > 1.0


@pytest.mark.parametrize("flags,message", [
    (["--speculative-eagle-topk", "2", "--speculative-num-steps", "1", "--speculative-num-draft-tokens", "4"],
     "candidate nodes"),
    (["--speculative-eagle-topk", "2", "--speculative-num-steps", "auto"], "tree drafting needs a fixed"),
    (["--speculative-num-steps", "3"], "set all three or none"),
    (["--speculative-draft-model-path", "/other"], "own MTP layer"),
])
def test_bad_flags_are_refused(flags, message):
    binary = glmserve_binary()
    if binary is None:
        pytest.skip("glmserve is not built")
    p = subprocess.run([binary, "serve", "--model-path", "/nonexistent", "--speculative-algorithm", "EAGLE", *flags],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert message in p.stdout + p.stderr


def test_openai_chat_stream_with_logprobs(servers):
    plain, spec = servers
    kw = dict(model="m", messages=[{"role": "user", "content": "Tell me a story"}], temperature=0, max_tokens=24,
              logprobs=True, top_logprobs=2)

    def streamed(srv):
        chunks = list(srv.openai().chat.completions.create(stream=True, **kw))
        text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
        lps = [(t.token, round(t.logprob, 4)) for c in chunks if c.choices and c.choices[0].logprobs
               for t in c.choices[0].logprobs.content]
        return text, lps

    whole = plain.openai().chat.completions.create(**kw)
    text, lps = streamed(spec)
    assert text == (whole.choices[0].message.content or "")
    # Speculative events carry several tokens: the stream must match plain decoding's stream.
    assert (text, lps) == streamed(plain)


@pytest.mark.parametrize("topk,draft_tokens", [(2, 6), (4, 8)])
def test_tree_drafting_greedy_equals_plain(servers, topk, draft_tokens):
    """--speculative-eagle-topk > 1 (tree drafting): batched, streamed, stop strings and OpenAI n > 1 give
    plain decoding's answers, with drafts accepted."""
    plain, _ = servers  # the fixture keeps GLMSERVE_SPECULATIVE_FIXED_DEPTH=1 set: every round drafts
    with launch_glmserve("glm45-tiny", "--served-model-name", "m", "--speculative-algorithm", "EAGLE",
                         "--speculative-num-steps", "3", "--speculative-eagle-topk", str(topk),
                         "--speculative-num-draft-tokens", str(draft_tokens)) as tree:
        sp = {"max_new_tokens": 24, "temperature": 0, "ignore_eos": True}
        a = generate(plain, {"text": PROMPTS, "sampling_params": sp})
        b = generate(tree, {"text": PROMPTS, "sampling_params": sp})
        assert [x["output_ids"] for x in b] == [x["output_ids"] for x in a]
        assert [x["text"] for x in b] == [x["text"] for x in a]
        assert sum(x["meta_info"]["spec_accept_token_num"] for x in b) > 0
        r = httpx.post(tree.url + "/generate", json={"text": PROMPTS[1], "sampling_params": sp, "stream": True},
                       timeout=120)
        events = [line[6:] for line in r.text.split("\n\n") if line.startswith("data: ")]
        last = json.loads(events[-2])
        assert last["output_ids"] == a[1]["output_ids"] and last["text"] == a[1]["text"]
        full = a[3]["text"]
        stop = {"max_new_tokens": 24, "temperature": 0, "ignore_eos": True, "stop": [full[5:8]]}
        assert generate(tree, {"text": PROMPTS[3], "sampling_params": stop})["text"] == \
            generate(plain, {"text": PROMPTS[3], "sampling_params": stop})["text"]
        ca = plain.openai().completions.create(model="m", prompt=PROMPTS[2], n=2, temperature=0, max_tokens=16)
        cb = tree.openai().completions.create(model="m", prompt=PROMPTS[2], n=2, temperature=0, max_tokens=16)
        assert [c.text for c in cb.choices] == [c.text for c in ca.choices]
        info = httpx.get(tree.url + "/get_server_info", timeout=10).json()
        assert info["speculative_eagle_topk"] == topk
        assert info["speculative_num_draft_tokens"] == draft_tokens
        # Sampled requests complete with valid tokens.
        s = generate(tree, {"text": PROMPTS, "sampling_params": {"max_new_tokens": 20, "temperature": 0.8,
                                                                    "ignore_eos": True}})
        assert all(len(x["output_ids"]) == 20 for x in s)
        assert "EAGLE tree" in tree.log()


def test_checkpoint_without_mtp_is_refused(tmp_path):
    binary = glmserve_binary()
    if binary is None:
        pytest.skip("glmserve is not built")
    src = FIXTURES / "glm45-tiny"
    for f in src.iterdir():
        if f.name != "config.json":
            (tmp_path / f.name).symlink_to(f)
    config = json.loads((src / "config.json").read_text())
    config["num_nextn_predict_layers"] = 0
    (tmp_path / "config.json").write_text(json.dumps(config))
    p = subprocess.run([binary, "serve", "--model-path", str(tmp_path), "--port", str(free_port()),
                        "--speculative-algorithm", "EAGLE"], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "has no MTP (NextN) layer" in p.stdout + p.stderr


def test_speculative_token_map_keeps_answers(servers, tmp_path):
    """FR-Spec (--speculative-token-map): the draft proposes only the map's tokens. A JSON list and the
    torch.save file SGLang reads both load; greedy answers stay plain decoding's, and a map holding the
    answers' tokens still gets drafts accepted."""
    plain, _ = servers
    sp = {"max_new_tokens": 24, "temperature": 0, "ignore_eos": True}
    a = generate(plain, {"text": PROMPTS, "sampling_params": sp})
    used = sorted({t for x in a for t in x["output_ids"]})
    (tmp_path / "map.json").write_text(json.dumps(used))
    torch_map = REPO / "tests" / "unit" / "model" / "data" / "torch_files" / "int64_tensor.pt"
    for path, n in [(tmp_path / "map.json", len(used)), (torch_map, 300)]:
        with launch_glmserve("glm45-tiny", "--served-model-name", "m", "--speculative-algorithm", "EAGLE",
                             "--speculative-token-map", str(path)) as fr:
            b = generate(fr, {"text": PROMPTS, "sampling_params": sp})
            assert [x["output_ids"] for x in b] == [x["output_ids"] for x in a]
            assert f"the draft proposes {n} of 1552 tokens" in fr.log()
            assert httpx.get(fr.url + "/get_server_info", timeout=10).json()["speculative_token_map"] == str(path)
            if n == len(used):
                assert sum(x["meta_info"]["spec_accept_token_num"] for x in b) > 0


def test_bad_speculative_token_map_is_refused(tmp_path):
    binary = glmserve_binary()
    if binary is None:
        pytest.skip("glmserve is not built")
    bad = tmp_path / "map.json"
    bad.write_text(json.dumps([1, 2, 99999]))
    p = subprocess.run([binary, "serve", "--model-path", str(FIXTURES / "glm45-tiny"), "--port", str(free_port()),
                        "--speculative-algorithm", "EAGLE", "--speculative-token-map", str(bad)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert f"{bad}: token id 99999 is outside the model's vocabulary" in p.stdout + p.stderr
