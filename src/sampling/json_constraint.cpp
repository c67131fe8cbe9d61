#include "sampling/json_constraint.h"

#include <algorithm>
#include <cstring>

namespace glm::sampling {

JsonConstraint::JsonConstraint(std::shared_ptr<const TokenTrie> trie, JsonConstraintOptions options)
    : trie_(std::move(trie)),
      options_(std::move(options)),
      cursor_(options_.start_after_token, options_.eos_ids),
      state_(options_.schema.get(), options_.root) {}

void JsonConstraint::advance(std::span<const int32_t> output_ids) {
  cursor_.advance(
      output_ids, *trie_, [&](const std::string& bytes) { return state_.feed(bytes); },
      [&] { state_ = SchemaJsonRecognizer(options_.schema.get(), options_.root); });
}

void JsonConstraint::allow_range(uint32_t lo, uint32_t hi) {
  const auto sorted = trie_->sorted();
  for (uint32_t i = lo; i < hi; ++i) allowed_[size_t(sorted[i])] = 1;
}

void JsonConstraint::walk(const TokenTrie::Node& node, const SchemaJsonRecognizer& state) {
  for (const TokenTrie::Node& child : trie_->children(node)) {
    SchemaJsonRecognizer s = state;
    if (!s.feed(child.byte)) continue;
    allow_range(child.lo, child.lo + child.ends);
    if (s.in_plain_string() && child.plain_below) allow_range(child.lo + child.ends, child.hi);
    else if (child.n_children > 0) walk(child, s);
  }
}

void JsonConstraint::apply(std::span<float> logits, std::span<const int32_t> output_ids) {
  advance(output_ids);
  if (!active()) return;
  allowed_.resize(logits.size());
  std::memset(allowed_.data(), 0, allowed_.size());
  if (state_.in_plain_string()) {
    // Most steps of a JSON answer are inside a string: the plain tokens are allowed as a block and
    // only the others (with '"', '\\' or control bytes) are tried.
    const auto& plain = trie_->plain_tokens();
    std::memcpy(allowed_.data(), plain.data(), std::min(plain.size(), allowed_.size()));
    for (int32_t id : trie_->non_plain_ids()) {
      SchemaJsonRecognizer s = state_;
      if (size_t(id) < allowed_.size() && s.feed(trie_->bytes(id))) allowed_[size_t(id)] = 1;
    }
  } else {
    walk(trie_->root(), state_);
  }
  for (int32_t id : trie_->added_ids())
    if (id >= 0 && size_t(id) < allowed_.size()) allowed_[size_t(id)] = 0;
  // A state with no continuation should not exist; if one ever does, ending beats emitting garbage.
  const bool dead_end = std::find(allowed_.begin(), allowed_.end(), uint8_t{1}) == allowed_.end();
  if (state_.complete() || dead_end)
    for (int32_t id : options_.eos_ids)
      if (id >= 0 && size_t(id) < allowed_.size()) allowed_[size_t(id)] = 1;
  mask_disallowed(logits, allowed_);
}

}  // namespace glm::sampling
