#pragma once
// The two FP8 checkpoint formats (spec §2) and the list of modules they leave unquantized.
// FP8 weights stay FP8 in the mapping; only their scales are copied to float32 (1/16384 of the weight
// bytes for 128x128 blocks, one float per row for per-channel).
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glm {

enum class QuantMethod : uint8_t {
  None,
  Fp8Block,          // quant_method "fp8": X.weight F8_E4M3 + X.weight_scale_inv (ceil(out/br), ceil(in/bc))
  CompressedTensors  // quant_method "compressed-tensors", float-quantized, strategy channel: X.weight_scale (out, 1)
};

struct QuantizationConfig {
  QuantMethod method = QuantMethod::None;
  // Block scales (Fp8Block, or compressed-tensors strategy "block"): weight_block_size [rows, cols].
  // block_rows == 0 means one scale per output row (compressed-tensors strategy "channel").
  int block_rows = 128, block_cols = 128;
  // Module names (without ".weight") kept unquantized: exact names, or "re:<regex>" matched from the start
  // of the name as Python's re.match does (compressed-tensors `ignore`, HF `modules_to_not_convert`).
  std::vector<std::string> ignore;

  bool is_ignored(const std::string& module) const;
  bool per_row() const { return block_rows == 0; }
  // Suffix of the scale tensor that goes with X.weight: "weight_scale_inv" (fp8) or "weight_scale" (c-t).
  const char* scale_suffix() const { return method == QuantMethod::Fp8Block ? "weight_scale_inv" : "weight_scale"; }

 private:
  friend QuantizationConfig parse_quantization_config(const nlohmann::json&, const std::string&);
  std::vector<std::regex> ignore_regex_;
  std::vector<std::string> ignore_exact_;
};

// Parses config.json's "quantization_config" (null/absent: None). Unsupported schemes (int4, fp4, per-tensor
// static, other block sizes than [r, c] with r, c > 0) throw GlmError(InvalidModel) naming `source`.
QuantizationConfig parse_quantization_config(const nlohmann::json& q, const std::string& source);

}  // namespace glm
