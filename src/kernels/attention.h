#pragma once
// Causal GQA attention over the paged KV cache (flash-style: online softmax in key tiles, float32
// statistics and V sums; scores float32, or bf16 dot products on AVX-512 BF16, see below).
// One call covers a whole batch. Work item = (sequence, KV head, block of query tokens): it widens each
// K/V row of its KV head to float32 once (bf16 / fp8 / float32 pages, kernels/kv_format.h) and uses
// it for every query head of the GQA group and every query token of the block. Memory is O(tile): no
// T x T scores, any context length.
//
// Batch invariance (what makes a request's tokens independent of its batch, chunking and cache hits):
// keys are tiled at absolute positions (tiles [0,64), [64,128), ... from position 0) and every query row
// - one (token, head) - runs the same sequence of float operations on its own lane whatever else shares
// its block: its score for key j is one chain over head_dim; keys past its causal limit are masked to
// -inf, give exp() == 0 exactly and are skipped in the V sum; tiles entirely past its limit rescale by
// exp(0) == 1 exactly. So prefill, chunked prefill and decode of the same position give the same bits.
// The ISA is chosen once per process (kernels/isa.h, GLM_ISA); results are bitwise reproducible per ISA.
// Scores on AVX-512 BF16 with bf16 / fp8 pages (attention_scores_in_bf16): each query row is rounded to
// bf16 once (round to nearest even, as a bf16 model's q is) and its score for key j is one vdpbf16ps chain
// over head_dim pairs - still one chain per row, so the invariance above holds bit for bit.
// Threads take work items round-robin on the given pool; no allocation per call once warm (thread-local
// scratch grows to the largest head_dim seen).
#include <cstdint>
#include <span>

#include "core/thread_pool.h"
#include "kernels/isa.h"
#include "kernels/kv_format.h"

namespace glm {

// Where one sequence's K and V rows for one layer live. Token p's K row (kv_dim elements of dtype) is at
// element  page_ids[p / page_size] * page_stride + k_offset + (p % page_size) * kv_dim  of base, and its
// V row at the same place with v_offset.
struct KvPagesView {
  const void* base = nullptr;
  KvDType dtype = KvDType::F32;
  const int32_t* page_ids = nullptr;
  int64_t page_size = 0;
  int64_t page_stride = 0;  // elements between consecutive pages
  int64_t k_offset = 0, v_offset = 0;
  int64_t kv_dim = 0;       // n_kv_heads * head_dim

  const void* k_row(int64_t p) const { return at(page_ids[p / page_size] * page_stride + k_offset + (p % page_size) * kv_dim); }
  const void* v_row(int64_t p) const { return at(page_ids[p / page_size] * page_stride + v_offset + (p % page_size) * kv_dim); }
  const void* at(int64_t element) const { return static_cast<const uint8_t*>(base) + element * kv_dtype_bytes(dtype); }
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

// q: (rows, n_heads * head_dim) row stride ld_q; out: same layout with ld_out. Positions must stay below
// 2^24 (masks compare positions as float32).
void paged_attention(const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs, const AttentionShape& shape,
                     float* out, int64_t ld_out, ThreadPool& pool);

// The same with an explicit ISA (tests, benchmarks); isa must be one of supported_isas(). A head_dim that
// is not a multiple of the ISA's vector width runs the portable kernel.
void paged_attention_with_isa(Isa isa, const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs,
                              const AttentionShape& shape, float* out, int64_t ld_out, ThreadPool& pool);

// Whether paged_attention_with_isa(isa, ...) on pages of dtype t computes scores from the query rounded to
// bf16 (the reference is then to be fed the rounded query).
bool attention_scores_in_bf16(Isa isa, KvDType t, int64_t head_dim);

// Plain reference for tests: scores in double, full softmax, weighted sum, every key in index order; K/V
// widened with kv_load_row.
void paged_attention_reference(const float* q, int64_t ld_q, std::span<const AttentionSequence> seqs,
                               const AttentionShape& shape, float* out, int64_t ld_out);

}  // namespace glm
