#pragma once
// Builds a request's decoding constraint (sampling/token_constraint.h) from its SamplingParams:
//   json_schema non-empty        -> JsonConstraint (JSON syntax + the schema subset of
//                                   sampling/json_schema_recognizer.h; response_format json_object
//                                   arrives as {"type": "object"})
//   regex non-empty              -> RegexConstraint (the whole output matches; sampling/regex_nfa.h
//                                   lists the syntax); with json_schema too -> 400, as SGLang
//   output_prefix_choices given  -> PrefixChoiceConstraint (tool_choice "required", several tools)
// The token trie is built from the tokenizer on the first constrained request and shared by all
// later ones (build cost: ~0.1 s for a 151k vocabulary; nothing for servers that never constrain).
// Thread-safe: submit() calls make() from HTTP threads.
#include <memory>
#include <mutex>
#include <vector>

#include "engine/request.h"
#include "sampling/json_recognizer.h"
#include "sampling/token_constraint.h"
#include "sampling/token_trie.h"
#include "tokenizer/tokenizer.h"

namespace glm {

class OutputConstraints {
 public:
  // vocab_size: the model's logits row (may exceed the tokenizer's ids); eos_ids: the model's stop
  // ids (allowed once a JSON value is complete); think_end: "</think>" id or -1.
  OutputConstraints(Tokenizer tokenizer, int64_t vocab_size, std::vector<int32_t> eos_ids, int32_t think_end);

  // nullptr when the request has no constraint. Throws GlmError(InvalidArgument) for a json_schema
  // that is not a JSON object, a regex that does not compile (or uses an unsupported feature),
  // regex together with json_schema, or for constrain_after_reasoning without a "</think>" token.
  std::unique_ptr<sampling::TokenConstraint> make(const SamplingParams& sp);

  std::shared_ptr<const sampling::TokenTrie> trie();

 private:
  Tokenizer tokenizer_;
  int64_t vocab_size_;
  std::vector<int32_t> eos_ids_;
  int32_t think_end_;
  std::mutex mu_;
  std::shared_ptr<const sampling::TokenTrie> trie_;
};

// The top-level type a JSON schema asks for ("type": a string; anything else -> Any).
sampling::JsonRoot json_schema_root(const nlohmann::json& schema);

}  // namespace glm
