"""Every error path of the HTTP API against a real glmserve: status codes and SGLang's error shape
({"object": "error", "message", "type", "param", "code"}), auth, unknown routes, over-long prompts,
and a client that disconnects mid-stream (the request must be aborted, the server must stay up)."""
import json
import socket
import threading
import time

import httpx
import openai
import pytest

from conftest import launch_glmserve


def assert_error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["object"] == "error"
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert "param" in body
    return body


def chat(srv, body, **kw):
    return httpx.post(srv.url + "/v1/chat/completions", json=body, headers=srv.headers(), timeout=60, **kw)


MSG = [{"role": "user", "content": "hi"}]


def test_malformed_json(tiny_server):
    r = httpx.post(tiny_server.url + "/v1/chat/completions", content=b'{"messages": [', timeout=10,
                   headers={"Content-Type": "application/json"})
    assert_error(r, 400)


def test_invalid_utf8_body(tiny_server):
    body = b'{"messages": [{"role": "user", "content": "\xff\xfe\xfd"}]}'
    r = httpx.post(tiny_server.url + "/v1/chat/completions", content=body, timeout=10,
                   headers={"Content-Type": "application/json"})
    assert_error(r, 400)


def test_wrong_content_type(tiny_server):
    r = httpx.post(tiny_server.url + "/v1/chat/completions", content=json.dumps({"messages": MSG}), timeout=10,
                   headers={"Content-Type": "text/plain"})
    assert_error(r, 400)


@pytest.mark.parametrize("field,value", [
    ("messages", "hello"),
    ("messages", [{"role": "wizard", "content": "x"}]),
    ("messages", [{"role": "user", "content": 42}]),
    ("temperature", "hot"),
    ("max_tokens", "many"),
    ("max_tokens", 0),
    ("n", 1.5),
    ("stream", [1]),
    ("stop", 7),
    ("tools", {"type": "function"}),
    ("tool_choice", 3),
    ("top_p", 2.0),
    ("logprobs", {"a": 1}),
])
def test_wrong_types_are_400(tiny_server, field, value):
    body = {"model": "glm-tiny", "messages": MSG, field: value}
    err = assert_error(chat(tiny_server, body), 400)
    assert field in err["message"] or err["type"] in ("BadRequestError", "Bad Request")


def test_semantic_errors_use_sglang_messages(tiny_server):
    err = assert_error(chat(tiny_server, {"messages": []}), 400)
    assert err["message"] == "Messages cannot be empty."
    err = assert_error(chat(tiny_server, {"messages": MSG, "tool_choice": "required"}), 400)
    assert err["message"] == "Tools cannot be empty if tool choice is set to required."


def test_custom_logit_processor_gate():
    with launch_glmserve("glm45-tiny", "--served-model-name", "m") as srv:
        err = assert_error(chat(srv, {"messages": MSG, "custom_logit_processor": "ForcedSequenceLogitProcessor"}), 400)
        assert err["message"] == ("The server is not configured to enable custom logit processor. Please set "
                                  "`--enable-custom-logit-processor` to enable this feature.")
        r = httpx.post(srv.url + "/generate", json={"text": "a", "custom_logit_processor": "x"}, timeout=10)
        assert_error(r, 400)


def test_over_long_prompt(tiny_server):
    long_text = "word " * 5000  # beyond --context-length 4096
    err = assert_error(chat(tiny_server, {"messages": [{"role": "user", "content": long_text}]}), 400)
    assert "context length" in err["message"]
    err = assert_error(chat(tiny_server, {"messages": MSG, "max_tokens": 100000}), 400)
    assert "too large" in err["message"]
    r = httpx.post(tiny_server.url + "/generate",
                   json={"text": "hello", "sampling_params": {"max_new_tokens": 5000}}, timeout=10)
    err = assert_error(r, 400)
    assert "maximum context length of 4096 tokens" in err["message"]
    with pytest.raises(openai.BadRequestError):
        tiny_server.openai().chat.completions.create(model="glm-tiny", messages=[{"role": "user", "content": long_text}])


def test_unknown_route_and_model(tiny_server):
    assert httpx.get(tiny_server.url + "/v2/nothing", timeout=10).status_code == 404
    assert httpx.post(tiny_server.url + "/v1/nothing", json={}, timeout=10).status_code == 404
    with pytest.raises(openai.NotFoundError):
        tiny_server.openai().models.retrieve("no-such-model")


def test_api_key():
    with launch_glmserve("glm45-tiny", "--api-key", "sekrit", "--served-model-name", "m") as srv:
        for path in ("/health", "/v1/models", "/get_model_info", "/get_server_info"):
            assert httpx.get(srv.url + path, timeout=10).status_code == 401, path
        assert httpx.get(srv.url + "/v1/models", headers={"Authorization": "Bearer wrong"},
                         timeout=10).status_code == 401
        r = httpx.post(srv.url + "/v1/chat/completions", json={"messages": MSG, "max_tokens": 2}, timeout=30)
        assert r.status_code == 401
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=srv.url + "/v1", api_key="wrong", max_retries=0).models.list()
        ok = srv.openai().chat.completions.create(model="m", messages=MSG, max_tokens=2)
        assert ok.choices[0].message.role == "assistant"
        info = httpx.get(srv.url + "/get_server_info", headers=srv.headers(), timeout=10).json()
        assert info["api_key"] != "sekrit"  # never echoed back


def running_requests(srv):
    info = httpx.get(srv.url + "/get_server_info", headers=srv.headers(), timeout=10).json()
    return info["internal_states"][0]["num_running_reqs"] + info["internal_states"][0]["num_queue_reqs"]


