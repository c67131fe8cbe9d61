#include "sampling/regex_constraint.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace glm::sampling {

RegexConstraint::RegexConstraint(std::shared_ptr<const TokenTrie> trie, std::shared_ptr<const RegexNfa> nfa,
                                 RegexConstraintOptions options)
    : trie_(std::move(trie)),
      dfa_(std::move(nfa)),
      options_(std::move(options)),
      cursor_(options_.start_after_token, options_.eos_ids, options_.added_tokens_as_text) {
  state_ = dfa_.start();
}

void RegexConstraint::advance(std::span<const int32_t> output_ids) {
  auto feed = [&](const std::string& bytes) {
    try {
      state_ = dfa_.feed(state_, bytes);
    } catch (const GlmError&) {  // the pattern needs more DFA states than allowed
      return false;
    }
    return state_ != RegexDfa::kDead;
  };
  cursor_.advance(output_ids, *trie_, feed, [&] { state_ = dfa_.start(); });
}

void RegexConstraint::walk(const TokenTrie::Node& node, int32_t state) {
  const auto sorted = trie_->sorted();
  for (const TokenTrie::Node& child : trie_->children(node)) {
    const int32_t s = dfa_.next(state, child.byte);
    if (s == RegexDfa::kDead) continue;
    for (uint32_t i = child.lo; i < child.lo + child.ends; ++i) allowed_[size_t(sorted[i])] = 1;
    if (child.n_children > 0) walk(child, s);
  }
}

void RegexConstraint::compute_mask(size_t vocab) {
  allowed_.assign(vocab, 0);
  walk(trie_->root(), state_);
  if (!options_.added_tokens_as_text)
    for (int32_t id : trie_->added_ids())
      if (id >= 0 && size_t(id) < allowed_.size()) allowed_[size_t(id)] = 0;
  // A full match may end; a state with no allowed token left (the vocabulary cannot spell what the
  // pattern needs next) ends too: ending beats emitting text that breaks the pattern.
  const bool dead_end = std::find(allowed_.begin(), allowed_.end(), uint8_t{1}) == allowed_.end();
  if (dfa_.accepting(state_) || dead_end)
    for (int32_t id : options_.eos_ids)
      if (id >= 0 && size_t(id) < allowed_.size()) allowed_[size_t(id)] = 1;
}

void RegexConstraint::apply(std::span<float> logits, std::span<const int32_t> output_ids) {
  advance(output_ids);
  if (!active()) return;
  auto cached = masks_.find(state_);
  if (cached != masks_.end() && cached->second.size() == logits.size()) {
    mask_disallowed(logits, cached->second);
    return;
  }
  try {
    compute_mask(logits.size());
  } catch (const GlmError&) {  // DFA too large: stop constraining rather than fail the request
    cursor_.stop();
    return;
  }
  if (masks_.size() < kCachedMasks) masks_[state_] = allowed_;
  mask_disallowed(logits, allowed_);
}

}  // namespace glm::sampling
