#pragma once
// The register-tiled loop nest shared by every ISA's linear kernel. Include it from a linear_<isa>.cpp
// AFTER that file's `#pragma GCC target(...)` and after all standard headers: everything here is a
// template over the file's Ops struct, so it is compiled once per ISA with that ISA's instructions.
//
// Ops provides (W = Ops::kWidth columns per step):
//   Acc zero();  Acc madd(Acc, WVec, XVec);  Acc scale_add(Acc tot, Acc part, float s);  float reduce(Acc)
//   template <WeightKind K> WVec load_w(const WElem<K>* row, int64_t k, int rem);   rem == W: full step
//   XVec load_x(const XElem* x, int64_t k, int rem)
//   tile_rows<K>(), tile_tokens<K>(): the register tile (rows x tokens) for weight kind K.
//   Optional: kPairedSteps = true and load_w_pair<K>(row, k, rem, a, b), 0 < rem <= 2W, which decodes
//   the weights of two steps at once (a: [k, k+W), b: [k+W, k+2W)) when that is cheaper than twice
//   load_w (FP8 byte-table decode); the two steps' madds then run in the same order as unpaired.
//
// Determinism: one accumulator vector per output element, columns visited in steps of W in
// increasing order (steps never straddle an FP8 block), partial tails zero-filled, then one fixed
// horizontal reduction. Tile shape, token count, K blocking and thread split never change that sequence.
#include "kernels/gemm_kernels.h"

