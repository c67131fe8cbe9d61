#include "sampling/json_schema_recognizer.h"

#include <algorithm>
#include <tuple>

#include "core/error.h"

namespace glm::sampling {

namespace {

using Mode = JsonRecognizer::Mode;
using Kind = SchemaNode::Kind;

constexpr int kMaxCompileDepth = 32;
constexpr size_t kMaxNodes = 60000;
constexpr size_t kMaxEnumValues = 4096;  // candidate ranges are 16-bit; longer lists are left free

bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// minimum / maximum (integers or numbers, rounded inward), exclusive ones as in draft 6+; others are ignored.
void integer_bounds(const nlohmann::json& s, SchemaNode& n) {
  auto bound = [&](const char* key, bool lower, bool exclusive) {
    auto it = s.find(key);
    if (it == s.end() || !it->is_number()) return;
    const double v = it->get<double>();
    double b = lower ? std::ceil(v) : std::floor(v);
    if (exclusive && b == v) b += lower ? 1 : -1;
    if (b < -9.2e18 || b > 9.2e18) return;  // beyond what an int64 holds: no bound
    if (lower) n.min_value = std::max(n.min_value, int64_t(b));
    else n.max_value = std::min(n.max_value, int64_t(b));
  };
  bound("minimum", true, false);
  bound("maximum", false, false);
  bound("exclusiveMinimum", true, true);
  bound("exclusiveMaximum", false, true);
}

// minLength / maxLength (minItems / maxItems): non-negative integers; anything else is ignored.
void count_bounds(const nlohmann::json& s, const char* min_key, const char* max_key, SchemaNode& n) {
  auto read = [&](const char* key, uint32_t& out) {
    auto it = s.find(key);
    if (it != s.end() && it->is_number_integer() && it->get<int64_t>() >= 0)
      out = uint32_t(std::min<int64_t>(it->get<int64_t>(), UINT32_MAX));
  };
  read(min_key, n.min_count);
  read(max_key, n.max_count);
}
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

}  // namespace

CompiledSchema CompiledSchema::compile(const nlohmann::json& schema) {
  CompiledSchema c;
  c.nodes_.emplace_back();  // 0: Any
  c.document_ = &schema;
  c.root_ = c.add(schema, 0);
  c.document_ = nullptr;
  c.refs_.clear();
  return c;
}

// A local reference ("#" or a JSON pointer below it). Its node is reserved before the target is compiled,
// so a reference back to it (a recursive schema) points at the same node.
uint16_t CompiledSchema::add_ref(const std::string& ref, int depth) {
  if (ref.empty() || ref[0] != '#' || nodes_.size() >= kMaxNodes) return 0;  // remote references: free
  if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
  const nlohmann::json* target = document_;
  if (ref.size() > 1) {
    try {
      target = &document_->at(nlohmann::json::json_pointer(ref.substr(1)));
    } catch (const nlohmann::json::exception&) {
      return 0;  // a dangling reference: free
    }
  }
  const auto id = static_cast<uint16_t>(nodes_.size());
  nodes_.emplace_back();  // Any until compiled
  refs_[ref] = id;
  const uint16_t compiled = add(*target, depth + 1);
  if (compiled != 0) {
    SchemaNode copy = nodes_[compiled];  // (a copy: nodes_ may grow while assigning)
    nodes_[id] = std::move(copy);
  }
  return id;
}

// JSON Schema's pattern is searched (ECMA-262 semantics): anchored only by ^ and $.
uint16_t CompiledSchema::add_pattern(const std::string& pattern) {
  // Every pattern may compile to RegexNfa::kMaxStates states: a budget for all of them keeps a schema of
  // many large patterns from costing gigabytes at submit. Patterns past it are not enforced.
  if (patterns_.size() >= 1000 || pattern_states_ >= RegexNfa::kMaxStates) return 0;
  try {
    auto nfa = std::make_shared<const RegexNfa>(RegexNfa::compile_search(pattern, /*any_suffix=*/true));
    pattern_states_ += nfa->states.size();
    if (pattern_states_ > RegexNfa::kMaxStates) return 0;
    patterns_.push_back(std::make_shared<RegexDfa>(std::move(nfa)));
  } catch (const GlmError&) {
    return 0;  // a feature the regex engine refuses: not enforced, as other unsupported keywords
  }
  return static_cast<uint16_t>(patterns_.size());
}

uint16_t CompiledSchema::add_union(const std::vector<nlohmann::json>& alternatives, int depth) {
  SchemaNode n;
  n.kind = Kind::Union;
  for (const auto& a : alternatives) {
    const uint16_t id = add(a, depth + 1);
    if (id == 0) return 0;  // an alternative that allows anything: the whole value is free
    n.children.push_back(id);
  }
  if (n.children.empty()) return 0;
  if (n.children.size() == 1) return n.children[0];
  nodes_.push_back(std::move(n));
  return static_cast<uint16_t>(nodes_.size() - 1);
}

uint16_t CompiledSchema::add(const nlohmann::json& s, int depth) {
  if (!s.is_object() || depth > kMaxCompileDepth || nodes_.size() >= kMaxNodes) return 0;
  if (auto ref = s.find("$ref"); ref != s.end() && ref->is_string()) return add_ref(ref->get<std::string>(), depth);
  // allOf with one member (Pydantic wraps a described $ref this way): that member, the siblings beside it.
  if (auto all = s.find("allOf"); all != s.end() && all->is_array() && all->size() == 1 && (*all)[0].is_object()) {
    nlohmann::json merged = s;
    merged.erase("allOf");
    merged.update((*all)[0]);
    return add(merged, depth + 1);
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    if (auto alts = s.find(key); alts != s.end() && alts->is_array()) {
      // Keywords beside anyOf apply to every alternative (Pydantic puts "default", "title" there).
      std::vector<nlohmann::json> each;
      for (const auto& a : *alts) {
        nlohmann::json merged = s;
        merged.erase(key);
        if (a.is_object()) merged.update(a);
        each.push_back(std::move(merged));
      }
      return add_union(each, depth);
    }
  }
  if (auto types = s.find("type"); types != s.end() && types->is_array()) {
    std::vector<nlohmann::json> each;
    for (const auto& t : *types) {
      nlohmann::json one = s;
      one["type"] = t;
      each.push_back(std::move(one));
    }
    return add_union(each, depth);
  }
  SchemaNode n;
  auto values = s.find("enum");
  if (s.contains("const")) {
    n.kind = Kind::Enum;
    n.texts.push_back(s["const"].dump());
  } else if (values != s.end() && values->is_array() && !values->empty()) {
    if (values->size() > kMaxEnumValues) return 0;
    n.kind = Kind::Enum;
    for (const auto& v : *values) n.texts.push_back(v.dump());
    std::sort(n.texts.begin(), n.texts.end());
    n.texts.erase(std::unique(n.texts.begin(), n.texts.end()), n.texts.end());
  } else {
    std::string type;
    if (auto t = s.find("type"); t != s.end() && t->is_string()) type = t->get<std::string>();
    else if (s.contains("properties")) type = "object";
    else if (s.contains("items")) type = "array";
    if (type == "object") {
      n.kind = Kind::Object;
      const auto props = s.find("properties");
      const bool has_props = props != s.end() && props->is_object() && !props->empty();
      if (has_props && props->size() > 64) return 0;
      // xgrammar's strict mode: with declared properties, others only if additionalProperties says so.
      const auto extra = s.find("additionalProperties");
      n.additional = !has_props || (extra != s.end() && (extra->is_object() || (extra->is_boolean() && extra->get<bool>())));
      if (has_props) {
        std::vector<std::string> required;
        if (auto r = s.find("required"); r != s.end() && r->is_array())
          for (const auto& k : *r)
            if (k.is_string()) required.push_back(k.get<std::string>());
        std::vector<std::tuple<std::string, const nlohmann::json*, bool>> entries;
        for (auto it = props->begin(); it != props->end(); ++it) {
          std::string text = nlohmann::json(it.key()).dump();
          entries.emplace_back(text.substr(1, text.size() - 2), &it.value(),
                               std::find(required.begin(), required.end(), it.key()) != required.end());
        }
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
        for (size_t i = 0; i < entries.size(); ++i) {
          n.texts.push_back(std::get<0>(entries[i]));
          n.children.push_back(add(*std::get<1>(entries[i]), depth + 1));
          if (std::get<2>(entries[i])) n.required |= uint64_t{1} << i;
        }
      }
    } else if (type == "array") {
      n.kind = Kind::Array;
      if (auto items = s.find("items"); items != s.end()) n.items = add(*items, depth + 1);
      count_bounds(s, "minItems", "maxItems", n);
    } else if (type == "string") {
      n.kind = Kind::String;
      count_bounds(s, "minLength", "maxLength", n);
      if (auto p = s.find("pattern"); p != s.end() && p->is_string()) n.pattern = add_pattern(p->get<std::string>());
    } else if (type == "number") {
      n.kind = Kind::Number;
    } else if (type == "integer") {
      n.kind = Kind::Integer;
      integer_bounds(s, n);
    } else if (type == "boolean") {
      n.kind = Kind::Boolean;
    } else if (type == "null") {
      n.kind = Kind::Null;
    } else {
      return 0;
    }
  }
  nodes_.push_back(std::move(n));
  return static_cast<uint16_t>(nodes_.size() - 1);
}

SchemaJsonRecognizer::SchemaJsonRecognizer(const CompiledSchema* schema, JsonRoot root) : syn_(root), schema_(schema) {}

uint16_t SchemaJsonRecognizer::expected_value_node() const {
  if (free_depth_ > 0) return 0;
  if (n_frames_ == 0) return schema_->root();
  const Frame& f = frames_[n_frames_ - 1];
  const SchemaNode& n = schema_->node(f.node);
  return n.kind == Kind::Object ? pending_ : n.items;
}

bool SchemaJsonRecognizer::can_start_with(uint16_t id, uint8_t c, int depth) const {
  const SchemaNode& n = schema_->node(id);
  switch (n.kind) {
    case Kind::Any: return true;
    case Kind::Object: return c == '{';
    case Kind::Array: return c == '[';
    case Kind::String: return c == '"';
    case Kind::Number:
    case Kind::Integer: return c == '-' || is_digit(c);
    case Kind::Boolean: return c == 't' || c == 'f';
    case Kind::Null: return c == 'n';
    case Kind::Enum:
      return std::any_of(n.texts.begin(), n.texts.end(), [&](const std::string& t) { return !t.empty() && uint8_t(t[0]) == c; });
    case Kind::Union:
      if (depth > 8) return true;
      return std::any_of(n.children.begin(), n.children.end(), [&](uint16_t a) { return can_start_with(a, c, depth + 1); });
  }
  return false;
}

uint16_t SchemaJsonRecognizer::resolve_union(uint16_t id, uint8_t c) const {
  for (int depth = 0; schema_->node(id).kind == Kind::Union; ++depth) {
    if (depth > 8) return 0;
    uint16_t found = kNoNode;
    for (uint16_t a : schema_->node(id).children) {
      if (!can_start_with(a, c, 0)) continue;
      if (found != kNoNode) return 0;  // two alternatives fit: free
      found = a;
    }
    if (found == kNoNode) return kNoNode;
    id = found;
  }
  return id;
}

bool SchemaJsonRecognizer::start_value(uint8_t c) {
  const uint16_t id = resolve_union(expected_value_node(), c);
  if (id == kNoNode) return false;
  if (free_depth_ == 0 && n_frames_ > 0) {  // an element of a tracked array: one more
    Frame& f = frames_[n_frames_ - 1];
    const SchemaNode& container = schema_->node(f.node);
    if (container.kind == Kind::Array && ++f.seen > container.max_count) return false;
  }
  const SchemaNode& n = schema_->node(id);
  const bool opens = c == '{' || c == '[';
  auto push = [&] {
    if (n_frames_ == kMaxSchemaDepth) {
      ++free_depth_;  // too deep to track: free from here
    } else {
      frames_[n_frames_++] = Frame{id, 0};
    }
    return true;
  };
  switch (n.kind) {
    case Kind::Any:
      if (opens) ++free_depth_;
      return true;
    case Kind::Enum:
      match_ = Match::Enum;
      match_node_ = id;
      lo_ = 0;
      hi_ = static_cast<uint16_t>(n.texts.size());
      pos_ = 0;
      enum_depth_ = static_cast<uint8_t>(syn_.depth() - (opens ? 1 : 0));
      return match_byte(c);
    case Kind::Object: return c == '{' && push();
    case Kind::Array: return c == '[' && push();
    case Kind::String:
      string_checked_ = n.min_count > 0 || n.max_count != UINT32_MAX || n.pattern != 0;
      string_node_ = id;
      string_len_ = 0;
      pattern_state_ = n.pattern != 0 ? schema_->pattern(n.pattern).start() : -1;
      return c == '"';
    case Kind::Number: return c == '-' || is_digit(c);
    case Kind::Integer:
      integer_only_ = true;
      integer_bounded_ = n.min_value != INT64_MIN || n.max_value != INT64_MAX;
      integer_node_ = id;
      integer_negative_ = c == '-';
      integer_digits_ = is_digit(c) ? 1 : 0;
      integer_magnitude_ = is_digit(c) ? uint64_t(c - '0') : 0;
      return (c == '-' || is_digit(c)) && (!integer_bounded_ || integer_viable());
    case Kind::Boolean: return c == 't' || c == 'f';
    case Kind::Null: return c == 'n';
    case Kind::Union: return true;  // not reached: resolve_union returns an alternative
  }
  return false;
}

bool SchemaJsonRecognizer::match_byte(uint8_t c) {
  if (key_unknown_) return true;
  const SchemaNode& node = schema_->node(match_node_);
  const auto& texts = node.texts;
  // Without additional keys, a key already present is no candidate: a prefix that only it could
  // complete would be a dead end (its closing quote refused, nothing else allowed).
  const uint64_t seen = match_ == Match::Key && !node.additional ? frames_[n_frames_ - 1].seen : 0;
  uint16_t lo = hi_, hi = hi_;
  for (uint16_t i = lo_; i < hi_; ++i) {
    const bool ok = texts[i].size() > pos_ && static_cast<uint8_t>(texts[i][pos_]) == c && !((seen >> i) & 1);
    if (ok && lo == hi_) lo = i;
    if (ok) hi = static_cast<uint16_t>(i + 1);
  }
  if (lo == hi_) {  // no candidate left
    if (match_ == Match::Key && node.additional) {
      key_unknown_ = true;
      return true;
    }
    return false;
  }
  lo_ = lo;
  hi_ = hi;
  ++pos_;
  return true;
}

int SchemaJsonRecognizer::exact_match() const {
  const auto& texts = schema_->node(match_node_).texts;
  for (uint16_t i = lo_; i < hi_; ++i)
    if (texts[i].size() == pos_) return i;
  return -1;
}

bool SchemaJsonRecognizer::end_key() {
  const SchemaNode& n = schema_->node(match_node_);
  const int idx = key_unknown_ ? -1 : exact_match();
  match_ = Match::None;
  key_unknown_ = false;
  if (idx < 0) {
    pending_ = 0;
    return n.additional;
  }
  Frame& f = frames_[n_frames_ - 1];
  const uint64_t bit = uint64_t{1} << idx;
  if (f.seen & bit) return false;  // a key twice
  f.seen |= bit;
  pending_ = n.children[size_t(idx)];
  return true;
}

bool SchemaJsonRecognizer::close_container(uint8_t c) {
  if (free_depth_ > 0) {
    --free_depth_;
    return true;
  }
  if (n_frames_ == 0) return true;
  const Frame& f = frames_[n_frames_ - 1];
  const SchemaNode& n = schema_->node(f.node);
  if (c == '}' && n.kind == Kind::Object && (f.seen & n.required) != n.required) return false;
  if (c == ']' && n.kind == Kind::Array && f.seen < n.min_count) return false;
  --n_frames_;
  return true;
}

bool SchemaJsonRecognizer::feed(uint8_t c) {
  const Mode before = syn_.mode();
  const int depth_before = syn_.depth();
  if (!syn_.feed(c)) return false;
  if (!schema_) return true;
  const Mode after = syn_.mode();
  const bool number_ended = JsonRecognizer::is_number_mode(before) && !JsonRecognizer::is_number_mode(after);

  if (match_ == Match::Enum) {
    // Only a number that is the enum value itself ends before c; one inside an enum object or array
    // is just part of the text being matched.
    const bool enum_number_ended = number_ended && depth_before == enum_depth_;
    if (!enum_number_ended) {
      if (!match_byte(c)) return false;
      const bool value_over = (after == Mode::After || after == Mode::Done) && syn_.depth() == enum_depth_ &&
                              !JsonRecognizer::is_number_mode(after);
      if (value_over) {
        if (exact_match() < 0) return false;
        match_ = Match::None;
      }
      return true;
    }
    // A number ended just before c: it must be a whole candidate; c is read below.
    if (exact_match() < 0) return false;
    match_ = Match::None;
  }
  if (match_ == Match::Key) return after == Mode::Colon ? end_key() : match_byte(c);
  if (string_checked_ && (before == Mode::String || before == Mode::Escape || before == Mode::Unicode))
    return string_byte(before, c);

  if (integer_only_) {
    if (JsonRecognizer::is_number_mode(after) && (c == '.' || c == 'e' || c == 'E')) return false;
    if (integer_bounded_ && JsonRecognizer::is_number_mode(after) && is_digit(c)) {
      ++integer_digits_;
      integer_magnitude_ = integer_magnitude_ > (UINT64_MAX - 9) / 10 ? UINT64_MAX : integer_magnitude_ * 10 + (c - '0');
      if (!integer_viable()) return false;
    }
    if (!JsonRecognizer::is_number_mode(after)) {
      integer_only_ = false;
      if (integer_bounded_) {
        integer_bounded_ = false;
        if (!integer_in_range()) return false;  // the integer ended before c
      }
    }
  }
  if (syn_.depth() < depth_before) return close_container(c);
  if (c == ',' && after == Mode::Value && free_depth_ == 0 && n_frames_ > 0) {
    // Another element must be possible.
    const Frame& f = frames_[n_frames_ - 1];
    const SchemaNode& n = schema_->node(f.node);
    if (n.kind == Kind::Array) return f.seen < n.max_count;
  }
  if (c == ',' && after == Mode::Key && free_depth_ == 0 && n_frames_ > 0) {
    // Another key must be possible: with every declared property present and no others allowed, a
    // ',' would be a dead end.
    const Frame& f = frames_[n_frames_ - 1];
    const SchemaNode& n = schema_->node(f.node);
    const uint64_t all = n.texts.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << n.texts.size()) - 1;
    return n.additional || (f.seen & all) != all;
  }
  if ((before == Mode::Value || before == Mode::ArrayFirst) && !is_ws(c)) return start_value(c);
  if ((before == Mode::ObjectFirst || before == Mode::Key) && c == '"' && free_depth_ == 0 && n_frames_ > 0) {
    pending_ = 0;
    if (schema_->node(frames_[n_frames_ - 1].node).texts.empty()) return true;  // any key, free values
    match_ = Match::Key;
    match_node_ = frames_[n_frames_ - 1].node;
    lo_ = 0;
    hi_ = static_cast<uint16_t>(schema_->node(match_node_).texts.size());
    pos_ = 0;
    key_unknown_ = false;
  }
  return true;
}

