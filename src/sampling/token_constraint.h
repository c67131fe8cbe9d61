#pragma once
// Constrained decoding: a per-request object that masks, before each sampling step, every token
// that may not come next (response_format JSON, the function name after a forced <tool_call>).
// Unlike LogitProcessor (stateless, recomputed from the history) a constraint keeps its parser
// state and advances it by the tokens generated since its previous call, so a step costs what the
// new tokens cost, not the whole output.
//
// Sampler::set_constraint installs one; Sampler::sample applies it after penalties and the custom
// logit processor. Constraints live in json_constraint.h and prefix_constraint.h; both walk the
// shared TokenTrie (token_trie.h).
#include <cstdint>
#include <span>
#include <vector>

namespace glm::sampling {

class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets the logits of disallowed tokens to -inf. output_ids: the request's generated tokens so far;
  // the list only grows between calls (a shorter one restarts the constraint from scratch).
  virtual void apply(std::span<float> logits, std::span<const int32_t> output_ids) = 0;
};

// logits[i] = -inf wherever allowed[i] == 0. If that would leave no finite logit although some
// token is allowed (another processor, or min_new_tokens blocking EOS, masked exactly the allowed
// ones), the allowed tokens get logit 0 instead: the constraint wins, and the sampler never sees an
// all -inf row.
void mask_disallowed(std::span<float> logits, std::span<const uint8_t> allowed);

}  // namespace glm::sampling
