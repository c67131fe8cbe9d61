// linear() over FP8 e4m3 weights (decode and prefill), AVX-512 BF16 + VBMI: 64 weight bytes become 64
// bf16 with byte lookups. Decode is otherwise bound by the widening itself: the shift/add/fix-up decode of
// linear_avx512bf16.cpp costs ~8 vector ops per 32 weights and streamed ~21 GB/s on one core.
//   bytes = vpermb(bytes, spread)                               reorder for the in-lane unpacks below
//   hi = vpermi2b(table of the bf16 high bytes, byte & 0x7F)   exponent (and subnormals) by lookup
//   lo = vpermi2b(table of the bf16 low bytes,  byte & 0x7F)
//   hi |= byte & 0x80                                          sign
//   vpunpck{l,h}bw(lo, hi)                                      the 2 x 32 bf16 of columns [k, k+32), [k+32, k+64)
// On Zen 4 the lane-crossing byte permutes share execution ports with vdpbf16ps while the in-lane unpacks
// do not: one vpermb + two unpacks instead of two two-table vpermt2b interleaves took the FP8 expert and
// lm_head GEMVs of glm-bench-s from 22-26 to 24-29 GB/s on one core (whole-model tg128 +9 %,
// docs/PERFORMANCE.md "Decode kernel, session 4").
// The decode is exact (every e4m3 value is a bf16 value), so the dot products, their order and hence the
// bits are those of the other AVX-512 BF16 tiles: one vdpbf16ps per 32 columns per output element, in
// increasing column order (gemm_tile.h pairs two such steps per load, it does not merge them).
// The e4m3 NaN pattern (S.1111.111) decodes to +-480, as in the other decoders (checkpoints never hold it).
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm_kernels.h"
#include "kernels/isa.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx512vbmi,avx2,fma,f16c")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/gemm_tile.h"
#include "kernels/avx512bf16_ops_common.h"

namespace glm::linear_detail {
namespace {

// bf16 bits of the e4m3 magnitude mag (7 bits: eeee.mmm), exact. 0x7F (NaN) gives 480 like the
// arithmetic decoders.
constexpr uint16_t e4m3_magnitude_to_bf16(int mag) {
  const int e = mag >> 3, m = mag & 7;
  if (e != 0) return uint16_t((e + 120) << 7 | m << 4);  // 2^(e-7) * 1.m: rebias 7 -> 127
  if (m == 0) return 0;
  int top = 2;  // subnormal m * 2^-9 with m in [2^top, 2^(top+1)): normalise
  while (!(m >> top)) --top;
  return uint16_t((top - 9 + 127) << 7 | (m - (1 << top)) << (7 - top));
}

struct alignas(64) DecodeTables {
  uint8_t hi[128], lo[128];       // bf16 high / low byte of each magnitude
  uint8_t spread[64];             // vpermb indices: byte 16L + i <- column 8L + i, 16L + 8 + i <- 32 + 8L + i
};

constexpr DecodeTables make_tables() {
  DecodeTables t{};
  for (int i = 0; i < 128; ++i) {
    t.hi[i] = uint8_t(e4m3_magnitude_to_bf16(i) >> 8);
    t.lo[i] = uint8_t(e4m3_magnitude_to_bf16(i) & 0xFF);
  }
  for (int lane = 0; lane < 4; ++lane) {
    for (int i = 0; i < 8; ++i) {
      t.spread[16 * lane + i] = uint8_t(8 * lane + i);
      t.spread[16 * lane + 8 + i] = uint8_t(32 + 8 * lane + i);
    }
  }
  return t;
}

constexpr DecodeTables kTables = make_tables();
static_assert(e4m3_magnitude_to_bf16(0x01) == 0x3B00 && e4m3_magnitude_to_bf16(0x03) == 0x3BC0 &&
              e4m3_magnitude_to_bf16(0x07) == 0x3C60 && e4m3_magnitude_to_bf16(0x08) == 0x3C80 &&
              e4m3_magnitude_to_bf16(0x7E) == 0x43E0);  // 2^-9, 3 * 2^-9, 7 * 2^-9, 2^-6, 448

// Register tile Rows x Tokens (FP8 blocks: BlockRows x Tokens, a second set of sums per element).
template <int Rows, int BlockRows, int Tokens>
struct Avx512VbmiDecodeOps : Avx512Bf16OpsCommon {
  template <WeightKind K> static constexpr int tile_rows() { return K == WeightKind::F8Block ? BlockRows : Rows; }
  template <WeightKind K> static constexpr int tile_tokens() { return Tokens; }
  static constexpr bool kPairedSteps = true;  // gemm_tile.h: load_w_pair decodes two steps at once

