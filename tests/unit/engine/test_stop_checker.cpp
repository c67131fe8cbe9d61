// Stop-string matching and hold-back on decoded text (the rules of SGLang's stop-string handling:
// earliest match wins; text that may still become a stop string is not streamed yet).
#include <gtest/gtest.h>

#include "engine/kv_budget.h"
#include "engine/stop_checker.h"

namespace glm {
namespace {

TEST(StopStringMatcher, EarliestMatchWins) {
  StopStringMatcher m({"world", "lo w", ""});
  auto hit = m.find("hello world", 0);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->pos, 3u);
  EXPECT_EQ(hit->stop, "lo w");
  EXPECT_FALSE(m.find("hello world", 4).has_value() && m.find("hello world", 4)->pos < 6);
  EXPECT_FALSE(StopStringMatcher({"xyz"}).find("hello", 0).has_value());
}

TEST(StopStringMatcher, HoldsBackOnlyPossibleStopPrefixes) {
  StopStringMatcher m({"</stop>", "ab"});
  EXPECT_EQ(m.hold_back("text </st"), 4u);  // "</st" may still become "</stop>"
  EXPECT_EQ(m.hold_back("text a"), 1u);     // "a" may become "ab"
  EXPECT_EQ(m.hold_back("text"), 0u);
  EXPECT_EQ(m.hold_back(""), 0u);
  EXPECT_EQ(StopStringMatcher(std::vector<std::string>{}).hold_back("</st"), 0u);
}

TEST(Utf8SafeEnd, NeverSplitsACharacter) {
  const std::string s = "a\xC3\xA9z";  // a é z
  EXPECT_EQ(utf8_safe_end(s, 0, 2), 1u);
  EXPECT_EQ(utf8_safe_end(s, 0, 3), 3u);
  EXPECT_EQ(utf8_safe_end(s, 0, 4), 4u);
}

TEST(KvBudget, MaxTotalTokensRoundsUpToPages) {
  EXPECT_EQ(kv_budget(100, 0.9, GLM_FIXTURES_DIR, 1024, 16).tokens, 112);
}

TEST(KvBudget, BytesPerTokenFollowTheKvDtype) {
  const ModelConfig c = load_model_config(std::string(GLM_FIXTURES_DIR) + "/glm45-tiny");
  const int64_t elems = 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim;
  EXPECT_EQ(kv_bytes_per_token(c, KvDType::F32), elems * 4);
  EXPECT_EQ(kv_bytes_per_token(c, KvDType::BF16), elems * 2);
  EXPECT_EQ(kv_bytes_per_token(c, KvDType::FP8_E4M3), elems);
}

TEST(KvBudget, MemFractionCountsWeightsAndRejectsTooSmall) {
  const std::string dir = std::string(GLM_FIXTURES_DIR) + "/glm45-tiny";
  const int64_t weights = weight_file_bytes(dir);
  EXPECT_GT(weights, 0);
  const int64_t avail = mem_available_bytes();
  ASSERT_GT(avail, 0);
  KvBudget b = kv_budget(0, 0.5, dir, 4096, 16);
  const double expect = (0.5 * double(avail + weights) - double(weights)) / 4096.0;
  EXPECT_NEAR(double(b.tokens), expect, expect * 0.05 + 32);  // MemAvailable moves between reads
  EXPECT_THROW(kv_budget(0, 1e-12, dir, 4096, 16), std::exception);
  EXPECT_THROW(kv_budget(0, 1.5, dir, 4096, 16), std::exception);
}

}  // namespace
}  // namespace glm
