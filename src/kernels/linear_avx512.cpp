// linear() kernels for AVX-512 F/BW/VL without BF16 dot products: weights widened to float32 in
// registers (BF16: shift; F16: vcvtph2ps; FP8: integer bit moves + one exact multiply), one
// vfmadd231ps per 16 columns. For BF16/FP8 weights the activations arrive already rounded to bf16
// values, so every product is exact and only the sums round.
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
// GCC 12 reports the self-initialised _mm*_undefined_*() inside its own intrinsics as maybe-uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/gemm_tile.h"

namespace glm::linear_detail {
namespace {

// 16 e4m3 bytes -> float32. Exponent and mantissa bits are moved under the float32 fields; multiplying
// by 2^120 rebiases the exponent (7 -> 127) and normalises e4m3 subnormals exactly (float32 denormal
// input, normal output). The e4m3 NaN pattern (S.1111.111) decodes to +-480: checkpoints never hold it.
inline __m512 fp8x16_to_f32(__m128i bytes) {
  const __m512i v = _mm512_cvtepu8_epi32(bytes);
  const __m512i mag = _mm512_and_si512(_mm512_slli_epi32(v, 20), _mm512_set1_epi32(0x07F00000));
  const __m512 f = _mm512_mul_ps(_mm512_castsi512_ps(mag), _mm512_set1_ps(0x1p120f));
  const __m512i sign = _mm512_and_si512(_mm512_slli_epi32(v, 24), _mm512_set1_epi32(int(0x80000000u)));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(f), sign));
}

struct Avx512Ops {
  static constexpr int kWidth = 16;
  template <WeightKind K> static constexpr int tile_rows() { return 4; }
  // 4 x 6 accumulators + 4 weights + 1 activation of 32 zmm; FP8 blocks need a second set of sums.
  template <WeightKind K> static constexpr int tile_tokens() { return K == WeightKind::F8Block ? 3 : 6; }
  using Acc = __m512;
  using WVec = __m512;
  using XVec = __m512;
  using XElem = float;

  static __mmask16 mask(int rem) { return rem >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << rem) - 1); }
  static Acc zero() { return _mm512_setzero_ps(); }

  template <WeightKind K>
  static WVec load_w(const WElem<K>* row, int64_t k, int rem) {
    const __mmask16 m = mask(rem);
    if constexpr (K == WeightKind::Bf16) {
      const __m512i h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + k));
      return _mm512_castsi512_ps(_mm512_slli_epi32(h, 16));
    } else if constexpr (K == WeightKind::F16) {
      return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + k));
    } else if constexpr (K == WeightKind::F32) {
      return _mm512_maskz_loadu_ps(m, row + k);
    } else {
      return fp8x16_to_f32(_mm_maskz_loadu_epi8(m, row + k));
    }
  }
  static XVec load_x(const float* x, int64_t k, int rem) { return _mm512_maskz_loadu_ps(mask(rem), x + k); }
  static Acc madd(Acc acc, WVec w, XVec x) { return _mm512_fmadd_ps(w, x, acc); }
  static Acc scale_add(Acc tot, Acc part, float s) { return _mm512_fmadd_ps(part, _mm512_set1_ps(s), tot); }
  static float reduce(Acc a) { return _mm512_reduce_add_ps(a); }
};

}  // namespace

void linear_rows_avx512(const LinearProblem& p, int64_t r0, int64_t r1) {
  linear_rows_dispatch<Avx512Ops>(p, r0, r1);
}

}  // namespace glm::linear_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
