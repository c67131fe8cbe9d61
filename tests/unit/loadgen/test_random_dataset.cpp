// The random dataset on the glm45-tiny tokenizer: lengths in [len * ratio, len], exact with ratio 1,
// no added/special token ids (EOS, <think>, ...), the same seed gives the same prompts, text mode
// decodes the ids, and bad options are rejected.
#include <gtest/gtest.h>

#include "core/error.h"
#include "loadgen/random_dataset.h"

using namespace glm::loadgen;

namespace {
const glm::Tokenizer& tiny_tokenizer() {
  static glm::Tokenizer t = glm::Tokenizer::from_dir(std::string(GLM_FIXTURES_DIR) + "/glm45-tiny");
  return t;
}
}  // namespace

TEST(RandomDataset, LengthsAndIds) {
  RandomDatasetOptions o;
  o.num_prompts = 200;
  o.input_len = 40;
  o.output_len = 10;
  o.range_ratio = 0.5;
  auto ps = make_random_dataset(o, tiny_tokenizer());
  ASSERT_EQ(ps.size(), 200u);
  int min_in = 1000, max_in = 0;
  for (const auto& p : ps) {
    EXPECT_TRUE(p.use_ids);
    EXPECT_EQ(int64_t(p.ids.size()), p.prompt_len);
    EXPECT_GE(p.prompt_len, 20);
    EXPECT_LE(p.prompt_len, 40);
    EXPECT_GE(p.output_len, 5);
    EXPECT_LE(p.output_len, 10);
    min_in = std::min(min_in, int(p.prompt_len));
    max_in = std::max(max_in, int(p.prompt_len));
    for (int32_t id : p.ids) {
      ASSERT_GE(id, 0);
      ASSERT_LT(id, tiny_tokenizer().vocab_size());
      ASSERT_FALSE(tiny_tokenizer().is_added_token(id)) << id;  // 1500+ (EOS, <think>, ...) never appear
    }
  }
  EXPECT_EQ(min_in, 20);  // both ends of the range are reachable
  EXPECT_EQ(max_in, 40);
}

TEST(RandomDataset, FixedLengthsSeedAndText) {
  RandomDatasetOptions o;
  o.num_prompts = 5;
  o.input_len = 17;
  o.output_len = 3;
  o.range_ratio = 1.0;
  o.seed = 42;
  auto a = make_random_dataset(o, tiny_tokenizer());
  auto b = make_random_dataset(o, tiny_tokenizer());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt_len, 17);
    EXPECT_EQ(a[i].output_len, 3);
    EXPECT_EQ(a[i].ids, b[i].ids);
  }
  EXPECT_NE(a[0].ids, a[1].ids);
  o.seed = 43;
  EXPECT_NE(make_random_dataset(o, tiny_tokenizer())[0].ids, a[0].ids);
  o.seed = 42;
  o.as_text = true;
  auto t = make_random_dataset(o, tiny_tokenizer());
  EXPECT_FALSE(t[0].use_ids);
  EXPECT_EQ(t[0].ids, a[0].ids);
  EXPECT_EQ(t[0].text, tiny_tokenizer().decode(a[0].ids, false));
  EXPECT_FALSE(t[0].text.empty());
}

TEST(RandomDataset, RejectsBadOptions) {
  RandomDatasetOptions o;
  o.input_len = 0;
  EXPECT_THROW(make_random_dataset(o, tiny_tokenizer()), glm::GlmError);
  o.input_len = 8;
  o.range_ratio = 1.5;
  EXPECT_THROW(make_random_dataset(o, tiny_tokenizer()), glm::GlmError);
}
