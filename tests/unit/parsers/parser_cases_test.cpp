// Every glm45 / glm47 / reasoning-glm45 case of /work/shared/spec/parser-cases.json (extracted from
// SGLang's own tests), run through our parsers and compared the way each case's `compare` says.
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "parsers/reasoning_parser.h"
#include "parsers/tool_call_parser.h"

namespace glm::parsers {
namespace {

nlohmann::json load_cases() {
  std::ifstream in(std::string(GLM_SHARED_DIR) + "/spec/parser-cases.json");
  if (!in) return nlohmann::json::array();
  return nlohmann::json::parse(in);
}

// Python-style equality of two JSON documents (dict order ignored, 1 == 1.0).
bool json_equal(const nlohmann::json& a, const nlohmann::json& b) { return a == b; }

nlohmann::json parse_arguments(const std::string& text) {
  auto parsed = python_json_loads(text);
  if (!parsed) return nlohmann::json("<<invalid JSON: " + text + ">>");
  return nlohmann::json::parse(parsed->dump());
}

std::vector<std::string> as_list(const nlohmann::json& j) {
  if (j.is_string()) return {j.get<std::string>()};
  return j.get<std::vector<std::string>>();
}

struct StreamRun {
  std::vector<ToolStreamDelta> per_chunk;
  std::string normal_text;
  std::vector<ToolCallDelta> items;
  int tool_id_after = 0;
};

StreamRun run_tool_stream(ToolCallParser& parser, const nlohmann::json& chunks, bool finish) {
  StreamRun run;
  for (const auto& chunk : chunks) {
    auto d = parser.push(chunk.get<std::string>());
    run.normal_text += d.normal_text;
    run.items.insert(run.items.end(), d.calls.begin(), d.calls.end());
    run.per_chunk.push_back(std::move(d));
  }
  run.tool_id_after = parser.current_tool_id();
  if (finish) {
    auto d = parser.finish();
    run.normal_text += d.normal_text;
    run.items.insert(run.items.end(), d.calls.begin(), d.calls.end());
  }
  return run;
}

void check_tool_case(const nlohmann::json& c) {
  const std::string parser_name = c["parser"];
  const nlohmann::json tools = c.value("tools", nlohmann::json()).is_null() ? nlohmann::json::array() : c["tools"];
  auto parser = make_tool_call_parser(parser_name, ToolSet::from_openai_tools(tools));
  const auto& expected = c["expected"];
  std::set<std::string> handled;
  if (!c.value("streaming", false)) {
    ToolParseResult r = parser->parse(c["input"].get<std::string>());
    if (expected.contains("normal_text")) {
      handled.insert("normal_text");
      EXPECT_EQ(r.normal_text, expected["normal_text"].get<std::string>());
    }
    if (expected.contains("num_calls")) {
      handled.insert("num_calls");
      EXPECT_EQ(r.calls.size(), expected["num_calls"].get<size_t>());
    }
    if (expected.contains("normal_text_contains")) {
      handled.insert("normal_text_contains");
      for (const auto& s : as_list(expected["normal_text_contains"]))
        EXPECT_NE(r.normal_text.find(s), std::string::npos) << "normal text '" << r.normal_text << "' lacks '" << s << "'";
    }
    if (expected.contains("calls")) {
      handled.insert("calls");
      const auto& calls = expected["calls"];
      ASSERT_EQ(r.calls.size(), calls.size());
      for (size_t i = 0; i < calls.size(); ++i) {
        EXPECT_EQ(r.calls[i].index, static_cast<int>(i));
        if (calls[i].contains("name")) {
          EXPECT_EQ(r.calls[i].name, calls[i]["name"].get<std::string>());
        }
        if (calls[i].contains("parameters")) {
          EXPECT_EQ(r.calls[i].arguments, calls[i]["parameters"].get<std::string>());
        }
        if (calls[i].contains("parameters_json")) {
          EXPECT_TRUE(json_equal(parse_arguments(r.calls[i].arguments), calls[i]["parameters_json"]))
              << r.calls[i].arguments << " vs " << calls[i]["parameters_json"].dump();
        }
      }
    }
  } else {
    // SGLang's tests inspect what parse_streaming_increment returned; finish() is our extra step.
    StreamRun run = run_tool_stream(*parser, c["chunks"], false);
    if (expected.contains("tool_calls_by_index")) {
      handled.insert("tool_calls_by_index");
      const auto& want = expected["tool_calls_by_index"];
      std::vector<std::string> names(want.size()), params(want.size());
      for (const auto& item : run.items) {
        ASSERT_GE(item.index, 0);
        ASSERT_LT(static_cast<size_t>(item.index), want.size());
        if (item.name) names[item.index] = *item.name;
        params[item.index] += item.arguments;
      }
      for (size_t i = 0; i < want.size(); ++i) {
        if (want[i].contains("name")) {
          EXPECT_EQ(names[i], want[i]["name"].get<std::string>());
        }
        EXPECT_EQ(params[i], want[i]["parameters"].get<std::string>());
      }
    }
    if (expected.contains("detector_current_tool_id_after")) {
      handled.insert("detector_current_tool_id_after");
      EXPECT_EQ(run.tool_id_after, expected["detector_current_tool_id_after"].get<int>());
    }
    if (expected.contains("names")) {
      handled.insert("names");
      std::vector<std::string> names;
      for (const auto& item : run.items) if (item.name) names.push_back(*item.name);
      EXPECT_EQ(names, expected["names"].get<std::vector<std::string>>());
    }
    if (expected.contains("max_items_with_parameters_equal_{}")) {
      handled.insert("max_items_with_parameters_equal_{}");
      size_t n = 0;
      for (const auto& item : run.items) n += item.arguments == "{}";
      EXPECT_LE(n, expected["max_items_with_parameters_equal_{}"].get<size_t>());
    }
    if (expected.contains("non_empty_object_parameters_concat_json")) {
      handled.insert("non_empty_object_parameters_concat_json");
      std::string concat;
      for (const auto& item : run.items)
        if (item.arguments != "" && item.arguments != "{}") concat += item.arguments;
      EXPECT_EQ(parse_arguments(concat), expected["non_empty_object_parameters_concat_json"]) << concat;
    }
    if (expected.contains("all_parameters_concat_json")) {
      handled.insert("all_parameters_concat_json");
      std::string concat;
      for (const auto& item : run.items) concat += item.arguments;
      EXPECT_EQ(parse_arguments(concat), expected["all_parameters_concat_json"]) << concat;
    }
    if (expected.contains("normal_text_contains")) {
      handled.insert("normal_text_contains");
      ASSERT_EQ(c["chunks"].size(), 1u);
      for (const auto& s : as_list(expected["normal_text_contains"]))
        EXPECT_NE(run.per_chunk[0].normal_text.find(s), std::string::npos);
    }
    if (expected.contains("no_exception")) {
      handled.insert("no_exception");
      EXPECT_NO_THROW(parser->finish());
    }
  }
  for (auto it = expected.begin(); it != expected.end(); ++it)
    EXPECT_TRUE(handled.count(it.key())) << "expectation '" << it.key() << "' is not checked by this test";
}

void check_reasoning_case(const nlohmann::json& c) {
  ReasoningOptions options;
  const auto& args = c.value("detector_args", nlohmann::json::object());
  options.force_reasoning = args.value("force_reasoning", false);
  options.stream_reasoning = args.value("stream_reasoning", true);
  Glm45ReasoningParser parser(options);
  const auto& expected = c["expected"];
  if (!c.value("streaming", false)) {
    ReasoningResult r = parser.parse(c["input"].get<std::string>());
    EXPECT_EQ(r.reasoning_text, expected["reasoning_text"].get<std::string>());
    EXPECT_EQ(r.normal_text, expected["normal_text"].get<std::string>());
    return;
  }
  const auto& chunks = c["chunks"];
  const auto& per_chunk = expected["per_chunk"];
  ASSERT_EQ(chunks.size(), per_chunk.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    ReasoningResult r = parser.push(chunks[i].get<std::string>());
    const auto& want = per_chunk[i];
    if (want.is_null()) {
      EXPECT_EQ(r.reasoning_text, "") << "chunk " << i;
      EXPECT_EQ(r.normal_text, "") << "chunk " << i;
      continue;
    }
    if (want.contains("reasoning_text")) {
      EXPECT_EQ(r.reasoning_text, want["reasoning_text"].get<std::string>()) << i;
    }
    if (want.contains("normal_text")) {
      EXPECT_EQ(r.normal_text, want["normal_text"].get<std::string>()) << i;
    }
    if (want.contains("in_reasoning_after")) {
      EXPECT_EQ(parser.in_reasoning(), want["in_reasoning_after"].get<bool>());
    }
  }
}

TEST(ParserCases, FileIsPresentAndCovered) {
  auto cases = load_cases();
  ASSERT_GT(cases.size(), 0u) << "missing " << GLM_SHARED_DIR << "/spec/parser-cases.json";
  size_t tool = 0, reasoning = 0;
  for (const auto& c : cases) {
    std::string p = c["parser"];
    tool += p == "glm45" || p == "glm47";
    reasoning += p == "reasoning-glm45";
  }
  EXPECT_GT(tool, 20u);
  EXPECT_GT(reasoning, 3u);
}

TEST(ParserCases, ToolCallCases) {
  for (const auto& c : load_cases()) {
    std::string p = c["parser"];
    if (p != "glm45" && p != "glm47") continue;
    SCOPED_TRACE(p + " " + c["name"].get<std::string>());
    check_tool_case(c);
  }
}

TEST(ParserCases, ReasoningCases) {
  for (const auto& c : load_cases()) {
    if (c["parser"] != "reasoning-glm45") continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    check_reasoning_case(c);
  }
}

}  // namespace
}  // namespace glm::parsers
