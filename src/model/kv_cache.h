#pragma once
// Paged KV cache. K and V are stored in the pool's KvDType (--kv-cache-dtype: bf16 by default, fp8_e4m3, fp8_e5m2
// or float32; kernels/kv_format.h), rounded once when written. Attention reads them back from the cache
// only (never the fresh float32 activations), so prefill and decode of a position see identical keys.
// A page holds page_size consecutive tokens for every layer:
//   page = (n_layers, 2 [K, V], page_size, kv_dim) elements of dtype
// Sequences own a list of page ids (their page table); the pool hands out and takes back fixed-size pages,
// so the radix prefix cache of the scheduler can later share pages between sequences.
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "kernels/attention.h"
#include "kernels/kv_format.h"

namespace glm {

class KvPagePool {
 public:
  KvPagePool(int64_t n_layers, int64_t kv_dim, int64_t page_size, int64_t n_pages, KvDType dtype = KvDType::BF16);
  ~KvPagePool();
  KvPagePool(const KvPagePool&) = delete;
  KvPagePool& operator=(const KvPagePool&) = delete;

  int64_t n_layers() const { return n_layers_; }
  int64_t kv_dim() const { return kv_dim_; }
  int64_t page_size() const { return page_size_; }
  int64_t n_pages() const { return n_pages_; }
  int64_t free_pages() const { return int64_t(free_.size()); }
  KvDType dtype() const { return dtype_; }
  int64_t page_stride() const { return n_layers_ * 2 * page_size_ * kv_dim_; }  // elements per page
  size_t page_bytes() const { return size_t(page_stride() * kv_dtype_bytes(dtype_)); }
  size_t bytes() const { return size_t(n_pages_) * page_bytes(); }
  // K + V of one token over all layers: 2 * n_layers * kv_dim * bytes per element.
  static int64_t bytes_per_token(int64_t n_layers, int64_t kv_dim, KvDType dtype) {
    return 2 * n_layers * kv_dim * kv_dtype_bytes(dtype);
  }

  // Throws GlmError(Unavailable) when no page is free.
  int32_t allocate();
  void release(int32_t page);

  // Raw bytes of one page (the prefix cache copies whole pages).
  uint8_t* page_data(int32_t page) { return data_.get() + size_t(page) * page_bytes(); }
  // Rounds k and v (kv_dim floats each) into the slot of `layer` in `page`.
  void store(int32_t page, int64_t layer, int64_t slot, const float* k, const float* v);
  const void* base() const { return data_.get(); }
  // Copies every layer's K/V of page src into page dst (prefix cache hits and inserts).
  void copy_page(int32_t dst, int32_t src);
  // The first n_rows slots of every layer's K/V (tree drafting forks a partly filled page,
  // engine/spec_tree.h); a mirrored pool copies the whole page.
  void copy_rows(int32_t dst, int32_t src, int64_t n_rows);

  // Tensor parallelism: rank 0's pools are mirrored by the other ranks (model/tp_link.h). A mirrored
  // pool queues its page copies until the next forward message carries them; on_destroy tells the
  // other ranks to drop their copy of the pool.
  void set_mirror(int64_t id, std::function<void(int64_t)> on_destroy);
  int64_t mirror_id() const { return mirror_id_; }
  std::vector<std::pair<int32_t, int32_t>> take_pending_copies() { return std::exchange(pending_copies_, {}); }

 private:
  uint8_t* row(int32_t page, int64_t layer, int64_t kv, int64_t slot) {
    return page_data(page) + size_t(((layer * 2 + kv) * page_size_ + slot) * kv_dim_ * kv_dtype_bytes(dtype_));
  }

  struct Unmap {
    size_t bytes;
    void operator()(uint8_t* p) const;
  };
  int64_t n_layers_, kv_dim_, page_size_, n_pages_;
  KvDType dtype_;
  // (n_pages, page_stride) elements of dtype_: anonymous memory advised MADV_HUGEPAGE (attention streams
  // it; one core reads ~32 GB/s with huge pages, ~25 GB/s with 4 KiB pages), touched only as pages are written.
  std::unique_ptr<uint8_t, Unmap> data_;
  std::vector<int32_t> free_;      // stack of free page ids
  int64_t mirror_id_ = -1;
  std::function<void(int64_t)> on_destroy_;
  std::vector<std::pair<int32_t, int32_t>> pending_copies_;  // (dst, src), mirrored pools only
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
  // Takes a page table chosen elsewhere (tensor-parallel followers use rank 0's page ids).
  void assign(std::vector<int32_t> pages, int64_t length) {
    pages_ = std::move(pages);
    length_ = length;
  }
  // Returns every page to the pool.
  void release(KvPagePool& pool);

  // Where attention reads this sequence's rows of `layer`.
  KvPagesView view(const KvPagePool& pool, int64_t layer) const;
  // Writes K and V (kv_dim floats each, rounded to the pool's dtype) of position p of `layer`; the
  // position must be reserved.
  void store(KvPagePool& pool, int64_t layer, int64_t p, const float* k, const float* v) const;

 private:
  std::vector<int32_t> pages_;
  int64_t length_ = 0;
};

}  // namespace glm
