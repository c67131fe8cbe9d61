#pragma once
// Added tokens ("added_tokens" of tokenizer.json): matched in the raw text before normalization
// and pre-tokenization, as tokenizers' AddedVocabulary does:
//  - tokens with normalized=false are matched in the original text; the remaining pieces are
//    normalized and then matched against the normalized=true tokens;
//  - matching is leftmost-longest (Aho-Corasick LeftmostLongest), non-overlapping;
//  - single_word skips a match touching an alphanumeric character on either side; lstrip/rstrip
//    extend the match over adjacent whitespace (Rust char::is_whitespace).
// GLM's 36 added tokens are all plain (no lstrip/rstrip/single_word, normalized=false).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace glm {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// A piece of text: either an added token (`token_id` >= 0) or text for the model (`token_id` < 0).
struct TextSegment {
  size_t begin, end;
  int32_t token_id;
};

// Byte trie over the contents of a set of added tokens with leftmost-longest matching.
class AddedTokenMatcher {
 public:
  void add(std::string_view pattern, int32_t token_index);
  bool empty() const { return nodes_.size() <= 1; }
  // Longest pattern that starts exactly at `pos`: returns its end and token index, or false.
  bool longest_at(std::string_view text, size_t pos, size_t& end, int32_t& token_index) const;
  bool may_start_with(unsigned char b) const { return first_byte_[b]; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // byte -> node index
    int32_t token_index = -1;
  };
  std::vector<Node> nodes_{1};
  bool first_byte_[256] = {};
};

class AddedVocabulary {
 public:
  // `normalize` is applied to the content of normalized=true tokens before they enter the trie.
  template <typename NormalizeFn>
  void build(std::vector<AddedToken> tokens, NormalizeFn normalize) {
    tokens_ = std::move(tokens);
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const AddedToken& t = tokens_[i];
      by_content_[t.content] = static_cast<int32_t>(i);
      by_id_[t.id] = static_cast<int32_t>(i);
      if (t.content.empty()) continue;
      if (t.normalized)
        normalized_.add(normalize(t.content), static_cast<int32_t>(i));
      else
        raw_.add(t.content, static_cast<int32_t>(i));
    }
  }

  // Cuts `text` into segments with the raw (normalized=false) or the normalized tokens.
  void split_raw(std::string_view text, std::vector<TextSegment>& out) const { split(text, raw_, out); }
  void split_normalized(std::string_view text, std::vector<TextSegment>& out) const { split(text, normalized_, out); }
  bool has_normalized_tokens() const { return !normalized_.empty(); }

  const AddedToken* find_id(int32_t id) const;
  const AddedToken* find_content(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  void split(std::string_view text, const AddedTokenMatcher& matcher, std::vector<TextSegment>& out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, int32_t> by_content_;  // content -> index in tokens_
  std::unordered_map<int32_t, int32_t> by_id_;           // id -> index in tokens_
  AddedTokenMatcher raw_, normalized_;
};

}  // namespace glm
