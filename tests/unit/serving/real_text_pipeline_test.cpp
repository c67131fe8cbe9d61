// The chat pipeline with the real tokenizer, chat template and GLM parsers (only the engine is a
// script): streamed deltas must concatenate to the non-streamed message for every parser
// combination, and the tool-call arguments must be what SGLang's detectors produce
// (json.dumps formatting, values typed by the tool schema; spec §3).
#include <gtest/gtest.h>
#include <httplib.h>

#include "fake_backend.h"
#include "serving/glm_text_backend.h"
#include "serving/chat_service.h"
#include "serving/http_server.h"

using namespace glm::serving;
using glm::serving::testing::FakeEngine;

namespace {

const char* kWeatherTool = R"({"type":"function","function":{"name":"get_weather","description":"Get the weather",
  "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}})";

struct Answer {
  std::string content, reasoning, finish;
  std::map<int, std::string> tool_names, tool_args;
};

class RealPipeline : public ::testing::TestWithParam<std::tuple<std::string, bool>> {
 protected:
  void start(const std::string& tool_parser) {
    args.model_path = std::string(GLM_FIXTURES_DIR) + "/glm45-tiny";
    args.tokenizer_path = args.model_path;
    args.served_model_name = "m";
    args.port = 0;
    args.tool_call_parser = tool_parser;
    args.reasoning_parser = "glm45";
    text = make_glm_text_backend(args);
    server = std::make_unique<HttpServer>(args);
    server->start();
    ServingContext ctx;
    ctx.engine = &engine;
    ctx.text = text.get();
    ctx.model.context_length = 4096;
    ctx.model.served_model_name = "m";
    server->set_ready(ctx);
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_read_timeout(20, 0);
  }
  Answer non_stream(const Json& body) {
    auto r = client->Post("/v1/chat/completions", body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    Answer a;
    if (!r || r->status != 200) return a;
    Json j = Json::parse(r->body);
    const Json& m = j["choices"][0]["message"];
    a.content = m["content"].get<std::string>();
    a.reasoning = m["reasoning_content"].is_string() ? m["reasoning_content"].get<std::string>() : "";
    a.finish = j["choices"][0]["finish_reason"].get<std::string>();
    if (m["tool_calls"].is_array())
      for (const auto& c : m["tool_calls"]) {
        a.tool_names[c["index"]] = c["function"]["name"];
        a.tool_args[c["index"]] = c["function"]["arguments"];
      }
    return a;
  }
  Answer stream(Json body) {
    body["stream"] = true;
    auto r = client->Post("/v1/chat/completions", body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200);
    Answer a;
    if (!r) return a;
    size_t pos = 0;
    while ((pos = r->body.find("data: ", pos)) != std::string::npos) {
      size_t end = r->body.find("\n\n", pos);
      std::string payload = r->body.substr(pos + 6, end - pos - 6);
      pos = end + 2;
      if (payload == "[DONE]") break;
      Json e = Json::parse(payload);
      for (const auto& c : e["choices"]) {
        const Json& d = c["delta"];
        if (d["content"].is_string()) a.content += d["content"].get<std::string>();
        if (d["reasoning_content"].is_string()) a.reasoning += d["reasoning_content"].get<std::string>();
        if (d["tool_calls"].is_array())
          for (const auto& t : d["tool_calls"]) {
            int i = t["index"];
            if (t["function"]["name"].is_string()) a.tool_names[i] = t["function"]["name"];
            a.tool_args[i] += t["function"]["arguments"].get<std::string>();
          }
        if (c["finish_reason"].is_string()) a.finish = c["finish_reason"];
      }
    }
    return a;
  }

  ServerArgs args;
  FakeEngine engine;
  std::unique_ptr<TextBackend> text;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<httplib::Client> client;
};

}  // namespace

TEST_P(RealPipeline, StreamEqualsNonStream) {
  auto [parser, thinking] = GetParam();
  start(parser);
  const bool glm47 = parser == "glm47";
  const std::string call =
      glm47 ? "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value><arg_key>days</arg_key>"
              "<arg_value>3</arg_value></tool_call>"
            : "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n<arg_key>days</arg_key>\n"
              "<arg_value>3</arg_value>\n</tool_call>";
  engine.reply = (thinking ? "<think>Let me check the weather.</think>" : std::string()) + "Sure.\n" + call;
  Json body = Json::parse(R"({"messages":[{"role":"user","content":"Weather in Paris?"}]})");
  body["tools"] = Json::array({Json::parse(kWeatherTool)});
  body["chat_template_kwargs"] = {{"enable_thinking", thinking}};
  Answer full = non_stream(body);
  Answer streamed = stream(body);
  EXPECT_EQ(full.finish, "tool_calls");
  EXPECT_EQ(streamed.finish, "tool_calls");
  ASSERT_EQ(full.tool_names.size(), 1u);
  EXPECT_EQ(full.tool_names[0], "get_weather");
  EXPECT_EQ(full.tool_args[0], R"({"city": "Paris", "days": 3})");
  EXPECT_EQ(streamed.tool_names, full.tool_names);
  EXPECT_EQ(streamed.tool_args, full.tool_args);
  EXPECT_EQ(streamed.reasoning, full.reasoning);
  EXPECT_EQ(full.reasoning, thinking ? "Let me check the weather." : "");
  EXPECT_EQ(full.content, "Sure.");  // SGLang strips the text around the calls
  EXPECT_EQ(streamed.content, full.content);
}

TEST_P(RealPipeline, WhitespaceAroundCallsStreamsLikeNonStream) {
  auto [parser, thinking] = GetParam();
  start(parser);
  const std::string call = parser == "glm47" ? "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Oslo</arg_value></tool_call>"
                                             : "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Oslo</arg_value>\n</tool_call>";
  for (std::string reply : {"\n" + call, "Checking.  \n\n" + call + "\n", "A b\n" + call + "\nafter text  \n", std::string("no call at all \n")}) {
    engine.reply = (thinking ? "<think>hm</think>" : "") + reply;
    Json body = Json::parse(R"({"messages":[{"role":"user","content":"Weather?"}]})");
    body["tools"] = Json::array({Json::parse(kWeatherTool)});
    body["chat_template_kwargs"] = {{"enable_thinking", thinking}};
    Answer full = non_stream(body);
    Answer streamed = stream(body);
    EXPECT_EQ(streamed.content, full.content) << reply;
    EXPECT_EQ(streamed.tool_args, full.tool_args) << reply;
    EXPECT_EQ(streamed.finish, full.finish) << reply;
  }
}

TEST_P(RealPipeline, PlainTextAndReasoning) {
  auto [parser, thinking] = GetParam();
  start(parser);
  engine.reply = thinking ? "<think>a < b and c</think>The answer is <b>42</b>." : "The answer is <b>42</b>.";
  Json body = Json::parse(R"({"messages":[{"role":"user","content":"?"}]})");
  body["chat_template_kwargs"] = {{"enable_thinking", thinking}};
  Answer full = non_stream(body);
  Answer streamed = stream(body);
  EXPECT_EQ(full.content, "The answer is <b>42</b>.");
  EXPECT_EQ(full.reasoning, thinking ? "a < b and c" : "");
  EXPECT_EQ(streamed.content, full.content);
  EXPECT_EQ(streamed.reasoning, full.reasoning);
  EXPECT_EQ(full.finish, "stop");
  EXPECT_EQ(streamed.finish, "stop");
}

TEST_P(RealPipeline, PromptIsTheRenderedTemplate) {
  auto [parser, thinking] = GetParam();
  start(parser);
  Json body = Json::parse(R"({"messages":[{"role":"user","content":"hello"}],"max_tokens":2})");
  non_stream(body);
  auto sub = engine.submitted_requests();
  ASSERT_EQ(sub.size(), 1u);
  std::string prompt = text->decode(sub[0].input_ids, false);
  EXPECT_NE(prompt.find("hello"), std::string::npos);
  EXPECT_NE(prompt.find("<|assistant|>"), std::string::npos);
  EXPECT_TRUE(sub[0].sampling.skip_special_tokens);  // no tools -> SGLang's default
}

INSTANTIATE_TEST_SUITE_P(Parsers, RealPipeline,
                         ::testing::Combine(::testing::Values("glm45", "glm47"), ::testing::Bool()));

// What the HTTP layer + parsers cost per streamed token when the engine costs nothing: a 2000-token
// reply through both parsers, streamed one token per engine event. Prints the figure; fails only
// if it is absurd (the engine's own step on the tiny model is ~1 ms, on real models 50+ ms).
TEST(ServingOverhead, PerStreamedTokenWithParsers) {
  ServerArgs args;
  args.model_path = std::string(GLM_FIXTURES_DIR) + "/glm45-tiny";
  args.tokenizer_path = args.model_path;
  args.served_model_name = "m";
  args.port = 0;
  args.tool_call_parser = "glm45";
  args.reasoning_parser = "glm45";
  FakeEngine engine;
  engine.step = std::chrono::milliseconds(0);
  std::string reply = "<think>";
  for (int i = 0; i < 400; ++i) reply += "abc ";
  reply += "</think>";
  for (int i = 0; i < 400; ++i) reply += "xyz ";
  engine.reply = reply;
  auto text = make_glm_text_backend(args);
  HttpServer server(args);
  server.start();
  ServingContext ctx;
  ctx.engine = &engine;
  ctx.text = text.get();
  ctx.model.context_length = 8192;
  server.set_ready(ctx);
  httplib::Client client("127.0.0.1", server.port());
  Json body = Json::parse(R"({"messages":[{"role":"user","content":"hi"}],"stream":true})");
  body["tools"] = Json::array({Json::parse(kWeatherTool)});
  body["max_tokens"] = 4000;
  std::vector<double> gaps;
  auto last = std::chrono::steady_clock::now();
  const auto t0 = last;
  size_t events = 0;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    auto now = std::chrono::steady_clock::now();
    gaps.push_back(std::chrono::duration<double, std::micro>(now - last).count());
    last = now;
    events += static_cast<size_t>(std::count(data, data + len, '\n')) / 2;
    return true;
  };
  auto res = client.send(req);
  ASSERT_TRUE(res);
  double total_us = std::chrono::duration<double, std::micro>(last - t0).count();
  std::sort(gaps.begin(), gaps.end());
  double p50 = gaps.empty() ? 0 : gaps[gaps.size() / 2];
  double per_token = total_us / static_cast<double>(reply.size());
  std::printf("[serving overhead] %zu tokens, %zu SSE events: %.1f us/token mean, p50 gap between reads %.1f us\n",
              reply.size(), events, per_token, p50);
  EXPECT_LT(per_token, 2000.0);
}

