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
  nodes_.reserve(sorted_.size() * 2);
  Node root;
  root.hi = static_cast<uint32_t>(sorted_.size());
  nodes_.push_back(root);
  build(0, 0);
  mark_plain();
}

namespace {

// plain[d]: bytes [d, end) are plain string bytes forming whole, well-formed UTF-8 characters (RFC 3629).
void plain_suffixes(const std::string& b, std::vector<uint8_t>& plain) {
  const size_t n = b.size();
  plain.assign(n + 1, 0);
  plain[n] = 1;
  for (size_t d = n; d-- > 0;) {
    const auto c = uint8_t(b[d]);
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c < 0x80) len = TokenTrie::is_plain_string_byte(c) ? 1 : 0;
    else if (c >= 0xC2 && c <= 0xF4) {
      len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    }
    if (len == 0 || d + len > n) continue;
    bool ok = true;
    for (size_t k = 1; k < len && ok; ++k) {
      const auto x = uint8_t(b[d + k]);
      ok = k == 1 ? (x >= lo && x <= hi) : (x >= 0x80 && x <= 0xBF);
    }
    plain[d] = ok && plain[d + len];
  }
}

}  // namespace

// A token is plain when all of it can be read inside a JSON string starting between two characters; a
// node's plain_below when that holds for the rest of every longer token below it (the constraints only
// use it where the string is between characters).
void TokenTrie::mark_plain() {
  plain_.assign(bytes_.size(), 0);
  for (Node& n : nodes_) n.plain_below = true;
  std::vector<uint8_t> suffix;
  for (int32_t id : sorted_) {
    const std::string& b = bytes_[size_t(id)];
    plain_suffixes(b, suffix);
    if (suffix[0]) plain_[size_t(id)] = 1;
    else non_plain_.push_back(id);
    uint32_t node = 0;
    for (size_t d = 0; d < b.size(); ++d) {  // node: depth d, and this token goes on below it
      if (!suffix[d]) nodes_[node].plain_below = false;
      const uint32_t first = nodes_[node].first_child, last = first + nodes_[node].n_children;
      uint32_t c = first;
      while (c < last && nodes_[c].byte != uint8_t(b[d])) ++c;
      node = c;
    }
  }
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
  for (uint32_t c = first; c < first + count; ++c) build(c, depth + 1);
}

}  // namespace glm::sampling