namespace glm::linear_detail {

template <WeightKind K> struct WElemOf { using type = uint16_t; };
template <> struct WElemOf<WeightKind::F32> { using type = float; };
template <> struct WElemOf<WeightKind::F8> { using type = uint8_t; };
template <> struct WElemOf<WeightKind::F8Block> { using type = uint8_t; };
template <WeightKind K> using WElem = typename WElemOf<K>::type;

template <class Ops> constexpr bool paired_steps() {
  if constexpr (requires { Ops::kPairedSteps; }) return Ops::kPairedSteps;
  return false;
}

// Accumulates columns [k0, k1) of rows [o, o + R) x tokens [t0, t0 + T). A product too large for
// the caches is split along the columns (K blocks); the running sums of an element then wait in
// `carry` (R * T vectors, element (r, t) at r * T + t) between blocks, so its sequence of operations
// is exactly that of one pass over all columns. k0 is a multiple of W, or with FP8 blocks the start of
// a block (a view sliced inside a block, w.block_col0 > 0, has a shorter first block).
// first: start from zero instead of carry; last: finish the element (reduce, scale, bias, store y).
template <class Ops, WeightKind K, int R, int T>
__attribute__((always_inline)) inline void linear_tile(const LinearProblem& p, int64_t o, int64_t t0, int64_t k0,
                                                       int64_t k1, typename Ops::Acc* carry, bool first,
                                                       bool last, int64_t ahead) {
  using Acc = typename Ops::Acc;
  using XElem = typename Ops::XElem;
  constexpr int W = Ops::kWidth;
  constexpr bool kBlock = K == WeightKind::F8Block;
  const WeightRef& w = *p.w;
  const int64_t LD = w.row_stride();
  const WElem<K>* wr[R];
  const XElem* xr[T];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) wr[r] = static_cast<const WElem<K>*>(w.data) + (o + r) * LD;
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) xr[t] = static_cast<const XElem*>(p.x) + (t0 + t) * p.ldx;

  // acc: sums of the current FP8 block (of all columns otherwise); tot: scaled block sums.
  // With FP8 blocks a K block ends on a block boundary, so only tot is carried.
  Acc acc[R][T], tot[kBlock ? R : 1][kBlock ? T : 1];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      acc[r][t] = (first || kBlock) ? Ops::zero() : carry[r * T + t];
      if constexpr (kBlock) tot[r][t] = first ? Ops::zero() : carry[r * T + t];
    }
  }
  const int64_t bc = kBlock ? int64_t(w.block_cols) : 1, phase = kBlock ? int64_t(w.block_col0) : 0;
  // FP8 blocks: each row's scales and the block column/end advance by one block per pass below, so
  // no division runs inside the loop (three idivs per block were ~2 % of an FP8 decode profile).
  const float* srow[kBlock ? R : 1];
  int64_t bcol = 0, block_end = k1;
  if constexpr (kBlock) {
    // One division per tile (not one per row): the tile's rows lie in at most two block rows when R <= block_rows.
    const int64_t brows = w.block_rows, sstride = w.scale_stride();
    const int64_t rb = (o + w.block_row0) / brows, within = o + w.block_row0 - rb * brows;
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      srow[r] = R <= brows ? w.scale + (rb + (within + r >= brows ? 1 : 0)) * sstride
                           : w.scale + ((o + r + w.block_row0) / brows) * sstride;
    }
    bcol = k0 == 0 ? 0 : (k0 + phase) / bc;  // phase < bc
    block_end = bcol * bc + bc - phase;
  }
  for (int64_t kb = k0, ke; kb < k1; kb = ke) {
    ke = k1;
    if constexpr (kBlock) {
      if (block_end < k1) ke = block_end;
    }
    auto step = [&](int64_t k, int rem) __attribute__((always_inline)) {
      typename Ops::WVec wv[R];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        // A later row tile, same columns (`ahead`): prefetching past the last row is harmless (no fault).
        __builtin_prefetch(wr[r] + ahead + k, 0, 2);
        wv[r] = Ops::template load_w<K>(wr[r], k, rem);
      }
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const typename Ops::XVec xv = Ops::load_x(xr[t], k, rem);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) acc[r][t] = Ops::madd(acc[r][t], wv[r], xv);
      }
    };
    int64_t k = kb;
    if constexpr (paired_steps<Ops>()) {
      // Two steps per weight load: per element, exactly the madds of step(k) then step(k + W).
      auto step2 = [&](int64_t k, int rem) __attribute__((always_inline)) {
        typename Ops::WVec wa[R], wb[R];
        if constexpr (T == 1) {
          const typename Ops::XVec xa = Ops::load_x(xr[0], k, W), xb = Ops::load_x(xr[0], k + W, rem - W);
#pragma GCC unroll 16
          for (int r = 0; r < R; ++r) {
            __builtin_prefetch(wr[r] + ahead + k, 0, 2);
            Ops::template load_w_pair<K>(wr[r], k, rem, wa[r], wb[r]);
            acc[r][0] = Ops::madd(Ops::madd(acc[r][0], wa[r], xa), wb[r], xb);
          }
          return;
        }
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          __builtin_prefetch(wr[r] + ahead + k, 0, 2);
          Ops::template load_w_pair<K>(wr[r], k, rem, wa[r], wb[r]);
        }
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const typename Ops::XVec xa = Ops::load_x(xr[t], k, W), xb = Ops::load_x(xr[t], k + W, rem - W);
#pragma GCC unroll 16
          for (int r = 0; r < R; ++r) acc[r][t] = Ops::madd(Ops::madd(acc[r][t], wa[r], xa), wb[r], xb);
        }
      };
      for (; k + 2 * W <= ke; k += 2 * W) step2(k, 2 * W);
      if (ke - k > W) {
        step2(k, int(ke - k));
        k = ke;
      }
    }
    for (; k + W <= ke; k += W) step(k, W);
    if (k < ke) step(k, int(ke - k));
    if constexpr (kBlock) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float s = srow[r][bcol];
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          tot[r][t] = Ops::scale_add(tot[r][t], acc[r][t], s);
          acc[r][t] = Ops::zero();
        }
      }
      ++bcol;
      block_end += bc;
    }
  }
  if (!last) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        if constexpr (kBlock) carry[r * T + t] = tot[r][t];
        else carry[r * T + t] = acc[r][t];
      }
    return;
  }
  const bool per_row = w.scale_layout == ScaleLayout::PerRow;
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      float v;
      if constexpr (kBlock) v = Ops::reduce(tot[r][t]);
      else v = Ops::reduce(acc[r][t]);
      if (K == WeightKind::F8 && per_row) v *= w.scale[o + r];
      if (p.bias) v += p.bias[o + r];
      p.y[(t0 + t) * p.ldy + o + r] = v;
    }
  }
}

