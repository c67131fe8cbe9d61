// linear() kernels for AVX2 + FMA (+F16C): weights widened to float32 in registers, one vfmadd231ps
// per 8 columns. Column tails (cols % 8) go through a zero-filled 8-element stack copy.
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
// GCC 12 reports the self-initialised _mm*_undefined_*() inside its own intrinsics as maybe-uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/gemm_tile.h"

namespace glm::linear_detail {
namespace {

// 8 e4m3 bytes -> float32; same bit moves as the AVX-512 path (see linear_avx512.cpp).
inline __m256 fp8x8_to_f32(__m128i bytes) {
  const __m256i v = _mm256_cvtepu8_epi32(bytes);
  const __m256i mag = _mm256_and_si256(_mm256_slli_epi32(v, 20), _mm256_set1_epi32(0x07F00000));
  const __m256 f = _mm256_mul_ps(_mm256_castsi256_ps(mag), _mm256_set1_ps(0x1p120f));
  const __m256i sign = _mm256_and_si256(_mm256_slli_epi32(v, 24), _mm256_set1_epi32(int(0x80000000u)));
  return _mm256_castsi256_ps(_mm256_or_si256(_mm256_castps_si256(f), sign));
}

template <typename E>
inline const E* tail_copy(const E* p, int rem, E (&buf)[8]) {
  for (int i = 0; i < 8; ++i) buf[i] = i < rem ? p[i] : E(0);
  return buf;
}

struct Avx2Ops {
  static constexpr int kWidth = 8;
  // 16 ymm registers: 4 x 2 accumulators + 4 weights + 1 activation; FP8 blocks add a second set of sums.
  template <WeightKind K> static constexpr int tile_rows() { return 4; }
  template <WeightKind K> static constexpr int tile_tokens() { return K == WeightKind::F8Block ? 1 : 2; }
  using Acc = __m256;
  using WVec = __m256;
  using XVec = __m256;
  using XElem = float;

  static Acc zero() { return _mm256_setzero_ps(); }

  template <WeightKind K>
  static WVec load_w(const WElem<K>* row, int64_t k, int rem) {
    WElem<K> buf[8];
    const WElem<K>* p = rem >= 8 ? row + k : tail_copy(row + k, rem, buf);
    if constexpr (K == WeightKind::Bf16) {
      const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      return _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
    } else if constexpr (K == WeightKind::F16) {
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    } else if constexpr (K == WeightKind::F32) {
      return _mm256_loadu_ps(p);
    } else {
      return fp8x8_to_f32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    }
  }
  static XVec load_x(const float* x, int64_t k, int rem) {
    float buf[8];
    return _mm256_loadu_ps(rem >= 8 ? x + k : tail_copy(x + k, rem, buf));
  }
  static Acc madd(Acc acc, WVec w, XVec x) { return _mm256_fmadd_ps(w, x, acc); }
  static Acc scale_add(Acc tot, Acc part, float s) { return _mm256_fmadd_ps(part, _mm256_set1_ps(s), tot); }
  static float reduce(Acc a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace

void linear_rows_avx2(const LinearProblem& p, int64_t r0, int64_t r1) { linear_rows_dispatch<Avx2Ops>(p, r0, r1); }

}  // namespace glm::linear_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