// The per-token work of the streaming path without sockets: reasoning parser, tool-call parser,
// chunk JSON and SSE framing for one engine event (one token). Reports p50 / p99.
TEST(ServingOverhead, StreamWriterPerEventP50) {
  ServerArgs args;
  args.model_path = std::string(GLM_FIXTURES_DIR) + "/glm45-tiny";
  args.tokenizer_path = args.model_path;
  args.tool_call_parser = "glm45";
  args.reasoning_parser = "glm45";
  auto text = make_glm_text_backend(args);
  ServingContext ctx;
  ctx.args = &args;
  ctx.text = text.get();
  ChatRequest req = parse_chat_request(Json::parse(
      std::string(R"({"messages":[{"role":"user","content":"hi"}],"stream":true,"tools":[)") + kWeatherTool + "]}"));
  ChatPlan plan;
  plan.id = "chatcmpl-x";
  plan.requests.resize(1);
  plan.parse_reasoning = plan.parse_tools = plan.reasoning_on = true;
  ChatStreamWriter writer(ctx, req, plan);
  std::vector<std::string> pieces = {"<think>"};
  for (int i = 0; i < 500; ++i) pieces.push_back(" word");
  pieces.push_back("</think>");
  for (int i = 0; i < 500; ++i) pieces.push_back(" answer");
  std::vector<double> us;
  std::string out;
  for (size_t i = 0; i < pieces.size(); ++i) {
    IndexedOutput ev;
    ev.out.new_text = pieces[i];
    ev.out.new_token_ids = {static_cast<int32_t>(i)};
    ev.out.finished = i + 1 == pieces.size();
    out.clear();
    auto t0 = std::chrono::steady_clock::now();
    writer.on_event(ev, out);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  std::printf("[serving overhead] stream writer per token: p50 %.2f us, p99 %.2f us\n", us[us.size() / 2],
              us[us.size() * 99 / 100]);
  EXPECT_LT(us[us.size() / 2], 1000.0);
}
