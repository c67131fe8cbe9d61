"""SGLang's native routes on a real glmserve: /generate (plain, streamed, logprobs, batch),
/health, /get_model_info, /get_server_info (and /model_info, /server_info, /get_load), tokenize round trip against Hugging Face tokenizers,
/parse_function_call and /separate_reasoning against SGLang's cases, /metrics names, and the
thinking budget processor (SGLang's algorithm: "\\n" then "</think>" once the budget is spent)."""
import json
import threading
import time

import httpx
import pytest

from conftest import FIXTURES, SHARED, launch_glmserve


def post(srv, path, body, status=200):
    r = httpx.post(srv.url + path, json=body, headers=srv.headers(), timeout=120)
    assert r.status_code == status, r.text
    return r.json() if status == 200 and r.headers.get("content-type", "").startswith("application/json") else r


def test_health_and_info(tiny_server):
    assert httpx.get(tiny_server.url + "/health", timeout=30).status_code == 200
    assert httpx.get(tiny_server.url + "/health_generate", timeout=30).status_code == 200
    info = httpx.get(tiny_server.url + "/get_model_info", timeout=10).json()
    assert info["model_path"].endswith("glm45-tiny")
    assert info["is_generation"] is True
    server = httpx.get(tiny_server.url + "/get_server_info", timeout=10).json()
    assert server["served_model_name"] == "glm-tiny"
    assert server["tool_call_parser"] == "glm45"
    assert server["context_length"] == 4096
    assert "version" in server


def test_model_info_server_info_and_load_routes(tiny_server):
    url = tiny_server.url
    # Newer SGLang's names for the same documents.
    assert httpx.get(url + "/model_info", timeout=10).json() == httpx.get(url + "/get_model_info", timeout=10).json()
    new, old = (httpx.get(url + p, timeout=10).json() for p in ("/server_info", "/get_server_info"))
    assert new.keys() == old.keys() and new["served_model_name"] == old["served_model_name"] == "glm-tiny"
    # /get_load: one data-parallel rank; nothing in flight once the previous tests' requests are done.
    deadline = time.time() + 10
    while (idle := httpx.get(url + "/get_load", timeout=10).json()) != [
            {"dp_rank": 0, "num_reqs": 0, "num_waiting_reqs": 0, "num_tokens": 0}]:
        assert time.time() < deadline, idle
        time.sleep(0.05)
    # A long request in another thread; poll /get_load until it shows (the tiny model is fast).
    body = {"text": "Hello", "sampling_params": {"max_new_tokens": 3000, "temperature": 0, "ignore_eos": True}}
    worker = threading.Thread(target=lambda: httpx.post(url + "/generate", json=body, timeout=300))
    worker.start()
    # Right after admission the request may hold no KV pages yet; once it has run a step it holds its tokens.
    seen = []
    while worker.is_alive() and not seen:
        load = httpx.get(url + "/get_load", timeout=10).json()
        assert len(load) == 1 and load[0]["dp_rank"] == 0, load
        assert load[0]["num_reqs"] <= 1, load
        if load[0]["num_reqs"] == 1 and load[0]["num_waiting_reqs"] == 0 and load[0]["num_tokens"] >= 2:
            seen = load
    worker.join()
    assert seen, "/get_load never showed the running request with its KV tokens"


