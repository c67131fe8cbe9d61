#include "model/config.h"

#include <fstream>

#include "core/error.h"

namespace glm {

namespace {

using nlohmann::json;

// Readers that name the field and the file when the JSON type is wrong.
int64_t get_int(const json& j, const char* key, int64_t def, const std::string& src) {
  if (!j.contains(key) || j[key].is_null()) return def;
  const auto& v = j[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && v.get<double>() == double(int64_t(v.get<double>()))) return int64_t(v.get<double>());
  fail(ErrorKind::InvalidModel, "{}: field '{}' must be an integer, got {}", src, key, v.dump());
}

double get_double(const json& j, const char* key, double def, const std::string& src) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_number()) fail(ErrorKind::InvalidModel, "{}: field '{}' must be a number, got {}", src, key, j[key].dump());
  return j[key].get<double>();
}

bool get_bool(const json& j, const char* key, bool def, const std::string& src) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_boolean()) fail(ErrorKind::InvalidModel, "{}: field '{}' must be true or false, got {}", src, key, j[key].dump());
  return j[key].get<bool>();
}

void require_positive(int64_t v, const char* key, const std::string& src) {
  if (v <= 0) fail(ErrorKind::InvalidModel, "{}: field '{}' must be positive, got {}", src, key, v);
}

// RoPE: older configs keep rope_theta / partial_rotary_factor at the top level and rope_scaling separately;
// newer transformers writes them into rope_parameters. SGLang reads rope_scaling.partial_rotary_factor first.
void parse_rope(ModelConfig& c, const json& j, const std::string& src) {
  c.rope_theta = get_double(j, "rope_theta", c.rope_theta, src);
  c.partial_rotary_factor = get_double(j, "partial_rotary_factor", c.partial_rotary_factor, src);
  for (const char* key : {"rope_scaling", "rope_parameters"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    const auto& r = j[key];
    if (!r.is_object()) fail(ErrorKind::InvalidModel, "{}: field '{}' must be an object or null", src, key);
    std::string type = r.value("rope_type", r.value("type", std::string("default")));
    if (type != "default")
      fail(ErrorKind::InvalidModel, "{}: {}.rope_type '{}' is not supported (only default RoPE)", src, key, type);
    c.rope_theta = get_double(r, "rope_theta", c.rope_theta, src);
    c.partial_rotary_factor = get_double(r, "partial_rotary_factor", c.partial_rotary_factor, src);
  }
  if (!(c.rope_theta > 0)) fail(ErrorKind::InvalidModel, "{}: rope_theta must be positive, got {}", src, c.rope_theta);
  if (!(c.partial_rotary_factor > 0 && c.partial_rotary_factor <= 1))
    fail(ErrorKind::InvalidModel, "{}: partial_rotary_factor must be in (0, 1], got {}", src, c.partial_rotary_factor);
}

}  // namespace