// A byte of a string value with length bounds or a pattern (the syntax layer has accepted it). The syntax
// layer holds strings to well-formed UTF-8, so a character starts at every byte that is not a continuation
// byte (an escape counts one); the pattern reads the decoded text.
bool SchemaJsonRecognizer::string_byte(Mode before, uint8_t c) {
  const SchemaNode& n = schema_->node(string_node_);
  if (before == Mode::Escape) {
    // Under a pattern only the one-letter escapes: a \u escape's first hex digits could not tell whether
    // the character they start can follow (the character is written as itself instead).
    if (c == 'u') return pattern_state_ < 0;
    return pattern_feed(escaped_char(c));
  }
  if (before == Mode::Unicode) return true;  // (no pattern: nothing to check)
  if (c == '"') {  // the string ends
    string_checked_ = false;
    if (string_len_ < n.min_count) return false;
    return pattern_state_ < 0 || schema_->pattern(n.pattern).accepting(pattern_state_);
  }
  if (c < 0x80 || c >= 0xC0) {
    if (++string_len_ > n.max_count) return false;
  }
  if (c == '\\') {  // the escaped character is fed once decoded; one of them must be able to follow
    if (pattern_state_ < 0) return true;
    RegexDfa& dfa = schema_->pattern(n.pattern);
    for (uint8_t e : {'n', 't', 'r', 'b', 'f', '"', '\\', '/'}) {
      try {
        if (dfa.next(pattern_state_, escaped_char(e)) != RegexDfa::kDead) return true;
      } catch (const GlmError&) {
        return true;
      }
    }
    return false;
  }
  if (pattern_state_ < 0) return true;
  try {
    pattern_state_ = schema_->pattern(n.pattern).next(pattern_state_, c);
  } catch (const GlmError&) {
    pattern_state_ = -1;  // the pattern's automaton outgrew its limit: not enforced from here
    return true;
  }
  return pattern_state_ != RegexDfa::kDead;
}

