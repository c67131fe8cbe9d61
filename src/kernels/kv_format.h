#pragma once
// Number formats of the paged KV cache (--kv-cache-dtype) and the conversions at its two ends: rows are
// rounded once when written (kv_store_row) and widened to float32 in registers when attention reads them.
// Names follow SGLang:
//   auto      the model's dtype: bf16 for every GLM-4.5/4.6/4.7 checkpoint we load (BF16 and FP8 alike, as
//             SGLang's model dtype is bf16 for FP8 checkpoints too)
//   bf16 / bfloat16   round to nearest even (torch .to(bfloat16))
//   fp8_e4m3  float8_e4m3fn with scale 1.0 (SGLang's default when the checkpoint has no k_scale/v_scale):
//             round to nearest even, saturating at +-448 (see core/float_formats.h f32_to_fp8_e4m3)
//   fp8_e5m2  float8_e5m2 with scale 1.0 (2 mantissa bits, range +-57344), same rounding, saturating
//   float32   internal (numerics tests): the exact activations
// The SIMD readers decode e4m3 by bit moves (its NaN code would read as +-480; the writer never produces it
// from finite input) and e5m2 as half precision (exact, inf and NaN included).#include <cstdint>
#include <string_view>

namespace glm {

enum class KvDType : uint8_t { F32, BF16, FP8_E4M3, FP8_E5M2 };

inline int64_t kv_dtype_bytes(KvDType t) { return t == KvDType::F32 ? 4 : t == KvDType::BF16 ? 2 : 1; }
std::string_view kv_dtype_name(KvDType t);  // "float32" | "bf16" | "fp8_e4m3" | "fp8_e5m2"
// Parses a --kv-cache-dtype value (auto | bf16 | bfloat16 | fp8_e4m3 | fp8_e5m2 | float32); throws
// GlmError(InvalidArgument) on anything else.
KvDType kv_dtype_from_name(std::string_view name);

// dst (n elements of t) = src rounded to t.
void kv_store_row(KvDType t, const float* src, void* dst, int64_t n);
// dst (n floats) = src (n elements of t) widened; the scalar definition the SIMD readers must match.
void kv_load_row(KvDType t, const void* src, float* dst, int64_t n);

}  // namespace glm
