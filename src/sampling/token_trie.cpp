#include "sampling/token_trie.h"

#include <algorithm>

namespace glm::sampling {

TokenTrie::TokenTrie(const std::vector<std::optional<std::string>>& bytes, std::vector<int32_t> added)
    : added_(std::move(added)) {
  bytes_.resize(bytes.size());
  for (size_t id = 0; id < bytes.size(); ++id) {
    if (!bytes[id] || bytes[id]->empty()) continue;
    bytes_[id] = *bytes[id];
    sorted_.push_back(static_cast<int32_t>(id));
  }
  // Ties (two ids with the same bytes) keep id order, so the layout is deterministic.
  std::stable_sort(sorted_.begin(), sorted_.end(),
                   [&](int32_t a, int32_t b) { return bytes_[size_t(a)] < bytes_[size_t(b)]; });
  plain_.assign(bytes_.size(), 0);
  for (int32_t id : sorted_) {
    const std::string& b = bytes_[size_t(id)];
    const bool plain = std::all_of(b.begin(), b.end(), [](char c) { return is_plain_string_byte(uint8_t(c)); });
    if (plain) plain_[size_t(id)] = 1;
    else non_plain_.push_back(id);
  }
  nodes_.reserve(sorted_.size() * 2);
  Node root;
  root.hi = static_cast<uint32_t>(sorted_.size());
  nodes_.push_back(root);
  build(0, 0);
}

const std::string& TokenTrie::bytes(int32_t id) const {
  static const std::string kEmpty;
  return id >= 0 && static_cast<size_t>(id) < bytes_.size() ? bytes_[size_t(id)] : kEmpty;
}

// Every token in sorted_[lo, hi) of `node` has the node's `depth`-byte prefix. Sorted order puts the
// tokens that end here first, then runs of equal byte at `depth`: one child per run.
void TokenTrie::build(uint32_t node, size_t depth) {
  uint32_t lo = nodes_[node].lo, hi = nodes_[node].hi;
  uint32_t i = lo;
  while (i < hi && bytes_[size_t(sorted_[i])].size() == depth) ++i;
  nodes_[node].ends = i - lo;
  const uint32_t first = static_cast<uint32_t>(nodes_.size());
  while (i < hi) {
    const uint8_t b = static_cast<uint8_t>(bytes_[size_t(sorted_[i])][depth]);
    uint32_t j = i;
    while (j < hi && static_cast<uint8_t>(bytes_[size_t(sorted_[j])][depth]) == b) ++j;
    Node child;
    child.lo = i;
    child.hi = j;
    child.byte = b;
    nodes_.push_back(child);
    i = j;
  }
  const uint32_t count = static_cast<uint32_t>(nodes_.size()) - first;
  nodes_[node].first_child = first;
  nodes_[node].n_children = count;
  bool plain = true;
  for (uint32_t c = first; c < first + count; ++c) {
    build(c, depth + 1);
    plain = plain && is_plain_string_byte(nodes_[c].byte) && nodes_[c].plain_below;
  }
  nodes_[node].plain_below = plain;
}

}  // namespace glm::sampling