uint8_t SchemaJsonRecognizer::escaped_char(uint8_t c) {
  return c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : c == 'f' ? '\f' : c;
}

// One decoded character (an escape) into the pattern, as UTF-8.
bool SchemaJsonRecognizer::pattern_feed(uint32_t cp) {
  if (pattern_state_ < 0) return true;
  char buf[4];
  int len = 0;
  if (cp < 0x80) {
    buf[len++] = char(cp);
  } else if (cp < 0x800) {
    buf[len++] = char(0xC0 | (cp >> 6));
    buf[len++] = char(0x80 | (cp & 0x3F));
  } else {
    buf[len++] = char(0xE0 | (cp >> 12));
    buf[len++] = char(0x80 | ((cp >> 6) & 0x3F));
    buf[len++] = char(0x80 | (cp & 0x3F));
  }
  try {
    pattern_state_ = schema_->pattern(schema_->node(string_node_).pattern).feed(pattern_state_, std::string_view(buf, size_t(len)));
  } catch (const GlmError&) {
    pattern_state_ = -1;
    return true;
  }
  return pattern_state_ != RegexDfa::kDead;
}

bool SchemaJsonRecognizer::integer_in_range() const {
  const SchemaNode& n = schema_->node(integer_node_);
  if (integer_magnitude_ > uint64_t(INT64_MAX)) return false;
  const int64_t v = integer_negative_ ? -int64_t(integer_magnitude_) : int64_t(integer_magnitude_);
  return v >= n.min_value && v <= n.max_value;
}

