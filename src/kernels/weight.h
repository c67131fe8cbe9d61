#pragma once
// A weight matrix as it sits in the checkpoint mapping, used in place (never copied or expanded).
// Shape convention (as in PyTorch nn.Linear): rows = output features, cols = input features,
// row-major, element (o, i) at data[o * cols + i].
#include <cstdint>

#include "core/dtype.h"

namespace glm {

enum class ScaleLayout : uint8_t {
  None,    // BF16 / F16 / F32 weights
  PerRow,  // compressed-tensors FP8, strategy "channel": W(o,i) = q(o,i) * scale[o]
  Block,   // block FP8 (quant_method "fp8"): W(o,i) = q(o,i) * scale[(o/block_rows) * scale_cols + i/block_cols]
};

struct WeightRef {
  DType dtype = DType::BF16;  // BF16, F16, F32 or F8_E4M3
  const void* data = nullptr;  // (rows, cols), row-major
  int64_t rows = 0, cols = 0;
  ScaleLayout scale_layout = ScaleLayout::None;
  const float* scale = nullptr;  // PerRow: (rows); Block: (ceil(rows/block_rows), ceil(cols/block_cols))
  int block_rows = 0, block_cols = 0;

  int64_t scale_cols() const { return block_cols ? (cols + block_cols - 1) / block_cols : 0; }
  // A view of rows [r0, r0 + n): used to split experts' fused tensors and for tensor parallelism.
  WeightRef row_slice(int64_t r0, int64_t n) const;
};

}  // namespace glm
