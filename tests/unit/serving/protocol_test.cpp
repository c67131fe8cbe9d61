// Request parsing: types are checked field by field, SGLang's defaults and rewrites apply.
#include <gtest/gtest.h>

#include "serving/api_error.h"
#include "serving/openai_protocol.h"

using namespace glm::serving;

namespace {

ApiError error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ApiException& e) {
    return e.error();
  }
  ADD_FAILURE() << "no error";
  return {};
}

Json chat(std::string extra = "") {
  return Json::parse(R"({"messages":[{"role":"user","content":"hi"}])" + extra + "}");
}

}  // namespace

TEST(ChatRequest, DefaultsAndRewrites) {
  ChatRequest r = parse_chat_request(chat());
  EXPECT_EQ(r.model, "default");
  EXPECT_EQ(r.n, 1);
  EXPECT_FALSE(r.stream);
  EXPECT_TRUE(r.separate_reasoning);
  EXPECT_EQ(r.tool_choice.mode, ToolChoiceMode::None);  // no tools -> none
  EXPECT_FALSE(r.max_tokens.has_value());

  r = parse_chat_request(chat(R"(,"reasoning_effort":"none")"));
  EXPECT_EQ(r.chat_template_kwargs["enable_thinking"], false);
  r = parse_chat_request(chat(R"(,"reasoning_effort":"none","chat_template_kwargs":{"enable_thinking":true})"));
  EXPECT_EQ(r.chat_template_kwargs["enable_thinking"], true);  // explicit value wins
  r = parse_chat_request(chat(R"(,"max_tokens":5,"max_completion_tokens":7)"));
  EXPECT_EQ(*r.max_tokens, 7);
  r = parse_chat_request(chat(R"(,"stop":"x","stream":true,"stream_options":{"include_usage":true})"));
  EXPECT_EQ(r.sampling.stop, std::vector<std::string>{"x"});
  EXPECT_TRUE(r.include_usage);
}

TEST(ChatRequest, ToolsKeepSglangFunctionShape) {
  ChatRequest r = parse_chat_request(chat(
      R"(,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"b":{},"a":{}}}}}])"));
  EXPECT_EQ(r.tool_choice.mode, ToolChoiceMode::Auto);
  const Json& fn = r.tools[0]["function"];
  EXPECT_EQ(fn.dump(), R"({"description":null,"name":"f","parameters":{"type":"object","properties":{"b":{},"a":{}}},"strict":false})");
}

TEST(ChatRequest, TypedErrors) {
  auto e = error_of([] { parse_chat_request(Json::parse(R"({"messages":"hi"})")); });
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.type, "Bad Request");
  EXPECT_NE(e.message.find("messages"), std::string::npos);
  e = error_of([] { parse_chat_request(chat(R"(,"temperature":"hot")")); });
  EXPECT_NE(e.message.find("temperature"), std::string::npos);
  e = error_of([] { parse_chat_request(chat(R"(,"n":1.5)")); });
  EXPECT_NE(e.message.find("n"), std::string::npos);
  e = error_of([] { parse_chat_request(chat(R"(,"stream":"yes")")); });
  EXPECT_NE(e.message.find("stream"), std::string::npos);
  e = error_of([] { parse_chat_request(Json::parse(R"({"messages":[{"role":"wizard","content":"x"}]})")); });
  EXPECT_NE(e.message.find("role"), std::string::npos);
  e = error_of([] { parse_chat_request(Json::parse(R"({"messages":[{"role":"user","content":5}]})")); });
  EXPECT_NE(e.message.find("messages.0.content"), std::string::npos);
  e = error_of([] { parse_chat_request(Json::parse(R"({"messages":[]})")); });
  EXPECT_EQ(e.type, "BadRequestError");
  EXPECT_EQ(e.message, "Messages cannot be empty.");
  e = error_of([] { parse_chat_request(chat(R"(,"tool_choice":"required")")); });
  EXPECT_EQ(e.message, "Tools cannot be empty if tool choice is set to required.");
  e = error_of([] {
    parse_chat_request(chat(R"(,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}})"));
  });
  EXPECT_EQ(e.message, "Tool 'g' not found in tools list.");
  e = error_of([] { parse_chat_request(chat(R"(,"max_tokens":0)")); });
  EXPECT_EQ(e.status, 400);
}

TEST(CompletionRequest, PromptForms) {
  EXPECT_EQ(parse_completion_request(Json::parse(R"({"prompt":"a"})")).prompt_texts.size(), 1u);
  EXPECT_EQ(parse_completion_request(Json::parse(R"({"prompt":["a","b"]})")).prompt_texts.size(), 2u);
  EXPECT_EQ(parse_completion_request(Json::parse(R"({"prompt":[1,2,3]})")).prompt_ids[0].size(), 3u);
  EXPECT_EQ(parse_completion_request(Json::parse(R"({"prompt":[[1],[2,3]]})")).prompt_ids.size(), 2u);
  EXPECT_EQ(parse_completion_request(Json::parse(R"({"prompt":"a"})")).max_tokens, 16);
  auto e = error_of([] { parse_completion_request(Json::parse(R"({"prompt":[1,"a"]})")); });
  EXPECT_EQ(e.status, 400);
  e = error_of([] { parse_completion_request(Json::parse(R"({"prompt":[-1]})")); });
  EXPECT_EQ(e.status, 400);
}

TEST(GenerateRequest, TextOrIds) {
  auto g = parse_generate_request(Json::parse(
      R"({"text":"hi","sampling_params":{"max_new_tokens":4,"temperature":0,"stop":["x"]},"rid":"r1"})"));
  EXPECT_EQ(g.texts[0], "hi");
  EXPECT_EQ(g.sampling.max_new_tokens, 4);
  EXPECT_EQ(g.sampling.temperature, 0.0f);
  EXPECT_EQ(g.rids[0], "r1");
  auto e = error_of([] { parse_generate_request(Json::parse(R"({"sampling_params":{}})")); });
  EXPECT_EQ(e.message, "Either text or input_ids should be provided.");
  e = error_of([] { parse_generate_request(Json::parse(R"({"text":"a","input_ids":[1]})")); });
  EXPECT_EQ(e.status, 400);
}

TEST(ErrorBody, SglangShape) {
  ApiError e{400, "BadRequestError", "nope"};
  EXPECT_EQ(e.body().dump(), R"({"object":"error","message":"nope","type":"BadRequestError","param":null,"code":400})");
  EXPECT_EQ(api_error_from(glm::GlmError(glm::ErrorKind::NotFound, "x")).status, 404);
  EXPECT_EQ(api_error_from(glm::GlmError(glm::ErrorKind::Internal, "x")).status, 500);
  EXPECT_EQ(api_error_from(glm::GlmError(glm::ErrorKind::Unavailable, "x")).status, 503);
}
