// linear() kernels for AVX-512 BF16: vdpbf16ps multiplies 32 bf16 pairs exactly and adds them into
// 16 float32 lanes, so BF16 weights stream straight from the mapping and FP8 weights are widened to
// bf16 in registers (e4m3 -> bf16 is exact). Activations arrive packed as bf16 (rounded once per call).
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")
// GCC 12 reports the self-initialised _mm*_undefined_*() inside its own intrinsics as maybe-uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/gemm_tile.h"
#include "kernels/avx512bf16_ops_common.h"

namespace glm::linear_detail {
namespace {

// 32 e4m3 bytes -> 32 bf16. Normal numbers: exponent/mantissa bits shifted under the bf16 fields and
// the exponent rebiased by +120 with one 16-bit add. Subnormals (exponent 0, value m * 2^-9) come from
// an 8-entry table indexed by the mantissa (vpermw reads the low 5 index bits, which are m when the
// exponent is 0). The e4m3 NaN pattern decodes to +-480: checkpoints never hold it.
inline __m512bh fp8x32_to_bf16(__m256i bytes) {
  const __m512i subnormal_bf16 = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                  0, 0, 0x3C60, 0x3C40, 0x3C20, 0x3C00, 0x3BC0, 0x3B80, 0x3B00, 0);
  const __m512i v = _mm512_cvtepu8_epi16(bytes);
  __m512i mag = _mm512_add_epi16(_mm512_and_si512(_mm512_slli_epi16(v, 4), _mm512_set1_epi16(0x07F0)),
                                 _mm512_set1_epi16(0x3C00));
  const __mmask32 exp_zero = _mm512_testn_epi16_mask(v, _mm512_set1_epi16(0x78));
  mag = _mm512_mask_permutexvar_epi16(mag, exp_zero, v, subnormal_bf16);
  // mag | (v << 8 & 0x8000): ternary-logic truth table A | (B & C) = 0xF8.
  return as_bh(_mm512_ternarylogic_epi32(mag, _mm512_slli_epi16(v, 8), _mm512_set1_epi16(short(0x8000)), 0xF8));
}

struct Avx512Bf16Ops : Avx512Bf16OpsCommon {
  // 4 x 6 accumulators + 4 weights + 1 activation of 32 zmm. FP8 blocks keep a second set of sums
  // (2 x 6 x 2): fewer rows rather than fewer tokens, so each decoded weight vector serves 6 tokens.
  template <WeightKind K> static constexpr int tile_rows() { return K == WeightKind::F8Block ? 2 : 4; }
  template <WeightKind K> static constexpr int tile_tokens() { return 6; }

  template <WeightKind K>
  static WVec load_w(const WElem<K>* row, int64_t k, int rem) {
    if constexpr (K == WeightKind::Bf16) return as_bh(_mm512_maskz_loadu_epi16(mask(rem), row + k));
    else return fp8x32_to_bf16(_mm256_maskz_loadu_epi8(mask(rem), row + k));
  }
};

}  // namespace

void linear_rows_avx512bf16(const LinearProblem& p, int64_t r0, int64_t r1) {
  switch (weight_kind(*p.w)) {
    case WeightKind::Bf16: return linear_rows_tiled<Avx512Bf16Ops, WeightKind::Bf16>(p, r0, r1);
    case WeightKind::F8:
    case WeightKind::F8Block:
      // FP8 is bound by the widening of its weights at every batch size: with AVX512-VBMI the byte-table
      // decode (3-4 ops per 64 weights instead of ~16) wins for decode and, even with the smaller 4 x 4 tile
      // its constants leave room for, for prefill (FP8 GEMM n = 512: +13-32 %, verify batches n = 8: +25 %;
      // docs/PERFORMANCE.md "Decode kernel, session 4"). Without VBMI, this file's shift/add decode.
      if (fp8_vbmi_decode_enabled()) return linear_rows_f8_decode_avx512vbmi(p, r0, r1);
      if (weight_kind(*p.w) == WeightKind::F8) return linear_rows_tiled<Avx512Bf16Ops, WeightKind::F8>(p, r0, r1);
      return linear_rows_tiled<Avx512Bf16Ops, WeightKind::F8Block>(p, r0, r1);
    default: return linear_rows_avx512(p, r0, r1);  // F16/F32 weights take float32 activations
  }
}

void pack_activations_bf16_avx512bf16(const float* x, int64_t n, int64_t ldx, int64_t cols, uint16_t* out,
                                      int64_t ldo) {
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * ldx;
    uint16_t* ot = out + t * ldo;
    for (int64_t k = 0; k < ldo; k += 32) {
      // vcvtne2ps2bf16 rounds to nearest even; lanes past cols load as zero.
      const int64_t left = cols - k;
      const __mmask16 lo = left >= 16 ? __mmask16(0xFFFF) : left > 0 ? __mmask16((1u << left) - 1) : __mmask16(0);
      const __mmask16 hi = left >= 32 ? __mmask16(0xFFFF) : left > 16 ? __mmask16((1u << (left - 16)) - 1) : __mmask16(0);
      const __m512 a = _mm512_maskz_loadu_ps(lo, xt + k), b = _mm512_maskz_loadu_ps(hi, xt + k + 16);
      _mm512_storeu_si512(ot + k, (__m512i)_mm512_cvtne2ps_pbh(b, a));
    }
  }
}

}  // namespace glm::linear_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
