#include "sampling/ebnf_regex.h"

#include <map>
#include <vector>

#include "core/error.h"
#include "core/log.h"

namespace glm::sampling {
namespace {

constexpr size_t kMaxRegexBytes = 200000;  // the inlined expression; the NFA has its own state limit
constexpr int kMaxDepth = 100;              // nested groups, and rules inlined inside rules (both recurse)

[[noreturn]] void refuse(const std::string& what) { fail(ErrorKind::InvalidArgument, "ebnf: {}", what); }

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

// A code point written so that the regex parser reads it as a literal (also inside a class).
std::string literal(uint32_t cp) {
  if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == ' ' || cp == '_')
    return std::string(1, char(cp));
  return cp <= 0xffff ? fmt::format("\\u{:04x}", cp) : fmt::format("\\U{:08x}", cp);
}

// Parses the rules into their bodies' regex fragments with rule references left as markers, then
// inlines them from `root`.
class EbnfParser {
 public:
  explicit EbnfParser(std::string_view text) : s_(text) {}

  std::string run() {
    skip_space();
    while (pos_ < s_.size()) {
      const std::string name = rule_name();
      skip_space();
      if (!consume("::=")) refuse(fmt::format("expected ::= after rule name '{}' (at byte {})", name, pos_));
      if (rules_.count(name)) refuse(fmt::format("rule '{}' is defined twice", name));
      rules_[name] = alternatives(/*in_group=*/false);
      skip_space();
    }
    if (!rules_.count("root")) refuse("no 'root' rule");
    std::map<std::string, int> state;  // 1: being expanded, 2: done
    std::map<std::string, std::string> expanded;
    return expand("root", state, expanded);
  }

 private:
  // A body: pieces of regex text and references to rules, in order.
  struct Piece {
    std::string text;  // regex text, or the rule name when ref
    bool ref = false;
  };
  using Body = std::vector<Piece>;

  void skip_space() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  bool consume(std::string_view t) {
    if (s_.substr(pos_, t.size()) != t) return false;
    pos_ += t.size();
    return true;
  }
  std::string rule_name() {
    const size_t start = pos_;
    while (pos_ < s_.size() && name_char(s_[pos_])) ++pos_;
    if (pos_ == start) refuse(fmt::format("expected a rule name at byte {}", start));
    return std::string(s_.substr(start, pos_ - start));
  }
  // Whether a rule definition (`name ::=`) starts here: the end of the current rule.
  bool at_rule_start() const {
    size_t p = pos_;
    while (p < s_.size() && name_char(s_[p])) ++p;
    if (p == pos_) return false;
    while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t' || s_[p] == '\n' || s_[p] == '\r')) ++p;
    return s_.substr(p, 3) == "::=";
  }

