#include "model/kv_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "core/error.h"

namespace glm {

KvPagePool::KvPagePool(int64_t n_layers, int64_t kv_dim, int64_t page_size, int64_t n_pages, KvDType dtype)
    : n_layers_(n_layers), kv_dim_(kv_dim), page_size_(page_size), n_pages_(n_pages), dtype_(dtype) {
  if (n_layers <= 0 || kv_dim <= 0 || page_size <= 0 || n_pages <= 0 || n_pages > (int64_t(1) << 31) - 1)
    fail(ErrorKind::InvalidArgument, "KV pool: bad shape layers={} kv_dim={} page_size={} pages={}", n_layers, kv_dim,
         page_size, n_pages);
  void* mem = ::mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  ::madvise(mem, bytes(), MADV_HUGEPAGE);
#endif
  data_ = std::unique_ptr<uint8_t, Unmap>(static_cast<uint8_t*>(mem), Unmap{bytes()});
  free_.reserve(size_t(n_pages));
  for (int64_t p = n_pages - 1; p >= 0; --p) free_.push_back(int32_t(p));
}

void KvPagePool::Unmap::operator()(uint8_t* p) const { ::munmap(p, bytes); }

KvPagePool::~KvPagePool() {
  if (on_destroy_) on_destroy_(mirror_id_);
}

void KvPagePool::copy_page(int32_t dst, int32_t src) {
  if (dst < 0 || dst >= n_pages_ || src < 0 || src >= n_pages_)
    fail(ErrorKind::Internal, "KV pool: copy of bad page ids {} <- {}", dst, src);
  std::memcpy(page_data(dst), page_data(src), page_bytes());
  if (mirror_id_ >= 0) pending_copies_.emplace_back(dst, src);
}

void KvPagePool::copy_rows(int32_t dst, int32_t src, int64_t n_rows) {
  if (mirror_id_ >= 0 || n_rows >= page_size_) {  // mirrored pools replay whole-page copies
    copy_page(dst, src);
    return;
  }
  if (dst < 0 || dst >= n_pages_ || src < 0 || src >= n_pages_ || n_rows < 0)
    fail(ErrorKind::Internal, "KV pool: copy of bad page ids {} <- {} ({} rows)", dst, src, n_rows);
  const size_t bytes = size_t(n_rows * kv_dim_ * kv_dtype_bytes(dtype_));
  for (int64_t layer = 0; layer < n_layers_; ++layer)
    for (int64_t kv = 0; kv < 2; ++kv) std::memcpy(row(dst, layer, kv, 0), row(src, layer, kv, 0), bytes);
}

void KvPagePool::set_mirror(int64_t id, std::function<void(int64_t)> on_destroy) {
  mirror_id_ = id;
  on_destroy_ = std::move(on_destroy);
}

int32_t KvPagePool::allocate() {
  if (free_.empty()) fail(ErrorKind::Unavailable, "KV cache is full ({} pages of {} tokens)", n_pages_, page_size_);
  int32_t p = free_.back();
  free_.pop_back();
  return p;
}

void KvPagePool::store(int32_t page, int64_t layer, int64_t slot, const float* k, const float* v) {
  kv_store_row(dtype_, k, row(page, layer, 0, slot), kv_dim_);
  kv_store_row(dtype_, v, row(page, layer, 1, slot), kv_dim_);
}

void KvPagePool::release(int32_t page) {
  if (page < 0 || page >= n_pages_) fail(ErrorKind::Internal, "KV pool: release of bad page id {}", page);
  free_.push_back(page);
}

void KvSequence::reserve(KvPagePool& pool, int64_t n_positions) {
  const int64_t need = (n_positions + pool.page_size() - 1) / pool.page_size();
  while (int64_t(pages_.size()) < need) pages_.push_back(pool.allocate());
}

void KvSequence::truncate(int64_t n) { length_ = std::min(length_, std::max<int64_t>(n, 0)); }

void KvSequence::release(KvPagePool& pool) {
  for (int32_t p : pages_) pool.release(p);
  pages_.clear();
  length_ = 0;
}

KvPagesView KvSequence::view(const KvPagePool& pool, int64_t layer) const {
  KvPagesView v;
  v.base = pool.base();
  v.dtype = pool.dtype();
  v.page_ids = pages_.data();
  v.page_size = pool.page_size();
  v.page_stride = pool.page_stride();
  v.k_offset = (layer * 2 + 0) * pool.page_size() * pool.kv_dim();
  v.v_offset = (layer * 2 + 1) * pool.page_size() * pool.kv_dim();
  v.kv_dim = pool.kv_dim();
  return v;
}

void KvSequence::store(KvPagePool& pool, int64_t layer, int64_t p, const float* k, const float* v) const {
  pool.store(pages_[size_t(p / pool.page_size())], layer, p % pool.page_size(), k, v);
}

}  // namespace glm
