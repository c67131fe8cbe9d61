// config.json parsing: every field as the file states it, transformers' defaults where absent
// (configuration_glm4_moe.py, modeling_rope_utils.py), both RoPE spellings, and clear errors.
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/config.h"
#include "reference_data.h"

namespace glm::test {
namespace {

using nlohmann::json;

json minimal() {
  return json{{"architectures", {"Glm4MoeForCausalLM"}}, {"model_type", "glm4_moe"}, {"hidden_size", 256},
              {"num_attention_heads", 8}, {"num_key_value_heads", 2}, {"vocab_size", 1000},
              {"num_hidden_layers", 2}};
}

std::string error_of(const json& j) {
  try {
    parse_model_config(j, "cfg.json");
  } catch (const GlmError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidModel);
    return e.what();
  }
  ADD_FAILURE() << "expected an error for " << j.dump();
  return "";
}

TEST(ModelConfig, FixtureFieldsAsWritten) {
  for (const char* name : {"glm45-tiny", "glm45air-tiny-fp8", "glm-tiny-fp8-channel", "glm-odd-tiny"}) {
    if (!fixture_exists(name)) continue;
    std::ifstream f(model_dir(name) + "/config.json");
    json j = json::parse(f);
    ModelConfig c = load_model_config(model_dir(name));
    EXPECT_EQ(c.hidden_size, j["hidden_size"].get<int64_t>()) << name;
    EXPECT_EQ(c.num_hidden_layers, j["num_hidden_layers"].get<int64_t>());
    EXPECT_EQ(c.num_attention_heads, j["num_attention_heads"].get<int64_t>());
    EXPECT_EQ(c.num_key_value_heads, j["num_key_value_heads"].get<int64_t>());
    EXPECT_EQ(c.head_dim, j["head_dim"].get<int64_t>());
    EXPECT_EQ(c.n_routed_experts, j["n_routed_experts"].get<int64_t>());
    EXPECT_EQ(c.num_experts_per_tok, j["num_experts_per_tok"].get<int64_t>());
    EXPECT_EQ(c.n_group, j["n_group"].get<int64_t>());
    EXPECT_EQ(c.topk_group, j["topk_group"].get<int64_t>());
    EXPECT_EQ(c.use_qk_norm, j["use_qk_norm"].get<bool>());
    EXPECT_EQ(c.attention_bias, j["attention_bias"].get<bool>());
    EXPECT_EQ(c.norm_topk_prob, j["norm_topk_prob"].get<bool>());
    EXPECT_DOUBLE_EQ(c.routed_scaling_factor, j["routed_scaling_factor"].get<double>());
    EXPECT_DOUBLE_EQ(c.rope_theta, j["rope_theta"].get<double>());
    EXPECT_EQ(c.first_k_dense_replace, j["first_k_dense_replace"].get<int64_t>());
    const json& eos = j["eos_token_id"];
    EXPECT_EQ(c.eos_token_ids, eos.is_array() ? eos.get<std::vector<int64_t>>() : std::vector<int64_t>{eos.get<int64_t>()});
    EXPECT_EQ(c.quantization.method == QuantMethod::None, !j.contains("quantization_config"));
  }
}

TEST(ModelConfig, TransformersDefaults) {
  ModelConfig c = parse_model_config(minimal(), "cfg.json");
  EXPECT_EQ(c.head_dim, 32);                     // hidden_size / num_attention_heads
  EXPECT_DOUBLE_EQ(c.partial_rotary_factor, 0.5);  // Glm4MoeConfig.__post_init__
  EXPECT_EQ(c.rotary_dim(), 16);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);       // RotaryEmbeddingConfigMixin.default_theta
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.topk_group, 1);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.use_qk_norm);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 1.0);
  EXPECT_EQ(c.first_k_dense_replace, 1);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_EQ(c.num_nextn_predict_layers, 1);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_TRUE(c.eos_token_ids.empty());
}

TEST(ModelConfig, RopeParametersSpelling) {
  json j = minimal();
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1e6}, {"partial_rotary_factor", 0.25}};
  ModelConfig c = parse_model_config(j, "cfg.json");
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(c.partial_rotary_factor, 0.25);
  json k = minimal();
  k["rope_theta"] = 5e5;
  k["rope_scaling"] = {{"type", "default"}, {"partial_rotary_factor", 1.0}};  // SGLang reads it from here first
  ModelConfig d = parse_model_config(k, "cfg.json");
  EXPECT_DOUBLE_EQ(d.rope_theta, 5e5);
  EXPECT_DOUBLE_EQ(d.partial_rotary_factor, 1.0);
}

