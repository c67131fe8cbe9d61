#pragma once
// The vocabulary as a byte trie, built once per tokenizer and shared (read-only) by every
// constrained request: constraints walk it with their recognizer state so that one step costs in
// proportion to the tokens that are still possible, not to the vocabulary size.
//
// Tokens are sorted by their bytes; a node's subtree is then one contiguous range of that order
// (`sorted()[node.lo, node.hi)`), so a constraint can allow a whole subtree without visiting it.
// Each node also knows whether every byte below it is "plain string" (>= 0x20, not '"' or '\\'):
// inside a JSON string such a subtree is allowed at once (most of a 151k vocabulary).
//
//   TokenTrie trie(bytes_per_id, added_ids);   // bytes_per_id[id] = decoded bytes; nullopt = no bytes
//   walk from trie.root(): for c in trie.children(n) ... c.byte, c.lo, c.lo + c.ends, c.hi
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace glm::sampling {

class TokenTrie {
 public:
  struct Node {
    uint32_t first_child = 0;  // children are nodes [first_child, first_child + n_children)
    uint32_t n_children = 0;
    uint32_t lo = 0, hi = 0;   // tokens of this subtree: sorted()[lo, hi)
    uint32_t ends = 0;         // sorted()[lo, lo + ends) end exactly at this node
    uint8_t byte = 0;          // the edge byte from the parent
    bool plain_below = false;  // every longer token below: its bytes after this node are plain string
                               // bytes forming whole, well-formed UTF-8 characters
  };

  // bytes[id]: the token's decoded bytes (nullopt or empty: the token cannot be produced as text, e.g.
  // padding ids). added: ids of added tokens (<think>, <|user|>, ...): in the trie (a constraint on
  // literal text may need them) and also listed so that JSON can exclude them.
  TokenTrie(const std::vector<std::optional<std::string>>& bytes, std::vector<int32_t> added);

  const Node& root() const { return nodes_[0]; }
  std::span<const Node> children(const Node& n) const { return {nodes_.data() + n.first_child, n.n_children}; }
  std::span<const int32_t> sorted() const { return sorted_; }
  const std::vector<int32_t>& added_ids() const { return added_; }
  size_t vocab_size() const { return bytes_.size(); }
  size_t node_count() const { return nodes_.size(); }
  // The token's bytes ("" for ids without text).
  const std::string& bytes(int32_t id) const;
  // Inside a JSON string (no escape pending, between two characters): plain_tokens()[id] = 1 for tokens
  // made only of plain string bytes forming whole, well-formed UTF-8 characters (they keep the string
  // open, whatever the state); every other token with bytes is in non_plain_ids() and must be tried byte
  // by byte (with GLM's tokenizer ~130 byte tokens). Lets a constraint skip the trie walk there.
  const std::vector<uint8_t>& plain_tokens() const { return plain_; }
  const std::vector<int32_t>& non_plain_ids() const { return non_plain_; }

  static bool is_plain_string_byte(uint8_t c) { return c >= 0x20 && c != '"' && c != '\\'; }

 private:
  void build(uint32_t node, size_t depth);
  void mark_plain();

  std::vector<std::string> bytes_;
  std::vector<int32_t> sorted_;
  std::vector<int32_t> added_;
  std::vector<Node> nodes_;
  std::vector<uint8_t> plain_;
  std::vector<int32_t> non_plain_;
};

}  // namespace glm::sampling
