#include "kernels/kv_format.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "core/float_formats.h"

namespace glm {

std::string_view kv_dtype_name(KvDType t) {
  switch (t) {
    case KvDType::F32: return "float32";
    case KvDType::BF16: return "bf16";
    case KvDType::FP8_E4M3: return "fp8_e4m3";
    case KvDType::FP8_E5M2: return "fp8_e5m2";
  }
  return "?";
}

KvDType kv_dtype_from_name(std::string_view name) {
  if (name == "auto" || name == "bf16" || name == "bfloat16") return KvDType::BF16;
  if (name == "fp8_e4m3") return KvDType::FP8_E4M3;
  if (name == "fp8_e5m2") return KvDType::FP8_E5M2;
  if (name == "float32") return KvDType::F32;
  fail(ErrorKind::InvalidArgument, "unknown KV cache dtype '{}' (expected auto, bf16, bfloat16, fp8_e4m3, fp8_e5m2 or float32)",
       std::string(name));
}

void kv_store_row(KvDType t, const float* src, void* dst, int64_t n) {
  switch (t) {
    case KvDType::F32: std::memcpy(dst, src, size_t(n) * sizeof(float)); return;
    case KvDType::BF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case KvDType::FP8_E4M3: {
      auto* d = static_cast<uint8_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_fp8_e4m3(src[i]);
      return;
    }
    case KvDType::FP8_E5M2: {
      auto* d = static_cast<uint8_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_fp8_e5m2(src[i]);
      return;
    }
  }
}

void kv_load_row(KvDType t, const void* src, float* dst, int64_t n) {
  switch (t) {
    case KvDType::F32: std::memcpy(dst, src, size_t(n) * sizeof(float)); return;
    case KvDType::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case KvDType::FP8_E4M3: {
      const auto* s = static_cast<const uint8_t*>(src);
      const float* table = fp8_e4m3_table().v;
      for (int64_t i = 0; i < n; ++i) dst[i] = table[s[i]];
      return;
    }
    case KvDType::FP8_E5M2: {
      const auto* s = static_cast<const uint8_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp8_e5m2_to_f32(s[i]);
      return;
    }
  }
}

}  // namespace glm
