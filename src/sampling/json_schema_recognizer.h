#pragma once
// A subset of JSON Schema enforced byte by byte on top of the JSON syntax recognizer, for
// response_format json_schema (what xgrammar does for SGLang, in a smaller subset):
//   "type": object / array / string / number / integer / boolean / null (a single type);
//   "properties" + "required": keys limited to the declared properties (unless
//     "additionalProperties" is true or a schema: xgrammar's strict mode), each at most once, typed
//     by its schema; '}' only once every required key is present;
//   "items": the schema of every array element; "minItems" / "maxItems";
//   "minimum" / "maximum" / "exclusiveMinimum" / "exclusiveMaximum" of integers (a digit is allowed when some
//     integer starting with the digits so far is in range);
//   "minLength" / "maxLength" of strings (in characters: a UTF-8 sequence or an escape counts one);
//   "pattern" of strings (regex_nfa.h syntax, searched as JSON Schema says: anchored only by ^ / $), run on
//     the decoded text (one-letter escapes resolved; \u escapes are refused there: their first digits cannot
//     tell whether the character may follow, and the character can be written as itself); a pattern the
//     regex engine does not support is not enforced;
//   "enum" / "const": the value must be one of the listed values written as compact JSON
//     (nlohmann's dump: no spaces, canonical escapes);
//   "$ref" to the schema itself or under it ("#", "#/$defs/Name", "#/definitions/Name": what Pydantic
//     writes), recursive references included (a tree of nodes);
//   "anyOf" / "oneOf" / a list of types ("type": ["string", "null"]): the alternative is chosen by the
//     value's first byte ('"' string, '{' object, 't'/'f' boolean, ...). Alternatives a first byte cannot
//     tell apart (two objects, integer or number) leave that value free. Optional[X] is anyOf [X, null].
//   "allOf" with a single member (Pydantic's wrapper of a described $ref): that member.
// Anything else (allOf of several, remote $refs, string formats/patterns, numeric bounds, min/max items, objects
// with more than 64 properties, enums of more than 4096 values) is free JSON at that position. Nesting
// is tracked 8 containers deep; deeper values are free.
//
//   auto schema = std::make_shared<CompiledSchema>(CompiledSchema::compile(json_schema));
//   SchemaJsonRecognizer r(schema.get());   // copyable state, as JsonRecognizer
//   r.feed("{\"name\": \"x\"") ...
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampling/json_recognizer.h"
#include "sampling/regex_dfa.h"

namespace glm::sampling {

struct SchemaNode {
  enum class Kind : uint8_t { Any, Object, Array, String, Number, Integer, Boolean, Null, Enum, Union };
  Kind kind = Kind::Any;
  std::vector<std::string> texts;   // Object: property names as escaped JSON (no quotes), sorted;
                                    // Enum: the values' compact JSON, sorted
  std::vector<uint16_t> children;   // Object: node of texts[i]; Union: the alternatives
  uint64_t required = 0;            // Object: bit i set -> texts[i] is required
  bool additional = false;          // Object: other keys allowed (free values)
  uint16_t items = 0;               // Array: node of the elements (0 = the Any node)
  uint32_t min_count = 0;           // String: minLength; Array: minItems
  uint32_t max_count = UINT32_MAX;  // String: maxLength; Array: maxItems
  int64_t min_value = INT64_MIN;    // Integer: minimum (exclusiveMinimum + 1)
  int64_t max_value = INT64_MAX;    // Integer: maximum (exclusiveMaximum - 1)
  uint16_t pattern = 0;             // String: 1 + index of its pattern's automaton (0: none)
};

class CompiledSchema {
 public:
  // Never fails: unsupported parts compile to the Any node (index 0).
  static CompiledSchema compile(const nlohmann::json& schema);
  const SchemaNode& node(uint16_t i) const { return nodes_[i]; }
  uint16_t root() const { return root_; }
  // A string pattern's lazy DFA (shared by every copy of a recognizer: it only caches transitions).
  RegexDfa& pattern(uint16_t p) const { return *patterns_[size_t(p - 1)]; }

