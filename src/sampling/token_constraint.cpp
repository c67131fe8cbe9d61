#include "sampling/token_constraint.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace glm::sampling {

void mask_disallowed(std::span<float> logits, std::span<const uint8_t> allowed) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const size_t n = std::min(logits.size(), allowed.size());
  float* row = logits.data();
  const uint8_t* ok = allowed.data();
  float best = kNegInf;
  for (size_t i = 0; i < n; ++i) {  // branch-free so that it vectorizes (151k entries per step)
    const float v = ok[i] ? row[i] : kNegInf;
    row[i] = v;
    best = std::max(best, v);
  }
  for (size_t i = n; i < logits.size(); ++i) row[i] = kNegInf;
  if (best > kNegInf) return;
  for (size_t i = 0; i < n; ++i)
    if (ok[i]) row[i] = 0.0f;
}

}  // namespace glm::sampling
