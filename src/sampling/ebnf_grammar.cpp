#include "sampling/ebnf_grammar.h"

#include <map>
#include <vector>

#include "core/error.h"
#include "core/log.h"

namespace glm::sampling {
namespace {

constexpr int kMaxDepth = 100;                 // nested groups (the parser recurses)
constexpr size_t kMaxRules = 1000;             // rule k is the marker character U+F0000 + k
constexpr uint32_t kMarker = 0xF0000;          // plane 15 private use: refused in grammars

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

  RegexNfa run() {
    skip_space();
    while (pos_ < s_.size()) {
      const std::string name = rule_name();
      skip_space();
      if (!consume("::=")) refuse(fmt::format("expected ::= after rule name '{}' (at byte {})", name, pos_));
      if (index_.count(name)) refuse(fmt::format("rule '{}' is defined twice", name));
      if (names_.size() >= kMaxRules) refuse(fmt::format("more than {} rules", kMaxRules));
      index_[name] = int(names_.size());
      names_.push_back(name);
      bodies_.push_back(alternatives(/*in_group=*/false));
      skip_space();
    }
    if (!index_.count("root")) refuse("no 'root' rule");
    return link();
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
  // One character of a literal or class, escapes resolved. Plane 15 (private use) is reserved: rule
  // references are spelled with it inside the compiler.
  uint32_t character(bool in_class) {
    const uint32_t cp = character_unchecked(in_class);
    if (cp >= 0xF0000 && cp <= 0xFFFFF) refuse(fmt::format("U+{:X}: private-use plane 15 is reserved", cp));
    return cp;
  }
  uint32_t character_unchecked(bool in_class) {
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
      } else if (c == '.') {  // llama.cpp's GBNF: any one character (xgrammar has no such element)
        ++pos_;
        item.push_back({"[" + literal(0) + "-" + literal(0x10FFFF) + "]", false});
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

  // Each rule becomes its own NFA, a reference to rule k a marker character U+F0000 + k in its regular
  // expression; the NFAs are put side by side and each marker's byte chain becomes a call of rule k that
  // returns after the marker. The root rule's start and end are the NFA's.
  RegexNfa link() {
    RegexNfa out;
    std::vector<int32_t> starts, ends;
    for (size_t r = 0; r < bodies_.size(); ++r) {
      std::string pattern;
      for (const Piece& p : bodies_[r]) {
        if (!p.ref) {
          pattern += p.text;
          continue;
        }
        auto it = index_.find(p.text);
        if (it == index_.end()) refuse(fmt::format("rule '{}' is used but not defined", p.text));
        pattern += "(?:" + literal(kMarker + uint32_t(it->second)) + ")";
      }
      RegexNfa nfa = RegexNfa::compile(pattern);
      const auto offset = int32_t(out.states.size());
      if (out.states.size() + nfa.states.size() > RegexNfa::kMaxStates)
        refuse(fmt::format("the grammar needs more than {} automaton states", RegexNfa::kMaxStates));
      for (RegexNfa::State st : nfa.states) {
        if (st.next >= 0) st.next += offset;
        for (int32_t& e : st.eps) e += offset;
        out.states.push_back(std::move(st));
      }
      starts.push_back(nfa.start + offset);
      ends.push_back(nfa.accept + offset);
      out.states[size_t(nfa.accept + offset)].returns = true;
    }
    for (RegexNfa::State& st : out.states) {
      // A marker: four single-byte edges F3 (B0+a) (80+b) (80+c) = U+F0000 + (a << 12 | b << 6 | c).
      // (Plane 15 is refused in the grammar's own text, so these chains are all markers.)
      if (!(st.lo == 0xF3 && st.hi == 0xF3)) continue;
      const RegexNfa::State& b1 = out.states[size_t(st.next)];
      if (!(b1.lo == b1.hi && b1.lo >= 0xB0 && b1.lo <= 0xBF)) continue;  // planes 12-14: text
      const RegexNfa::State& b2 = out.states[size_t(b1.next)];
      const RegexNfa::State& b3 = out.states[size_t(b2.next)];
      const uint32_t k = (uint32_t(b1.lo - 0xB0) << 12) | (uint32_t(b2.lo - 0x80) << 6) | uint32_t(b3.lo - 0x80);
      if (b2.lo != b2.hi || b3.lo != b3.hi || k >= starts.size())
        fail(ErrorKind::Internal, "ebnf: a rule marker did not compile to its byte chain");
      st.call = starts[k];
      st.next = b3.next;
      st.lo = 1;
      st.hi = 0;  // no byte edge
    }
    refuse_left_recursion(out, starts, ends);
    const int root = index_.at("root");
    out.start = starts[size_t(root)];
    out.accept = ends[size_t(root)];
    return out;
  }

  // A rule that can call itself before reading a byte (a ::= a "x" | ...) would make the call stack grow
  // without input: refused, as grammars for top-down parsers are. Nullable rules (that can match nothing)
  // are passed through when looking for the first call.
  void refuse_left_recursion(const RegexNfa& nfa, const std::vector<int32_t>& starts, const std::vector<int32_t>& ends) {
    const size_t n = starts.size();
    std::vector<int32_t> rule_of_start(nfa.states.size(), -1);
    for (size_t r = 0; r < n; ++r) rule_of_start[size_t(starts[r])] = int32_t(r);
    // From a rule's start, without reading a byte: the rule end reachable? which rules are called first?
    // A walk stays inside rule r's own states (calls are stepped over, not entered): one pass over all rules
    // costs the NFA's size; the marks are reset through the list of states touched.
    std::vector<uint8_t> seen(nfa.states.size(), 0);
    std::vector<int32_t> touched, work;
    auto first_steps = [&](size_t r, const std::vector<uint8_t>& nullable, std::vector<int32_t>* calls) {
      for (int32_t s : touched) seen[size_t(s)] = 0;
      touched.clear();
      work.assign(1, starts[r]);
      bool reaches_end = false;
      while (!work.empty()) {
        const int32_t s = work.back();
        work.pop_back();
        if (seen[size_t(s)]) continue;
        seen[size_t(s)] = 1;
        touched.push_back(s);
        const RegexNfa::State& st = nfa.states[size_t(s)];
        if (s == ends[r]) reaches_end = true;
        for (int32_t e : st.eps) work.push_back(e);
        if (st.call >= 0) {
          const int32_t callee = rule_of_start[size_t(st.call)];
          if (calls) calls->push_back(callee);
          if (nullable[size_t(callee)]) work.push_back(st.next);
        }
      }
      return reaches_end;
    };
    std::vector<uint8_t> nullable(n, 0);
    for (bool changed = true; changed;) {  // at most one pass per rule (kMaxRules), usually two or three
      changed = false;
      for (size_t r = 0; r < n; ++r)
        if (!nullable[r] && first_steps(r, nullable, nullptr)) nullable[r] = changed = true;
    }
    std::vector<std::vector<int32_t>> first_calls(n);
    for (size_t r = 0; r < n; ++r) first_steps(r, nullable, &first_calls[r]);
    std::vector<int> mark(n, 0);  // 1: on the path, 2: done
    std::vector<std::pair<size_t, size_t>> stack;
    for (size_t r0 = 0; r0 < n; ++r0) {
      if (mark[r0]) continue;
      stack.push_back({r0, 0});
      mark[r0] = 1;
      while (!stack.empty()) {
        auto& [r, i] = stack.back();
        if (i == first_calls[r].size()) {
          mark[r] = 2;
          stack.pop_back();
          continue;
        }
        const auto k = size_t(first_calls[r][i++]);
        if (mark[k] == 1) refuse(fmt::format("rule '{}' is left-recursive (it can call itself before reading any "
                                             "text); rewrite it as a repetition", names_[k]));
        if (mark[k] == 0) {
          mark[k] = 1;
          stack.push_back({k, 0});
        }
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::map<std::string, int> index_;
  std::vector<std::string> names_;
  std::vector<Body> bodies_;
};

}  // namespace

RegexNfa compile_ebnf(std::string_view grammar) { return EbnfParser(grammar).run(); }

}  // namespace glm::sampling
