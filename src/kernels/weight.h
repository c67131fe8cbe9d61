#pragma once
// A weight matrix as it sits in the checkpoint mapping, used in place (never copied or expanded).
// Shape convention (as in PyTorch nn.Linear): rows = output features, cols = input features,
// row-major, element (o, i) at data[o * row_stride() + i]. A view may cover only some columns of the
// tensor (tensor parallelism: row-parallel o_proj / down_proj take a slice of the INPUT columns), so
// rows are `ld` elements apart (0 means packed: ld == cols).
#include <cstdint>

#include "core/dtype.h"

namespace glm {

enum class ScaleLayout : uint8_t {
  None,    // BF16 / F16 / F32 weights
  PerRow,  // compressed-tensors FP8, strategy "channel": W(o,i) = q(o,i) * scale[o]
  Block,   // block FP8 (quant_method "fp8"): see scale_index()
};

struct WeightRef {
  DType dtype = DType::BF16;  // BF16, F16, F32 or F8_E4M3
  const void* data = nullptr;  // element (0, 0) of the view
  int64_t rows = 0, cols = 0;
  int64_t ld = 0;              // elements between consecutive rows; 0: cols
  ScaleLayout scale_layout = ScaleLayout::None;
  const float* scale = nullptr;  // PerRow: (rows); Block: the scale of the block holding element (0, 0)
  int block_rows = 0, block_cols = 0;
  // Block: where element (0, 0) of the view sits inside its block, and the scale grid's row stride
  // (0: scale_cols()). Slices of the tensor that do not start on a block boundary keep the original
  // block grid this way, so tensor-parallel shards need not be multiples of the FP8 block size.
  int block_row0 = 0, block_col0 = 0;
  int64_t scale_ld = 0;

  int64_t row_stride() const { return ld ? ld : cols; }
  // Scale columns spanned by the view's columns.
  int64_t scale_cols() const { return block_cols ? (block_col0 + cols + block_cols - 1) / block_cols : 0; }
  int64_t scale_stride() const { return scale_ld ? scale_ld : scale_cols(); }
  // Block: the scale of element (o, i) of the view.
  float block_scale(int64_t o, int64_t i) const {
    return scale[((o + block_row0) / block_rows) * scale_stride() + (i + block_col0) / block_cols];
  }
  // A view of rows [r0, r0 + n): used to split experts' fused tensors and for tensor parallelism.
  WeightRef row_slice(int64_t r0, int64_t n) const;
  // A view of columns [c0, c0 + n) (row-parallel layers under tensor parallelism).
  WeightRef col_slice(int64_t c0, int64_t n) const;
};

}  // namespace glm
