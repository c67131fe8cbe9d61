#pragma once
// RMSNorm as Glm4MoeRMSNorm computes it: y = weight * (x * rsqrt(mean(x^2) + eps)), all in float32
// (no "+1" on the weight, no bias). Used for the layer norms (dim H) and the per-head q/k norms (dim head_dim).
#include <cstdint>

namespace glm {

// x: (n_rows, dim) with row stride ld_x; y: (n_rows, dim) with row stride ld_y; weight: (dim). y may alias x.
void rms_norm(const float* x, int64_t ld_x, const float* weight, float* y, int64_t ld_y, int64_t n_rows, int64_t dim,
              float eps);

}  // namespace glm
