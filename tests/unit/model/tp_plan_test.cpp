// Tensor-parallel split (model/tp_plan.h) and sharded binding (bind_weights with a TpPlan): which heads,
// features and vocabulary rows each rank gets, the refusals for dimensions that do not divide, and that
// every shard view reads exactly the full tensor's rows / columns (FP8 block scales included, also where
// a shard starts inside a 128x128 block). The forward over MPI is tested end to end in
// tests/python/test_tensor_parallel.py.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernels/linear.h"
#include "model/checkpoint.h"
#include "model/tp_plan.h"
#include "model/weights.h"
#include "reference_data.h"

namespace glm::test {
namespace {

ModelConfig config(int64_t nq, int64_t nkv, int64_t inter, int64_t moe, int64_t vocab) {
  ModelConfig c;
  c.num_attention_heads = nq;
  c.num_key_value_heads = nkv;
  c.head_dim = 64;
  c.intermediate_size = inter;
  c.moe_intermediate_size = moe;
  c.n_shared_experts = 1;
  c.vocab_size = vocab;
  return c;
}

std::string refusal(const ModelConfig& c, int size) {
  try {
    TpPlan::make(c, 0, size);
  } catch (const GlmError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    return e.what();
  }
  return "";
}

TEST(TpPlan, SplitsHeadsFeaturesAndVocabulary) {
  const ModelConfig c = config(96, 8, 10944, 1408, 151552);  // GLM-4.5's dimensions
  for (int n : {1, 2, 4, 8}) {
    int64_t vocab_rows = 0;
    for (int r = 0; r < n; ++r) {
      const TpPlan p = TpPlan::make(c, r, n);
      EXPECT_EQ(p.q_heads, 96 / n);
      EXPECT_EQ(p.q_head0, r * 96 / n);
      EXPECT_EQ(p.kv_heads, 8 / n);
      EXPECT_EQ(p.kv_head0, r * 8 / n);
      EXPECT_EQ(p.moe_n, 1408 / n);
      EXPECT_EQ(p.moe0, r * 1408 / n);
      EXPECT_EQ(p.dense_n, 10944 / n);
      EXPECT_EQ(p.shared_n, 1408 / n);
      EXPECT_EQ(p.vocab0, vocab_rows);
      vocab_rows += p.vocab_n;
      const ModelConfig l = p.local_config(c);
      EXPECT_EQ(l.q_dim(), c.q_dim() / n);
      EXPECT_EQ(l.kv_dim(), c.kv_dim() / n);
      EXPECT_EQ(l.shared_intermediate_size(), p.shared_n);
      EXPECT_EQ(l.hidden_size, c.hidden_size);
      EXPECT_EQ(l.vocab_size, c.vocab_size);
      EXPECT_EQ(l.n_routed_experts, c.n_routed_experts);
    }
    EXPECT_EQ(vocab_rows, 151552);
  }
}

TEST(TpPlan, ReplicatesKvHeadsWhenRanksExceedThem) {
  const ModelConfig c = config(96, 8, 10944, 1408, 151552);
  for (int r = 0; r < 16; ++r) {
    const TpPlan p = TpPlan::make(c, r, 16);
    EXPECT_EQ(p.kv_heads, 1);
    EXPECT_EQ(p.kv_head0, r / 2);  // two ranks share each KV head
    // All of this rank's query heads use that KV head (GQA groups of 96 / 8 = 12 heads).
    EXPECT_EQ(p.q_head0 / 12, p.kv_head0);
    EXPECT_EQ((p.q_head0 + p.q_heads - 1) / 12, p.kv_head0);
  }
}

TEST(TpPlan, ExpertParallelPlacesWholeExperts) {
  ModelConfig c = config(96, 8, 10944, 1408, 151552);
  c.n_routed_experts = 160;
  for (int r = 0; r < 8; ++r) {
    const TpPlan p = TpPlan::make(c, r, 8, 8);
    EXPECT_TRUE(p.expert_parallel);
    EXPECT_EQ(p.expert0, r * 20);
    EXPECT_EQ(p.expert_n, 20);
    EXPECT_EQ(p.moe0, 0);
    EXPECT_EQ(p.moe_n, 1408);     // routed experts keep their width
    EXPECT_EQ(p.shared_n, 176);   // the shared expert is still split by width
    EXPECT_TRUE(p.holds_expert(r * 20) && p.holds_expert(r * 20 + 19) && !p.holds_expert(r * 20 + 20));
  }
  c.n_routed_experts = 100;
  try {
    TpPlan::make(c, 0, 8, 8);
    ADD_FAILURE() << "expected a refusal";
  } catch (const GlmError& e) {
    EXPECT_STREQ(e.what(), "--ep-size 8 does not fit this model: n_routed_experts = 100 is not divisible by 8");
  }
  try {
    TpPlan::make(c, 0, 4, 2);
    ADD_FAILURE() << "expected a refusal";
  } catch (const GlmError& e) {
    EXPECT_STREQ(e.what(), "--ep-size 2 must be 1 or equal to --tp 4");
  }
}

TEST(TpPlan, UnevenVocabularyGoesToTheLastRanks) {
  const TpPlan p0 = TpPlan::make(config(4, 2, 8, 8, 1001), 0, 4), p3 = TpPlan::make(config(4, 2, 8, 8, 1001), 3, 4);
  EXPECT_EQ(p0.vocab_n, 251);
  EXPECT_EQ(p3.vocab0, 753);
  EXPECT_EQ(p3.vocab_n, 248);
}

TEST(TpPlan, RefusesDimensionsThatDoNotDivide) {
  EXPECT_EQ(refusal(config(3, 1, 136, 24, 1552), 2),
            "--tp 2 does not fit this model: num_attention_heads = 3 is not divisible by 2");
  EXPECT_EQ(refusal(config(12, 4, 96, 96, 1552), 6),
            "--tp 6 does not fit this model: it exceeds num_key_value_heads = 4 and is not a multiple of it");
  EXPECT_EQ(refusal(config(8, 8, 100, 96, 1552), 8), "--tp 8 does not fit this model: intermediate_size = 100 is not divisible by 8");
  EXPECT_EQ(refusal(config(8, 8, 96, 20, 1552), 8),
            "--tp 8 does not fit this model: moe_intermediate_size = 20 is not divisible by 8");
  EXPECT_EQ(refusal(config(12, 6, 96, 96, 1552), 4),
            "--tp 4 does not fit this model: num_key_value_heads = 6 is not divisible by 4");
}

// Row o of view == row (r0 + o) of full, columns [c0, c0 + view.cols).
void expect_view_of(const WeightRef& full, const WeightRef& view, int64_t r0, int64_t c0, const std::string& what) {
  std::vector<float> a(size_t(full.cols)), b(size_t(view.cols));
  for (int64_t o = 0; o < view.rows; ++o) {
    weight_row_to_f32(full, r0 + o, a.data());
    weight_row_to_f32(view, o, b.data());
    ASSERT_EQ(std::memcmp(a.data() + c0, b.data(), size_t(view.cols) * sizeof(float)), 0) << what << " row " << o;
  }
}

// The MTP (NextN) layer where the fixture has one (speculative decoding under --tp): its decoder layer is
// split like the target's, eh_proj / enorm / hnorm / shared_head.norm replicated (SGLang's draft model).
TEST(TpPlan, ShardViewsReadTheirSliceOfEveryTensor) {
  for (const char* name : {"glm45-tiny", "glm45air-tiny-fp8", "glm-tiny-fp8-channel"}) {
    if (!fixture_exists(name)) continue;
    Checkpoint ckpt(model_dir(name));
    const ModelConfig c = load_model_config(model_dir(name));
    const Glm4MoeWeights full = bind_weights(ckpt, c, NextNLoad::Auto);
    for (int n : {2, 4}) {
      for (int ep : {1, n}) {
      for (int r = 0; r < n; ++r) {
        SCOPED_TRACE(std::string(name) + " rank " + std::to_string(r) + "/" + std::to_string(n) + " ep " +
                     std::to_string(ep));
        const TpPlan p = TpPlan::make(c, r, n, ep);
        const Glm4MoeWeights w = bind_weights(ckpt, c, NextNLoad::Auto, false, &p);
        const int64_t D = c.head_dim;
        expect_view_of(full.embed_tokens, w.embed_tokens, p.vocab0, 0, "embed_tokens");
        expect_view_of(full.lm_head, w.lm_head, p.vocab0, 0, "lm_head");
        ASSERT_EQ(w.nextn.has_value(), full.nextn.has_value());
        std::vector<std::pair<const LayerWeights*, const LayerWeights*>> layers;
        for (size_t l = 0; l < w.layers.size(); ++l) layers.emplace_back(&full.layers[l], &w.layers[l]);
        if (w.nextn) {
          const NextNWeights &f = *full.nextn, &s = *w.nextn;
          EXPECT_EQ(s.eh_proj.rows, c.hidden_size);
          EXPECT_EQ(s.eh_proj.cols, 2 * c.hidden_size);
          expect_view_of(f.eh_proj, s.eh_proj, 0, 0, "eh_proj (replicated)");
          for (int64_t i = 0; i < c.hidden_size; ++i) {
            ASSERT_EQ(s.enorm[i], f.enorm[i]);
            ASSERT_EQ(s.hnorm[i], f.hnorm[i]);
            ASSERT_EQ(s.shared_head_norm[i], f.shared_head_norm[i]);
          }
          ASSERT_TRUE(s.layer.is_moe);
          EXPECT_EQ(s.layer.attn.q_proj.rows, p.q_heads * D);
          layers.emplace_back(&f.layer, &s.layer);
        }
        for (size_t l = 0; l < layers.size(); ++l) {
          SCOPED_TRACE(l == w.layers.size() ? "MTP layer" : "layer " + std::to_string(l));
          const LayerWeights &f = *layers[l].first, &s = *layers[l].second;
          expect_view_of(f.attn.q_proj, s.attn.q_proj, p.q_head0 * D, 0, "q_proj");
          expect_view_of(f.attn.k_proj, s.attn.k_proj, p.kv_head0 * D, 0, "k_proj");
          expect_view_of(f.attn.v_proj, s.attn.v_proj, p.kv_head0 * D, 0, "v_proj");
          expect_view_of(f.attn.o_proj, s.attn.o_proj, 0, p.q_head0 * D, "o_proj");
          if (c.attention_bias) {
            for (int64_t i = 0; i < p.kv_heads * D; ++i) ASSERT_EQ(s.attn.k_bias[i], f.attn.k_bias[p.kv_head0 * D + i]);
          }
          if (!s.is_moe) {
            expect_view_of(f.dense.gate_proj, s.dense.gate_proj, p.dense0, 0, "dense gate");
            expect_view_of(f.dense.down_proj, s.dense.down_proj, 0, p.dense0, "dense down");
            continue;
          }
          for (size_t e = 0; e < s.moe.experts.size(); ++e) {
            if (!p.holds_expert(int64_t(e))) {  // expert parallelism: another rank's expert, never bound
              EXPECT_EQ(s.moe.experts[e].gate_proj.rows, 0);
              EXPECT_EQ(s.moe.experts[e].down_proj.data, nullptr);
              continue;
            }
            EXPECT_EQ(s.moe.experts[e].gate_proj.rows, p.moe_n);
            expect_view_of(f.moe.experts[e].up_proj, s.moe.experts[e].up_proj, p.moe0, 0, "expert up");
            expect_view_of(f.moe.experts[e].down_proj, s.moe.experts[e].down_proj, 0, p.moe0, "expert down");
          }
          expect_view_of(f.moe.shared->gate_proj, s.moe.shared->gate_proj, p.shared0, 0, "shared gate");
          expect_view_of(f.moe.shared->down_proj, s.moe.shared->down_proj, 0, p.shared0, "shared down");
          expect_view_of(f.moe.router, s.moe.router, 0, 0, "router (replicated)");
        }
      }
      }
    }
  }
}

}  // namespace
}  // namespace glm::test
