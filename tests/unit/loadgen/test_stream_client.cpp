// run_stream_request against a canned in-process SSE server (cpp-httplib): the request body for
// each backend, token counting from /generate's cumulative meta_info (a 2-token event adds two
// gaps), OpenAI deltas + final usage, and every failure path (HTTP 400, an abort finish, a stream
// cut before the final event, malformed JSON, nothing listening) is a failed record, not a throw.
#include <gtest/gtest.h>

#include <httplib.h>

#include <thread>

#include "core/error.h"
#include "loadgen/stream_client.h"

using namespace glm::loadgen;
using nlohmann::json;

namespace {

// Serves POST /generate and /v1/completions with the events in `events` (each sent as one
// "data: ...\n\n" write, 20 ms apart) and remembers the last request body.
class CannedServer {
 public:
  std::vector<std::string> events;
  int status = 200;
  json last_body;

  CannedServer() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      last_body = json::parse(req.body);
      if (status != 200) {
        res.status = status;
        res.set_content(R"({"object":"error","message":"bad"})", "application/json");
        return;
      }
      auto evs = std::make_shared<std::vector<std::string>>(events);
      auto i = std::make_shared<size_t>(0);
      res.set_chunked_content_provider("text/event-stream", [evs, i](size_t, httplib::DataSink& sink) {
        if (*i == evs->size()) {
          sink.done();
          return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::string out = "data: " + (*evs)[(*i)++] + "\n\n";
        return sink.write(out.data(), out.size());
      });
    };
    srv_.Post("/generate", handler);
    srv_.Post("/v1/completions", handler);
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~CannedServer() {
    srv_.stop();
    thread_.join();
  }
  Endpoint endpoint() const {
    Endpoint e;
    e.port = port_;
    return e;
  }

 private:
  httplib::Server srv_;
  int port_ = 0;
  std::thread thread_;
};

std::string gen_event(const std::string& text, int completion, const char* finish = nullptr) {
  json meta = {{"prompt_tokens", 7}, {"completion_tokens", completion}, {"cached_tokens", 3}};
  meta["finish_reason"] = finish ? json{{"type", finish}} : json(nullptr);
  return json{{"text", text}, {"meta_info", meta}}.dump();
}

PromptSpec prompt() {
  PromptSpec p;
  p.ids = {1, 2, 3, 4, 5, 6, 7};
  p.prompt_len = 7;
  p.output_len = 4;
  return p;
}

}  // namespace

TEST(StreamClient, ParsesBaseUrls) {
  auto e = parse_base_url("http://10.0.0.2:8080/api/");
  EXPECT_EQ(e.host, "10.0.0.2");
  EXPECT_EQ(e.port, 8080);
  EXPECT_EQ(e.path_prefix, "/api");
  EXPECT_EQ(parse_base_url("http://localhost").port, 80);
  EXPECT_EQ(parse_base_url("http://[::1]:9").host, "::1");
  EXPECT_THROW(parse_base_url("https://x:1"), glm::GlmError);
  EXPECT_THROW(parse_base_url("http://x:99999"), glm::GlmError);
  EXPECT_THROW(parse_base_url("http://:80"), glm::GlmError);
}

TEST(StreamClient, RequestBodies) {
  StreamOptions o;
  json b = build_request_body(o, prompt());
  EXPECT_EQ(b["input_ids"], json(prompt().ids));
  EXPECT_EQ(b["sampling_params"]["max_new_tokens"], 4);
  EXPECT_EQ(b["sampling_params"]["ignore_eos"], true);
  EXPECT_EQ(b["stream"], true);
  o.backend = Backend::OpenAI;
  o.model = "m";
  o.extra_body = {{"top_k", 1}};
  PromptSpec p = prompt();
  p.use_ids = false;
  p.text = "hi";
  b = build_request_body(o, p);
  EXPECT_EQ(b["prompt"], "hi");
  EXPECT_EQ(b["max_tokens"], 4);
  EXPECT_EQ(b["model"], "m");
  EXPECT_EQ(b["stream_options"]["include_usage"], true);
  EXPECT_EQ(b["top_k"], 1);
}

