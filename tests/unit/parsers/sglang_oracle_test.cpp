// Our parsers against SGLang's real detectors (data/sglang_oracle.json, produced by
// data/sglang_oracle.py running sglang's glm4_moe_detector.py / glm47_moe_detector.py), and our
// Python-compatible JSON / literal helpers against CPython's json and ast.literal_eval.
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "parsers/python_literal.h"
#include "parsers/tool_call_parser.h"

namespace glm::parsers {
namespace {

nlohmann::json load_oracle() {
  std::ifstream in(std::string(GLM_SOURCE_DIR) + "/tests/unit/parsers/data/sglang_oracle.json");
  if (!in) return nlohmann::json();
  return nlohmann::json::parse(in);
}

TEST(SglangOracle, NonStreamingToolParsesMatchSglangExactly) {
  auto oracle = load_oracle();
  ASSERT_TRUE(oracle.is_object()) << "missing tests/unit/parsers/data/sglang_oracle.json";
  auto tools = ToolSet::from_openai_tools(oracle["tools"]);
  size_t n = 0, with_calls = 0;
  for (const auto& c : oracle["tool_cases"]) {
    const std::string input = c["input"];
    SCOPED_TRACE(c["parser"].get<std::string>() + ": " + input);
    auto parser = make_tool_call_parser(c["parser"].get<std::string>(), tools);
    ToolParseResult r = parser->parse(input);
    EXPECT_EQ(r.normal_text, c["normal_text"].get<std::string>());
    const auto& calls = c["calls"];
    ASSERT_EQ(r.calls.size(), calls.size());
    for (size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(r.calls[i].name, calls[i]["name"].get<std::string>());
      EXPECT_EQ(r.calls[i].arguments, calls[i]["parameters"].get<std::string>());
    }
    ++n;
    with_calls += !calls.empty();
  }
  EXPECT_GT(n, 250u);
  EXPECT_GT(with_calls, 200u);
}

TEST(SglangOracle, ForwardedUnknownToolsMatchSglang) {
  // SGLang with SGLANG_FORWARD_UNKNOWN_TOOLS=1 keeps calls to tools the request did not declare.
  auto oracle = load_oracle();
  ASSERT_TRUE(oracle.is_object());
  auto tools = ToolSet::from_openai_tools(oracle["tools"]);
  ToolParserOptions forward;
  forward.forward_unknown_tools = true;
  size_t n = 0;
  for (const auto& c : oracle["tool_cases_forward_unknown"]) {
    SCOPED_TRACE(c["input"].get<std::string>());
    auto r = make_tool_call_parser(c["parser"].get<std::string>(), tools, forward)->parse(c["input"].get<std::string>());
    ASSERT_EQ(r.calls.size(), c["calls"].size());
    for (size_t i = 0; i < r.calls.size(); ++i) {
      EXPECT_EQ(r.calls[i].name, c["calls"][i]["name"].get<std::string>());
      EXPECT_EQ(r.calls[i].arguments, c["calls"][i]["parameters"].get<std::string>());
    }
    ++n;
  }
  EXPECT_GT(n, 20u);
}

TEST(SglangOracle, JsonLoadsDumpsMatchCPython) {
  auto oracle = load_oracle();
  ASSERT_TRUE(oracle.is_object());
  for (const auto& v : oracle["json_values"]) {
    const std::string text = v["text"];
    SCOPED_TRACE(text);
    auto parsed = python_json_loads(text);
    if (v.value("invalid", false)) {
      EXPECT_FALSE(parsed.has_value());
      continue;
    }
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(python_json_dumps(*parsed, false), v["dumps"].get<std::string>());
    EXPECT_EQ(python_json_dumps(*parsed, true), v["dumps_ascii"].get<std::string>());
  }
}

TEST(SglangOracle, LiteralEvalMatchesCPython) {
  auto oracle = load_oracle();
  ASSERT_TRUE(oracle.is_object());
  for (const auto& v : oracle["literal_eval"]) {
    const std::string text = v["text"];
    SCOPED_TRACE(text);
    auto parsed = python_literal_eval(text);
    if (v.value("invalid", false)) {
      EXPECT_FALSE(parsed.has_value());
    } else {
      ASSERT_TRUE(parsed.has_value());
      EXPECT_EQ(python_json_dumps(*parsed), v["dumps"].get<std::string>());
    }
  }
}

TEST(SglangOracle, FloatReprMatchesCPythonOnRandomDoubles) {
  auto oracle = load_oracle();
  ASSERT_TRUE(oracle.is_object());
  size_t n = 0;
  for (const auto& f : oracle["float_repr"]) {
    uint64_t bits = std::stoull(f["bits"].get<std::string>(), nullptr, 16);
    double v;
    std::memcpy(&v, &bits, sizeof v);
    ASSERT_EQ(python_float_repr(v), f["repr"].get<std::string>()) << f["bits"];
    ++n;
  }
  EXPECT_GT(n, 2500u);
}

TEST(PythonJson, FloatReprMatchesPython) {
  // Values and their repr() taken from CPython 3.11.
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(0.00001), "1e-05");
  EXPECT_EQ(python_float_repr(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(python_float_repr(123456789.125), "123456789.125");
  EXPECT_EQ(python_float_repr(1.5e300), "1.5e+300");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(5e-324), "5e-324");
}

}  // namespace
}  // namespace glm::parsers
