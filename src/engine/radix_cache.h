#pragma once
// Page-granular prefix cache over token ids (a radix tree whose edges are whole KV pages).
// Each node holds one cache-owned page of the KvPagePool with the K/V of page_size tokens that follow
// its parent's prefix. Cached pages are never part of a running sequence: a hit COPIES the matched
// pages into the new request's own pages (memcpy of page_stride floats per page, far cheaper than
// recomputing page_size tokens), and a finished request's full pages are copied in. So no reference
// counts are needed, every node is evictable at any time, and the model's KvSequence stays unchanged.
// Eviction: least recently used leaf first.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "model/kv_cache.h"

namespace glm {

class RadixCache {
 public:
  explicit RadixCache(KvPagePool& pool) : pool_(pool) {}
  ~RadixCache() { clear(); }

  int64_t pages() const { return n_pages_; }
  // Copies the longest cached prefix of tokens[0, max_tokens) (whole pages) into seq, which must be
  // empty; returns the number of tokens it covers (seq.length() is set to it). seq's pages come from
  // the pool: the caller must have accounted for them.
  int64_t match_into(std::span<const int32_t> tokens, int64_t max_tokens, KvSequence& seq);
  // Inserts the full pages of seq that hold tokens[0, valid) (valid <= seq.length()), at most
  // max_new_pages new cache pages (the caller's budget; eviction happens before via evict()).
  void insert(std::span<const int32_t> tokens, int64_t valid, const KvSequence& seq, int64_t max_new_pages);
  // Evicts up to n least recently used leaves; returns how many pages were freed.
  int64_t evict(int64_t n);
  void clear();

 private:
  struct Node {
    int32_t page = -1;
    uint64_t last_used = 0;
    Node* parent = nullptr;
    std::map<std::vector<int32_t>, std::unique_ptr<Node>> children;  // key: the page's token ids
  };
  void copy_page(int32_t dst, int32_t src);
  Node* lru_leaf(Node* n, Node* best);

  KvPagePool& pool_;
  Node root_;
  int64_t n_pages_ = 0;
  uint64_t clock_ = 0;
  std::vector<int32_t> key_;  // scratch
};

}  // namespace glm
