#include "sampling/regex_nfa.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/error.h"

namespace glm::sampling {
namespace {

constexpr uint32_t kMaxCodepoint = 0x10FFFF;
constexpr int kMaxRepeat = 1000;
using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;  // code point ranges, inclusive

struct Node {
  enum Kind { Empty, Literal, Class, Concat, Alt, Repeat } kind = Empty;
  std::string bytes;        // Literal: UTF-8 bytes
  Ranges ranges;            // Class: sorted, disjoint, no surrogates
  std::vector<Node> kids;   // Concat / Alt / Repeat (one kid)
  int min = 0, max = -1;    // Repeat; max -1 = unbounded
};

Ranges normalize(Ranges r) {
  // Drop surrogates (not encodable in UTF-8), sort, merge.
  Ranges split;
  for (auto [lo, hi] : r) {
    if (lo > hi) continue;
    if (lo < 0xD800 && hi > 0xDFFF) {
      split.push_back({lo, 0xD7FF});
      split.push_back({0xE000, hi});
    } else if (lo >= 0xD800 && hi <= 0xDFFF) {
      continue;
    } else if (lo >= 0xD800 && lo <= 0xDFFF) {
      split.push_back({0xE000, hi});
    } else if (hi >= 0xD800 && hi <= 0xDFFF) {
      split.push_back({lo, 0xD7FF});
    } else {
      split.push_back({lo, hi});
    }
  }
  std::sort(split.begin(), split.end());
  Ranges out;
  for (auto r2 : split) {
    if (!out.empty() && r2.first <= out.back().second + 1) out.back().second = std::max(out.back().second, r2.second);
    else out.push_back(r2);
  }
  return out;
}

Ranges complement(const Ranges& r) {
  Ranges out;
  uint32_t next = 0;
  for (auto [lo, hi] : normalize(r)) {
    if (lo > next) out.push_back({next, lo - 1});
    next = hi + 1;
  }
  if (next <= kMaxCodepoint) out.push_back({next, kMaxCodepoint});
  return normalize(out);
}

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xF0 | (cp >> 18));
    s += char(0x80 | ((cp >> 12) & 0x3F));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

// A code point range as sequences of byte ranges (each sequence one UTF-8 length, each position a byte
// range): split at the length boundaries, then wherever lo and hi differ above a continuation-byte
// boundary that they do not both sit on, until every position varies independently.
void utf8_sequences(uint32_t lo, uint32_t hi, std::vector<std::vector<std::pair<uint8_t, uint8_t>>>& out) {
  for (uint32_t b : {0x7Fu, 0x7FFu, 0xFFFFu}) {
    if (lo <= b && hi > b) {
      utf8_sequences(lo, b, out);
      utf8_sequences(b + 1, hi, out);
      return;
    }
  }
  if (hi <= 0x7F) {
    out.push_back({{uint8_t(lo), uint8_t(hi)}});
    return;
  }
  const int n = hi <= 0x7FF ? 2 : hi <= 0xFFFF ? 3 : 4;
  for (int i = 1; i < n; ++i) {
    const uint32_t m = (1u << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        utf8_sequences(lo, lo | m, out);
        utf8_sequences((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        utf8_sequences(lo, (hi & ~m) - 1, out);
        utf8_sequences(hi & ~m, hi, out);
        return;
      }
    }
  }
  const std::string a = utf8(lo), b = utf8(hi);
  std::vector<std::pair<uint8_t, uint8_t>> seq;
  for (size_t i = 0; i < a.size(); ++i) seq.push_back({uint8_t(a[i]), uint8_t(b[i])});
  out.push_back(std::move(seq));
}

class Parser {
 public:
  explicit Parser(std::string_view p) : p_(p) {}

  Node parse() {
    if (peek() == '^') ++i_;
    Node n = alternation();
    if (i_ < p_.size()) error(p_[i_] == ')' ? "unbalanced parenthesis" : "unexpected character");
    return n;
  }

 private:
  [[noreturn]] void error(std::string_view what) const {
    fail(ErrorKind::InvalidArgument, "regex {:?}: {} at position {}", std::string(p_), what, i_);
  }
  [[noreturn]] void unsupported(std::string_view what) const {
    fail(ErrorKind::InvalidArgument, "regex {:?}: {} (position {}) is not supported for constrained decoding",
         std::string(p_), what, i_);
  }
  int peek(size_t ahead = 0) const { return i_ + ahead < p_.size() ? uint8_t(p_[i_ + ahead]) : -1; }
  bool at_end() const { return i_ >= p_.size(); }

  Node alternation() {
    Node first = concatenation();
    if (peek() != '|') return first;
    Node alt;
    alt.kind = Node::Alt;
    alt.kids.push_back(std::move(first));
    while (peek() == '|') {
      ++i_;
      alt.kids.push_back(concatenation());
    }
    return alt;
  }

  Node concatenation() {
    Node cat;
    cat.kind = Node::Concat;
    while (!at_end() && peek() != '|' && peek() != ')') {
      if (peek() == '$') {
        ++i_;
        if (!at_end()) unsupported("'$' before the end of the pattern");
        break;
      }
      cat.kids.push_back(repetition());
    }
    if (cat.kids.size() == 1) return std::move(cat.kids[0]);
    if (cat.kids.empty()) return Node{};
    return cat;
  }

  // {n}, {n,}, {,m}, {n,m} at i_ (on '{'); false (i_ unchanged) when it is not a quantifier (then '{'
  // is a literal, as in Python).
  bool bounds(int& lo, int& hi) {
    size_t j = i_ + 1;
    auto number = [&](int& v) {
      size_t s = j;
      long long x = 0;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') x = std::min<long long>(x * 10 + (p_[j++] - '0'), 1 << 30);
      v = int(x);
      return j > s;
    };
    int a = 0, b = -1;
    const bool has_a = number(a);
    if (j < p_.size() && p_[j] == ',') {
      ++j;
      if (!number(b)) b = -1;
    } else {
      if (!has_a) return false;
      b = a;
    }
    if (j >= p_.size() || p_[j] != '}') return false;
    i_ = j + 1;
    lo = a;
    hi = b;
    return true;
  }

  Node repetition() {
    Node atom_node = atom();
    for (;;) {
      int lo, hi;
      const int c = peek();
      if (c == '*') { lo = 0; hi = -1; ++i_; }
      else if (c == '+') { lo = 1; hi = -1; ++i_; }
      else if (c == '?') { lo = 0; hi = 1; ++i_; }
      else if (c == '{' && bounds(lo, hi)) {}
      else return atom_node;
      if (hi >= 0 && hi < lo) error("min repeat greater than max repeat");
      if (lo > kMaxRepeat || hi > kMaxRepeat) unsupported("a repeat count above 1000");
      if (peek() == '?') ++i_;                  // lazy: same language
      else if (peek() == '+') unsupported("a possessive quantifier");
      if (peek() == '*' || peek() == '+' || peek() == '?' || (peek() == '{' && looks_like_bounds()))
        error("multiple repeat");
      Node rep;
      rep.kind = Node::Repeat;
      rep.min = lo;
      rep.max = hi;
      rep.kids.push_back(std::move(atom_node));
      atom_node = std::move(rep);
    }
  }

  bool looks_like_bounds() {
    const size_t save = i_;
    int a, b;
    const bool ok = bounds(a, b);
    i_ = save;
    return ok;
  }

  Node atom() {
    const int c = peek();
    if (c == '(') return group();
    if (c == '[') return char_class();
    if (c == '.') {
      ++i_;
      return class_node(complement({{'\n', '\n'}}));
    }
    if (c == '\\') return escape_atom();
    if (c == '*' || c == '+' || c == '?') error("nothing to repeat");
    if (c == '^') unsupported("'^' after the start of the pattern");
    Node n;
    n.kind = Node::Literal;
    n.bytes = utf8(codepoint());
    return n;
  }

  static Node class_node(Ranges r) {
    Node n;
    n.kind = Node::Class;
    n.ranges = normalize(std::move(r));
    return n;
  }

  Node group() {
    // The parser and the NFA builder recurse once per group level: bound it so that a hostile pattern
    // cannot exhaust the stack of the server thread that compiles it.
    if (++depth_ > kMaxNesting) unsupported("nesting groups more than 100 deep");
    ++i_;  // '('
    if (peek() == '?') {
      const int n1 = peek(1), n2 = peek(2);
      if (n1 == ':') {
        i_ += 2;
      } else if (n1 == 'P' && n2 == '<') {
        skip_group_name(3);
      } else if (n1 == '<' && n2 != '=' && n2 != '!') {
        skip_group_name(2);
      } else if (n1 == '=' || n1 == '!' || (n1 == '<' && (n2 == '=' || n2 == '!'))) {
        unsupported("lookaround");
      } else if (n1 == 'P' && n2 == '=') {
        unsupported("a backreference");
      } else {
        unsupported("an inline flag or extension group");
      }
    }
    Node inner = alternation();
    if (peek() != ')') error("missing ), unterminated subpattern");
    ++i_;
    --depth_;
    return inner;
  }

  void skip_group_name(size_t skip) {
    i_ += skip;
    while (!at_end() && peek() != '>') ++i_;
    if (at_end()) error("missing >, unterminated name");
    ++i_;
  }

  // One UTF-8 character of the pattern as a code point.
  uint32_t codepoint() {
    const uint8_t b0 = uint8_t(p_[i_]);
    int len = b0 < 0x80 ? 1 : (b0 >> 5) == 6 ? 2 : (b0 >> 4) == 14 ? 3 : (b0 >> 3) == 30 ? 4 : 0;
    if (len == 0 || i_ + size_t(len) > p_.size()) error("invalid UTF-8 in the pattern");
    uint32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (int k = 1; k < len; ++k) {
      const uint8_t b = uint8_t(p_[i_ + size_t(k)]);
      if ((b & 0xC0) != 0x80) error("invalid UTF-8 in the pattern");
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > kMaxCodepoint || (cp >= 0xD800 && cp <= 0xDFFF)) error("invalid UTF-8 in the pattern");
    i_ += size_t(len);
    return cp;
  }

  uint32_t hex_digits(int n) {
    uint32_t v = 0;
    for (int k = 0; k < n; ++k) {
      const int c = peek();
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) error("incomplete hex escape");
      v = v * 16 + uint32_t(d);
      ++i_;
    }
    if (v > kMaxCodepoint) error("escape beyond U+10FFFF");
    return v;
  }

  static Ranges digit() { return {{'0', '9'}}; }
  static Ranges word() { return {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; }
  static Ranges space() { return {{'\t', '\r'}, {' ', ' '}}; }

  // After '\\' (consumed): a class escape fills `set` and returns true; a single character returns false
  // with it in `cp`. in_class: \b is backspace there.
  bool escape(Ranges& set, uint32_t& cp, bool in_class) {
    if (at_end()) error("bad escape (end of pattern)");
    const int c = peek();
    ++i_;
    switch (c) {
      case 'd': set = digit(); return true;
      case 'D': set = complement(digit()); return true;
      case 'w': set = word(); return true;
      case 'W': set = complement(word()); return true;
      case 's': set = space(); return true;
      case 'S': set = complement(space()); return true;
      case 'n': cp = '\n'; return false;
      case 't': cp = '\t'; return false;
      case 'r': cp = '\r'; return false;
      case 'f': cp = '\f'; return false;
      case 'v': cp = '\v'; return false;
      case 'a': cp = '\a'; return false;
      case '0': cp = 0; return false;
      case 'x': cp = hex_digits(2); return false;
      case 'u': cp = hex_digits(4); return false;
      case 'U': cp = hex_digits(8); return false;
      case 'b':
        if (in_class) { cp = '\b'; return false; }
        --i_;
        unsupported("\\b (word boundary)");
      default: break;
    }
    if (c >= '1' && c <= '9') { --i_; unsupported("a backreference"); }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      --i_;
      if (c == 'B' || c == 'A' || c == 'Z' || c == 'z' || c == 'G') unsupported(std::string("\\") + char(c));
      error(std::string("bad escape \\") + char(c));
    }
    --i_;
    cp = codepoint();  // an escaped punctuation or other character stands for itself
    return false;
  }

  Node escape_atom() {
    ++i_;  // '\\'
    Ranges set;
    uint32_t cp = 0;
    if (escape(set, cp, false)) return class_node(std::move(set));
    Node n;
    n.kind = Node::Literal;
    n.bytes = utf8(cp);
    return n;
  }

  Node char_class() {
    ++i_;  // '['
    bool negate = false;
    if (peek() == '^') {
      negate = true;
      ++i_;
    }
    Ranges set;
    bool first = true;
    for (;;) {
      if (at_end()) error("unterminated character set");
      if (peek() == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      // One member: a class escape, or a character possibly starting a range.
      uint32_t lo = 0;
      if (peek() == '\\') {
        ++i_;
        Ranges sub;
        if (escape(sub, lo, true)) {
          set.insert(set.end(), sub.begin(), sub.end());
          continue;
        }
      } else {
        lo = codepoint();
      }
      if (peek() == '-' && peek(1) != ']' && peek(1) != -1) {
        ++i_;
        uint32_t hi = 0;
        if (peek() == '\\') {
          ++i_;
          Ranges sub;
          if (escape(sub, hi, true)) error("bad character range");
        } else {
          hi = codepoint();
        }
        if (hi < lo) error("bad character range");
        set.push_back({lo, hi});
      } else {
        set.push_back({lo, lo});
      }
    }
    return class_node(negate ? complement(set) : set);
  }

  static constexpr int kMaxNesting = 100;
  std::string_view p_;
  size_t i_ = 0;
  int depth_ = 0;
};

class Builder {
 public:
  explicit Builder(RegexNfa& nfa, std::string_view pattern) : nfa_(nfa), pattern_(pattern) {}

  int32_t add() {
    if (nfa_.states.size() >= RegexNfa::kMaxStates)
      fail(ErrorKind::InvalidArgument, "regex {:?} is too large (more than {} automaton states); use smaller repeat "
           "counts", std::string(pattern_), RegexNfa::kMaxStates);
    nfa_.states.emplace_back();
    return int32_t(nfa_.states.size() - 1);
  }
  int32_t byte_edge(uint8_t lo, uint8_t hi, int32_t next) {
    const int32_t s = add();
    nfa_.states[size_t(s)].lo = lo;
    nfa_.states[size_t(s)].hi = hi;
    nfa_.states[size_t(s)].next = next;
    return s;
  }

  // Builds `n` so that it continues to `next`; returns its entry state (built back to front, so a
  // node can be instantiated several times for bounded repeats).
  int32_t build(const Node& n, int32_t next) {
    switch (n.kind) {
      case Node::Empty:
        return next;
      case Node::Literal: {
        int32_t cur = next;
        for (size_t i = n.bytes.size(); i-- > 0;) cur = byte_edge(uint8_t(n.bytes[i]), uint8_t(n.bytes[i]), cur);
        return cur;
      }
      case Node::Class: {
        std::vector<std::vector<std::pair<uint8_t, uint8_t>>> seqs;
        for (auto [lo, hi] : n.ranges) utf8_sequences(lo, hi, seqs);
        std::vector<int32_t> entries;
        for (const auto& seq : seqs) {
          int32_t cur = next;
          for (size_t i = seq.size(); i-- > 0;) cur = byte_edge(seq[i].first, seq[i].second, cur);
          entries.push_back(cur);
        }
        if (entries.size() == 1) return entries[0];
        const int32_t s = add();
        nfa_.states[size_t(s)].eps = std::move(entries);  // empty class: a state without edges, matches nothing
        return s;
      }
      case Node::Concat: {
        int32_t cur = next;
        for (size_t i = n.kids.size(); i-- > 0;) cur = build(n.kids[i], cur);
        return cur;
      }
      case Node::Alt: {
        std::vector<int32_t> entries;
        for (const Node& k : n.kids) entries.push_back(build(k, next));
        const int32_t s = add();
        nfa_.states[size_t(s)].eps = std::move(entries);
        return s;
      }
      case Node::Repeat: {
        const Node& body = n.kids[0];
        int32_t cur = next;
        if (n.max < 0) {
          const int32_t loop = add();
          const int32_t entry = build(body, loop);
          nfa_.states[size_t(loop)].eps = {entry, next};
          cur = loop;
        } else {
          for (int i = n.min; i < n.max; ++i) {  // optional copies: take one more, or stop here
            const int32_t entry = build(body, cur);
            const int32_t opt = add();
            nfa_.states[size_t(opt)].eps = {entry, cur};
            cur = opt;
          }
        }
        for (int i = 0; i < n.min; ++i) cur = build(body, cur);
        return cur;
      }
    }
    return next;
  }

 private:
  RegexNfa& nfa_;
  std::string_view pattern_;
};

}  // namespace

bool ends_with_anchor(std::string_view p) {
  if (p.empty() || p.back() != '$') return false;
  size_t slashes = 0;
  for (size_t i = p.size() - 1; i > 0 && p[i - 1] == '\\'; --i) ++slashes;
  return slashes % 2 == 0;
}

RegexNfa RegexNfa::compile_search(std::string_view pattern, bool any_suffix) {
  RegexNfa nfa = compile(pattern);
  if (pattern.empty() || pattern[0] != '^') {  // a new start: loops on every byte, enters the pattern anywhere
    State loop;
    loop.lo = 0;
    loop.hi = 255;
    loop.next = int32_t(nfa.states.size());
    loop.eps.push_back(nfa.start);
    nfa.states.push_back(std::move(loop));
    nfa.start = int32_t(nfa.states.size()) - 1;
  }
  if (any_suffix && !ends_with_anchor(pattern)) {  // a new accepting state that any further byte keeps
    State tail;
    tail.lo = 0;
    tail.hi = 255;
    tail.next = int32_t(nfa.states.size());
    nfa.states.push_back(std::move(tail));
    nfa.states[size_t(nfa.accept)].eps.push_back(int32_t(nfa.states.size()) - 1);
    nfa.accept = int32_t(nfa.states.size()) - 1;
  }
  return nfa;
}

RegexNfa RegexNfa::compile(std::string_view pattern) {
  Node root = Parser(pattern).parse();
  RegexNfa nfa;
  Builder b(nfa, pattern);
  nfa.accept = b.add();
  nfa.start = b.build(root, nfa.accept);
  return nfa;
}

}  // namespace glm::sampling
