// Chat-template rendering speed: parse once, render many. The target is well under a millisecond
// for a 50-turn conversation with tools through the real GLM templates.
//   build-*/bench/chat_bench   (templates are read from ../shared/glm)
#include <filesystem>
#include <fstream>
#include <sstream>

#include <benchmark/benchmark.h>

#include "chat/chat_template.h"
#include "chat/openai_template_inputs.h"

namespace {

using ojson = nlohmann::ordered_json;

std::string shared_glm_dir() {
  if (const char* env = std::getenv("GLM_SHARED_DIR")) return std::string(env) + "/glm";
  // bench/chat_bench.cpp -> <repo>/../shared/glm
  return (std::filesystem::absolute(__FILE__).parent_path().parent_path().parent_path() / "shared" / "glm").string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 50 turns (user + assistant, every fifth assistant turn calling a tool and getting a result),
// 4 tools with nested JSON-schema parameters.
ojson conversation(int turns) {
  ojson tools = ojson::array();
  for (int t = 0; t < 4; ++t) {
    tools.push_back({{"description", "Look up the weather for a city and a date range"},
                     {"name", "tool_" + std::to_string(t)},
                     {"parameters",
                      {{"type", "object"},
                       {"properties",
                        {{"city", {{"type", "string"}, {"description", "City name"}}},
                         {"days", {{"type", "integer"}, {"minimum", 1}}},
                         {"options", {{"type", "object"}, {"properties", {{"unit", {{"type", "string"}, {"enum", {"c", "f"}}}}}}}}}},
                       {"required", {"city"}}}},
                     {"strict", false}});
  }
  ojson messages = ojson::array();
  messages.push_back({{"role", "system"}, {"content", "You are a helpful assistant."}});
  for (int i = 0; i < turns; ++i) {
    messages.push_back({{"role", "user"}, {"content", "Question number " + std::to_string(i) + ": what is the weather like in Beijing, and should I bring an umbrella?"}});
    ojson a = {{"role", "assistant"},
               {"reasoning_content", "The user asks about the weather; I should check the forecast first."},
               {"content", "It will be sunny with a light breeze, no umbrella needed for turn " + std::to_string(i) + "."}};
    if (i % 5 == 4) {
      ojson call = {{"id", "call_1"}, {"type", "function"}};
      call["function"] = {{"name", "tool_1"}, {"arguments", {{"city", "Beijing"}, {"days", 3}}}};
      call["function"]["arguments"]["options"] = {{"unit", "c"}};
      a["tool_calls"] = ojson::array({call});
      messages.push_back(a);
      messages.push_back({{"role", "tool"}, {"content", "{\"temperature\": 21, \"condition\": \"sunny\"}"}});
    } else {
      messages.push_back(a);
    }
  }
  return {{"messages", messages}, {"tools", tools}, {"add_generation_prompt", true}, {"enable_thinking", true}};
}

void BM_RenderGlmTemplate(benchmark::State& state, const char* version) {
  auto tmpl = glm::ChatTemplate::from_file(shared_glm_dir() + "/chat_template-" + version + ".jinja");
  ojson inputs = conversation(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string prompt = tmpl.render(inputs);
    bytes = prompt.size();
    benchmark::DoNotOptimize(prompt.data());
  }
  state.counters["prompt_bytes"] = static_cast<double>(bytes);
}
BENCHMARK_CAPTURE(BM_RenderGlmTemplate, glm45, "glm-4.5")->Arg(50)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_RenderGlmTemplate, glm47, "glm-4.7")->Arg(50)->Unit(benchmark::kMicrosecond);

void BM_ParseGlmTemplate(benchmark::State& state) {
  std::string source = read_file(shared_glm_dir() + "/chat_template-glm-4.7.jinja");
  for (auto _ : state) benchmark::DoNotOptimize(glm::ChatTemplate::from_string(source));
}
BENCHMARK(BM_ParseGlmTemplate)->Unit(benchmark::kMicrosecond);

void BM_OpenAiInputs(benchmark::State& state) {
  ojson request = conversation(50);
  for (auto _ : state) benchmark::DoNotOptimize(glm::openai_request_to_template_inputs(request));
}
BENCHMARK(BM_OpenAiInputs)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
