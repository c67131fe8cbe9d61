#include "engine/output_constraints.h"

#include "core/error.h"
#include "sampling/json_constraint.h"
#include "sampling/prefix_constraint.h"
#include "sampling/ebnf_grammar.h"
#include "sampling/regex_constraint.h"

namespace glm {

OutputConstraints::OutputConstraints(Tokenizer tokenizer, int64_t vocab_size, std::vector<int32_t> eos_ids,
                                     int32_t think_end)
    : tokenizer_(std::move(tokenizer)), vocab_size_(vocab_size), eos_ids_(std::move(eos_ids)), think_end_(think_end) {}

std::shared_ptr<const sampling::TokenTrie> OutputConstraints::trie() {
  std::lock_guard lk(mu_);
  if (trie_) return trie_;
  std::vector<std::optional<std::string>> bytes(size_t(std::max<int64_t>(vocab_size_, 0)));
  std::vector<int32_t> added;
  for (size_t id = 0; id < bytes.size(); ++id) {
    const int32_t i = static_cast<int32_t>(id);
    if (const std::string* b = tokenizer_.token_bytes(i)) bytes[id] = *b;
    else if (i < tokenizer_.vocab_size()) bytes[id] = tokenizer_.decode(std::span<const int32_t>(&i, 1), false);
    if (tokenizer_.is_added_token(i)) added.push_back(i);
  }
  trie_ = std::make_shared<const sampling::TokenTrie>(bytes, std::move(added));
  return trie_;
}

sampling::JsonRoot json_schema_root(const nlohmann::json& schema) {
  using sampling::JsonRoot;
  auto it = schema.find("type");
  if (it == schema.end() || !it->is_string()) return JsonRoot::Any;
  const std::string t = it->get<std::string>();
  if (t == "object") return JsonRoot::Object;
  if (t == "array") return JsonRoot::Array;
  if (t == "string") return JsonRoot::String;
  if (t == "number") return JsonRoot::Number;
  if (t == "integer") return JsonRoot::Integer;
  if (t == "boolean") return JsonRoot::Boolean;
  if (t == "null") return JsonRoot::Null;
  return JsonRoot::Any;
}

std::unique_ptr<sampling::TokenConstraint> OutputConstraints::make(const SamplingParams& sp) {
  if (int(!sp.json_schema.empty()) + int(!sp.regex.empty()) + int(!sp.ebnf.empty()) > 1)
    fail(ErrorKind::InvalidArgument, "Only one of regex, json_schema, or ebnf can be set.");  // SGLang's words
  auto start_after = [&] {
    if (!sp.constrain_after_reasoning) return -1;
    if (think_end_ < 0) fail(ErrorKind::InvalidArgument, "constrain_after_reasoning: the tokenizer has no </think>");
    return think_end_;
  };
  if (!sp.regex.empty() || !sp.ebnf.empty()) {
    // An ebnf grammar is an NFA with rule calls, run by the same lazy DFA (sampling/ebnf_grammar.h).
    auto nfa = std::make_shared<const sampling::RegexNfa>(sp.ebnf.empty() ? sampling::RegexNfa::compile(sp.regex)
                                                                          : sampling::compile_ebnf(sp.ebnf));
    sampling::RegexConstraintOptions opts;
    opts.eos_ids = eos_ids_;
    opts.start_after_token = start_after();
    opts.added_tokens_as_text = sp.regex_added_tokens_as_text;
    return std::make_unique<sampling::RegexConstraint>(trie(), std::move(nfa), std::move(opts));
  }
  if (!sp.json_schema.empty()) {
    nlohmann::json schema = nlohmann::json::parse(sp.json_schema, nullptr, false);
    if (schema.is_discarded() || !schema.is_object())
      fail(ErrorKind::InvalidArgument, "json_schema must be a JSON object (got: {})", sp.json_schema.substr(0, 200));
    sampling::JsonConstraintOptions opts;
    opts.root = json_schema_root(schema);
    opts.schema = std::make_shared<const sampling::CompiledSchema>(sampling::CompiledSchema::compile(schema));
    opts.eos_ids = eos_ids_;
    opts.start_after_token = start_after();
    return std::make_unique<sampling::JsonConstraint>(trie(), std::move(opts));
  }
  if (!sp.output_prefix_choices.empty())
    return std::make_unique<sampling::PrefixChoiceConstraint>(trie(), sp.output_prefix_choices);
  return nullptr;
}

}  // namespace glm