ModelConfig parse_model_config(const json& j, const std::string& src) {
  if (!j.is_object()) fail(ErrorKind::InvalidModel, "{}: not a JSON object", src);
  ModelConfig c;
  std::string model_type = j.value("model_type", std::string());
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    arch = j["architectures"][0].get<std::string>();
  if (arch != "Glm4MoeForCausalLM" || (!model_type.empty() && model_type != "glm4_moe"))
    fail(ErrorKind::InvalidModel,
         "{}: unsupported architecture '{}' (model_type '{}'); glmserve runs Glm4MoeForCausalLM / glm4_moe",
         src, arch, model_type);
  c.architecture = arch;

  c.vocab_size = get_int(j, "vocab_size", c.vocab_size, src);
  c.hidden_size = get_int(j, "hidden_size", c.hidden_size, src);
  c.intermediate_size = get_int(j, "intermediate_size", c.intermediate_size, src);
  c.moe_intermediate_size = get_int(j, "moe_intermediate_size", c.moe_intermediate_size, src);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", c.num_hidden_layers, src);
  c.num_attention_heads = get_int(j, "num_attention_heads", c.num_attention_heads, src);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", c.num_attention_heads, src);
  c.head_dim = get_int(j, "head_dim", 0, src);
  c.rms_norm_eps = get_double(j, "rms_norm_eps", c.rms_norm_eps, src);
  c.attention_bias = get_bool(j, "attention_bias", c.attention_bias, src);
  c.use_qk_norm = get_bool(j, "use_qk_norm", c.use_qk_norm, src);
  c.n_routed_experts = get_int(j, "n_routed_experts", get_int(j, "num_local_experts", c.n_routed_experts, src), src);
  c.num_experts_per_tok = get_int(j, "num_experts_per_tok", c.num_experts_per_tok, src);
  c.n_shared_experts = get_int(j, "n_shared_experts", c.n_shared_experts, src);
  c.n_group = get_int(j, "n_group", c.n_group, src);
  c.topk_group = get_int(j, "topk_group", c.topk_group, src);
  c.norm_topk_prob = get_bool(j, "norm_topk_prob", c.norm_topk_prob, src);
  c.routed_scaling_factor = get_double(j, "routed_scaling_factor", c.routed_scaling_factor, src);
  c.first_k_dense_replace = get_int(j, "first_k_dense_replace", c.first_k_dense_replace, src);
  c.num_nextn_predict_layers =
      get_int(j, "num_nextn_predict_layers", get_int(j, "num_mtp_layers", c.num_nextn_predict_layers, src), src);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", c.max_position_embeddings, src);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", c.tie_word_embeddings, src);
  if (j.contains("torch_dtype") && j["torch_dtype"].is_string()) c.torch_dtype = j["torch_dtype"].get<std::string>();
  else if (j.contains("dtype") && j["dtype"].is_string()) c.torch_dtype = j["dtype"].get<std::string>();
  parse_rope(c, j, src);

  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
    const auto& e = j["eos_token_id"];
    if (e.is_number_integer()) {
      c.eos_token_ids.push_back(e.get<int64_t>());
    } else if (e.is_array()) {
      for (const auto& v : e) {
        if (!v.is_number_integer()) fail(ErrorKind::InvalidModel, "{}: eos_token_id list must hold integers", src);
        c.eos_token_ids.push_back(v.get<int64_t>());
      }
    } else {
      fail(ErrorKind::InvalidModel, "{}: eos_token_id must be an integer or a list, got {}", src, e.dump());
    }
  }
  if (j.contains("pad_token_id") && j["pad_token_id"].is_number_integer()) c.pad_token_id = j["pad_token_id"].get<int64_t>();

  std::string act = j.value("hidden_act", std::string("silu"));
  if (act != "silu") fail(ErrorKind::InvalidModel, "{}: hidden_act '{}' is not supported (only silu)", src, act);

  for (auto [v, key] : {std::pair{c.vocab_size, "vocab_size"}, {c.hidden_size, "hidden_size"},
                        {c.intermediate_size, "intermediate_size"}, {c.moe_intermediate_size, "moe_intermediate_size"},
                        {c.num_hidden_layers, "num_hidden_layers"}, {c.num_attention_heads, "num_attention_heads"},
                        {c.num_key_value_heads, "num_key_value_heads"}, {c.n_routed_experts, "n_routed_experts"},
                        {c.num_experts_per_tok, "num_experts_per_tok"}, {c.n_group, "n_group"},
                        {c.topk_group, "topk_group"}, {c.max_position_embeddings, "max_position_embeddings"}})
    require_positive(v, key, src);
  if (c.head_dim == 0) {
    if (c.hidden_size % c.num_attention_heads != 0)
      fail(ErrorKind::InvalidModel, "{}: no head_dim and hidden_size {} is not a multiple of num_attention_heads {}",
           src, c.hidden_size, c.num_attention_heads);
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  require_positive(c.head_dim, "head_dim", src);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    fail(ErrorKind::InvalidModel, "{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", src,
         c.num_attention_heads, c.num_key_value_heads);
  if (c.rotary_dim() % 2 != 0 || c.rotary_dim() <= 0)
    fail(ErrorKind::InvalidModel, "{}: rotary dim head_dim*partial_rotary_factor = {} must be even and positive", src,
         c.rotary_dim());
  if (c.n_shared_experts < 0) fail(ErrorKind::InvalidModel, "{}: n_shared_experts must be >= 0", src);
  if (c.first_k_dense_replace < 0) fail(ErrorKind::InvalidModel, "{}: first_k_dense_replace must be >= 0", src);
  if (c.num_experts_per_tok > c.n_routed_experts)
    fail(ErrorKind::InvalidModel, "{}: num_experts_per_tok {} exceeds n_routed_experts {}", src,
         c.num_experts_per_tok, c.n_routed_experts);
  if (c.n_routed_experts % c.n_group != 0 || c.topk_group > c.n_group)
    fail(ErrorKind::InvalidModel, "{}: n_routed_experts {} / n_group {} / topk_group {} are inconsistent", src,
         c.n_routed_experts, c.n_group, c.topk_group);
  if (c.n_group > 1 && c.n_routed_experts / c.n_group < 2)
    fail(ErrorKind::InvalidModel, "{}: group-limited routing needs at least 2 experts per group", src);
  if (c.num_nextn_predict_layers < 0 || c.num_nextn_predict_layers > 1)
    fail(ErrorKind::InvalidModel, "{}: num_nextn_predict_layers {} is not supported (0 or 1)", src,
         c.num_nextn_predict_layers);
  if (!(c.rms_norm_eps > 0)) fail(ErrorKind::InvalidModel, "{}: rms_norm_eps must be positive", src);
  for (int64_t e : c.eos_token_ids)
    if (e < 0 || e >= c.vocab_size)
      fail(ErrorKind::InvalidModel, "{}: eos_token_id {} is outside the vocabulary (size {})", src, e, c.vocab_size);

  c.quantization = parse_quantization_config(j.contains("quantization_config") ? j["quantization_config"] : json(),
                                             src);
  return c;
}

ModelConfig load_model_config(const std::string& model_dir) {
  std::string path = model_dir + "/config.json";
  std::ifstream f(path);
  if (!f) fail(ErrorKind::NotFound, "{}: cannot open model config", path);
  json j;
  try {
    j = json::parse(f);
  } catch (const json::exception& e) {
    fail(ErrorKind::InvalidModel, "{}: invalid JSON: {}", path, e.what());
  }
  return parse_model_config(j, path);
}

}  // namespace glm
