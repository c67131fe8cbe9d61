// Glm45ReasoningParser against SGLang's own Glm45Detector (data/sglang_oracle.json): non-streaming
// results and every streamed step, for random texts, chunkings and both flags.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "parsers/reasoning_parser.h"

namespace glm::parsers {
namespace {

TEST(ReasoningOracle, MatchesSglangStepByStep) {
  std::ifstream in(std::string(GLM_SOURCE_DIR) + "/tests/unit/parsers/data/sglang_oracle.json");
  ASSERT_TRUE(in.good());
  auto oracle = nlohmann::json::parse(in);
  const auto& cases = oracle["reasoning_cases"];
  ASSERT_GT(cases.size(), 500u);
  for (const auto& c : cases) {
    ReasoningOptions options{c["force_reasoning"].get<bool>(), c["stream_reasoning"].get<bool>()};
    const std::string text = c["text"];
    SCOPED_TRACE(nlohmann::json(text).dump() + " force=" + std::to_string(options.force_reasoning) +
                 " stream=" + std::to_string(options.stream_reasoning));
    Glm45ReasoningParser whole(options);
    auto r = whole.parse(text);
    EXPECT_EQ(r.reasoning_text, c["reasoning_text"].get<std::string>());
    EXPECT_EQ(r.normal_text, c["normal_text"].get<std::string>());

    Glm45ReasoningParser streaming(options);
    const auto& chunks = c["chunks"];
    const auto& steps = c["steps"];
    ASSERT_EQ(steps.size(), chunks.size() + 1);
    for (size_t i = 0; i <= chunks.size(); ++i) {
      auto d = i < chunks.size() ? streaming.push(chunks[i].get<std::string>()) : streaming.finish();
      EXPECT_EQ(d.reasoning_text, steps[i][0].get<std::string>()) << "step " << i;
      EXPECT_EQ(d.normal_text, steps[i][1].get<std::string>()) << "step " << i;
    }
  }
}

}  // namespace
}  // namespace glm::parsers
