#include "model/quantization.h"

#include "core/error.h"

namespace glm {

bool QuantizationConfig::is_ignored(const std::string& module) const {
  for (const auto& e : ignore_exact_)
    if (e == module) return true;
  for (const auto& r : ignore_regex_)
    if (std::regex_search(module, r, std::regex_constants::match_continuous)) return true;
  return false;
}

namespace {

std::vector<std::string> string_list(const nlohmann::json& q, const char* key, const std::string& source) {
  std::vector<std::string> out;
  if (!q.contains(key) || q[key].is_null()) return out;
  if (!q[key].is_array()) fail(ErrorKind::InvalidModel, "{}: quantization_config.{} must be a list", source, key);
  for (const auto& v : q[key]) {
    if (!v.is_string())
      fail(ErrorKind::InvalidModel, "{}: quantization_config.{} must hold strings", source, key);
    out.push_back(v.get<std::string>());
  }
  return out;
}

void parse_block_size(QuantizationConfig& c, const nlohmann::json& b, const std::string& source, const char* field) {
  if (!b.is_array() || b.size() != 2 || !b[0].is_number_integer() || !b[1].is_number_integer() ||
      b[0].get<int64_t>() <= 0 || b[1].get<int64_t>() <= 0 || b[0].get<int64_t>() > 65536 ||
      b[1].get<int64_t>() > 65536)
    fail(ErrorKind::InvalidModel, "{}: quantization_config {} must be [rows, cols] of positive integers, got {}",
         source, field, b.dump());
  c.block_rows = b[0].get<int>();
  c.block_cols = b[1].get<int>();
}

void parse_compressed_tensors(QuantizationConfig& c, const nlohmann::json& q, const std::string& source) {
  if (q.contains("format") && q["format"].is_string()) {
    auto f = q["format"].get<std::string>();
    if (f != "float-quantized" && f != "naive-quantized")
      fail(ErrorKind::InvalidModel, "{}: compressed-tensors format '{}' is not supported (only float-quantized FP8)",
           source, f);
  }
  if (!q.contains("config_groups") || !q["config_groups"].is_object() || q["config_groups"].empty())
    fail(ErrorKind::InvalidModel, "{}: compressed-tensors quantization_config has no config_groups", source);
  bool first = true;
  for (const auto& [gname, g] : q["config_groups"].items()) {
    const auto& w = g.contains("weights") ? g["weights"] : nlohmann::json();
    if (!w.is_object())
      fail(ErrorKind::InvalidModel, "{}: config_groups.{} has no 'weights' scheme", source, gname);
    int bits = w.value("num_bits", 0);
    std::string type = w.value("type", std::string()), strategy = w.value("strategy", std::string());
    if (bits != 8 || type != "float")
      fail(ErrorKind::InvalidModel, "{}: config_groups.{}: only 8-bit float weights are supported, got {}-bit {}",
           source, gname, bits, type);
    QuantizationConfig g_cfg;
    if (strategy == "channel") {
      g_cfg.block_rows = g_cfg.block_cols = 0;
    } else if (strategy == "block") {
      parse_block_size(g_cfg, w.contains("block_structure") ? w["block_structure"] : nlohmann::json(), source,
                       "block_structure");
    } else {
      fail(ErrorKind::InvalidModel, "{}: config_groups.{}: weight strategy '{}' is not supported (channel, block)",
           source, gname, strategy);
    }
    if (!first && (g_cfg.block_rows != c.block_rows || g_cfg.block_cols != c.block_cols))
      fail(ErrorKind::InvalidModel, "{}: config_groups with different weight strategies are not supported", source);
    c.block_rows = g_cfg.block_rows;
    c.block_cols = g_cfg.block_cols;
    first = false;
  }
}

}  // namespace

QuantizationConfig parse_quantization_config(const nlohmann::json& q, const std::string& source) {
  QuantizationConfig c;
  if (q.is_null()) return c;
  if (!q.is_object()) fail(ErrorKind::InvalidModel, "{}: quantization_config must be an object", source);
  std::string method = q.value("quant_method", std::string());
  if (method == "fp8") {
    c.method = QuantMethod::Fp8Block;
    if (q.contains("fmt") && q["fmt"] != "e4m3")
      fail(ErrorKind::InvalidModel, "{}: fp8 fmt {} is not supported (only e4m3)", source, q["fmt"].dump());
    if (q.contains("activation_scheme") && q["activation_scheme"] != "dynamic")
      fail(ErrorKind::InvalidModel, "{}: fp8 activation_scheme {} is not supported (only dynamic)", source,
           q["activation_scheme"].dump());
    if (!q.contains("weight_block_size") || q["weight_block_size"].is_null())
      fail(ErrorKind::InvalidModel, "{}: fp8 checkpoints without weight_block_size (per-tensor) are not supported",
           source);
    parse_block_size(c, q["weight_block_size"], source, "weight_block_size");
    c.ignore = string_list(q, "modules_to_not_convert", source);
    for (auto& s : string_list(q, "ignored_layers", source)) c.ignore.push_back(s);
  } else if (method == "compressed-tensors") {
    c.method = QuantMethod::CompressedTensors;
    parse_compressed_tensors(c, q, source);
    c.ignore = string_list(q, "ignore", source);
  } else {
    fail(ErrorKind::InvalidModel, "{}: quantization_config.quant_method '{}' is not supported (fp8, compressed-tensors)",
         source, method);
  }
  for (const auto& s : c.ignore) {
    if (s.rfind("re:", 0) == 0) {
      try {
        c.ignore_regex_.emplace_back(s.substr(3), std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        fail(ErrorKind::InvalidModel, "{}: quantization ignore pattern '{}' is not a valid regex: {}", source, s,
             e.what());
      }
    } else {
      c.ignore_exact_.push_back(s);
    }
  }
  return c;
}

}  // namespace glm
