// ChatTemplate loading and rendering. Expected prompts come from
// ../shared/glm/chat-template-examples.json (rendered by transformers + jinja2).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "chat/chat_template.h"
#include "chat/openai_template_inputs.h"
#include "core/error.h"

namespace glm {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

ojson read_json(const fs::path& p) {
  std::ifstream in(p);
  return ojson::parse(in);
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("glm_chat_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(ChatTemplate, PublishedExamplesRenderExactly) {
  const fs::path glm_dir = fs::path(GLM_SHARED_DIR) / "glm";
  if (!fs::exists(glm_dir / "chat-template-examples.json")) GTEST_SKIP() << "shared examples not present";
  ojson cases = read_json(glm_dir / "chat-template-examples.json");
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    auto tmpl = ChatTemplate::from_file((glm_dir / ("chat_template-" + c["template"].get<std::string>() + ".jinja")).string());
    std::string got = tmpl.render(c["messages"], c.value("tools", ojson(nullptr)), c.value("add_generation_prompt", false),
                                  c.value("kwargs", ojson::object()));
    EXPECT_EQ(got, c["expected"].get<std::string>()) << c["name"];
  }
}

TEST(ChatTemplate, FromFixtureModelDir) {
  const fs::path dir = fs::path(GLM_FIXTURES_DIR) / "glm45-tiny";
  if (!fs::exists(dir / "tokenizer_config.json")) GTEST_SKIP() << "fixture not present";
  auto tmpl = ChatTemplate::from_model_dir(dir.string());
  EXPECT_EQ(tmpl.special_tokens().value("eos_token", ""), "<|endoftext|>");
  ojson inputs = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"add_generation_prompt", true}};
  std::string prompt = tmpl.render(inputs);
  EXPECT_EQ(prompt.rfind("[gMASK]<sop>", 0), 0u) << prompt;
}

TEST(ChatTemplate, ChatTemplateJinjaFileWinsOverConfig) {
  fs::path d = temp_dir("wins");
  write(d / "tokenizer_config.json", R"({"chat_template": "from-config", "bos_token": {"content": "<B>"}})");
  write(d / "chat_template.jinja", "from-file {{ bos_token }}");
  EXPECT_EQ(ChatTemplate::from_model_dir(d.string()).render(ojson::object()), "from-file <B>");
  fs::remove(d / "chat_template.jinja");
  EXPECT_EQ(ChatTemplate::from_model_dir(d.string()).render(ojson::object()), "from-config");
  fs::remove_all(d);
}

TEST(ChatTemplate, ListFormUsesDefault) {
  fs::path d = temp_dir("list");
  write(d / "tokenizer_config.json",
        R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ tools }}"}]})");
  auto t = ChatTemplate::from_model_dir(d.string());
  EXPECT_EQ(t.render(ojson::object()), "DNone");
  EXPECT_EQ(t.render(ojson{{"tools", ojson::array()}}), "T");  // transformers: tools given -> "tool_use"
  fs::remove_all(d);
}

TEST(ChatTemplate, MissingTemplateIsNotFound) {
  fs::path d = temp_dir("missing");
  write(d / "tokenizer_config.json", R"({"eos_token": "x"})");
  try {
    ChatTemplate::from_model_dir(d.string());
    FAIL();
  } catch (const GlmError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
  fs::remove_all(d);
}

TEST(OpenAiTemplateInputs, ArgumentsStringsBecomeObjectsAndNullsGo) {
  ojson request = ojson::parse(R"({
    "messages": [
      {"role": "user", "content": "q", "name": null},
      {"role": "assistant", "content": null, "reasoning_content": "r",
       "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": [1, 2]}"}}]}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "chat_template_kwargs": {"enable_thinking": false}})");
  ojson in = openai_request_to_template_inputs(request);
  EXPECT_FALSE(in["messages"][0].contains("name"));
  const ojson& a = in["messages"][1];
  EXPECT_EQ(a["content"], "");
  EXPECT_EQ(a["tool_calls"][0]["function"]["arguments"]["a"][1], 2);
  EXPECT_EQ(a.begin().key(), "thinking");
  EXPECT_EQ(in["tools"][0].dump(), R"({"description":null,"name":"f","parameters":{"type":"object"},"strict":false})");
  EXPECT_EQ(in["enable_thinking"], false);
  EXPECT_EQ(in["add_generation_prompt"], true);
  request["tool_choice"] = "none";
  EXPECT_TRUE(openai_request_to_template_inputs(request)["tools"].is_null());
  request["messages"][1]["tool_calls"][0]["function"]["arguments"] = "{not json";
  EXPECT_THROW(openai_request_to_template_inputs(request), GlmError);
}

}  // namespace
}  // namespace glm
