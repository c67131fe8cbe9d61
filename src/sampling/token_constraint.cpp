#include "sampling/token_constraint.h"

#include <cmath>
#include <limits>

namespace glm::sampling {

void mask_disallowed(std::span<float> logits, std::span<const uint8_t> allowed) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  bool any_allowed = false, any_finite = false;
  const size_t n = std::min(logits.size(), allowed.size());
  for (size_t i = 0; i < n; ++i) {
    if (allowed[i]) {
      any_allowed = true;
      any_finite = any_finite || logits[i] > kNegInf;
    } else {
      logits[i] = kNegInf;
    }
  }
  for (size_t i = n; i < logits.size(); ++i) logits[i] = kNegInf;
  if (any_allowed && !any_finite)
    for (size_t i = 0; i < n; ++i)
      if (allowed[i]) logits[i] = 0.0f;
}

}  // namespace glm::sampling