 private:
  uint16_t add(const nlohmann::json& schema, int depth);
  uint16_t add_ref(const std::string& ref, int depth);
  uint16_t add_union(const std::vector<nlohmann::json>& alternatives, int depth);
  uint16_t add_pattern(const std::string& pattern);
  std::vector<SchemaNode> nodes_;
  std::vector<std::shared_ptr<RegexDfa>> patterns_;
  size_t pattern_states_ = 0;  // NFA states of all patterns so far
  uint16_t root_ = 0;
  const nlohmann::json* document_ = nullptr;  // while compiling: what "#" refers to
  std::map<std::string, uint16_t> refs_;      // compiled (or being compiled) $ref targets
};

class SchemaJsonRecognizer {
 public:
  static constexpr int kMaxSchemaDepth = 8;

  // schema may be null: plain JSON syntax with the given top-level type.
  explicit SchemaJsonRecognizer(const CompiledSchema* schema, JsonRoot root = JsonRoot::Any);

  bool feed(uint8_t c);
  bool feed(std::string_view bytes) {
    for (char c : bytes)
      if (!feed(static_cast<uint8_t>(c))) return false;
    return true;
  }
  bool complete() const;
  // Inside a string whose bytes the schema does not look at (see JsonRecognizer::in_plain_string).
  bool in_plain_string() const {
    return (match_ == Match::None || (match_ == Match::Key && key_unknown_)) && !string_checked_ &&
           syn_.in_plain_string();
  }

 private:
  enum class Match : uint8_t { None, Key, Enum };
  struct Frame {
    uint16_t node = 0;
    uint64_t seen = 0;  // Object: the declared keys present (bits); Array: the elements so far
  };

  uint16_t expected_value_node() const;
  // The alternative of a Union node that a value starting with c can be: 0 (free) when several can,
  // kNoNode when none can. Other nodes are returned as they are.
  uint16_t resolve_union(uint16_t id, uint8_t c) const;
  bool can_start_with(uint16_t id, uint8_t c, int depth) const;
  static constexpr uint16_t kNoNode = 0xffff;
  bool start_value(uint8_t c);
  bool match_byte(uint8_t c);   // narrows the candidate range by one byte
  int exact_match() const;      // index of the candidate equal to the bytes matched, or -1
  bool end_key();
  bool close_container(uint8_t c);

  JsonRecognizer syn_;
  const CompiledSchema* schema_;
  Frame frames_[kMaxSchemaDepth];
  uint8_t n_frames_ = 0;
  uint8_t free_depth_ = 0;      // open containers inside a free (Any) value
  bool root_started_ = false;
  bool integer_only_ = false;   // the number being read must be an integer
  bool integer_bounded_ = false;  // ... and within the node's range
  bool integer_negative_ = false;
  uint8_t integer_digits_ = 0;
  uint64_t integer_magnitude_ = 0;  // digits so far (saturates; ranges are int64)
  uint16_t integer_node_ = 0;
  bool integer_viable() const;      // some integer with the digits so far as prefix is in range
  bool integer_in_range() const;    // the integer read is
  Match match_ = Match::None;
  bool key_unknown_ = false;    // the key matches no declared property (additional allowed)
  uint16_t match_node_ = 0;
  uint16_t lo_ = 0, hi_ = 0;    // candidate range in match_node_'s texts
  uint16_t pos_ = 0;            // bytes matched
  uint8_t enum_depth_ = 0;      // syntax depth at which the enum value started
  uint16_t pending_ = 0;        // node of the value after the current key
  bool string_byte(JsonRecognizer::Mode before, uint8_t c);  // a byte of a checked string value
  bool pattern_feed(uint32_t codepoint);
  static uint8_t escaped_char(uint8_t letter);  // \n -> newline, ...
  bool string_checked_ = false; // inside a string value with length bounds or a pattern
  uint16_t string_node_ = 0;
  uint32_t string_len_ = 0;     // characters so far
  int32_t pattern_state_ = -1;  // the pattern's DFA state (-1: no pattern, or not enforced)
};

}  // namespace glm::sampling