  // Columns [k, k + rem) of row, 0 < rem <= 64: a gets [k, k + 32), b [k + 32, k + 64); zeros past rem.
  template <WeightKind K>
  static void load_w_pair(const uint8_t* row, int64_t k, int rem, WVec& a, WVec& b) {
    const __mmask64 m = rem >= 64 ? ~__mmask64(0) : (__mmask64(1) << rem) - 1;
    __m512i bytes = _mm512_maskz_loadu_epi8(m, row + k);
    // The byte lookups below overwrite their index register; without this the compiler re-loads the
    // weights from memory for each lookup (3 loads per 64 bytes: the load ports became the bottleneck).
    asm("" : "+v"(bytes));
    // Spread the bytes so that the in-lane unpacks below produce the columns in order: lane L of the
    // unpacks reads bytes [16L, 16L + 16), which must hold columns [8L, 8L + 8) and [32 + 8L, 32 + 8L + 8).
    bytes = _mm512_permutexvar_epi8(_mm512_load_si512(kTables.spread), bytes);
    const __m512i hi_tab0 = _mm512_load_si512(kTables.hi), hi_tab1 = _mm512_load_si512(kTables.hi + 64);
    const __m512i lo_tab0 = _mm512_load_si512(kTables.lo), lo_tab1 = _mm512_load_si512(kTables.lo + 64);
    // vpermi2b reads the low 7 index bits: the magnitude; the sign bit is ignored.
    __m512i hi = _mm512_permutex2var_epi8(hi_tab0, bytes, hi_tab1);
    const __m512i lo = _mm512_permutex2var_epi8(lo_tab0, bytes, lo_tab1);
    hi = _mm512_ternarylogic_epi32(hi, bytes, _mm512_set1_epi8(char(0x80)), 0xF8);  // hi | (bytes & 0x80)
    // In-lane byte interleaves (cheaper than the lane-crossing two-table permutes they replace).
    a = as_bh(_mm512_unpacklo_epi8(lo, hi));
    b = as_bh(_mm512_unpackhi_epi8(lo, hi));
  }
  template <WeightKind K>
  static WVec load_w(const uint8_t* row, int64_t k, int rem) {  // a lone step (rem <= 32)
    WVec a, b;
    load_w_pair<K>(row, k, rem, a, b);
    return a;
  }
};

}  // namespace

bool& fp8_vbmi_decode_enabled() {
  static bool enabled = cpu_features().avx512_vbmi;
  return enabled;
}

void linear_rows_f8_decode_avx512vbmi(const LinearProblem& p, int64_t r0, int64_t r1) {
  const bool block = weight_kind(*p.w) == WeightKind::F8Block;
  // 1-2 tokens: 4 rows (4 independent vdpbf16ps chains per token hide its latency); 8 (+8 block sums)
  // accumulators + 8 weight vectors + 6 constants fit in 32 zmm. More tokens: 4 x 4 tiles (blocks 2 x 4),
  // token tiles and K blocks as gemm_tile.h does for prefill (a 2 x 6 tile measured slower).
  using Ops2 = Avx512VbmiDecodeOps<4, 4, 2>;
  using Ops4 = Avx512VbmiDecodeOps<4, 2, 4>;
  if (p.n <= 2) {
    if (block) return linear_rows_tiled<Ops2, WeightKind::F8Block>(p, r0, r1);
    return linear_rows_tiled<Ops2, WeightKind::F8>(p, r0, r1);
  }
  if (block) return linear_rows_tiled<Ops4, WeightKind::F8Block>(p, r0, r1);
  linear_rows_tiled<Ops4, WeightKind::F8>(p, r0, r1);
}

}  // namespace glm::linear_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
