#pragma once
// y = x W^T (+ bias): the matrix multiply every projection of the model goes through.
//   x: (n, w.cols) float32, row stride ldx;  y: (n, w.rows) float32, row stride ldy
//   bias: (w.rows) or nullptr
//   w may be a view (row stride w.ld, FP8 block-grid offsets: kernels/weight.h), e.g. a tensor-parallel
//   shard; the reduction order then depends on w.cols and the view's block offset.
// Contract (tests hold every implementation to it):
//  - The sum over i for one output element is computed in an order that depends only on
//    w.cols (and the FP8 block width) and the ISA chosen at start-up, never on n, the thread count or the other rows of the
//    batch. This is what makes a request's output independent of what it is batched with.
//  - Numerics: for BF16 and F8_E4M3 weights each activation is first rounded to bfloat16 (round to
//    nearest even), products are exact and sums are float32; FP8 scales multiply the float32 partial
//    sum of each block (Block) or the whole row (PerRow). This is what lets the fast path use
//    vdpbf16ps for prefill and decode alike (same rounding at every batch size), and it is still
//    more accurate than SGLang's all-bf16 execution. F32 and F16 weights use float32 activations.
//  - FP8 weights are decoded in registers, inside the loop; nothing is expanded into memory. On
//    AVX-512 BF16 CPUs with AVX512-VBMI, every batch size uses byte-table lookups instead of
//    integer shifts (linear_avx512bf16_vbmi.cpp): both decodes are exact, so the bits are the same.
//  - Threads split the output rows (static partition); the caller's pool is used. Call linear() from
//    the thread that owns the pool, never from inside one of its parallel regions.
//  - The ISA is chosen once per process (kernels/isa.h; GLM_ISA=portable|avx2|avx512|avx512bf16 lowers
//    it). Results are bitwise reproducible for a given ISA; different ISAs agree to float32 rounding.
//  - No allocation per call once warm: the prepared (bf16-rounded) activations live in a scratch
//    buffer owned by the calling thread (thread_local), grown to the largest n * cols seen.
//  - No alignment requirements on x, y, bias or the weight data; ldx >= w.cols, ldy >= w.rows.
//  - FP8 E4M3: the NaN pattern (S.1111.111) is not supported by the SIMD paths (checkpoints never hold it).
//  - Errors (GlmError Internal): unsupported dtype, missing scales, bad strides.
#include <cstdint>
#include <span>

#include "core/thread_pool.h"
#include "kernels/isa.h"
#include "kernels/weight.h"

namespace glm {

void linear(const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias, float* y,
            int64_t ldy, ThreadPool& pool);

inline void linear(const float* x, int64_t n, const WeightRef& w, const float* bias, float* y, ThreadPool& pool) {
  linear(x, n, w.cols, w, bias, y, w.rows, pool);
}

// Several independent products in one parallel region: each thread computes its rows of every call in turn
// (the same row split as linear()), so a batch of small matrices (a decode step's MoE experts) costs one
// synchronisation instead of one per matrix. Results are bitwise those of linear() on each call. Calls
// must not write what a later call of the batch reads. Consecutive calls on the same x share its prepared
// (bf16-rounded) copy.
struct LinearCall {
  const float* x = nullptr;
  int64_t n = 0, ldx = 0;
  const WeightRef* w = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
  int64_t ldy = 0;
};
void linear_batch(std::span<const LinearCall> calls, ThreadPool& pool);

// The same with an explicit ISA (tests, benchmarks); isa must be one of supported_isas().
void linear_with_isa(Isa isa, const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias,
                     float* y, int64_t ldy, ThreadPool& pool);

// Scalar reference for tests: plain loops, float32 accumulation in index order, x rounded to bf16 as
// above; FP8 scales are applied per weight element (weight_row_to_f32), so it agrees with linear() to
// float32 rounding, not bitwise.
void linear_reference(const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias, float* y,
                      int64_t ldy);

// Decodes row o of w into float32 (embedding lookup, tests).
void weight_row_to_f32(const WeightRef& w, int64_t o, float* out);

}  // namespace glm
