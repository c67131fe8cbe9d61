// Prompt-token logprobs from prefill logits rows: which row scores which prompt token, the start
// position, the chunk offset and the top alternatives, against log_softmax computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/prompt_logprobs.h"

namespace glm {
namespace {

double log_softmax(const std::vector<float>& row, int id) {
  double s = 0;
  for (float v : row) s += std::exp(double(v));
  return double(row[size_t(id)]) - std::log(s);
}

TEST(PromptLogprobs, RowJScoresTheTokenAfterItsPosition) {
  const std::vector<int32_t> prompt = {3, 1, 2, 0};
  // 3 rows (positions 0..2) over a vocabulary of 4.
  const std::vector<std::vector<float>> rows = {{0, 1, 2, 3}, {5, 0, 0, 0}, {1, 1, 4, 1}};
  std::vector<float> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  std::vector<TokenLogprob> out;
  append_prompt_logprobs(flat.data(), 3, 4, 0, prompt, 0, 2, out);
  ASSERT_EQ(out.size(), 3u);  // position 0 has no predecessor
  for (size_t j = 0; j < 3; ++j) {
    EXPECT_EQ(out[j].token_id, prompt[j + 1]);
    EXPECT_NEAR(out[j].logprob, log_softmax(rows[j], prompt[j + 1]), 1e-5);
    ASSERT_EQ(out[j].top.size(), 2u);
  }
  EXPECT_EQ(out[0].top[0].first, 3);
  EXPECT_EQ(out[0].top[1].first, 2);
  EXPECT_EQ(out[2].top[0].first, 2);
  EXPECT_EQ(out[2].top[1].first, 0);  // ties go to the lower id
  EXPECT_NEAR(out[1].top[0].second, log_softmax(rows[1], 0), 1e-5);
}

TEST(PromptLogprobs, StartAndChunkOffset) {
  const std::vector<int32_t> prompt = {0, 1, 2, 3, 0, 1};
  std::vector<float> flat(2 * 4, 0.0f);  // a chunk of positions 3..4, uniform rows
  std::vector<TokenLogprob> out;
  append_prompt_logprobs(flat.data(), 2, 4, 3, prompt, 5, 0, out);
  ASSERT_EQ(out.size(), 1u);  // position 4 is before the start; position 5 is scored by row 1
  EXPECT_EQ(out[0].token_id, 1);
  EXPECT_NEAR(out[0].logprob, -std::log(4.0), 1e-6);
  EXPECT_TRUE(out[0].top.empty());
  out.clear();
  // The chunk that ends the prompt: its last row predicts the first output token, not a prompt token.
  append_prompt_logprobs(flat.data(), 2, 4, 4, prompt, 0, 0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].token_id, 1);
}

}  // namespace
}  // namespace glm
