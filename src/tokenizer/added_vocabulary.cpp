#include "tokenizer/added_vocabulary.h"

#include "tokenizer/utf8.h"

namespace glm {
namespace {

bool ends_with_word(std::string_view text) {
  if (text.empty()) return false;
  size_t start;
  return utf8::is_alphanumeric(utf8::prev_code_point(text, text.size(), start));
}

bool starts_with_word(std::string_view text) {
  if (text.empty()) return false;
  size_t pos = 0;
  return utf8::is_alphanumeric(utf8::next_code_point(text, pos));
}

// Start of the whitespace run ending text (text.size() when there is none).
size_t whitespace_run_start_at_end(std::string_view text) {
  size_t index = text.size(), end = text.size();
  while (end > 0) {
    size_t start;
    if (!utf8::is_whitespace(utf8::prev_code_point(text, end, start))) break;
    index = end = start;
  }
  return index;
}

// Length of the whitespace run starting text.
size_t whitespace_run_length_at_start(std::string_view text) {
  size_t pos = 0, index = 0;
  while (pos < text.size()) {
    if (!utf8::is_whitespace(utf8::next_code_point(text, pos))) break;
    index = pos;
  }
  return index;
}

}  // namespace

void AddedTokenMatcher::add(std::string_view pattern, int32_t token_index) {
  int32_t node = 0;
  for (char c : pattern) {
    auto b = static_cast<unsigned char>(c);
    int32_t child = -1;
    for (auto [byte, index] : nodes_[node].children)
      if (byte == b) child = index;
    if (child < 0) {
      child = static_cast<int32_t>(nodes_.size());
      nodes_[node].children.push_back({b, child});
      nodes_.emplace_back();
    }
    node = child;
  }
  // Duplicate contents keep the first token, as tokenizers' map from content to id does.
  if (nodes_[node].token_index < 0) nodes_[node].token_index = token_index;
  first_byte_[static_cast<unsigned char>(pattern[0])] = true;
}

bool AddedTokenMatcher::longest_at(std::string_view text, size_t pos, size_t& end, int32_t& token_index) const {
  int32_t node = 0;
  bool found = false;
  for (size_t i = pos; i < text.size(); ++i) {
    auto b = static_cast<unsigned char>(text[i]);
    int32_t child = -1;
    for (auto [byte, index] : nodes_[node].children)
      if (byte == b) {
        child = index;
        break;
      }
    if (child < 0) break;
    node = child;
    if (nodes_[node].token_index >= 0) {
      found = true;
      end = i + 1;
      token_index = nodes_[node].token_index;
    }
  }
  return found;
}

void AddedVocabulary::split(std::string_view text, const AddedTokenMatcher& matcher,
                            std::vector<TextSegment>& out) const {
  out.clear();
  size_t start_offset = 0;
  if (!matcher.empty()) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t stop = 0;
      int32_t index = -1;
      if (!matcher.may_start_with(static_cast<unsigned char>(text[pos])) || !matcher.longest_at(text, pos, stop, index)) {
        ++pos;
        continue;
      }
      size_t start = pos;
      pos = stop;  // matches never overlap, whether or not this one is kept
      const AddedToken& token = tokens_[index];
      if (token.single_word) {
        bool space_before = start == 0 || !ends_with_word(text.substr(0, start));
        bool space_after = stop == text.size() || !starts_with_word(text.substr(stop));
        if (!space_before || !space_after) continue;
      }
      if (token.lstrip) start = std::max(whitespace_run_start_at_end(text.substr(0, start)), start_offset);
      if (token.rstrip) stop += whitespace_run_length_at_start(text.substr(stop));
      if (start_offset < start) out.push_back({start_offset, start, -1});
      out.push_back({start, stop, token.id});
      start_offset = stop;
    }
  }
  if (start_offset != text.size() || text.empty()) out.push_back({start_offset, text.size(), -1});
}

const AddedToken* AddedVocabulary::find_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::find_content(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

}  // namespace glm