TEST(StreamClient, SglangStreamTimings) {
  CannedServer s;
  // tokens arrive 1, then 2 at once, then 1 with the finish
  s.events = {gen_event("a", 1), gen_event("abc", 3), gen_event("abcd", 4, "length"), "[DONE]"};
  RequestRecord r = run_stream_request(s.endpoint(), StreamOptions{}, prompt());
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.output_len, 4);
  EXPECT_EQ(r.prompt_len, 7);
  EXPECT_EQ(r.cached_tokens, 3);
  EXPECT_EQ(r.generated_text, "abcd");
  ASSERT_EQ(r.itl.size(), 3u);                 // output_len - 1 gaps
  EXPECT_DOUBLE_EQ(r.itl[0], r.itl[1]);        // the 2-token event's gap is split evenly
  EXPECT_GT(r.ttft, 0.015);
  EXPECT_GE(r.latency, r.ttft + 0.035);
  EXPECT_EQ(s.last_body["input_ids"], json(prompt().ids));
}

TEST(StreamClient, OpenAIStreamTimings) {
  CannedServer s;
  auto chunk = [](const std::string& t, json fr) {
    return json{{"choices", {{{"index", 0}, {"text", t}, {"finish_reason", fr}}}}}.dump();
  };
  s.events = {chunk("x", nullptr), chunk("y", nullptr), chunk("", "length"),
              json{{"choices", json::array()},
                   {"usage", {{"prompt_tokens", 9}, {"completion_tokens", 2}, {"prompt_tokens_details", {{"cached_tokens", 5}}}}}}
                  .dump(),
              "[DONE]"};
  StreamOptions o;
  o.backend = Backend::OpenAI;
  o.model = "m";
  RequestRecord r = run_stream_request(s.endpoint(), o, prompt());
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.generated_text, "xy");
  EXPECT_EQ(r.output_len, 2);
  EXPECT_EQ(r.prompt_len, 9);
  EXPECT_EQ(r.cached_tokens, 5);
  EXPECT_EQ(r.itl.size(), 1u);
  EXPECT_EQ(s.last_body["model"], "m");
}

TEST(StreamClient, OpenAIStreamWithoutUsageCountsChunks) {
  CannedServer s;
  auto chunk = [](const std::string& t, json fr) {
    return json{{"choices", {{{"index", 0}, {"text", t}, {"finish_reason", fr}}}}}.dump();
  };
  s.events = {chunk("x", nullptr), chunk("y", nullptr), chunk("z", "length"), "[DONE]"};
  StreamOptions o;
  o.backend = Backend::OpenAI;
  RequestRecord r = run_stream_request(s.endpoint(), o, prompt());
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.output_len, 3);
  EXPECT_EQ(r.prompt_len, 7);  // the dataset's count when the server reports none
  EXPECT_EQ(r.itl.size(), 2u);
}

TEST(StreamClient, FailuresAreRecordsNotThrows) {
  CannedServer s;
  s.status = 400;
  RequestRecord r = run_stream_request(s.endpoint(), StreamOptions{}, prompt());
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.error.find("HTTP 400"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("bad"), std::string::npos) << r.error;

  s.status = 200;
  s.events = {gen_event("a", 1), gen_event("a", 1, "abort"), "[DONE]"};
  r = run_stream_request(s.endpoint(), StreamOptions{}, prompt());
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.error.find("abort"), std::string::npos) << r.error;

  s.events = {gen_event("a", 1)};  // cut before the final event
  r = run_stream_request(s.endpoint(), StreamOptions{}, prompt());
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.error.find("without a final event"), std::string::npos) << r.error;

  s.events = {"{not json"};
  r = run_stream_request(s.endpoint(), StreamOptions{}, prompt());
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.error.find("malformed"), std::string::npos) << r.error;

  Endpoint nowhere;
  nowhere.port = 1;
  r = run_stream_request(nowhere, StreamOptions{}, prompt());
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.error.find("transport error"), std::string::npos) << r.error;
}
