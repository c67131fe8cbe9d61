"""glmserve under load (issue #6), on a real `glmserve serve` with the glm45-tiny fixture:

- 64 concurrent streaming clients with mixed prompt and output lengths: each stream's concatenated
  deltas equal that prompt's non-streamed greedy answer (temperature 0), asked alone beforehand;
- requests aborted through /abort_request and clients that disconnect mid-stream give their KV pages
  back: num_used_tokens returns to 0 in /get_server_info and /metrics, and after /flush_cache the free
  pool (available_size) is back at its starting size;
- a server whose --max-total-tokens is far below the load still completes every request, by queueing,
  with the same answers;
- a prompt served from the prefix cache (cached_tokens > 0) answers exactly as on a miss;
- a multi-turn chat that re-sends its history hits the cache;
- `glmserve bench --mode serving` against the server: exact token totals and the JSON fields.
"""
import json
import random
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import TINY_SERVER_FLAGS, glmserve_binary, launch_glmserve

ORDINARY_IDS = range(3, 1400)
RESETS = []  # connections reset before their response started (retried once, see completion())  # below the added tokens (1500+: EOS, <think>, ...) of the tiny vocab


@pytest.fixture(scope="module")
def srv():
    with launch_glmserve("glm45-tiny", *TINY_SERVER_FLAGS) as s:
        yield s


def sse_events(response):
    """Yields the decoded JSON payload of each `data:` event until [DONE]."""
    for line in response.iter_lines():
        if not line.startswith("data: "):
            continue
        data = line[6:]
        if data == "[DONE]":
            return
        yield json.loads(data)


def completion(url, prompt_ids, max_tokens, ignore_eos, stream):
    body = {"model": "glm-tiny", "prompt": prompt_ids, "max_tokens": max_tokens, "temperature": 0,
            "ignore_eos": ignore_eos, "stream": stream}
    if not stream:
        r = httpx.post(url + "/v1/completions", json=body, timeout=120)
        assert r.status_code == 200, r.text
        c = r.json()["choices"][0]
        return c["text"], c["finish_reason"]
    for attempt in range(2):
        text, finish, started = "", None, False
        try:
            with httpx.stream("POST", url + "/v1/completions", json=body, timeout=120) as r:
                started = True
                assert r.status_code == 200, r.read()
                for ev in sse_events(r):
                    for c in ev.get("choices", []):
                        text += c.get("text") or ""
                        finish = c.get("finish_reason") or finish
            return text, finish
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # A burst of connections was reset before any response byte arrived (about once in eight runs
            # of 64 simultaneous connects) while cpp-httplib listened with its backlog of 5; the server now
            # raises the backlog (http_server.cpp). Resets are counted and the load test allows none.
            if attempt == 1 or started:
                raise
            RESETS.append(url)


def server_state(url):
    return httpx.get(url + "/get_server_info", timeout=10).json()["internal_states"][0]


def metric(url, name):
    text = httpx.get(url + "/metrics", timeout=10).text
    m = re.search(r"^" + re.escape(name) + r"\{[^}]*\} (\S+)$", text, re.M)
    assert m, f"{name} missing from /metrics"
    return float(m.group(1))


def wait_idle(url, timeout=15):
    deadline = time.time() + timeout
    while True:
        st = server_state(url)
        if st["num_running_reqs"] == 0 and st["num_queue_reqs"] == 0 and st["num_used_tokens"] == 0:
            return st
        assert time.time() < deadline, f"server did not free its pages: {st}"
        time.sleep(0.05)


def mixed_load(n, seed):
    rng = random.Random(seed)
    return [([rng.choice(ORDINARY_IDS) for _ in range(rng.randint(3, 160))], rng.randint(1, 40), i % 3 == 0)
            for i in range(n)]


def test_64_concurrent_streams_equal_their_greedy_answers(srv):
    load = mixed_load(64, seed=6)
    alone = [completion(srv.url, p, m, eos, stream=False) for p, m, eos in load]
    barrier = threading.Barrier(len(load))

    def client(item):
        p, m, eos = item
        barrier.wait()
        return completion(srv.url, p, m, eos, stream=True)

    RESETS.clear()
    with ThreadPoolExecutor(len(load)) as ex:
        streamed = list(ex.map(client, load))
    assert not RESETS, f"{len(RESETS)} of 64 connections were reset before their response"
    for i, ((text, finish), (want_text, want_finish)) in enumerate(zip(streamed, alone)):
        assert (text, finish) == (want_text, want_finish), f"request {i} (prompt {len(load[i][0])}, max {load[i][1]})"
    assert sum(1 for _, f in alone if f == "length") > 0
    wait_idle(srv.url)


