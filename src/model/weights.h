#pragma once
// The tensors of a Glm4MoeForCausalLM checkpoint bound to plain structs, shape-checked against the config.
// Projection weights are WeightRefs into the mapped shards (BF16/F16/F32 or FP8 with float32 scales);
// norm weights, biases, router weights and the correction bias are small float32 copies owned here.
// Shapes use H = hidden_size, V = vocab_size, D = head_dim, Nq/Nkv = attention / KV heads, E = routed experts.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/weight.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/tp_plan.h"

namespace glm {

struct MlpWeights {          // down(silu(gate(x)) * up(x)), no biases
  WeightRef gate_proj;       // (I, H)
  WeightRef up_proj;         // (I, H)
  WeightRef down_proj;       // (H, I)
};

struct AttentionWeights {
  WeightRef q_proj;          // (Nq * D, H)
  WeightRef k_proj;          // (Nkv * D, H)
  WeightRef v_proj;          // (Nkv * D, H)
  WeightRef o_proj;          // (H, Nq * D), no bias
  const float* q_bias = nullptr;  // (Nq * D) when attention_bias
  const float* k_bias = nullptr;  // (Nkv * D)
  const float* v_bias = nullptr;  // (Nkv * D)
  const float* q_norm = nullptr;  // (D) when use_qk_norm
  const float* k_norm = nullptr;  // (D)
};

struct MoeWeights {
  WeightRef router;                           // (E, H), always F32 (router logits are float32)
  const float* e_score_correction_bias = nullptr;  // (E) or nullptr when absent
  std::vector<MlpWeights> experts;            // E experts of width moe_intermediate_size (expert parallelism:
                                              // other ranks' experts have rows == 0)
  std::optional<MlpWeights> shared;           // width moe_intermediate_size * n_shared_experts
};

struct LayerWeights {
  const float* input_layernorm = nullptr;           // (H)
  const float* post_attention_layernorm = nullptr;  // (H)
  AttentionWeights attn;
  bool is_moe = false;
  MlpWeights dense;                                 // when !is_moe: width intermediate_size
  MoeWeights moe;                                   // when is_moe
};

// The MTP / NextN block at layer index L (spec §1.8). Embedding and lm_head are the target's.
struct NextNWeights {
  const float* enorm = nullptr;             // (H) on the next token's embedding
  const float* hnorm = nullptr;             // (H) on the target's final (post-norm) hidden state
  WeightRef eh_proj;                        // (H, 2H): input is [enorm(e), hnorm(h)]
  LayerWeights layer;                       // always MoE
  const float* shared_head_norm = nullptr;  // (H)
};

struct Glm4MoeWeights {
  WeightRef embed_tokens;                   // (V, H)
  std::vector<LayerWeights> layers;         // L
  const float* final_norm = nullptr;        // (H)
  WeightRef lm_head;                        // (V, H); embed_tokens when tied
  std::optional<NextNWeights> nextn;
  std::vector<std::unique_ptr<float[]>> owned;  // storage of the float32 copies above
  size_t owned_bytes = 0;
};

enum class NextNLoad { Auto, Require, Skip };  // Auto: load the MTP layer when the config and checkpoint have it

// Binds and validates every tensor the config needs. Throws GlmError(InvalidModel) naming the file and tensor.
// tp (tensor parallelism): bind only this rank's shard (tp_plan.h); shapes are checked on the full
// tensors, the WeightRefs are views of the rank's rows / columns, embed_tokens and lm_head hold rows
// [vocab0, vocab0 + vocab_n). nullptr: the whole model.
// expand_to_f32 (numerics checks only): every projection is decoded to an owned float32 copy, so linear()
// runs on float32 activations; the forward then differs from a float32 reference only by summation order.
Glm4MoeWeights bind_weights(const Checkpoint& ckpt, const ModelConfig& cfg, NextNLoad nextn = NextNLoad::Auto,
                            bool expand_to_f32 = false, const TpPlan* tp = nullptr);

}  // namespace glm