  uint32_t utf8_char() {
    const auto b = uint8_t(s_[pos_]);
    const int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || pos_ + size_t(n) > s_.size()) refuse(fmt::format("invalid UTF-8 at byte {}", pos_));
    uint32_t cp = n == 1 ? b : b & (0x7f >> n);
    for (int k = 1; k < n; ++k) {
      const auto c = uint8_t(s_[pos_ + size_t(k)]);
      if ((c & 0xc0) != 0x80) refuse(fmt::format("invalid UTF-8 at byte {}", pos_));
      cp = (cp << 6) | (c & 0x3f);
    }
    pos_ += size_t(n);
    return cp;
  }
  uint32_t hex(int digits) {
    uint32_t v = 0;
    for (int k = 0; k < digits; ++k) {
      if (pos_ >= s_.size()) refuse("truncated escape");
      const char c = s_[pos_++];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) refuse(fmt::format("bad hex digit '{}' in an escape", c));
      v = v * 16 + uint32_t(d);
    }
    return v;
  }
  // One character of a literal or class, escapes resolved.
  uint32_t character(bool in_class) {
    if (pos_ >= s_.size()) refuse(in_class ? "unterminated character class" : "unterminated string");
    if (s_[pos_] != '\\') return utf8_char();
    ++pos_;
    if (pos_ >= s_.size()) refuse("truncated escape");
    const char c = s_[pos_++];
    switch (c) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'f': return '\f';
      case 'v': return '\v';
      case '0': return 0;
      case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': return uint32_t(c);
      case 'x': return hex(2);
      case 'u': return hex(4);
      case 'U': return hex(8);
      default: refuse(fmt::format("unsupported escape \\{}", c));
    }
  }
  std::string string_literal() {
    ++pos_;  // "
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) refuse("unterminated string");
      if (s_[pos_] == '"') {
        ++pos_;
        break;
      }
      out += literal(character(false));
    }
    return "(?:" + out + ")";
  }
  std::string char_class() {
    ++pos_;  // [
    std::string out = "[";
    if (pos_ < s_.size() && s_[pos_] == '^') {
      out += '^';
      ++pos_;
    }
    bool any = false;
    while (true) {
      if (pos_ >= s_.size()) refuse("unterminated character class");
      if (s_[pos_] == ']') {
        ++pos_;
        break;
      }
      const uint32_t lo = character(true);
      out += literal(lo);
      if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
        ++pos_;
        const uint32_t hi = character(true);
        if (hi < lo) refuse(fmt::format("bad range in a character class (U+{:04X}-U+{:04X})", lo, hi));
        out += "-" + literal(hi);
      }
      any = true;
    }
    if (!any) refuse("empty character class");
    return out + "]";
  }
  std::string repeat_suffix() {
    const size_t start = pos_;
    ++pos_;  // {
    while (pos_ < s_.size() && s_[pos_] != '}') {
      const char c = s_[pos_];
      if (!((c >= '0' && c <= '9') || c == ',' || c == ' ')) refuse(fmt::format("bad repetition at byte {}", start));
      ++pos_;
    }
    if (pos_ >= s_.size()) refuse("unterminated repetition");
    ++pos_;
    std::string r;
    for (char c : s_.substr(start, pos_ - start))
      if (c != ' ') r += c;
    if (r == "{}" || r == "{,}" || r[1] == ',') refuse(fmt::format("repetition {} needs a lower bound", r));
    return r;
  }
  // Alternatives up to the end of the rule (or of the group).
  Body alternatives(bool in_group) {
    Body out;
    out.push_back({"(?:", false});
    while (true) {
      skip_space();
      if (pos_ >= s_.size() || (!in_group && at_rule_start())) break;
      const char c = s_[pos_];
      if (c == ')') {
        if (!in_group) refuse(fmt::format("unbalanced ) at byte {}", pos_));
        break;
      }
      if (c == '|') {
        ++pos_;
        out.push_back({"|", false});
        continue;
      }
      Body item;
      if (c == '"') {
        item.push_back({string_literal(), false});
      } else if (c == '[') {
        item.push_back({char_class(), false});
      } else if (c == '(') {
        ++pos_;
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == '=') refuse("lookahead assertions (= ...) are not supported");
        if (++depth_ > kMaxDepth) refuse(fmt::format("groups nest deeper than {}", kMaxDepth));
        item = alternatives(true);
        --depth_;
        skip_space();
        if (pos_ >= s_.size() || s_[pos_] != ')') refuse("unbalanced (");
        ++pos_;
      } else if (name_char(c)) {
        item.push_back({rule_name(), true});
      } else {
        refuse(fmt::format("unexpected '{}' at byte {}", c, pos_));
      }
      // Postfix operators apply to the item (wrapped so that they bind to all of it).
      while (pos_ < s_.size() && (s_[pos_] == '*' || s_[pos_] == '+' || s_[pos_] == '?' || s_[pos_] == '{')) {
        const std::string q = s_[pos_] == '{' ? repeat_suffix() : std::string(1, s_[pos_++]);
        item.insert(item.begin(), {"(?:", false});
        item.push_back({")" + q, false});
      }
      out.insert(out.end(), item.begin(), item.end());
    }
    out.push_back({")", false});
    return out;
  }

  std::string expand(const std::string& name, std::map<std::string, int>& state,
                     std::map<std::string, std::string>& done) {
    auto it = rules_.find(name);
    if (it == rules_.end()) refuse(fmt::format("rule '{}' is used but not defined", name));
    if (state[name] == 2) return done[name];
    if (state[name] == 1)
      refuse(fmt::format("rule '{}' refers to itself (a recursive grammar is not regular; glmserve enforces "
                         "only grammars without recursion)", name));
    state[name] = 1;
    if (++depth_ > kMaxDepth) refuse(fmt::format("rules nest deeper than {} (at '{}')", kMaxDepth, name));
    std::string out;
    for (const Piece& p : it->second) {
      out += p.ref ? expand(p.text, state, done) : p.text;
      if (out.size() > kMaxRegexBytes)
        refuse(fmt::format("the grammar expands to more than {} bytes of regular expression", kMaxRegexBytes));
    }
    --depth_;
    state[name] = 2;
    return done[name] = out;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::map<std::string, Body> rules_;
};

}  // namespace

std::string ebnf_to_regex(std::string_view grammar) { return EbnfParser(grammar).run(); }

}  // namespace glm::sampling
