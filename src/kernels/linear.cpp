// linear(): validates operands, prepares the activations once (bf16 rounding, packing), then splits
// the output rows across the pool and runs the kernel of the chosen ISA on each slice.
#include "kernels/linear.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

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

namespace {

// Bytes of prepared activations a call needs (0: it reads x as it is).
size_t prepared_bytes(Isa isa, int64_t n, const WeightRef& w) {
  const WeightKind kind = linear_detail::weight_kind(w);
  if (kind != WeightKind::Bf16 && kind != WeightKind::F8 && kind != WeightKind::F8Block) return 0;
  const int64_t ldp = (w.cols + 31) / 32 * 32;
  return size_t(n * ldp) * (isa == Isa::Avx512Bf16 ? 2 : 4);
}

// The call's problem, with x rounded to bf16 into `buf` (prepared_bytes(...) of them) when the weights need it.
LinearProblem prepare(Isa isa, const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias, float* y,
                      int64_t ldy, void* buf, ThreadPool& pool) {
  LinearProblem p{&w, x, ldx, n, bias, y, ldy};
  if (prepared_bytes(isa, n, w) == 0) return p;
  // Rows padded to 32 elements (64 bytes of bf16, 128 of float) so every token row starts aligned.
  const int64_t ldp = (w.cols + 31) / 32 * 32;
  const bool packed_bf16 = isa == Isa::Avx512Bf16;
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
  return p;
}

// Calls that compute nothing (no tokens, no rows) or only the bias (no columns); true when handled.
bool trivial_call(const float* bias, float* y, int64_t n, int64_t ldy, const WeightRef& w) {
  if (n == 0 || w.rows == 0) return true;
  if (w.cols != 0) return false;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < w.rows; ++o) y[t * ldy + o] = bias ? bias[o] : 0.f;
  return true;
}

// Output rows of one call that thread i of nt computes: ThreadPool::parallel_for's split with grain 16.
std::pair<int64_t, int64_t> row_slice(int64_t rows, int i, int nt) {
  constexpr int64_t kGrain = 16;
  const int64_t blocks = (rows + kGrain - 1) / kGrain;
  const int64_t b0 = blocks * i / nt, b1 = blocks * (i + 1) / nt;
  return {b0 * kGrain, std::min(rows, b1 * kGrain)};
}

}  // namespace

void linear_with_isa(Isa isa, const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias,
                     float* y, int64_t ldy, ThreadPool& pool) {
  validate(w, n, ldx, ldy);
  if (int(isa) > int(best_isa())) fail(ErrorKind::Internal, "linear: ISA {} is not supported by this CPU", isa_name(isa));
  if (trivial_call(bias, y, n, ldy, w)) return;
  void* buf = thread_scratch().get(prepared_bytes(isa, n, w));
  const LinearProblem p = prepare(isa, x, n, ldx, w, bias, y, ldy, buf, pool);
  const RowsFn rows = rows_kernel(isa);
  pool.parallel_for(w.rows, [&](int64_t r0, int64_t r1) { rows(p, r0, r1); }, 16);
}

void linear_batch(std::span<const LinearCall> calls, ThreadPool& pool) {
  const Isa isa = active_isa();
  // Grows, never shrinks: no allocation per token once warm.
  thread_local std::vector<LinearProblem> problems;
  thread_local std::vector<size_t> offsets;
  problems.clear();
  offsets.clear();
  size_t total = 0;
  for (const LinearCall& c : calls) {
    validate(*c.w, c.n, c.ldx, c.ldy);
    offsets.push_back(total);
    total += (prepared_bytes(isa, c.n, *c.w) + 63) / 64 * 64;
  }
  unsigned char* scratch = static_cast<unsigned char*>(thread_scratch().get(total));
  const LinearCall* last = nullptr;  // the last call prepared, and its problem (problems.back())
  for (size_t i = 0; i < calls.size(); ++i) {
    const LinearCall& c = calls[i];
    if (trivial_call(c.bias, c.y, c.n, c.ldy, *c.w)) continue;
    LinearProblem p;
    // Calls on the same activations (an expert's gate and up) share one prepared copy.
    if (last && last->x == c.x && last->n == c.n && last->ldx == c.ldx && last->w->cols == c.w->cols &&
        prepared_bytes(isa, last->n, *last->w) == prepared_bytes(isa, c.n, *c.w)) {
      p = problems.back();
      p.w = c.w, p.bias = c.bias, p.y = c.y, p.ldy = c.ldy;
    } else {
      p = prepare(isa, c.x, c.n, c.ldx, *c.w, c.bias, c.y, c.ldy, scratch + offsets[i], pool);
    }
    problems.push_back(p);
    last = &c;
  }
  const RowsFn rows = rows_kernel(isa);
  // A reference the workers can use: naming the thread_local inside the lambda would give each worker its own.
  const std::vector<LinearProblem>& todo = problems;
  if (pool.size() == 1) {
    for (const LinearProblem& p : todo) rows(p, 0, p.w->rows);
    return;
  }
  pool.run([&](int i, int nt) {
    for (const LinearProblem& p : todo) {
      const auto [r0, r1] = row_slice(p.w->rows, i, nt);
      if (r0 < r1) rows(p, r0, r1);
    }
  });
}

void linear(const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias, float* y, int64_t ldy,
            ThreadPool& pool) {
  linear_with_isa(active_isa(), x, n, ldx, w, bias, y, ldy, pool);
}

}  // namespace glm
