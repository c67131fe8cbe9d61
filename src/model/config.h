#pragma once
// config.json of a Glm4MoeForCausalLM checkpoint (model_type "glm4_moe"): every field the forward pass uses.
// Defaults follow transformers' Glm4MoeConfig where a field is absent.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/quantization.h"

namespace glm {

struct ModelConfig {
  std::string architecture = "Glm4MoeForCausalLM";
  int64_t vocab_size = 151552;             // V
  int64_t hidden_size = 4096;              // H
  int64_t intermediate_size = 10944;       // dense MLP width
  int64_t moe_intermediate_size = 1408;    // per routed expert width
  int64_t num_hidden_layers = 46;          // L (the MTP layer, if any, sits at index L)
  int64_t num_attention_heads = 96;        // query heads
  int64_t num_key_value_heads = 8;         // KV heads (GQA)
  int64_t head_dim = 0;                    // 0 in JSON means hidden_size / num_attention_heads
  double partial_rotary_factor = 0.5;      // rotary_dim = int(head_dim * factor)
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-5;
  bool attention_bias = false;             // bias on q/k/v (never on o_proj)
  bool use_qk_norm = false;                // per-head RMSNorm on q and k, before RoPE
  int64_t n_routed_experts = 128;          // E
  int64_t num_experts_per_tok = 8;         // routed top-k
  int64_t n_shared_experts = 1;            // shared expert width = n_shared * moe_intermediate_size
  int64_t n_group = 1, topk_group = 1;     // group-limited routing
  bool norm_topk_prob = true;
  double routed_scaling_factor = 1.0;
  int64_t first_k_dense_replace = 1;       // layers [0, k) are dense MLP, the rest MoE
  int64_t num_nextn_predict_layers = 1;    // MTP layers (0 or 1 supported)
  int64_t max_position_embeddings = 131072;
  bool tie_word_embeddings = false;
  std::string torch_dtype = "bfloat16";
  std::vector<int64_t> eos_token_ids;      // eos_token_id, int or list
  std::optional<int64_t> pad_token_id;
  QuantizationConfig quantization;

  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t rotary_dim() const { return int64_t(double(head_dim) * partial_rotary_factor); }
  int64_t shared_intermediate_size() const { return moe_intermediate_size * n_shared_experts; }
  bool is_moe_layer(int64_t layer) const { return layer >= first_k_dense_replace; }
};

// Parses and validates; `source` names the file in error messages. Throws GlmError(InvalidModel).
ModelConfig parse_model_config(const nlohmann::json& j, const std::string& source);
// Reads <model_dir>/config.json.
ModelConfig load_model_config(const std::string& model_dir);

}  // namespace glm