// Software prefetch distance (elements) for tiles of R rows, computed once per call (not per tile). Tiles of
// several rows read R short streams side by side, which the hardware prefetchers do not follow: prefetch the
// same columns of whole row tiles at least kPrefetchBytes ahead. One tile ahead was too close for short rows:
// 4 FP8 rows of 1024 columns are 4 KiB, which a core consumes in about one DRAM latency (GEMV over
// 1024-column FP8 matrices: 18.5 -> 27 GB/s at one thread with 8 KiB; 16 KiB the same, 32 KiB worse).
// One-row tiles (BF16 decode) are one sequential stream that the hardware prefetcher follows; there a short
// fixed lead is best (BF16 GEMV, 4096 columns: one row = 8 KiB ahead 21 GB/s, 2 KiB 28 GB/s; 1 KiB 26, 4 KiB 20).
template <WeightKind K, int R>
inline int64_t prefetch_ahead(const WeightRef& w) {
  constexpr int64_t kPrefetchBytes = 8192, kStreamPrefetchBytes = 2048;
  const int64_t LD = w.row_stride();
  if constexpr (R == 1) return kStreamPrefetchBytes / int64_t(sizeof(WElem<K>));
  const int64_t tile_bytes = R * LD * int64_t(sizeof(WElem<K>));
  return R * LD * ((kPrefetchBytes + tile_bytes - 1) / tile_bytes);
}

// Picks the tile instantiation for a token count 1 <= nt <= T (a runtime value at batch edges).
template <class Ops, WeightKind K, int R, int T>
inline void linear_tile_tokens(const LinearProblem& p, int64_t o, int64_t t0, int nt, int64_t k0, int64_t k1,
                               typename Ops::Acc* carry, bool first, bool last, int64_t ahead) {
  if constexpr (T > 1) {
    if (nt < T) return linear_tile_tokens<Ops, K, R, T - 1>(p, o, t0, nt, k0, k1, carry, first, last, ahead);
  }
  linear_tile<Ops, K, R, T>(p, o, t0, k0, k1, carry, first, last, ahead);
}

