// linear(): validates operands, prepares the activations once (bf16 rounding, packing), then splits
// the output rows across the pool and runs the kernel of the chosen ISA on each slice.
#include "kernels/linear.h"

#include <cstddef>
#include <memory>

#include "core/error.h"
#include "core/float_formats.h"
#include "kernels/gemm_kernels.h"

namespace glm {
namespace linear_detail {

WeightKind weight_kind(const WeightRef& w) {
  switch (w.dtype) {
    case DType::BF16: return WeightKind::Bf16;
    case DType::F16: return WeightKind::F16;
    case DType::F32: return WeightKind::F32;
    case DType::F8_E4M3: return w.scale_layout == ScaleLayout::Block ? WeightKind::F8Block : WeightKind::F8;
    default: fail(ErrorKind::Internal, "linear: weight dtype {} is not supported", dtype_name(w.dtype));
  }
}

}  // namespace linear_detail

namespace {

using linear_detail::LinearProblem;
using linear_detail::WeightKind;

// Per-thread scratch for prepared activations; grows, never shrinks, 64-byte aligned.
class ActivationScratch {
 public:
  void* get(size_t bytes) {
    if (bytes > capacity_) {
      capacity_ = bytes + bytes / 4;
      buffer_ = std::make_unique<unsigned char[]>(capacity_ + 64);
    }
    auto addr = reinterpret_cast<uintptr_t>(buffer_.get());
    return buffer_.get() + ((64 - addr % 64) % 64);
  }

 private:
  std::unique_ptr<unsigned char[]> buffer_;
  size_t capacity_ = 0;
};

ActivationScratch& thread_scratch() {
  thread_local ActivationScratch scratch;
  return scratch;
}

void validate(const WeightRef& w, int64_t n, int64_t ldx, int64_t ldy) {
  if (n < 0 || w.rows < 0 || w.cols < 0) fail(ErrorKind::Internal, "linear: negative shape n={} rows={} cols={}", n, w.rows, w.cols);
  if (ldx < w.cols) fail(ErrorKind::Internal, "linear: ldx {} < cols {}", ldx, w.cols);
  if (ldy < w.rows) fail(ErrorKind::Internal, "linear: ldy {} < rows {}", ldy, w.rows);
  if (w.rows > 0 && w.cols > 0 && !w.data) fail(ErrorKind::Internal, "linear: weight ({}, {}) has no data", w.rows, w.cols);
  if (w.scale_layout != ScaleLayout::None && w.dtype != DType::F8_E4M3)
    fail(ErrorKind::Internal, "linear: scales given for {} weights", dtype_name(w.dtype));
  if (w.scale_layout != ScaleLayout::None && !w.scale) fail(ErrorKind::Internal, "linear: FP8 weight without scales");
  if (w.scale_layout == ScaleLayout::Block && (w.block_rows <= 0 || w.block_cols <= 0))
    fail(ErrorKind::Internal, "linear: FP8 block scales with block size {}x{}", w.block_rows, w.block_cols);
  if (w.ld != 0 && w.ld < w.cols) fail(ErrorKind::Internal, "linear: weight row stride {} < cols {}", w.ld, w.cols);
  if (w.scale_layout == ScaleLayout::Block &&
      (w.block_row0 < 0 || w.block_row0 >= w.block_rows || w.block_col0 < 0 || w.block_col0 >= w.block_cols ||
       (w.scale_ld != 0 && w.scale_ld < w.scale_cols())))
    fail(ErrorKind::Internal, "linear: FP8 block view offset ({}, {}) / scale stride {} out of range", w.block_row0,
         w.block_col0, w.scale_ld);
  linear_detail::weight_kind(w);  // throws on unsupported dtypes
}

using RowsFn = void (*)(const LinearProblem&, int64_t, int64_t);

RowsFn rows_kernel(Isa isa) {
  switch (isa) {
    case Isa::Portable: return linear_detail::linear_rows_portable;
    case Isa::Avx2: return linear_detail::linear_rows_avx2;
    case Isa::Avx512: return linear_detail::linear_rows_avx512;
    case Isa::Avx512Bf16: return linear_detail::linear_rows_avx512bf16;
  }
  return linear_detail::linear_rows_portable;
}

// Tokens per packing task: below this, the caller packs alone (decode), above it the pool helps.
constexpr int64_t kPackParallelElements = int64_t(1) << 16;

}  // namespace

void linear_with_isa(Isa isa, const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias,
                     float* y, int64_t ldy, ThreadPool& pool) {
  validate(w, n, ldx, ldy);
  if (int(isa) > int(best_isa())) fail(ErrorKind::Internal, "linear: ISA {} is not supported by this CPU", isa_name(isa));
  if (n == 0 || w.rows == 0) return;
  if (w.cols == 0) {
    for (int64_t t = 0; t < n; ++t)
      for (int64_t o = 0; o < w.rows; ++o) y[t * ldy + o] = bias ? bias[o] : 0.f;
    return;
  }

  const WeightKind kind = linear_detail::weight_kind(w);
  const bool round_to_bf16 = kind == WeightKind::Bf16 || kind == WeightKind::F8 || kind == WeightKind::F8Block;
  LinearProblem p{&w, x, ldx, n, bias, y, ldy};
  if (round_to_bf16) {
    // Rows padded to 32 elements (64 bytes of bf16, 128 of float) so every token row starts aligned.
    const int64_t ldp = (w.cols + 31) / 32 * 32;
    const bool packed_bf16 = isa == Isa::Avx512Bf16;
    void* buf = thread_scratch().get(size_t(n * ldp) * (packed_bf16 ? 2 : 4));
    auto pack = [&](int64_t t0, int64_t t1) {
      if (packed_bf16) {
        linear_detail::pack_activations_bf16_avx512bf16(x + t0 * ldx, t1 - t0, ldx, w.cols,
                                                        static_cast<uint16_t*>(buf) + t0 * ldp, ldp);
        return;
      }
      for (int64_t t = t0; t < t1; ++t) {
        float* out = static_cast<float*>(buf) + t * ldp;
        for (int64_t i = 0; i < w.cols; ++i) out[i] = bf16_to_f32(f32_to_bf16(x[t * ldx + i]));
        for (int64_t i = w.cols; i < ldp; ++i) out[i] = 0.f;
      }
    };
    if (n * w.cols >= kPackParallelElements) pool.parallel_for(n, pack);
    else pack(0, n);
    p.x = buf;
    p.ldx = ldp;
  }
  const RowsFn rows = rows_kernel(isa);
  pool.parallel_for(w.rows, [&](int64_t r0, int64_t r1) { rows(p, r0, r1); }, 16);
}

void linear(const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias, float* y, int64_t ldy,
            ThreadPool& pool) {
  linear_with_isa(active_isa(), x, n, ldx, w, bias, y, ldy, pool);
}

}  // namespace glm