def test_client_disconnect_mid_stream_aborts(tiny_server):
    body = json.dumps({"model": "glm-tiny", "messages": MSG, "stream": True, "max_tokens": 4000,
                       "ignore_eos": True, "rid": "disconnect-test"}).encode()
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    s = socket.create_connection(("127.0.0.1", tiny_server.port), timeout=30)
    s.sendall(req)
    got = b""
    while got.count(b"data: ") < 3:
        got += s.recv(4096)
    assert b"chat.completion.chunk" in got
    assert running_requests(tiny_server) >= 1
    s.close()
    deadline = time.time() + 15
    while running_requests(tiny_server) > 0:
        assert time.time() < deadline, "the request kept running after the client left"
        time.sleep(0.1)
    # Still serving.
    r = tiny_server.openai().chat.completions.create(model="glm-tiny", messages=MSG, max_tokens=2)
    assert r.choices[0].finish_reason in ("stop", "length")


def aborted_total(srv):
    text = httpx.get(srv.url + "/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith("sglang:num_aborted_requests_total"))


@pytest.mark.parametrize("path,body", [
    ("/v1/chat/completions", {"model": "glm-tiny", "messages": MSG, "max_tokens": 4000, "ignore_eos": True}),
    ("/generate", {"text": "Hello", "sampling_params": {"max_new_tokens": 4000, "ignore_eos": True}}),
])
def test_client_disconnect_before_a_non_streaming_answer_aborts(tiny_server, path, body):
    # SGLang aborts a non-streaming request whose client went away; nothing is written until the end,
    # so only watching the connection can notice.
    before = aborted_total(tiny_server)
    data = json.dumps(body).encode()
    req = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    s = socket.create_connection(("127.0.0.1", tiny_server.port), timeout=30)
    s.sendall(req)
    deadline = time.time() + 15
    while running_requests(tiny_server) == 0:
        assert time.time() < deadline, "the request never started"
        time.sleep(0.02)
    s.close()
    deadline = time.time() + 15
    while running_requests(tiny_server) > 0:
        assert time.time() < deadline, "the request kept running after the client left"
        time.sleep(0.05)
    # Aborted, not finished: the server counted it (a finished request would not be).
    assert aborted_total(tiny_server) == before + 1
    r = tiny_server.openai().chat.completions.create(model="glm-tiny", messages=MSG, max_tokens=2)
    assert r.choices[0].finish_reason in ("stop", "length")


def test_client_disconnect_before_the_first_streamed_token_aborts():
    """A streaming request that has written nothing yet (here: queued behind another, one request at a time;
    in practice a long prefill) is aborted when its client leaves, not when it would first write."""
    with launch_glmserve("glm45-tiny", "--served-model-name", "glm-tiny", "--threads", "1", "--max-running-requests",
                         "1", "--enable-metrics", "--context-length", "65536") as srv:
        long_body = {"text": "Hello", "sampling_params": {"max_new_tokens": 60000, "ignore_eos": True}}  # ~30 s
        first = threading.Thread(target=lambda: httpx.post(srv.url + "/generate", json=long_body, timeout=300))
        first.start()
        deadline = time.time() + 15
        while running_requests(srv) == 0:
            assert time.time() < deadline
            time.sleep(0.02)
        body = json.dumps({"model": "glm-tiny", "messages": MSG, "stream": True, "max_tokens": 50}).encode()
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        deadline = time.time() + 15
        while server_state(srv)["num_queue_reqs"] == 0:
            assert time.time() < deadline, "the streaming request never queued"
            time.sleep(0.02)
        s.close()
        deadline = time.time() + 10
        while server_state(srv)["num_queue_reqs"] > 0:
            assert time.time() < deadline, "the queued request stayed after its client left"
            time.sleep(0.05)
        assert server_state(srv)["num_running_reqs"] == 1  # the first one is still going: it was not that
        assert aborted_total(srv) == 1
        httpx.post(srv.url + "/abort_request", json={"abort_all": True}, timeout=10)
        first.join(timeout=60)


def server_state(srv):
    return httpx.get(srv.url + "/get_server_info", timeout=10).json()["internal_states"][0]


def test_cors(tiny_server):
    r = httpx.options(tiny_server.url + "/v1/chat/completions", timeout=10,
                      headers={"Origin": "http://example.com", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert r.headers.get("access-control-allow-origin") == "*"
    assert httpx.get(tiny_server.url + "/v1/models", timeout=10).headers.get("access-control-allow-origin") == "*"


def test_model_without_chat_template_serves_completions(tmp_path):
    """A checkpoint with no chat template starts (as SGLang does): completions and /generate work,
    chat requests get a 400 that names --chat-template, and the server keeps serving."""
    import shutil
    from conftest import FIXTURES

    model = tmp_path / "no-template"
    shutil.copytree(FIXTURES / "glm45-tiny", model)
    (model / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((model / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (model / "tokenizer_config.json").write_text(json.dumps(cfg))
    with launch_glmserve(str(model)) as srv:
        assert "chat_template" in srv.log() and "--chat-template" in srv.log()
        body = assert_error(chat(srv, {"messages": MSG, "max_tokens": 2}), 400)
        assert "--chat-template" in body["message"]
        r = httpx.post(srv.url + "/v1/completions", json={"prompt": "hello", "max_tokens": 3, "temperature": 0},
                       timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["usage"]["completion_tokens"] == 3
        r = httpx.post(srv.url + "/generate", json={"text": "hi", "sampling_params": {"max_new_tokens": 2}}, timeout=60)
        assert r.status_code == 200, r.text
