#pragma once
// Causal GQA attention reading K/V through a page table (fp32 online softmax, tiled over keys).
// One call covers a whole batch; each work item is one (sequence, query token, KV head) and reads only
// its own sequence's pages, so a sequence's result never depends on what else is in the batch.
#include <cstdint>
#include <span>

#include "core/thread_pool.h"

namespace glm {

// Where one sequence's K and V rows for one layer live. Token p's K row (kv_dim floats) is at
//   base + page_ids[p / page_size] * page_stride + k_offset + (p % page_size) * kv_dim
// and its V row at the same place with v_offset.
struct KvPagesView {
  const float* base = nullptr;
  const int32_t* page_ids = nullptr;
  int64_t page_size = 0;
  int64_t page_stride = 0;  // floats between consecutive pages
  int64_t k_offset = 0, v_offset = 0;
  int64_t kv_dim = 0;       // n_kv_heads * head_dim

  const float* k_row(int64_t p) const { return base + page_ids[p / page_size] * page_stride + k_offset + (p % page_size) * kv_dim; }
  const float* v_row(int64_t p) const { return base + page_ids[p / page_size] * page_stride + v_offset + (p % page_size) * kv_dim; }
};

struct AttentionSequence {
  KvPagesView kv;         // must already hold K/V for positions [0, start_pos + n_tokens)
  int64_t q_row = 0;      // first row of this sequence's queries in q / out
  int64_t n_tokens = 0;   // query tokens (prefill chunk or 1 decode token)
  int64_t start_pos = 0;  // position of the first query token; it attends to keys [0, start_pos + i]
};

struct AttentionShape {
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  float scale = 1.0f;     // softmax scale, head_dim^-0.5
};

// q: (rows, n_heads * head_dim) row stride ld_q; out: same layout with ld_out.
void paged_attention(const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs, const AttentionShape& shape,
                     float* out, int64_t ld_out, ThreadPool& pool);

// Plain reference for tests: scores, full softmax, weighted sum, with every key in index order.
void paged_attention_reference(const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs,
                               const AttentionShape& shape, float* out, int64_t ld_out);

}  // namespace glm
