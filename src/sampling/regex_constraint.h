#pragma once
// The `regex` sampling parameter as a decoding constraint (SGLang semantics): the whole output must
// match the pattern; a token is allowed when its bytes keep the output a prefix of some match, EOS
// only once the output is a full match (and then alone when nothing can follow). Added tokens
// (<think>, <|user|>, ...) are never allowed. Optionally unconstrained up to a start token (the first
// </think> of a reasoning answer, like JsonConstraint).
//
// Per step: the lazy DFA state (regex_dfa.h) walks the token trie (token_trie.h), so a step costs
// the trie nodes that are still possible; the mask of a DFA state is remembered (up to kCachedMasks
// states), so patterns that revisit states - most, e.g. [0-9]+ or (yes|no), ... - pay the walk once.
// If the output ever leaves the pattern (a forced token), or the pattern needs more DFA states than
// RegexDfa::kMaxStates, the constraint stops masking instead of failing the request.
#include <memory>
#include <unordered_map>
#include <vector>

#include "sampling/output_cursor.h"
#include "sampling/regex_dfa.h"
#include "sampling/token_constraint.h"
#include "sampling/token_trie.h"

namespace glm::sampling {

struct RegexConstraintOptions {
  std::vector<int32_t> eos_ids;    // allowed once the output matches
  int32_t start_after_token = -1;  // >= 0: unconstrained up to and including this output token
  // Added tokens (special tokens such as <arg_key>) count as their text: allowed where the pattern reads
  // that text. Off: never allowed, and one in the output ends the constraint (output_cursor.h).
  bool added_tokens_as_text = false;
};

class RegexConstraint : public TokenConstraint {
 public:
  static constexpr size_t kCachedMasks = 16;

  RegexConstraint(std::shared_ptr<const TokenTrie> trie, std::shared_ptr<const RegexNfa> nfa,
                  RegexConstraintOptions options);
  void apply(std::span<float> logits, std::span<const int32_t> output_ids) override;

  bool active() const { return cursor_.active(); }
  bool matched() const { return dfa_.accepting(state_); }  // tests

 private:
  void advance(std::span<const int32_t> output_ids);
  void walk(const TokenTrie::Node& node, int32_t state);
  void compute_mask(size_t vocab);

  std::shared_ptr<const TokenTrie> trie_;
  RegexDfa dfa_;
  RegexConstraintOptions options_;
  OutputCursor cursor_;
  int32_t state_;
  std::vector<uint8_t> allowed_;  // logits-sized scratch
  std::unordered_map<int32_t, std::vector<uint8_t>> masks_;
};

}  // namespace glm::sampling