// The integers that start with these digits are m itself and, after k more digits, the magnitudes
// [m * 10^k, m * 10^k + 10^k - 1] (none after a lone 0: JSON has no leading zeros); with a minus sign the
// same negated. Viable when one of those ranges meets [min, max].
bool SchemaJsonRecognizer::integer_viable() const {
  const SchemaNode& n = schema_->node(integer_node_);
  // The magnitudes allowed: [lo, hi] (as non-negative numbers), for this sign.
  __int128 lo, hi;
  if (integer_negative_) {
    if (n.min_value > 0) return false;
    lo = n.max_value >= 0 ? 0 : -__int128(n.max_value);
    hi = -__int128(n.min_value);
  } else {
    if (n.max_value < 0) return false;
    lo = n.min_value <= 0 ? 0 : __int128(n.min_value);
    hi = n.max_value;
  }
  if (integer_digits_ == 0) return lo <= hi;  // just '-': some digits will do
  const __int128 m = integer_magnitude_;
  if (integer_magnitude_ == 0) return lo == 0;  // "0" or "-0": nothing can follow
  __int128 scale = 1;
  for (int k = 0; k <= 19; ++k, scale *= 10) {
    const __int128 first = m * scale, last = first + scale - 1;
    if (first > hi) break;
    if (last >= lo) return true;
  }
  return false;
}

bool SchemaJsonRecognizer::complete() const {
  if (!syn_.complete()) return false;
  if (integer_bounded_ && JsonRecognizer::is_number_mode(syn_.mode()) && !integer_in_range()) return false;
  return match_ != Match::Enum || exact_match() >= 0;  // a top-level number enum ends with the text
}

}  // namespace glm::sampling
