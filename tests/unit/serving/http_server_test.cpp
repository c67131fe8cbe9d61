// The HTTP layer end to end over a real socket, with the fake engine/text backend:
// status codes and error bodies, SSE framing, stream == non-stream, disconnect -> abort.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_backend.h"
#include "serving/http_server.h"

using namespace glm::serving;
using glm::serving::testing::FakeEngine;
using glm::serving::testing::FakeText;

namespace {

class ServerFixture : public ::testing::Test {
 protected:
  void start(bool ready = true) {
    args.model_path = "/fake/model";
    args.tokenizer_path = args.model_path;
    args.served_model_name = "glm-test";
    args.port = 0;
    server = std::make_unique<HttpServer>(args);
    server->start();
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_read_timeout(10, 0);
    if (ready) make_ready();
  }
  void make_ready() {
    ServingContext ctx;
    ctx.engine = &engine;
    ctx.text = &text;
    ctx.model.model_path = args.model_path;
    ctx.model.served_model_name = args.served_model_name;
    ctx.model.context_length = context_length;
    ctx.model.vocab_size = 256;
    server->set_ready(ctx);
  }
  httplib::Result post(const std::string& path, const std::string& body,
                       const std::string& type = "application/json") {
    return client->Post(path.c_str(), headers, body, type.c_str());
  }
  Json post_json(const std::string& path, const Json& body, int expect_status = 200) {
    auto r = post(path, body.dump());
    EXPECT_TRUE(r);
    if (!r) return nullptr;
    EXPECT_EQ(r->status, expect_status) << r->body;
    return Json::parse(r->body, nullptr, false);
  }
  // The data payloads of an SSE body, in order ("[DONE]" included).
  static std::vector<std::string> sse_payloads(const std::string& body) {
    std::vector<std::string> out;
    size_t pos = 0;
    while ((pos = body.find("data: ", pos)) != std::string::npos) {
      size_t end = body.find("\n\n", pos);
      out.push_back(body.substr(pos + 6, end - pos - 6));
      pos = end + 2;
    }
    return out;
  }
  static Json chat_body(bool stream) {
    Json b = Json::parse(R"({"model":"glm-test","messages":[{"role":"user","content":"hi"}],"temperature":0})");
    b["stream"] = stream;
    return b;
  }

  ServerArgs args;
  FakeEngine engine;
  FakeText text;
  int context_length = 4096;
  httplib::Headers headers;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<httplib::Client> client;
};

}  // namespace

TEST_F(ServerFixture, Answers503WhileLoading) {
  start(false);
  auto h = client->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 503);
  auto r = post("/v1/chat/completions", chat_body(false).dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  make_ready();
  h = client->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

TEST_F(ServerFixture, ChatNonStreaming) {
  start();
  Json r = post_json("/v1/chat/completions", chat_body(false));
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["model"], "glm-test");
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(r["choices"][0]["message"]["content"], engine.reply);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(r["choices"][0]["matched_stop"], engine.eos_id);
  EXPECT_EQ(r["usage"]["completion_tokens"], static_cast<int>(engine.reply.size()) + 1);
  EXPECT_EQ(r["usage"]["total_tokens"], r["usage"]["prompt_tokens"].get<int>() + r["usage"]["completion_tokens"].get<int>());
  // The prompt is the rendered template, tokenized.
  auto sub = engine.submitted_requests();
  ASSERT_EQ(sub.size(), 1u);
  EXPECT_EQ(text.decode(sub[0].input_ids, false), "<user>\"hi\"\n<assistant>");
  EXPECT_EQ(sub[0].sampling.temperature, 0.0f);
}

