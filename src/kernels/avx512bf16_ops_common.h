#pragma once
// What every AVX-512 BF16 linear() tile shares, whatever decodes its weights: bf16 activations in zmm,
// float32 sums, one vdpbf16ps per 32 columns, block scales by one FMA, GCC's fixed horizontal sum.
// linear_avx512bf16.cpp (BF16 and shift/add FP8) and linear_avx512bf16_vbmi.cpp (byte-table FP8) derive
// their Ops from it; the same operations are what makes their results bitwise equal.
// Include AFTER the file's `#pragma GCC target(...)` (AVX-512 F/BW/BF16), like gemm_tile.h; the struct has
// internal linkage so each file gets it compiled for its own target.
#include <immintrin.h>

#include <cstdint>

namespace glm::linear_detail {
namespace {

inline __m512bh as_bh(__m512i v) { return (__m512bh)v; }

struct Avx512Bf16OpsCommon {
  static constexpr int kWidth = 32;
  using Acc = __m512;
  using WVec = __m512bh;
  using XVec = __m512bh;
  using XElem = uint16_t;

  static __mmask32 mask(int rem) { return rem >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << rem) - 1); }
  static Acc zero() { return _mm512_setzero_ps(); }
  static XVec load_x(const uint16_t* x, int64_t k, int rem) { return as_bh(_mm512_maskz_loadu_epi16(mask(rem), x + k)); }
  static Acc madd(Acc acc, WVec w, XVec x) { return _mm512_dpbf16_ps(acc, w, x); }
  static Acc scale_add(Acc tot, Acc part, float s) { return _mm512_fmadd_ps(part, _mm512_set1_ps(s), tot); }
  static float reduce(Acc a) { return _mm512_reduce_add_ps(a); }
};

}  // namespace
}  // namespace glm::linear_detail
