#pragma once
// Internal interface between linear() (dispatch, activation preparation, threading) and the
// per-ISA kernels (linear_portable.cpp, linear_avx2.cpp, linear_avx512.cpp, linear_avx512bf16.cpp).
#include <cstdint>

#include "kernels/weight.h"

namespace glm::linear_detail {

// Weight element formats a kernel is instantiated for. F8 covers ScaleLayout None and PerRow (the
// row scale multiplies the finished sum); F8Block multiplies each block's partial sum.
enum class WeightKind { Bf16, F16, F32, F8, F8Block };

WeightKind weight_kind(const WeightRef& w);

// One call's operands after preparation. x holds n rows of prepared activations with row stride ldx
// (elements): bf16 bits (uint16_t, for the AVX-512-BF16 kernels with BF16/F8 weights) or float32
// (already rounded to bf16 values for BF16/F8 weights; raw for F16/F32 weights).
struct LinearProblem {
  const WeightRef* w = nullptr;
  const void* x = nullptr;
  int64_t ldx = 0;
  int64_t n = 0;
  const float* bias = nullptr;  // (w.rows) or nullptr
  float* y = nullptr;           // (n, ldy)
  int64_t ldy = 0;
};

// Each computes output rows [r0, r1) for all n tokens. The per-element reduction order depends only
// on w.cols (and block_cols): every tile shape runs the same sequence of vector operations per element.
void linear_rows_portable(const LinearProblem& p, int64_t r0, int64_t r1);
void linear_rows_avx2(const LinearProblem& p, int64_t r0, int64_t r1);
void linear_rows_avx512(const LinearProblem& p, int64_t r0, int64_t r1);
void linear_rows_avx512bf16(const LinearProblem& p, int64_t r0, int64_t r1);  // BF16 and F8 weights only

// FP8 linear (any n) for AVX-512 BF16 CPUs that also have AVX512-VBMI: byte-table e4m3 decode, same bits
// as linear_rows_avx512bf16 (linear_avx512bf16_vbmi.cpp). linear_rows_avx512bf16 calls it when
// fp8_vbmi_decode_enabled(): true when the CPU has VBMI; tests turn it off to cover the fallback too.
void linear_rows_f8_decode_avx512vbmi(const LinearProblem& p, int64_t r0, int64_t r1);
bool& fp8_vbmi_decode_enabled();

// Rounds x (n, cols; stride ldx) to bf16 with round-to-nearest-even into out (n, ldo) as bf16 bits,
// zero-filling columns [cols, ldo).
void pack_activations_bf16_avx512bf16(const float* x, int64_t n, int64_t ldx, int64_t cols, uint16_t* out,
                                      int64_t ldo);

}  // namespace glm::linear_detail