TEST_F(ServerFixture, StreamFramingAndConcatenationEqualsNonStream) {
  start();
  Json body = chat_body(true);
  body["stream_options"] = {{"include_usage", true}};
  auto r = post("/v1/chat/completions", body.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  auto events = sse_payloads(r->body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  Json first = Json::parse(events[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(first["choices"][0]["delta"]["content"], "");
  std::string content;
  Json finish = nullptr, usage = nullptr;
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    Json e = Json::parse(events[i]);
    if (e["choices"].empty()) {
      usage = e["usage"];
      continue;
    }
    const Json& c = e["choices"][0];
    if (c["delta"]["content"].is_string()) content += c["delta"]["content"].get<std::string>();
    if (!c["finish_reason"].is_null()) finish = c;
  }
  Json plain = post_json("/v1/chat/completions", chat_body(false));
  EXPECT_EQ(content, plain["choices"][0]["message"]["content"].get<std::string>());
  ASSERT_TRUE(finish.is_object());
  EXPECT_EQ(finish["finish_reason"], "stop");
  EXPECT_EQ(finish["matched_stop"], engine.eos_id);
  ASSERT_TRUE(usage.is_object());
  EXPECT_EQ(usage["completion_tokens"], plain["usage"]["completion_tokens"]);
}

TEST_F(ServerFixture, ReasoningSplitStreamsLikeNonStream) {
  args.reasoning_parser = "glm45";
  engine.reply = "<think>step by step</think>The answer";
  start();
  Json plain = post_json("/v1/chat/completions", chat_body(false));
  EXPECT_EQ(plain["choices"][0]["message"]["reasoning_content"], "step by step");
  EXPECT_EQ(plain["choices"][0]["message"]["content"], "The answer");
  auto r = post("/v1/chat/completions", chat_body(true).dump());
  ASSERT_TRUE(r);
  std::string reasoning, content;
  for (const auto& p : sse_payloads(r->body)) {
    if (p == "[DONE]") continue;
    Json e = Json::parse(p);
    for (const auto& c : e["choices"]) {
      if (c["delta"]["reasoning_content"].is_string()) reasoning += c["delta"]["reasoning_content"].get<std::string>();
      if (c["delta"]["content"].is_string()) content += c["delta"]["content"].get<std::string>();
    }
  }
  EXPECT_EQ(reasoning, "step by step");
  EXPECT_EQ(content, "The answer");
}

TEST_F(ServerFixture, ErrorsHaveSglangShapeAndStatus) {
  start();
  auto r = post("/v1/chat/completions", "{not json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  Json e = Json::parse(r->body);
  EXPECT_EQ(e["object"], "error");
  EXPECT_EQ(e["code"], 400);
  EXPECT_TRUE(e["param"].is_null());

  r = post("/v1/chat/completions", std::string("{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);

  r = post("/v1/chat/completions", chat_body(false).dump(), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);

  Json body = chat_body(false);
  body["max_tokens"] = "many";
  post_json("/v1/chat/completions", body, 400);

  body = chat_body(false);
  body["custom_logit_processor"] = "{}";
  Json err = post_json("/v1/chat/completions", body, 400);
  EXPECT_NE(err["message"].get<std::string>().find("--enable-custom-logit-processor"), std::string::npos);

  auto nf = client->Get("/no/such/route");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);

  auto m = client->Get("/v1/models/other");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 404);
  EXPECT_EQ(Json::parse(m->body)["error"]["code"], "model_not_found");
}

TEST_F(ServerFixture, PromptBeyondContextIs400) {
  context_length = 16;
  start();
  Json body = chat_body(false);
  body["messages"][0]["content"] = std::string(100, 'x');
  Json e = post_json("/v1/chat/completions", body, 400);
  EXPECT_NE(e["message"].get<std::string>().find("context length"), std::string::npos);
  body = Json::parse(R"({"text":"abc","sampling_params":{"max_new_tokens":100}})");
  e = post_json("/generate", body, 400);
  EXPECT_NE(e["message"].get<std::string>().find("maximum context length of 16 tokens"), std::string::npos);
}

TEST_F(ServerFixture, ApiKeyRequiredOnEveryRoute) {
  args.api_key = "secret";
  start();
  for (const char* path : {"/health", "/v1/models", "/get_model_info", "/metrics"}) {
    auto r = client->Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
  }
  headers = {{"Authorization", "Bearer wrong"}};
  EXPECT_EQ(post("/v1/chat/completions", chat_body(false).dump())->status, 401);
  headers = {{"Authorization", "Bearer secret"}};
  EXPECT_EQ(post("/v1/chat/completions", chat_body(false).dump())->status, 200);
  auto cors = client->Get("/v1/models", headers);
  ASSERT_TRUE(cors);
  EXPECT_EQ(cors->get_header_value("Access-Control-Allow-Origin"), "*");
}

TEST_F(ServerFixture, NativeGenerateAndCompletions) {
  start();
  Json g = post_json("/generate", Json::parse(R"({"input_ids":[1,2,3],"sampling_params":{"max_new_tokens":4}})"));
  EXPECT_EQ(g["text"], engine.reply.substr(0, 4));
  EXPECT_EQ(g["meta_info"]["finish_reason"]["type"], "length");
  EXPECT_EQ(g["meta_info"]["prompt_tokens"], 3);
  EXPECT_EQ(g["meta_info"]["completion_tokens"], 4);
  Json c = post_json("/v1/completions", Json::parse(R"({"prompt":"ab","max_tokens":3,"n":2})"));
  ASSERT_EQ(c["choices"].size(), 2u);
  EXPECT_EQ(c["choices"][1]["text"], engine.reply.substr(0, 3));
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(c["usage"]["prompt_tokens"], 2);  // counted once per prompt
  EXPECT_EQ(c["usage"]["completion_tokens"], 6);
  auto r = post("/generate", R"({"text":"x","stream":true,"sampling_params":{"max_new_tokens":3}})");
  ASSERT_TRUE(r);
  auto events = sse_payloads(r->body);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(Json::parse(events[2])["text"], engine.reply.substr(0, 3));  // cumulative text
  EXPECT_EQ(events[3], "[DONE]");
  Json t = post_json("/v1/tokenize", Json::parse(R"({"prompt":"hey"})"));
  EXPECT_EQ(t["count"], 3);
  Json d = post_json("/v1/detokenize", Json{{"tokens", t["tokens"]}});
  EXPECT_EQ(d["text"], "hey");
}

TEST_F(ServerFixture, MetricsUseSglangNames) {
  args.enable_metrics = true;
  start();
  post_json("/v1/chat/completions", chat_body(false));
  auto m = client->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  for (const char* name : {"sglang:prompt_tokens_total", "sglang:generation_tokens_total", "sglang:num_running_reqs",
                           "sglang:num_queue_reqs", "sglang:token_usage", "sglang:cache_hit_rate",
                           "sglang:time_to_first_token_seconds_bucket", "sglang:inter_token_latency_seconds_sum",
                           "sglang:e2e_request_latency_seconds_count", "sglang:spec_accept_length"})
    EXPECT_NE(m->body.find(name), std::string::npos) << name;
  EXPECT_NE(m->body.find("sglang:generation_tokens_total{model_name=\"glm-test\"} 12"), std::string::npos);
}

TEST_F(ServerFixture, ClientDisconnectAbortsTheRequest) {
  engine.reply = std::string(2000, 'z');
  engine.step = std::chrono::milliseconds(5);
  start();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server->port()));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string body = R"({"messages":[{"role":"user","content":"hi"}],"stream":true,"rid":"disconnect-me"})";
  std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  char buf[512];
  ASSERT_GT(read(fd, buf, sizeof buf), 0);  // the stream has started
  close(fd);
  bool aborted = false;
  for (int i = 0; i < 200 && !aborted; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    aborted = engine.was_aborted("disconnect-me");
  }
  EXPECT_TRUE(aborted);
}

TEST_F(ServerFixture, StreamWithSeveralChoices) {
  start();
  Json body = chat_body(true);
  body["n"] = 3;
  body["max_tokens"] = 5;
  auto r = post("/v1/chat/completions", body.dump());
  ASSERT_TRUE(r);
  std::map<int, std::string> content;
  std::map<int, std::string> finish;
  std::map<int, int> roles;
  for (const auto& p : sse_payloads(r->body)) {
    if (p == "[DONE]") continue;
    Json e = Json::parse(p);
    for (const auto& c : e["choices"]) {
      int i = c["index"];
      if (c["delta"]["role"] == "assistant") roles[i]++;
      if (c["delta"]["content"].is_string()) content[i] += c["delta"]["content"].get<std::string>();
      if (c["finish_reason"].is_string()) finish[i] = c["finish_reason"];
    }
  }
  ASSERT_EQ(content.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(roles[i], 1);
    EXPECT_EQ(content[i], engine.reply.substr(0, 5));
    EXPECT_EQ(finish[i], "length");
  }
  // Each choice is its own engine request.
  EXPECT_EQ(engine.submitted_requests().size(), 3u);
}

TEST_F(ServerFixture, ContinuousUsageStats) {
  start();
  Json body = chat_body(true);
  body["max_tokens"] = 4;
  body["stream_options"] = {{"continuous_usage_stats", true}};
  auto r = post("/v1/chat/completions", body.dump());
  ASSERT_TRUE(r);
  int last_completion = -1;
  for (const auto& p : sse_payloads(r->body)) {
    if (p == "[DONE]") continue;
    Json e = Json::parse(p);
    ASSERT_TRUE(e["usage"].is_object()) << p;
    int completion = e["usage"]["completion_tokens"];
    EXPECT_GE(completion, last_completion);  // counts only grow
    last_completion = completion;
  }
  EXPECT_EQ(last_completion, 4);
}
