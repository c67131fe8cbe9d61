#include "sampling/prefix_constraint.h"

#include <algorithm>
#include <cstring>

namespace glm::sampling {

namespace {

const TokenTrie::Node* child_with(const TokenTrie& trie, const TokenTrie::Node& node, uint8_t byte) {
  auto kids = trie.children(node);
  auto it = std::lower_bound(kids.begin(), kids.end(), byte,
                             [](const TokenTrie::Node& n, uint8_t b) { return n.byte < b; });
  return it != kids.end() && it->byte == byte ? &*it : nullptr;
}

}  // namespace

PrefixChoiceConstraint::PrefixChoiceConstraint(std::shared_ptr<const TokenTrie> trie, std::vector<std::string> choices)
    : trie_(std::move(trie)), choices_(std::move(choices)) {
  finished_ = choices_.empty();
}

void PrefixChoiceConstraint::apply(std::span<float> logits, std::span<const int32_t> output_ids) {
  if (output_ids.size() < consumed_) {
    text_.clear();
    consumed_ = 0;
    finished_ = choices_.empty();
  }
  if (finished_) return;
  for (; consumed_ < output_ids.size(); ++consumed_) text_ += trie_->bytes(output_ids[consumed_]);
  bool viable = false;
  for (const auto& c : choices_) {
    if (text_.size() >= c.size() && text_.compare(0, c.size(), c) == 0) {
      finished_ = true;  // a whole choice was written
      return;
    }
    viable = viable || c.compare(0, text_.size(), text_) == 0;
  }
  if (!viable) {
    finished_ = true;
    return;
  }
  allowed_.assign(logits.size(), 0);
  const auto sorted = trie_->sorted();
  auto allow = [&](uint32_t lo, uint32_t hi) {
    for (uint32_t i = lo; i < hi; ++i)
      if (size_t(sorted[i]) < allowed_.size()) allowed_[size_t(sorted[i])] = 1;
  };
  for (const auto& c : choices_) {
    if (c.size() <= text_.size() || c.compare(0, text_.size(), text_) != 0) continue;
    const TokenTrie::Node* node = &trie_->root();
    for (size_t k = text_.size(); k < c.size() && node; ++k) {
      node = child_with(*trie_, *node, static_cast<uint8_t>(c[k]));
      if (!node) break;
      if (k + 1 == c.size()) allow(node->lo, node->hi);  // the choice and anything after it
      else allow(node->lo, node->lo + node->ends);         // a token that stops inside the choice
    }
  }
  mask_disallowed(logits, allowed_);
}

}  // namespace glm::sampling
