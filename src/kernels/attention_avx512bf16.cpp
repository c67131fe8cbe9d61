// paged_attention() block kernel for AVX-512 BF16 on bf16 and fp8 KV pages: attention_tile.h with scores
// as vdpbf16ps pair dot products. Why: scores are half of the attention arithmetic, and one vdpbf16ps does
// the work of two float32 FMAs (32 exact bf16 products into 16 float32 lanes), so the score loop runs half
// the instructions and K is never widened (bf16 pages are copied, fp8 is exact in bf16). The cost is one
// rounding of the query to bf16 per row: what a bf16 model (transformers, SGLang) does anyway, and a row's
// rounding never depends on the other rows, so batch invariance holds as on the float32 path.
// Softmax and the V sum are the float32 operations of attention_avx512_ops.h.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/attention_kernels.h"
#include "kernels/kv_format.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/attention_tile.h"

namespace glm::attention_detail {
namespace {

#include "kernels/attention_avx512_ops.h"

struct Avx512Bf16Ops : Avx512Ops {
  static constexpr bool kBf16Dot = true;
  static constexpr int64_t kMaxD = 1024;  // attention.cpp's kMaxHeadDim

  // dst = n elements of a bf16 or fp8 K row as bf16: a copy, or the top half of the exact float32 widening
  // (fp8 values have at most 3 mantissa bits and fit bf16's exponent range, so nothing is rounded).
  // float32 pages never come here (attention.cpp keeps them on the float32 kernel).
  static void load_row_bf16(KvDType t, const void* src, uint16_t* dst, int64_t n) {
    if (t == KvDType::BF16) {
      std::memcpy(dst, src, size_t(n) * 2);
      return;
    }
    alignas(64) float f[kMaxD];
    load_row(t, src, f, n);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                          _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_castps_si512(_mm512_loadu_ps(f + i)), 16)));
    for (; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, f + i, 4);
      dst[i] = uint16_t(u >> 16);
    }
  }

  // s (kKeyTile x 16) = raw scores of the 16 rows of qp (D / 2 bf16 pairs x 16 lanes) against the bf16 K
  // rows kb[0, nt) (rows of D). 16 keys per pass: vdpbf16ps has a longer latency than an FMA, and 16
  // independent chains keep both pipes busy (16 accumulators + the query vector fit the 32 zmm). kb has
  // kKeyTile rows (a multiple of 16), so rows past nt exist (stale or zero; their scores are masked).
  static void scores_bf16(const uint32_t* qp, const uint16_t* kb, int64_t D, int64_t nt, float* s) {
    constexpr int kKeys = 16;
    static_assert(kKeyTile % kKeys == 0);
    for (int64_t j = 0; j < nt; j += kKeys) {
      __m512 a[kKeys];
      for (int u = 0; u < kKeys; ++u) a[u] = _mm512_setzero_ps();
      const uint16_t* k0 = kb + j * D;
      for (int64_t i = 0; i < D / 2; ++i) {
        const __m512bh qi = (__m512bh)_mm512_loadu_si512(qp + i * kW);
        for (int u = 0; u < kKeys; ++u) {
          uint32_t pair;
          std::memcpy(&pair, k0 + u * D + 2 * i, 4);
          a[u] = _mm512_dpbf16_ps(a[u], qi, (__m512bh)_mm512_set1_epi32(int(pair)));
        }
      }
      for (int u = 0; u < kKeys; ++u) _mm512_storeu_ps(s + (j + u) * kW, a[u]);
    }
  }
};

}  // namespace

void attend_block_avx512bf16(const AttnWork& w, const AttnScratch& sc) { BlockKernel<Avx512Bf16Ops>::run(w, sc); }

}  // namespace glm::attention_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
