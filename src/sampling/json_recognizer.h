#pragma once
// Incremental JSON recognizer over bytes: a pushdown automaton that accepts exactly the prefixes of
// RFC 8259 JSON texts (what Python's json.loads accepts, minus its NaN/Infinity extensions), with
// optional leading and trailing whitespace. Used by the response_format constraint
// (json_constraint.h) to decide, byte by byte, whether a token keeps the output a valid prefix.
//
//   JsonRecognizer r(JsonRoot::Object);
//   bool ok = r.feed("{\"a\": [1, 2");   // still a valid prefix
//   r.complete();                         // false: the object is not closed yet
//
// The state is a small value type (no heap), so a caller can copy it to try a byte sequence and
// throw the copy away: that is how the token-trie walk explores every token from one state.
// Not validated (as json.loads in Python does not): UTF-8 inside strings (bytes >= 0x80 pass) and
// pairing of \uD800-style surrogate escapes. Control bytes < 0x20 inside strings are rejected
// (json.loads' strict mode). Nesting is limited to kMaxDepth levels: past it, '{' and '[' are
// refused, so a constrained generation can always close what it opened. Whitespace between tokens
// (outside strings) is limited to runs of max_whitespace_run bytes (default 32: a newline and a
// deep indentation): without a limit a model, or a random one in tests, can fill its whole budget
// with newlines and never finish the value (xgrammar's any_whitespace=False and llama.cpp's JSON
// grammar bound it too).
#include <cstdint>
#include <string_view>

namespace glm::sampling {

// What the top-level value may be (from a JSON schema's "type"; json_object -> Object).
enum class JsonRoot : uint8_t { Any, Object, Array, String, Number, Integer, Boolean, Null };

class JsonRecognizer {
 public:
  static constexpr int kMaxDepth = 128;

  static constexpr int kDefaultWhitespaceRun = 32;

  explicit JsonRecognizer(JsonRoot root = JsonRoot::Any, int max_whitespace_run = kDefaultWhitespaceRun)
      : root_(root), max_ws_(static_cast<uint8_t>(max_whitespace_run < 0 ? 0 : max_whitespace_run > 255 ? 255 : max_whitespace_run)) {}

  // Consumes one byte; false if it cannot follow (the recognizer is then in an unspecified state:
  // try bytes on a copy).
  bool feed(uint8_t c);
  bool feed(std::string_view bytes) {
    for (char c : bytes)
      if (!feed(static_cast<uint8_t>(c))) return false;
    return true;
  }

  // A whole top-level value has been read: the text so far parses (only whitespace may follow).
  bool complete() const;
  // Inside a string and not in an escape: every byte >= 0x20 other than '"' and '\\' keeps it there.
  bool in_plain_string() const { return mode_ == Mode::String && utf8_left_ == 0; }
  int depth() const { return depth_; }

 public:
  enum class Mode : uint8_t {
    Value,        // a value must start (after ':' / ',' in an array / at the top)
    ArrayFirst,   // after '[': a value or ']'
    ObjectFirst,  // after '{': a key or '}'
    Key,          // after ',' in an object: a key
    Colon,        // after a key
    After,        // after a value inside a container: ',' or the closing bracket
    Done,         // the top-level value is complete
    String, Escape, Unicode,  // aux_: bit 0 = the string is a key; Unicode: bits 1..3 = hex digits left
    NumMinus, NumZero, NumInt, NumDot, NumFrac, NumExp, NumExpSign, NumExpDigits,
    Literal,      // aux_: literal index * 8 + characters matched
  };
  Mode mode() const { return mode_; }
  bool in_key() const { return (mode_ == Mode::String || mode_ == Mode::Escape || mode_ == Mode::Unicode) && (aux_ & 1); }
  static bool is_number_mode(Mode m) { return m >= Mode::NumMinus && m <= Mode::NumExpDigits; }

 private:

  bool step(uint8_t c);
  bool start_value(uint8_t c);
  bool end_value();  // a value just ended: Done at the top, After inside a container
  bool push(bool object);
  bool top_is_object() const;

  Mode mode_ = Mode::Value;
  uint8_t aux_ = 0;
  uint8_t depth_ = 0;
  JsonRoot root_;
  uint8_t max_ws_;
  uint8_t ws_run_ = 0;  // whitespace bytes since the last other byte outside strings
  uint8_t utf8_left_ = 0;                    // strings are well-formed UTF-8: continuation bytes due
  uint8_t utf8_lo_ = 0x80, utf8_hi_ = 0xBF;  // the range of the next one
  uint64_t objects_[kMaxDepth / 64] = {};  // bit d set: level d is an object (else an array)
};

}  // namespace glm::sampling