TEST(ModelConfig, EosIntOrList) {
  json j = minimal();
  j["eos_token_id"] = 7;
  EXPECT_EQ(parse_model_config(j, "x").eos_token_ids, (std::vector<int64_t>{7}));
  j["eos_token_id"] = {7, 9};
  EXPECT_EQ(parse_model_config(j, "x").eos_token_ids, (std::vector<int64_t>{7, 9}));
  j["eos_token_id"] = "7";
  EXPECT_NE(error_of(j).find("eos_token_id"), std::string::npos);
}

TEST(ModelConfig, UnsupportedValuesAreErrors) {
  auto with = [](const char* key, json v) {
    json j = minimal();
    j[key] = v;
    return j;
  };
  EXPECT_NE(error_of(with("architectures", {"Glm4MoeLiteForCausalLM"})).find("Glm4MoeLiteForCausalLM"), std::string::npos);
  EXPECT_NE(error_of(with("hidden_act", "gelu")).find("hidden_act"), std::string::npos);
  EXPECT_NE(error_of(with("rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}})).find("yarn"), std::string::npos);
  EXPECT_NE(error_of(with("num_nextn_predict_layers", 2)).find("num_nextn_predict_layers"), std::string::npos);
  EXPECT_NE(error_of(with("num_key_value_heads", 3)).find("num_key_value_heads"), std::string::npos);
  EXPECT_NE(error_of(with("hidden_size", "big")).find("'hidden_size'"), std::string::npos);
  EXPECT_NE(error_of(with("num_experts_per_tok", 500)).find("num_experts_per_tok"), std::string::npos);
  EXPECT_NE(error_of(with("quantization_config", {{"quant_method", "gptq"}})).find("gptq"), std::string::npos);
  EXPECT_NE(error_of(with("quantization_config", {{"quant_method", "fp8"}})).find("weight_block_size"),
            std::string::npos);
}

TEST(Quantization, IgnoreListUsesPythonReMatch) {
  json q = {{"quant_method", "compressed-tensors"},
            {"config_groups", {{"group_0", {{"targets", {"Linear"}},
                                            {"weights", {{"num_bits", 8}, {"type", "float"}, {"strategy", "channel"}}}}}}},
            {"ignore", {"lm_head", "re:.*mlp\\.gate$", "model.layers.0.self_attn.o_proj", "re:layers"}}};
  QuantizationConfig c = parse_quantization_config(q, "cfg.json");
  EXPECT_TRUE(c.per_row());
  EXPECT_STREQ(c.scale_suffix(), "weight_scale");
  EXPECT_TRUE(c.is_ignored("lm_head"));
  EXPECT_TRUE(c.is_ignored("model.layers.7.mlp.gate"));
  EXPECT_FALSE(c.is_ignored("model.layers.7.mlp.gate_proj"));             // $ anchors the end
  EXPECT_FALSE(c.is_ignored("model.layers.7.mlp.experts.0.gate_proj"));
  EXPECT_TRUE(c.is_ignored("model.layers.0.self_attn.o_proj"));
  EXPECT_FALSE(c.is_ignored("model.layers.10.self_attn.o_proj"));         // exact names are exact
  EXPECT_FALSE(c.is_ignored("model.layers.1.self_attn.q_proj"));          // re.match: "layers" must start the name
  json bad = q;
  bad["ignore"] = {"re:([unclosed"};
  EXPECT_THROW(parse_quantization_config(bad, "cfg.json"), GlmError);
}

TEST(Quantization, BlockFp8) {
  QuantizationConfig c = parse_quantization_config(
      {{"quant_method", "fp8"}, {"fmt", "e4m3"}, {"activation_scheme", "dynamic"}, {"weight_block_size", {128, 64}}},
      "cfg.json");
  EXPECT_EQ(c.method, QuantMethod::Fp8Block);
  EXPECT_EQ(c.block_rows, 128);
  EXPECT_EQ(c.block_cols, 64);
  EXPECT_STREQ(c.scale_suffix(), "weight_scale_inv");
  EXPECT_THROW(parse_quantization_config({{"quant_method", "fp8"}, {"weight_block_size", {128}}}, "x"), GlmError);
  EXPECT_THROW(parse_quantization_config({{"quant_method", "fp8"}, {"activation_scheme", "static"},
                                          {"weight_block_size", {128, 128}}}, "x"),
               GlmError);
}

}  // namespace
}  // namespace glm::test
