// Dispatch for linear(): picks the fastest implementation the CPU supports.
// For now only the portable path exists: rows split across the pool, scalar reference per slice.
#include "kernels/linear.h"

namespace glm {

void linear(const float* x, int64_t n, int64_t ldx, const WeightRef& w, const float* bias, float* y, int64_t ldy,
            ThreadPool& pool) {
  int64_t grain = w.scale_layout == ScaleLayout::Block ? w.block_rows : 16;
  pool.parallel_for(w.rows, [&](int64_t r0, int64_t r1) {
    linear_reference(x, n, ldx, w.row_slice(r0, r1 - r0), bias ? bias + r0 : nullptr, y + r0, ldy);
  }, grain);
}

}  // namespace glm
