// paged_attention() block kernel for AVX2 + FMA: attention_tile.h over 8-lane ymm vectors, KV rows widened
// in registers, the same exp polynomial as attention_avx512.cpp (exactly 0 below -87.34, 1 at 0).
#include <immintrin.h>

#include <cstdint>

#include "kernels/attention_kernels.h"
#include "kernels/kv_format.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/attention_tile.h"

namespace glm::attention_detail {
namespace {

struct Avx2Ops {
  static constexpr int kW = 8;
  static constexpr bool kBf16Dot = false;
  using Vec = __m256;
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec set1(float x) { return _mm256_set1_ps(x); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Vec a) { _mm256_storeu_ps(p, a); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  static Vec select_lt(Vec a, Vec b, Vec x, Vec y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ)); }

  static Vec exp(Vec x) {
    const Vec under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3365478515625f), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3365478515625f)), _mm256_set1_ps(88.3762626647949f));
    const Vec fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    Vec r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    Vec y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
  }

  static void load_row(KvDType t, const void* src, float* dst, int64_t n) {
    int64_t i = 0;
    if (t == KvDType::BF16) {
      const auto* s = static_cast<const uint16_t*>(src);
      for (; i + 8 <= n; i += 8) {
        const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
      }
    } else if (t == KvDType::FP8_E4M3) {
      const auto* s = static_cast<const uint8_t*>(src);
      for (; i + 8 <= n; i += 8) {
        const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + i)));
        const __m256i mag = _mm256_and_si256(_mm256_slli_epi32(v, 20), _mm256_set1_epi32(0x07F00000));
        const __m256 f = _mm256_mul_ps(_mm256_castsi256_ps(mag), _mm256_set1_ps(0x1p120f));
        const __m256i sign = _mm256_and_si256(_mm256_slli_epi32(v, 24), _mm256_set1_epi32(int(0x80000000u)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_or_si256(_mm256_castps_si256(f), sign)));
      }
    } else if (t == KvDType::FP8_E5M2) {  // the byte is the top half of an f16
      const auto* s = static_cast<const uint8_t*>(src);
      for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm_slli_epi16(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + i))), 8);
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
      }
    } else {
      const auto* s = static_cast<const float*>(src);
      for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(s + i));
    }
    if (i < n) kv_load_row(t, static_cast<const uint8_t*>(src) + i * kv_dtype_bytes(t), dst + i, n - i);
  }
};

}  // namespace

void attend_block_avx2(const AttnWork& w, const AttnScratch& sc) { BlockKernel<Avx2Ops>::run(w, sc); }

}  // namespace glm::attention_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
