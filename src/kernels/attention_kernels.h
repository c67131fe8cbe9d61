#pragma once
// Internal interface between paged_attention() (validation, work items, threading, scratch) and the
// per-ISA block kernels (attention_portable.cpp, attention_avx2.cpp, attention_avx512.cpp,
// attention_avx512bf16.cpp), which all
// instantiate the one algorithm of attention_tile.h.
#include <cstdint>

#include "kernels/attention.h"

namespace glm::attention_detail {

constexpr int64_t kKeyTile = 64;       // keys per tile; tiles start at multiples of it from position 0
constexpr int64_t kRowsPerBlock = 64;  // query rows (tokens x group heads) a work item aims for

// One work item: query tokens [tok0, tok1) of *seq against KV head kv_head, for all heads of its group.
struct AttnWork {
  const float* q = nullptr;
  int64_t ld_q = 0;
  float* out = nullptr;
  int64_t ld_out = 0;
  const AttentionSequence* seq = nullptr;
  const AttentionShape* shape = nullptr;
  int64_t kv_head = 0, tok0 = 0, tok1 = 0;
};

// Per-thread float buffers, sized by the driver for (head_dim, max rows, vector width <= 16):
//   qt (row groups x head_dim x width), kf / vf (kKeyTile x head_dim), s (row groups x kKeyTile x width),
//   m / l / corr / limit (padded rows), acc (rows x head_dim).
struct AttnScratch {
  float *qt, *kf, *vf, *s, *m, *l, *corr, *limit, *acc;
};

void attend_block_portable(const AttnWork& w, const AttnScratch& sc);
void attend_block_avx2(const AttnWork& w, const AttnScratch& sc);
void attend_block_avx512(const AttnWork& w, const AttnScratch& sc);
void attend_block_avx512bf16(const AttnWork& w, const AttnScratch& sc);  // bf16 / fp8 pages only

}  // namespace glm::attention_detail
