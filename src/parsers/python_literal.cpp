#include "parsers/python_literal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>
#include <limits>
#include <string>

namespace glm::parsers {

namespace {

class LiteralReader {
 public:
  explicit LiteralReader(std::string_view text) : s_(text) {}

  std::optional<Json> parse() {
    // literal_eval strips leading spaces and tabs before parsing.
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    auto v = parse_expr(0);
    if (!v) return std::nullopt;
    skip_ws();
    if (pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  static constexpr int kMaxDepth = 200;
  std::string_view s_;
  size_t pos_ = 0;

  void skip_ws() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '\\' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') {
        pos_ += 2;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  bool peek(char c) {
    skip_ws();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool accept(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  static bool ident_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
  }
  bool accept_word(std::string_view w) {
    skip_ws();
    if (s_.substr(pos_, w.size()) != w) return false;
    if (pos_ + w.size() < s_.size() && ident_char(s_[pos_ + w.size()])) return false;
    pos_ += w.size();
    return true;
  }

  std::optional<Json> parse_expr(int depth) {
    if (depth > kMaxDepth) return std::nullopt;
    skip_ws();
    if (pos_ >= s_.size()) return std::nullopt;
    char c = s_[pos_];
    if (c == '+' || c == '-') {
      ++pos_;
      auto operand = parse_expr(depth + 1);
      if (operand && is_big_int(*operand)) {
        if (c == '+') return operand;
        std::string digits = operand->begin().value().get<std::string>();
        return make_big_int(digits[0] == '-' ? digits.substr(1) : "-" + digits);
      }
      if (!operand || !operand->is_number() || operand->is_boolean()) return std::nullopt;
      if (c == '+') return operand;
      if (operand->is_number_float()) return Json(-operand->get<double>());
      if (operand->is_number_unsigned()) {
        uint64_t u = operand->get<uint64_t>();
        if (u == (uint64_t{1} << 63)) return Json(std::numeric_limits<int64_t>::min());
        return make_big_int(fmt::format("-{}", u));
      }
      int64_t i = operand->get<int64_t>();
      return Json(-i);
    }
    if (c == '[') return parse_sequence(']', depth);
    if (c == '(') return parse_paren(depth);
    if (c == '{') return parse_dict(depth);
    if (accept_word("True")) return Json(true);
    if (accept_word("False")) return Json(false);
    if (accept_word("None")) return Json(nullptr);
    if ((c >= '0' && c <= '9') || (c == '.' && pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9'))
      return parse_number();
    return parse_strings();
  }

  std::optional<Json> parse_sequence(char close, int depth) {
    ++pos_;
    Json arr = Json::array();
    while (true) {
      if (accept(close)) return arr;
      auto v = parse_expr(depth + 1);
      if (!v) return std::nullopt;
      arr.push_back(std::move(*v));
      if (accept(',')) continue;
      if (accept(close)) return arr;
      return std::nullopt;
    }
  }

  std::optional<Json> parse_paren(int depth) {
    ++pos_;
    if (accept(')')) return Json::array();
    auto first = parse_expr(depth + 1);
    if (!first) return std::nullopt;
    if (accept(')')) return first;  // parenthesised expression, not a tuple
    if (!accept(',')) return std::nullopt;
    Json arr = Json::array();
    arr.push_back(std::move(*first));
    while (true) {
      if (accept(')')) return arr;
      auto v = parse_expr(depth + 1);
      if (!v) return std::nullopt;
      arr.push_back(std::move(*v));
      if (accept(',')) continue;
      if (accept(')')) return arr;
      return std::nullopt;
    }
  }

  // json.dumps converts str/int/float/bool/None keys; anything else raises TypeError.
  static std::optional<std::string> key_text(const Json& key) {
    if (key.is_string()) return key.get<std::string>();
    if (key.is_boolean()) return key.get<bool>() ? "true" : "false";
    if (key.is_null()) return "null";
    if (key.is_number() || is_big_int(key)) return python_json_dumps(key);
    return std::nullopt;
  }

  // Python dict identity of a key: True == 1 == 1.0 hash alike; the first key object is kept.
  static std::string key_identity(const Json& key) {
    if (key.is_string()) return fmt::format("s{}", key.get<std::string>());
    if (key.is_boolean()) return fmt::format("n{}", key.get<bool>() ? 1.0 : 0.0);
    if (key.is_number()) return fmt::format("n{}", key.get<double>());
    if (is_big_int(key)) return fmt::format("b{}", python_json_dumps(key));
    return "z";
  }

  std::optional<Json> parse_dict(int depth) {
    ++pos_;
    Json obj = Json::object();
    std::vector<std::pair<std::string, std::string>> identities;  // identity -> JSON key text
    if (accept('}')) return obj;
    while (true) {
      auto key = parse_expr(depth + 1);
      if (!key) return std::nullopt;
      if (!accept(':')) return std::nullopt;  // a set literal: not JSON-serialisable
      auto value = parse_expr(depth + 1);
      if (!value) return std::nullopt;
      auto k = key_text(*key);
      if (!k) return std::nullopt;
      const std::string identity = key_identity(*key);
      auto same = std::find_if(identities.begin(), identities.end(), [&](const auto& e) { return e.first == identity; });
      if (same != identities.end()) {
        k = same->second;
      } else {
        identities.emplace_back(identity, *k);
      }
      obj[*k] = std::move(*value);
      if (accept(',')) {
        if (accept('}')) return obj;
        continue;
      }
      if (accept('}')) return obj;
      return std::nullopt;
    }
  }

  std::optional<Json> parse_number() {
    size_t start = pos_;
    auto digits_run = [&](auto is_ok) {
      std::string out;
      size_t run_start = pos_;
      while (pos_ < s_.size()) {
        char c = s_[pos_];
        if (is_ok(c)) {
          out.push_back(c);
          ++pos_;
        } else if (c == '_' && pos_ > run_start && pos_ + 1 < s_.size() && is_ok(s_[pos_ + 1])) {
          ++pos_;
        } else {
          break;
        }
      }
      return out;
    };
    auto dec = [](char c) { return c >= '0' && c <= '9'; };
    if (s_[pos_] == '0' && pos_ + 1 < s_.size()) {
      char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_ + 1])));
      int base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
      if (base) {
        pos_ += 2;
        if (pos_ < s_.size() && s_[pos_] == '_') ++pos_;
        std::string d = digits_run([base](char c) {
          int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : std::isalpha(static_cast<unsigned char>(c)) ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                                                                : 99;
          return v < base;
        });
        if (d.empty() || (pos_ < s_.size() && ident_char(s_[pos_]))) return std::nullopt;
        if (d.size() > 15) return std::nullopt;  // beyond what tool arguments plausibly hold
        return Json(static_cast<int64_t>(std::stoll(d, nullptr, base)));
      }
    }
    std::string text = digits_run(dec);
    bool is_float = false;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      text.push_back('.');
      text += digits_run(dec);
      is_float = true;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t save = pos_;
      ++pos_;
      std::string exp = "e";
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) exp.push_back(s_[pos_++]);
      std::string d = digits_run(dec);
      if (d.empty()) {
        pos_ = save;
      } else {
        text += exp + d;
        is_float = true;
      }
    }
    if (pos_ < s_.size() && ident_char(s_[pos_])) return std::nullopt;  // 1j, 1abc
    if (text.empty() || text == ".") { pos_ = start; return std::nullopt; }
    if (is_float) return python_float_from_string(text);
    // Decimal ints may not have leading zeros (except 0, 00, ...).
    if (text.size() > 1 && text[0] == '0' && text.find_first_not_of('0') != std::string::npos) return std::nullopt;
    return python_int_from_string(text);
  }

