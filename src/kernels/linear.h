#pragma once
// y = x W^T (+ bias): the matrix multiply every projection of the model goes through.
//   x: (n, w.cols) float32, row stride ldx;  y: (n, w.rows) float32, row stride ldy
//   bias: (w.rows) or nullptr
// Contract (tests hold every implementation to it):
//  - The sum over i for one output element is computed in an order that depends only on
//    w.cols and the ISA chosen at start-up, never on n, the thread count or the other rows of the
//    batch. This is what makes a request's output independent of what it is batched with.
//  - Numerics: for BF16 and F8_E4M3 weights each activation is first rounded to bfloat16 (round to
//    nearest even), products are exact and sums are float32; FP8 scales multiply the float32 partial
//    sum of each block (Block) or the whole row (PerRow). This is what lets the fast path use
//    vdpbf16ps for prefill and decode alike (same rounding at every batch size), and it is still
//    more accurate than SGLang's all-bf16 execution. F32 and F16 weights use float32 activations.
//  - FP8 weights are decoded in registers, inside the loop; nothing is expanded into memory.
//  - Threads split the output rows (static partition); the caller's pool is used.
#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/weight.h"

namespace glm {

void linear(const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias, float* y,
            int64_t ldy, ThreadPool& pool);

inline void linear(const float* x, int64_t n, const WeightRef& w, const float* bias, float* y, ThreadPool& pool) {
  linear(x, n, w.cols, w, bias, y, w.rows, pool);
}

// Scalar reference for tests: same math, plain loops, float32 accumulation in index order.
void linear_reference(const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias, float* y,
                      int64_t ldy);

// Decodes row o of w into float32 (embedding lookup, tests).
void weight_row_to_f32(const WeightRef& w, int64_t o, float* out);

}  // namespace glm
