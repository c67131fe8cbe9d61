#pragma once
// The output must begin with one of a few given texts; after that it is free. Used for
// tool_choice "required" with several tools: "<tool_call>" is already in the prompt, and the
// choices are each allowed function name followed by the separator the tool-call parser expects
// ("name\n" for glm45; "name<arg_key>" or "name</tool_call>" for glm47), so the model must name an
// allowed function.
//
// Per step (only until a choice is complete): for every choice the output is still a prefix of,
// the trie is walked along the rest of that choice; tokens ending on the way are allowed, and so is
// every token that runs past the end of the choice (the text after it is free). Added tokens take
// part with their text, so "<arg_key>" may come as the single added token. If the output leaves
// every choice (a forced token), the constraint stops masking.
#include <memory>
#include <string>
#include <vector>

#include "sampling/token_constraint.h"
#include "sampling/token_trie.h"

namespace glm::sampling {

class PrefixChoiceConstraint : public TokenConstraint {
 public:
  PrefixChoiceConstraint(std::shared_ptr<const TokenTrie> trie, std::vector<std::string> choices);
  void apply(std::span<float> logits, std::span<const int32_t> output_ids) override;

 private:
  std::shared_ptr<const TokenTrie> trie_;
  std::vector<std::string> choices_;
  std::string text_;        // bytes of the output consumed so far
  size_t consumed_ = 0;
  bool finished_ = false;   // a choice is complete (or none can be any more): no more masking
  std::vector<uint8_t> allowed_;
};

}  // namespace glm::sampling