def test_generate_plain_stream_and_batch(tiny_server):
    body = {"text": "Hello", "sampling_params": {"max_new_tokens": 12, "temperature": 0}}
    full = post(tiny_server, "/generate", body)
    meta = full["meta_info"]
    assert meta["completion_tokens"] == len(full["output_ids"]) <= 12
    assert meta["finish_reason"]["type"] in ("stop", "length")
    assert meta["prompt_tokens"] >= 1
    r = httpx.post(tiny_server.url + "/generate", json={**body, "stream": True}, timeout=120)
    events = [line[6:] for line in r.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    last = json.loads(events[-2])
    assert last["text"] == full["text"]  # cumulative text, last event = the whole answer
    assert last["output_ids"] == full["output_ids"]
    batch = post(tiny_server, "/generate", {"text": ["Hello", "Hello"], "sampling_params": body["sampling_params"]})
    assert [b["text"] for b in batch] == [full["text"], full["text"]]


def test_generate_input_ids_and_logprobs(tiny_server):
    ids = httpx.post(tiny_server.url + "/v1/tokenize", json={"prompt": "Hello"}, timeout=10).json()["tokens"]
    r = post(tiny_server, "/generate", {"input_ids": ids, "return_logprob": True, "top_logprobs_num": 2,
                                        "sampling_params": {"max_new_tokens": 6, "temperature": 0}})
    by_text = post(tiny_server, "/generate", {"text": "Hello", "sampling_params": {"max_new_tokens": 6, "temperature": 0}})
    assert r["output_ids"] == by_text["output_ids"]
    lps = r["meta_info"]["output_token_logprobs"]
    assert [t[1] for t in lps] == r["output_ids"]
    assert all(len(t) == 2 for t in r["meta_info"]["output_top_logprobs"])


def test_tokenize_matches_hf_tokenizers(tiny_server):
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer.from_file(str(FIXTURES / "glm45-tiny" / "tokenizer.json"))
    for text in ["Hello world", "你好，世界", "<tool_call>get_weather\n</tool_call>", "emoji 😀 end"]:
        got = httpx.post(tiny_server.url + "/v1/tokenize", json={"prompt": text}, timeout=10).json()
        assert got["tokens"] == tok.encode(text).ids, text
        assert got["count"] == len(got["tokens"])
        back = httpx.post(tiny_server.url + "/detokenize", json={"tokens": got["tokens"]}, timeout=10).json()
        assert back["text"] == tok.decode(got["tokens"], skip_special_tokens=True)


def parser_cases(parser):
    data = json.loads((SHARED / "spec" / "parser-cases.json").read_text())
    cases = data if isinstance(data, list) else data.get("cases", [])
    return [c for c in cases if c.get("parser") == parser and c.get("input") is not None]


@pytest.mark.parametrize("parser", ["glm45", "glm47"])
def test_parse_function_call_endpoint_matches_sglang_cases(tiny_server, parser):
    cases = parser_cases(parser)
    if not cases:
        pytest.skip("no cases")
    checked = 0
    for case in cases:
        exp = case.get("expected") or {}
        if not isinstance(exp, dict) or "calls" not in exp or not case.get("tools"):
            continue
        r = post(tiny_server, "/parse_function_call",
                 {"text": case["input"], "tool_call_parser": parser, "tools": case["tools"]})
        assert [c["name"] for c in r["calls"]] == [c["name"] for c in exp["calls"]], case["name"]
        for got, want in zip(r["calls"], exp["calls"]):
            if "parameters_json" not in want and "parameters" not in want and "arguments" not in want:
                continue
            if "parameters_json" in want:
                assert json.loads(got["parameters"]) == want["parameters_json"], case["name"]
            else:
                w = want.get("parameters", want.get("arguments"))
                assert json.loads(got["parameters"]) == (json.loads(w) if isinstance(w, str) else w), case["name"]
        checked += 1
    assert checked > 0


def test_separate_reasoning_endpoint_matches_sglang_cases(tiny_server):
    cases = [c for c in parser_cases("reasoning-glm45")
             if not (c.get("detector_args") or {}).get("force_reasoning")]
    checked = 0
    for case in cases:
        exp = case.get("expected") or {}
        if not isinstance(exp, dict) or "reasoning_text" not in exp:
            continue
        r = post(tiny_server, "/separate_reasoning", {"text": case["input"], "reasoning_parser": "glm45"})
        assert r["reasoning_text"] == exp["reasoning_text"], case["name"]
        assert r["text"] == exp.get("normal_text", exp.get("text")), case["name"]
        checked += 1
    if not checked:
        pytest.skip("no non-forced reasoning cases in parser-cases.json")


def test_metrics_names(tiny_server):
    tiny_server.openai().completions.create(model="glm-tiny", prompt="hi", max_tokens=3)
    text = httpx.get(tiny_server.url + "/metrics", timeout=10).text
    for name in ["sglang:prompt_tokens_total", "sglang:generation_tokens_total", "sglang:num_running_reqs",
                 "sglang:num_queue_reqs", "sglang:token_usage", "sglang:cache_hit_rate",
                 "sglang:time_to_first_token_seconds_bucket", "sglang:inter_token_latency_seconds_bucket",
                 "sglang:e2e_request_latency_seconds_bucket", "sglang:spec_accept_length"]:
        assert name in text, name
    gen = [l for l in text.splitlines() if l.startswith("sglang:generation_tokens_total{")]
    assert gen and float(gen[0].split()[-1]) >= 3


def test_metrics_off_without_flag():
    with launch_glmserve("glm45-tiny", "--served-model-name", "m") as srv:
        assert httpx.get(srv.url + "/metrics", timeout=10).status_code == 404


def test_flush_cache_and_abort(tiny_server):
    r = httpx.post(tiny_server.url + "/flush_cache", timeout=10)
    assert r.status_code in (200, 400)
    assert httpx.post(tiny_server.url + "/abort_request", json={"rid": "nothing-by-that-name"},
                      timeout=10).status_code == 200


def test_thinking_budget():
    """GLM-4.7's template opens <think> in the prompt; with thinking_budget B SGLang's processor
    forces "\\n" then "</think>" once B tokens follow that <think>."""
    template = SHARED / "glm" / "chat_template-glm-4.7.jinja"
    with launch_glmserve("glm45-tiny", "--chat-template", str(template), "--enable-custom-logit-processor",
                         "--reasoning-parser", "glm45", "--served-model-name", "m") as srv:
        think_end = httpx.post(srv.url + "/v1/tokenize", json={"prompt": "</think>"}, timeout=10).json()["tokens"]
        newline = httpx.post(srv.url + "/v1/tokenize", json={"prompt": "\n"}, timeout=10).json()["tokens"]
        assert len(think_end) == 1 and len(newline) == 1
        prompt = httpx.post(srv.url + "/v1/tokenize", json={"messages": [{"role": "user", "content": "hi"}]},
                            timeout=10).json()["tokens"]
        budget = 6
        r = post(srv, "/generate", {"input_ids": prompt, "sampling_params": {
            "max_new_tokens": 30, "temperature": 0, "custom_params": {"thinking_budget": budget}},
            "custom_logit_processor": "Glm4MoeThinkingBudgetLogitProcessor"})
        out = r["output_ids"]
        assert think_end[0] in out
        end = out.index(think_end[0])
        assert end in (budget, budget + 1)
        assert out[end - 1] == newline[0]
        # Through the chat API the forced close shows up as a reasoning/content split.
        chat = srv.openai().chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], temperature=0, max_tokens=30,
            extra_body={"custom_logit_processor": "Glm4MoeThinkingBudgetLogitProcessor",
                        "custom_params": {"thinking_budget": budget}})
        assert getattr(chat.choices[0].message, "reasoning_content", None) is not None


