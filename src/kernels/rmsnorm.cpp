#include "kernels/rmsnorm.h"

#include <cmath>

namespace glm {

void rms_norm(const float* x, int64_t ld_x, const float* weight, float* y, int64_t ld_y, int64_t n_rows, int64_t dim,
              float eps) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * ld_x;
    float* yr = y + r * ld_y;
    // Double accumulation keeps the mean of squares order-independent to well below float32 rounding.
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += double(xr[i]) * double(xr[i]);
    const float inv = 1.0f / std::sqrt(float(ss / double(dim)) + eps);
    for (int64_t i = 0; i < dim; ++i) yr[i] = weight[i] * (xr[i] * inv);
  }
}

}  // namespace glm
