#include "engine/radix_cache.h"

#include <algorithm>
#include <cstring>

namespace glm {

void RadixCache::copy_page(int32_t dst, int32_t src) {
  if (dst == src) return;
  pool_.copy_page(dst, src);  // through the pool: tensor-parallel followers replay it on their shard
}

int64_t RadixCache::match_into(std::span<const int32_t> tokens, int64_t max_tokens, KvSequence& seq) {
  const int64_t ps = pool_.page_size();
  const int64_t max_pages = std::min<int64_t>(max_tokens, int64_t(tokens.size())) / ps;
  std::vector<Node*> path;
  Node* n = &root_;
  for (int64_t p = 0; p < max_pages; ++p) {
    key_.assign(tokens.begin() + p * ps, tokens.begin() + (p + 1) * ps);
    auto it = n->children.find(key_);
    if (it == n->children.end()) break;
    n = it->second.get();
    path.push_back(n);
  }
  if (path.empty()) return 0;
  const int64_t matched = int64_t(path.size()) * ps;
  seq.reserve(pool_, matched);
  const uint64_t now = ++clock_;
  for (size_t i = 0; i < path.size(); ++i) {
    copy_page(seq.pages()[i], path[i]->page);
    path[i]->last_used = now;
  }
  seq.set_length(matched);
  return matched;
}

void RadixCache::insert(std::span<const int32_t> tokens, int64_t valid, const KvSequence& seq, int64_t max_new_pages) {
  const int64_t ps = pool_.page_size();
  const int64_t full = std::min<int64_t>({valid, seq.length(), int64_t(tokens.size())}) / ps;
  const uint64_t now = ++clock_;
  Node* n = &root_;
  for (int64_t p = 0; p < full; ++p) {
    key_.assign(tokens.begin() + p * ps, tokens.begin() + (p + 1) * ps);
    auto it = n->children.find(key_);
    if (it == n->children.end()) {
      if (max_new_pages <= 0 || pool_.free_pages() == 0) return;
      auto node = std::make_unique<Node>();
      node->page = pool_.allocate();
      node->parent = n;
      copy_page(node->page, seq.pages()[size_t(p)]);
      ++n_pages_;
      --max_new_pages;
      it = n->children.emplace(key_, std::move(node)).first;
    }
    n = it->second.get();
    n->last_used = now;
  }
}

RadixCache::Node* RadixCache::lru_leaf(Node* n, Node* best) {
  for (auto& [key, child] : n->children) {
    if (child->children.empty()) {
      if (!best || child->last_used < best->last_used) best = child.get();
    } else {
      best = lru_leaf(child.get(), best);
    }
  }
  return best;
}

int64_t RadixCache::evict(int64_t n) {
  int64_t freed = 0;
  while (freed < n) {
    Node* leaf = lru_leaf(&root_, nullptr);
    if (!leaf) break;
    pool_.release(leaf->page);
    --n_pages_;
    ++freed;
    Node* parent = leaf->parent;
    for (auto it = parent->children.begin(); it != parent->children.end(); ++it)
      if (it->second.get() == leaf) {
        parent->children.erase(it);
        break;
      }
  }
  return freed;
}

void RadixCache::clear() { evict(n_pages_); }

}  // namespace glm