def test_aborted_and_disconnected_requests_free_their_pages(srv):
    httpx.post(srv.url + "/flush_cache", timeout=10)
    start = wait_idle(srv.url)
    assert start["available_size"] == start["max_total_num_tokens"]
    n = 8
    rids = [f"load-abort-{i}-{time.time_ns()}" for i in range(n)]
    started = threading.Barrier(n + 1)
    finishes = [None] * n

    def client(i):
        # Long enough to still be running when the test looks: ~4000 tokens take several seconds.
        body = {"input_ids": list(range(100 + i, 164 + i)), "rid": rids[i], "stream": True,
                "sampling_params": {"max_new_tokens": 3900, "temperature": 0, "ignore_eos": True}}
        with httpx.stream("POST", srv.url + "/generate", json=body, timeout=60) as r:
            events = sse_events(r)
            for _ in range(3):
                next(events)
            started.wait()
            if i % 2:
                return  # disconnect: leaving the block closes the connection mid-stream
            for ev in events:
                finishes[i] = ev["meta_info"]["finish_reason"] or finishes[i]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    started.wait()
    busy = server_state(srv.url)
    assert busy["num_used_tokens"] > 0 and busy["num_running_reqs"] > 0, busy
    assert metric(srv.url, "sglang:num_used_tokens") > 0
    for i in range(0, n, 2):
        assert httpx.post(srv.url + "/abort_request", json={"rid": rids[i]}, timeout=10).status_code == 200
    for t in threads:
        t.join(timeout=60)
    for i in range(0, n, 2):
        assert finishes[i] and finishes[i]["type"] == "abort", finishes[i]
    t0 = time.time()
    end = wait_idle(srv.url, timeout=5)  # far less than the ~4000-token requests would have taken
    assert time.time() - t0 < 5
    assert end["num_used_tokens"] == 0 and end["token_usage"] == 0
    assert metric(srv.url, "sglang:num_used_tokens") == 0
    assert metric(srv.url, "sglang:token_usage") == 0
    assert metric(srv.url, "sglang:num_running_reqs") == 0
    assert httpx.post(srv.url + "/flush_cache", timeout=10).status_code == 200
    assert server_state(srv.url)["available_size"] == start["available_size"]


def test_a_pool_smaller_than_the_load_completes_by_queueing(srv, glmserve_launcher):
    load = [(p, m, True) for p, _, _ in mixed_load(12, seed=7) for m in [24]]
    load = [(p[:60] if len(p) > 60 else p, m, e) for p, m, e in load]
    want = [completion(srv.url, p, m, e, stream=False) for p, m, e in load]
    need = sum(len(p) + m for p, m, _ in load)
    with glmserve_launcher("glm45-tiny", "--served-model-name", "glm-tiny", "--max-total-tokens", "128",
                           "--page-size", "16", "--enable-metrics") as small:
        cap = server_state(small.url)["max_total_num_tokens"]
        assert cap == 128 and need > 4 * cap
        with ThreadPoolExecutor(len(load)) as ex:
            got = list(ex.map(lambda x: completion(small.url, *x, stream=True), load))
        assert got == want
        wait_idle(small.url)
        # A request that can never fit is refused at once, not queued forever.
        r = httpx.post(small.url + "/v1/completions", timeout=30,
                       json={"model": "glm-tiny", "prompt": list(range(10, 110)), "max_tokens": 100})
        assert r.status_code == 400, r.text


