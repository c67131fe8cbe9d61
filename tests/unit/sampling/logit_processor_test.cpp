// Logit processors: SGLang's thinking-budget cases (parser-cases.json) with Qwen3 and GLM ids,
// disallowed tokens, forced sequences, and recognising real dill payloads of SGLang's classes.
#include <cmath>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>

#include "core/error.h"
#include "sampling/logit_processor.h"
#include "sampling/processor_registry.h"

namespace glm::sampling {
namespace {

constexpr size_t kVocab = 151552 + 256;  // GLM-4.5 vocab rows cover every id used below

nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nlohmann::json();
  return nlohmann::json::parse(in);
}

std::vector<float> test_row() {
  std::vector<float> row(kVocab);
  for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<float>((i * 7919) % 1000) / 100.0f - 5.0f;
  return row;
}

int32_t remap(int32_t id, const ThinkingBudgetTokens& from, const ThinkingBudgetTokens& to) {
  if (id == from.think_start) return to.think_start;
  if (id == from.think_end) return to.think_end;
  if (id == from.newline_ids[0]) return to.newline_ids[0];
  return id;
}

void expect_only(const std::vector<float>& row, int32_t token) {
  for (size_t i = 0; i < row.size(); ++i) {
    if (static_cast<int32_t>(i) == token) {
      EXPECT_EQ(row[i], 0.0f);
    } else {
      ASSERT_TRUE(std::isinf(row[i]) && row[i] < 0) << "id " << i;
    }
  }
}

void run_budget_case(const nlohmann::json& c, const ThinkingBudgetTokens& tokens) {
  const ThinkingBudgetTokens case_tokens{c["token_ids"]["THINKING_START"], c["token_ids"]["THINKING_END"],
                                         {c["token_ids"]["NEW_LINE"].get<int32_t>()}};
  std::vector<int32_t> prompt, output;
  for (int32_t id : c["input"]["origin_input_ids"].get<std::vector<int32_t>>()) prompt.push_back(remap(id, case_tokens, tokens));
  for (int32_t id : c["input"]["output_ids"].get<std::vector<int32_t>>()) output.push_back(remap(id, case_tokens, tokens));
  nlohmann::json params = {{"thinking_budget", c["input"]["thinking_budget"]}};
  ThinkingBudgetProcessor processor(tokens);
  auto row = test_row();
  const auto original = row;
  processor.apply(row, {prompt, output, &params});
  const std::string want = c["expected"]["logits"];
  if (want.rfind("unchanged", 0) == 0) {
    EXPECT_EQ(row, original);
  } else if (want == "all -inf except THINKING_END=0.0") {
    expect_only(row, tokens.think_end);
  } else {
    ADD_FAILURE() << "unknown expectation " << want;
  }
}

TEST(ThinkingBudget, SglangCasesWithQwen3AndGlmIds) {
  auto cases = load_json(std::string(GLM_SHARED_DIR) + "/spec/parser-cases.json");
  ASSERT_TRUE(cases.is_array());
  int n = 0;
  for (const auto& c : cases) {
    if (c["parser"] != "thinking-budget") continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    run_budget_case(c, qwen3_thinking_tokens());
    run_budget_case(c, glm4_moe_thinking_tokens());
    ++n;
  }
  EXPECT_GE(n, 5);
}

TEST(ThinkingBudget, ForcesNewlineThenEndAndCountsPromptTokens) {
  const auto t = glm4_moe_thinking_tokens();
  ThinkingBudgetProcessor processor(t);
  nlohmann::json params = {{"thinking_budget", 3}};
  // GLM-4.7: <think> is the last prompt token; 3 output tokens after it reach the budget.
  std::vector<int32_t> prompt = {10, 11, t.think_start};
  std::vector<int32_t> output = {100, 101};
  auto row = test_row();
  auto original = row;
  processor.apply(row, {prompt, output, &params});
  EXPECT_EQ(row, original);  // 2 < 3
  output.push_back(102);
  processor.apply(row, {prompt, output, &params});
  expect_only(row, 198);  // "\n" first
  output.push_back(198);
  row = test_row();
  processor.apply(row, {prompt, output, &params});
  expect_only(row, t.think_end);
  output.push_back(t.think_end);
  row = test_row();
  processor.apply(row, {prompt, output, &params});
  EXPECT_EQ(row, original);  // closed: never fires again
}

TEST(ThinkingBudget, IgnoresNonIntegerBudgetsAndSupportsNewlineSets) {
  auto t = glm4_moe_thinking_tokens();
  std::vector<int32_t> prompt = {t.think_start}, output = {5, 6, 271};
  auto original = test_row();
  for (nlohmann::json budget : {nlohmann::json(1.5), nlohmann::json("2"), nlohmann::json(nullptr)}) {
    nlohmann::json params = {{"thinking_budget", budget}};
    auto row = test_row();
    ThinkingBudgetProcessor(t).apply(row, {prompt, output, &params});
    EXPECT_EQ(row, original);
  }
  nlohmann::json params = {{"thinking_budget", 1}};
  auto row = test_row();
  ThinkingBudgetProcessor(t).apply(row, {prompt, output, &params});
  expect_only(row, 198);  // SGLang: only 198 counts as the newline
  t.newline_ids = {198, 271};
  row = test_row();
  ThinkingBudgetProcessor(t).apply(row, {prompt, output, &params});
  expect_only(row, t.think_end);  // "\n\n" accepted with the newline set
  row = test_row();
  ThinkingBudgetProcessor(t).apply(row, {prompt, output, nullptr});
  EXPECT_EQ(row, original);
}

TEST(DisallowedTokens, SetsListedIdsToMinusInfinity) {
  nlohmann::json params = {{"token_ids", {3, 7, 1000000}}};
  auto row = test_row();
  auto original = row;
  DisallowedTokensProcessor().apply(row, {{}, {}, &params});
  for (size_t i = 0; i < row.size(); ++i) {
    if (i == 3 || i == 7) {
      EXPECT_TRUE(std::isinf(row[i]) && row[i] < 0);
    }
    else {
      EXPECT_EQ(row[i], original[i]);
    }
  }
  nlohmann::json bad = {{"token_ids", "3"}};
  EXPECT_THROW(DisallowedTokensProcessor().apply(row, {{}, {}, &bad}), GlmError);
}

TEST(ForcedSequence, ForcesOneTokenPerStepThenStops) {
  nlohmann::json params = {{"forced_token_ids", {42, 43}}};
  ForcedSequenceProcessor p;
  std::vector<int32_t> output;
  auto row = test_row();
  p.apply(row, {{}, output, &params});
  expect_only(row, 42);
  output.push_back(42);
  row = test_row();
  p.apply(row, {{}, output, &params});
  expect_only(row, 43);
  output.push_back(43);
  row = test_row();
  auto original = row;
  p.apply(row, {{}, output, &params});
  EXPECT_EQ(row, original);
  ForcedSequenceProcessor fixed({9});
  row = test_row();
  fixed.apply(row, {{}, {}, nullptr});
  expect_only(row, 9);
}

TEST(ProcessorRegistry, RecognisesRealDillPayloads) {
  auto data = load_json(std::string(GLM_SOURCE_DIR) + "/tests/unit/sampling/data/processor_payloads.json");
  ASSERT_TRUE(data.is_object()) << "run tests/unit/sampling/data/make_processor_payloads.py";
  int recognised = 0, rejected = 0;
  for (const auto& c : data["cases"]) {
    SCOPED_TRACE(c["class"].get<std::string>());
    const std::string payload = c["payload"];
    if (c["expected"].is_null()) {
      EXPECT_THROW(identify_logit_processor(payload), GlmError);
      ++rejected;
    } else {
      EXPECT_EQ(identify_logit_processor(payload), c["expected"].get<std::string>());
      EXPECT_NE(resolve_logit_processor(payload), nullptr);
      ++recognised;
    }
  }
  EXPECT_GE(recognised, 5);
  EXPECT_GE(rejected, 2);
}

TEST(ProcessorRegistry, ResolvesNamesAndRejectsMalformedStrings) {
  EXPECT_EQ(identify_logit_processor("Glm4MoeThinkingBudgetLogitProcessor"), "Glm4MoeThinkingBudgetLogitProcessor");
  EXPECT_EQ(identify_logit_processor("sglang.srt.sampling.custom_logit_processor.DisallowedTokensLogitsProcessor"),
            "DisallowedTokensLogitsProcessor");
  EXPECT_EQ(identify_logit_processor(R"({"name": "ForcedSequenceLogitProcessor"})"), "ForcedSequenceLogitProcessor");
  EXPECT_EQ(resolve_logit_processor("Glm4MoeThinkingBudgetLogitProcessor")->name(), "Glm4MoeThinkingBudgetLogitProcessor");
  for (const char* bad : {"", "   ", "NoSuchProcessor", "{", R"({"callable": 5})", R"({"callable": "zz"})",
                          R"({"callable": "8004"})", R"({"callable": "80049500"})", R"({"other": 1})"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(identify_logit_processor(bad), GlmError);
  }
  // A pickle naming the class but cut before STOP is not accepted.
  auto data = load_json(std::string(GLM_SOURCE_DIR) + "/tests/unit/sampling/data/processor_payloads.json");
  std::string hex = nlohmann::json::parse(data["cases"][0]["payload"].get<std::string>())["callable"];
  std::string truncated = R"({"callable": ")" + hex.substr(0, hex.size() - 2) + R"("})";
  EXPECT_THROW(identify_logit_processor(truncated), GlmError);
}

}  // namespace
}  // namespace glm::sampling