// Rows [r0, r1) x all tokens.
// Decode (n <= tile tokens): one pass down the rows, each weight row read once, all columns at once.
// Prefill: rows in blocks of kRowBlock; for each token tile, columns in K blocks sized so the tile's
// activations (T x kblock) stay in L1 while the row block's weights for that K block come from L2.
template <class Ops, WeightKind K>
void linear_rows_tiled(const LinearProblem& p, int64_t r0, int64_t r1) {
  using Acc = typename Ops::Acc;
  constexpr int R = Ops::template tile_rows<K>();
  constexpr int T = Ops::template tile_tokens<K>();
  constexpr int W = Ops::kWidth;
  constexpr int kRowBlock = 16 * R;
  const WeightRef& w = *p.w;
  const int64_t n = p.n, C = w.cols;
  if constexpr (R < 4) {
    // Narrow prefill tiles (FP8 blocks): decode of 1-2 tokens still wants 4 rows in flight.
    if (n <= 2) {
      int64_t o = r0;
      const int64_t ahead4 = prefetch_ahead<K, 4>(w), ahead1 = prefetch_ahead<K, 1>(w);
      for (; o + 4 <= r1; o += 4) linear_tile_tokens<Ops, K, 4, 2>(p, o, 0, int(n), 0, C, nullptr, true, true, ahead4);
      for (; o < r1; ++o) linear_tile_tokens<Ops, K, 1, 2>(p, o, 0, int(n), 0, C, nullptr, true, true, ahead1);
      return;
    }
  }
  if constexpr (K == WeightKind::Bf16 || K == WeightKind::F16) {
    // Decode of one token over 16-bit weights is bound by the read stream: reading row after row keeps it ONE
    // sequential stream, which one core reads at ~33 GB/s here, while R rows side by side are R streams
    // (~22 GB/s for 4; ../shared/bench/membw.c "read_4stream"): +17 % tg128 on glm-bench-s at one thread.
    // Each row keeps its one vector accumulator over k, so the sums are bitwise those of the R-row tiles.
    // FP8 stays on R rows: its decode is bound by the in-register conversion, which wants the parallel rows.
    if (n == 1) {
      const int64_t ahead1 = prefetch_ahead<K, 1>(w);
      for (int64_t o = r0; o < r1; ++o) linear_tile_tokens<Ops, K, 1, T>(p, o, 0, 1, 0, C, nullptr, true, true, ahead1);
      return;
    }
  }
  const int64_t aheadR = prefetch_ahead<K, R>(w), ahead1 = prefetch_ahead<K, 1>(w);
  if (n <= T) {
    int64_t o = r0;
    for (; o + R <= r1; o += R) linear_tile_tokens<Ops, K, R, T>(p, o, 0, int(n), 0, C, nullptr, true, true, aheadR);
    for (; o < r1; ++o) linear_tile_tokens<Ops, K, 1, T>(p, o, 0, int(n), 0, C, nullptr, true, true, ahead1);
    return;
  }
  int64_t kblock = int64_t(16384 / (T * int(sizeof(typename Ops::XElem)))) / W * W;
  if (kblock < W) kblock = W;
  if (K == WeightKind::F8Block) kblock = (kblock + w.block_cols - 1) / w.block_cols * w.block_cols;
  const int64_t phase = K == WeightKind::F8Block ? w.block_col0 : 0;
  Acc carry[kRowBlock * T];
  for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
    const int64_t re = rb + kRowBlock < r1 ? rb + kRowBlock : r1;
    for (int64_t t0 = 0; t0 < n; t0 += T) {
      const int nt = int(n - t0 < T ? n - t0 : T);
      for (int64_t k0 = 0, k1; k0 < C; k0 = k1) {
        // FP8 blocks: K blocks end on block boundaries of the (possibly sliced) view.
        k1 = K == WeightKind::F8Block ? (k0 + phase + kblock) / w.block_cols * w.block_cols - phase : k0 + kblock;
        if (k1 > C) k1 = C;
        const bool first = k0 == 0, last = k1 == C;
        int64_t o = rb;
        for (; o + R <= re; o += R)
          linear_tile_tokens<Ops, K, R, T>(p, o, t0, nt, k0, k1, carry + (o - rb) * T, first, last, aheadR);
        for (; o < re; ++o)
          linear_tile_tokens<Ops, K, 1, T>(p, o, t0, nt, k0, k1, carry + (o - rb) * T, first, last, ahead1);
      }
    }
  }
}

template <class Ops>
void linear_rows_dispatch(const LinearProblem& p, int64_t r0, int64_t r1) {
  switch (weight_kind(*p.w)) {
    case WeightKind::Bf16: return linear_rows_tiled<Ops, WeightKind::Bf16>(p, r0, r1);
    case WeightKind::F16: return linear_rows_tiled<Ops, WeightKind::F16>(p, r0, r1);
    case WeightKind::F32: return linear_rows_tiled<Ops, WeightKind::F32>(p, r0, r1);
    case WeightKind::F8: return linear_rows_tiled<Ops, WeightKind::F8>(p, r0, r1);
    case WeightKind::F8Block: return linear_rows_tiled<Ops, WeightKind::F8Block>(p, r0, r1);
  }
}

}  // namespace glm::linear_detail