def test_pause_and_continue_generation():
    """SGLang's /pause_generation (in_place: requests keep their place, no token while paused; abort: every
    request ends) and /continue_generation; requests sent while paused wait."""
    with launch_glmserve("glm45-tiny", "--threads", "1", "--context-length", "32768") as srv:
        url = srv.url
        body = {"text": "Hello", "sampling_params": {"max_new_tokens": 20000, "temperature": 0, "ignore_eos": True}}
        result = {}
        worker = threading.Thread(target=lambda: result.update(httpx.post(url + "/generate", json=body, timeout=300).json()))
        worker.start()
        deadline = time.time() + 15
        while httpx.get(url + "/get_load", timeout=10).json()[0]["num_tokens"] < 16:
            assert time.time() < deadline
            time.sleep(0.02)
        r = httpx.post(url + "/pause_generation", json={"mode": "in_place"}, timeout=30)
        assert r.status_code == 200 and r.json() == {"message": "Generation paused successfully.", "status": "ok"}
        first = httpx.get(url + "/get_load", timeout=10).json()[0]
        time.sleep(0.3)
        assert httpx.get(url + "/get_load", timeout=10).json()[0] == first  # nothing advanced
        assert first["num_reqs"] == 1
        r = httpx.post(url + "/continue_generation", timeout=30)
        assert r.json() == {"message": "Generation continued successfully.", "status": "ok"}
        deadline = time.time() + 15
        while httpx.get(url + "/get_load", timeout=10).json()[0]["num_tokens"] <= first["num_tokens"]:
            assert time.time() < deadline, "generation did not continue"
            time.sleep(0.02)
        # mode abort (the default, no body): the request ends with finish reason abort.
        assert httpx.post(url + "/pause_generation", timeout=30).status_code == 200
        worker.join(timeout=60)
        assert result["meta_info"]["finish_reason"]["type"] == "abort", result["meta_info"]
        # Paused: a new request waits until /continue_generation.
        late = {}
        t = threading.Thread(target=lambda: late.update(httpx.post(url + "/generate", timeout=60, json={
            "text": "Hi", "sampling_params": {"max_new_tokens": 3, "temperature": 0}}).json()))
        t.start()
        time.sleep(0.3)
        assert not late and httpx.get(url + "/get_load", timeout=10).json()[0]["num_waiting_reqs"] == 1
        httpx.post(url + "/continue_generation", json={}, timeout=30)
        t.join(timeout=60)
        assert late["meta_info"]["completion_tokens"] == 3
        r = httpx.post(url + "/pause_generation", json={"mode": "later"}, timeout=30)
        assert r.status_code == 400 and "mode" in r.json()["message"]
        # `curl -X POST` sends no Content-Length: answered at once, not after the server's read timeout.
        import socket
        for route in ("/pause_generation", "/continue_generation", "/flush_cache"):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=3) as s:
                s.sendall(f"POST {route} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                assert s.recv(100).startswith(b"HTTP/1.1 200"), route
