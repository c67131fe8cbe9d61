#pragma once
// response_format json_object / json_schema as a decoding constraint: the output must stay a prefix
// of one JSON value (whitespace allowed around it), and EOS is allowed only once that value is
// complete (then only whitespace or EOS).
//
// What is enforced: JSON syntax (json_recognizer.h), and with a schema the subset that
// json_schema_recognizer.h lists (types, properties / required / additionalProperties, items, enum,
// const; json_object = {"type": "object"}: any object).
//
// Per step: the recognizer state walks the token trie; a subtree that stays inside a JSON string is
// allowed as a whole (token_trie.h), and when the state itself is inside a string the plain tokens
// are allowed as one block and only the others are tried. Added tokens (<think>, <|user|>, ...) are never allowed; EOS
// ids only when the value is complete. Optionally the constraint waits for a start token (the
// first </think> of the output when the request reasons first, as SGLang's reasoner grammar does).
// If the output ever leaves the grammar (a forced token, a token without bytes), the constraint
// stops masking instead of failing the request.
#include <memory>
#include <vector>

#include "sampling/json_recognizer.h"
#include "sampling/json_schema_recognizer.h"
#include "sampling/output_cursor.h"
#include "sampling/token_constraint.h"
#include "sampling/token_trie.h"

namespace glm::sampling {

struct JsonConstraintOptions {
  JsonRoot root = JsonRoot::Any;
  std::shared_ptr<const CompiledSchema> schema;  // null: JSON syntax and `root` only
  std::vector<int32_t> eos_ids;    // allowed once the value is complete
  int32_t start_after_token = -1;  // >= 0: unconstrained up to and including this output token
};

class JsonConstraint : public TokenConstraint {
 public:
  JsonConstraint(std::shared_ptr<const TokenTrie> trie, JsonConstraintOptions options);
  void apply(std::span<float> logits, std::span<const int32_t> output_ids) override;

  // State after the last apply (tests).
  const SchemaJsonRecognizer& state() const { return state_; }
  bool active() const { return cursor_.active(); }

 private:
  void advance(std::span<const int32_t> output_ids);
  void walk(const TokenTrie::Node& node, const SchemaJsonRecognizer& state);
  void allow_range(uint32_t lo, uint32_t hi);

  std::shared_ptr<const TokenTrie> trie_;
  JsonConstraintOptions options_;
  OutputCursor cursor_;
  SchemaJsonRecognizer state_;
  std::vector<uint8_t> allowed_;  // logits-sized scratch
};

}  // namespace glm::sampling
