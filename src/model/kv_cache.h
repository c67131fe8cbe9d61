#pragma once
// Paged KV cache. K and V are stored as float32 (exactly what attention consumed when they were produced,
// so prefill and decode see identical keys). A page holds page_size consecutive tokens for every layer:
//   page = (n_layers, 2 [K, V], page_size, kv_dim) floats
// Sequences own a list of page ids (their page table); the pool hands out and takes back fixed-size pages,
// so the radix prefix cache of the scheduler can later share pages between sequences.
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/attention.h"

namespace glm {

class KvPagePool {
 public:
  KvPagePool(int64_t n_layers, int64_t kv_dim, int64_t page_size, int64_t n_pages);

  int64_t n_layers() const { return n_layers_; }
  int64_t kv_dim() const { return kv_dim_; }
  int64_t page_size() const { return page_size_; }
  int64_t n_pages() const { return n_pages_; }
  int64_t free_pages() const { return int64_t(free_.size()); }
  int64_t page_stride() const { return n_layers_ * 2 * page_size_ * kv_dim_; }  // floats per page
  size_t bytes() const { return size_t(n_pages_ * page_stride()) * sizeof(float); }

  // Throws GlmError(Unavailable) when no page is free.
  int32_t allocate();
  void release(int32_t page);

  float* k_row(int32_t page, int64_t layer, int64_t slot) { return row(page, layer, 0, slot); }
  float* v_row(int32_t page, int64_t layer, int64_t slot) { return row(page, layer, 1, slot); }
  const float* base() const { return data_.get(); }

 private:
  float* row(int32_t page, int64_t layer, int64_t kv, int64_t slot) {
    return data_.get() + page * page_stride() + ((layer * 2 + kv) * page_size_ + slot) * kv_dim_;
  }

  int64_t n_layers_, kv_dim_, page_size_, n_pages_;
  std::unique_ptr<float[]> data_;  // (n_pages, page_stride)
  std::vector<int32_t> free_;      // stack of free page ids
};

// One sequence's cache: the page table and how many positions hold valid K/V.
class KvSequence {
 public:
  int64_t length() const { return length_; }
  const std::vector<int32_t>& pages() const { return pages_; }

  // Makes room for positions [0, n_positions); allocates pages from the pool as needed.
  void reserve(KvPagePool& pool, int64_t n_positions);
  // Forget positions >= n (rejected speculative tokens, or a restart); pages stay owned.
  void truncate(int64_t n);
  void set_length(int64_t n) { length_ = n; }
  // Returns every page to the pool.
  void release(KvPagePool& pool);

  // Where attention reads this sequence's rows of `layer`.
  KvPagesView view(const KvPagePool& pool, int64_t layer) const;
  // Where position p of `layer` is written.
  float* k_row(KvPagePool& pool, int64_t layer, int64_t p) const;
  float* v_row(KvPagePool& pool, int64_t layer, int64_t p) const;

 private:
  std::vector<int32_t> pages_;
  int64_t length_ = 0;
};

}  // namespace glm