def test_cache_hit_answers_like_a_miss(srv):
    assert httpx.post(srv.url + "/flush_cache", timeout=10).status_code == 200
    rng = random.Random(11)
    prompt = [rng.choice(ORDINARY_IDS) for _ in range(150)]
    body = {"input_ids": prompt, "sampling_params": {"max_new_tokens": 24, "temperature": 0}}
    miss = httpx.post(srv.url + "/generate", json=body, timeout=60).json()
    hit = httpx.post(srv.url + "/generate", json=body, timeout=60).json()
    assert miss["meta_info"]["cached_tokens"] == 0
    assert hit["meta_info"]["cached_tokens"] >= 128  # whole 16-token pages, one prompt token left to compute
    assert hit["output_ids"] == miss["output_ids"] and hit["text"] == miss["text"]
    # A prompt that shares only a prefix, streamed over the OpenAI route, still matches its own miss.
    branch = prompt[:100] + [rng.choice(ORDINARY_IDS) for _ in range(30)]
    text_hit, _ = completion(srv.url, branch, 16, False, stream=True)
    usage = httpx.post(srv.url + "/v1/completions", timeout=60, json={
        "model": "glm-tiny", "prompt": branch, "max_tokens": 16, "temperature": 0}).json()
    assert usage["usage"]["prompt_tokens_details"]["cached_tokens"] > 0
    assert httpx.post(srv.url + "/flush_cache", timeout=10).status_code == 200
    text_miss, _ = completion(srv.url, branch, 16, False, stream=False)
    assert text_hit == text_miss == usage["choices"][0]["text"]


def test_multi_turn_chat_hits_the_cache(srv):
    client = srv.openai()
    messages = [{"role": "system", "content": "You are a terse assistant. " * 12},
                {"role": "user", "content": "List three prime numbers and explain each one briefly."}]
    first = client.chat.completions.create(model="glm-tiny", messages=messages, max_tokens=12, temperature=0,
                                           extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    messages += [{"role": "assistant", "content": first.choices[0].message.content or ""},
                 {"role": "user", "content": "And two more?"}]
    second = client.chat.completions.create(model="glm-tiny", messages=messages, max_tokens=12, temperature=0,
                                            extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= first.usage.prompt_tokens - 16, (cached, first.usage.prompt_tokens)
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


def run_bench(srv, tmp_path, *flags):
    out = tmp_path / "bench.jsonl"
    cmd = [glmserve_binary(), "bench", "--mode", "serving", "--base-url", srv.url, "--output-file", str(out), *flags]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert json.loads(out.read_text().strip().splitlines()[-1]) == result
    assert "Serving Benchmark Result" in p.stdout  # the table on stdout, progress on stderr unless disabled
    assert ("100% [" in p.stderr) != ("--disable-tqdm" in flags), p.stderr
    return result


def test_bench_serving_mode(srv, tmp_path):
    r = run_bench(srv, tmp_path, "--dataset-name", "random-ids", "--num-prompts", "12", "--random-input-len", "40",
                  "--random-output-len", "10", "--random-range-ratio", "1", "--max-concurrency", "4",
                  "--request-rate", "40", "--seed", "5")
    assert r["completed"] == 12 and r["failed"] == 0
    assert r["total_input_tokens"] == 12 * 40 and r["total_output_tokens"] == 12 * 10  # ignore_eos: exact
    assert r["max_concurrency"] == 4 and r["request_rate"] == 40 and r["backend"] == "sglang"
    for key in ("ttft", "tpot", "itl", "e2e_latency"):
        for stat in ("mean", "median", "p90", "p99", "std"):
            assert r[f"{stat}_{key}_ms"] >= 0, (stat, key)
        assert r[f"median_{key}_ms"] <= r[f"p90_{key}_ms"] <= r[f"p99_{key}_ms"]
    assert 0 < r["mean_ttft_ms"] < r["mean_e2e_latency_ms"]
    for key in ("request_throughput", "input_throughput", "output_throughput", "total_throughput", "duration"):
        assert r[key] > 0, key
    assert r["output_throughput"] == pytest.approx(120 / r["duration"])
    # Same seed again: every prompt is now in the prefix cache.
    again = run_bench(srv, tmp_path, "--dataset-name", "random-ids", "--num-prompts", "12", "--random-input-len",
                      "40", "--random-output-len", "10", "--random-range-ratio", "1", "--seed", "5",
                      "--warmup-requests", "0", "--disable-tqdm")
    assert again["total_cached_tokens"] >= 12 * 32
    t = run_bench(srv, tmp_path, "--backend", "openai", "--num-prompts", "6", "--random-input-len", "30",
                  "--random-output-len", "8", "--random-range-ratio", "0.5", "--output-details")
    assert t["completed"] == 6 and t["failed"] == 0 and t["backend"] == "openai"
    assert t["total_output_tokens"] == sum(t["output_lens"]) and all(4 <= n <= 8 for n in t["output_lens"])
    assert all(e == "" for e in t["errors"]) and len(t["itls"]) == 6
