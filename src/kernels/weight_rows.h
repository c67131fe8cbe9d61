#pragma once
// A weight made of chosen rows of another (FR-Spec's draft lm_head over a token map). The rows are
// copied into `storage` (and `scales`), which must outlive the returned view:
//  - BF16 rows, and per-row-scaled FP8 rows with their scales, are copied as they are: linear() then
//    computes each output exactly (bitwise) as it does for that row of the whole weight (its sum order
//    depends only on the column count);
//  - other formats (block-scaled FP8, whose 128-row scale blocks a row subset breaks up; F16; F32) are
//    decoded and rounded to BF16: outputs then agree to bf16 weight rounding.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/weight.h"

namespace glm {

// rows: indices into w's rows (any order, repeats allowed; each < w.rows).
WeightRef gather_weight_rows(const WeightRef& w, std::span<const int32_t> rows, std::vector<uint8_t>& storage,
                             std::vector<float>& scales);

}  // namespace glm