  std::optional<Json> parse_strings() {
    std::string out;
    bool any = false;
    while (true) {
      skip_ws();
      size_t save = pos_;
      bool raw = false;
      while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) {
        char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_])));
        if (p == 'r') raw = true;
        else if (p != 'u') { pos_ = save; return any ? std::optional<Json>(Json(out)) : std::nullopt; }
        ++pos_;
        if (pos_ - save > 2) { pos_ = save; return std::nullopt; }
      }
      if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) {
        pos_ = save;
        if (!any) return std::nullopt;
        return Json(out);
      }
      if (!parse_one_string(raw, out)) return std::nullopt;
      any = true;
    }
  }

  bool parse_one_string(bool raw, std::string& out) {
    char q = s_[pos_];
    bool triple = s_.substr(pos_, 3) == std::string(3, q);
    pos_ += triple ? 3 : 1;
    while (true) {
      if (pos_ >= s_.size()) return false;
      char c = s_[pos_];
      if (c == q) {
        if (!triple) { ++pos_; return true; }
        if (s_.substr(pos_, 3) == std::string(3, q)) { pos_ += 3; return true; }
        out.push_back(c);
        ++pos_;
        continue;
      }
      if (c == '\n' && !triple) return false;
      if (c != '\\') { out.push_back(c); ++pos_; continue; }
      if (pos_ + 1 >= s_.size()) return false;
      char e = s_[pos_ + 1];
      if (raw) {
        // Raw strings keep the backslash; it only stops the quote from closing the string.
        out.push_back('\\');
        out.push_back(e);
        pos_ += 2;
        continue;
      }
      pos_ += 2;
      switch (e) {
        case '\n': break;
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case 'x': case 'u': case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (pos_ + n > s_.size()) return false;
          uint32_t cp = 0;
          for (size_t i = 0; i < n; ++i) {
            char h = s_[pos_ + i];
            int v = std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                    : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                    : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
            if (v < 0) return false;
            cp = cp * 16 + static_cast<uint32_t>(v);
          }
          pos_ += n;
          if (cp > 0x10FFFF) return false;
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
          append_utf8(out, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '7'; ++i)
              cp = cp * 8 + static_cast<uint32_t>(s_[pos_++] - '0');
            append_utf8(out, cp);
          } else if (e == 'N') {
            return false;  // named escapes need the Unicode database
          } else {
            out.push_back('\\');  // unknown escapes keep the backslash (with a SyntaxWarning)
            out.push_back(e);
          }
      }
    }
  }
};

}  // namespace

std::optional<Json> python_literal_eval(std::string_view text) {
  try {
    return LiteralReader(text).parse();
  } catch (const std::exception&) {
    return std::nullopt;  // e.g. std::stoll out of range
  }
}

}  // namespace glm::parsers
