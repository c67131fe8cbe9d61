#include "parsers/python_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace glm::parsers {

namespace {

constexpr const char* kBigIntKey = "\x01python_int";

bool is_json_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Integer text (optional '-', digits) -> int64/uint64 or big-int digits.
Json integer_from_digits(std::string_view digits) {
  bool negative = !digits.empty() && digits[0] == '-';
  if (negative) {
    int64_t v = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (r.ec == std::errc() && r.ptr == digits.data() + digits.size()) return Json(v);
  } else {
    uint64_t v = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (r.ec == std::errc() && r.ptr == digits.data() + digits.size()) {
      if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Json(static_cast<int64_t>(v));
      return Json(v);
    }
  }
  // Strip leading zeros (Python int("007") == 7) but keep the sign.
  std::string clean;
  size_t i = 0;
  if (negative) { clean.push_back('-'); i = 1; }
  while (i + 1 < digits.size() && digits[i] == '0') ++i;
  clean.append(digits.substr(i));
  return make_big_int(std::move(clean));
}

double parse_double(std::string_view text) {
  std::string s(text);
  return std::strtod(s.c_str(), nullptr);  // overflow gives +-inf, as Python's float() does
}

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  std::optional<Json> parse_document() {
    skip_ws();
    auto value = parse_value(0);
    if (!value) return std::nullopt;
    skip_ws();
    if (pos_ != s_.size()) return std::nullopt;  // "Extra data"
    return value;
  }

 private:
  static constexpr int kMaxDepth = 512;
  std::string_view s_;
  size_t pos_ = 0;

  void skip_ws() {
    while (pos_ < s_.size() && is_json_ws(s_[pos_])) ++pos_;
  }
  bool consume(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<Json> parse_value(int depth) {
    if (depth > kMaxDepth || pos_ >= s_.size()) return std::nullopt;
    char c = s_[pos_];
    if (c == '"') {
      auto str = parse_string();
      if (!str) return std::nullopt;
      return Json(std::move(*str));
    }
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (consume("null")) return Json(nullptr);
    if (consume("true")) return Json(true);
    if (consume("false")) return Json(false);
    if (consume("NaN")) return Json(std::numeric_limits<double>::quiet_NaN());
    if (consume("Infinity")) return Json(std::numeric_limits<double>::infinity());
    if (consume("-Infinity")) return Json(-std::numeric_limits<double>::infinity());
    if (c == '-' || is_digit(c)) return parse_number();
    return std::nullopt;
  }

  // Python's NUMBER_RE: (-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?
  std::optional<Json> parse_number() {
    size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !is_digit(s_[pos_])) return std::nullopt;
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    size_t int_end = pos_;
    bool is_float = false;
    if (pos_ + 1 < s_.size() && s_[pos_] == '.' && is_digit(s_[pos_ + 1])) {
      pos_ += 1;
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
      is_float = true;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
      if (p < s_.size() && is_digit(s_[p])) {
        while (p < s_.size() && is_digit(s_[p])) ++p;
        pos_ = p;
        is_float = true;
      }
    }
    if (!is_float) return integer_from_digits(s_.substr(start, int_end - start));
    return Json(parse_double(s_.substr(start, pos_ - start)));
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  std::optional<uint32_t> parse_hex4() {
    if (pos_ + 4 > s_.size()) return std::nullopt;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hex_value(s_[pos_ + i]);
      if (h < 0) return std::nullopt;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    return v;
  }

  std::optional<std::string> parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) return std::nullopt;
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') { ++pos_; return out; }
      if (c < 0x20) return std::nullopt;  // strict=True: control characters are not allowed
      if (c != '\\') { out.push_back(static_cast<char>(c)); ++pos_; continue; }
      ++pos_;
      if (pos_ >= s_.size()) return std::nullopt;
      char e = s_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          auto u = parse_hex4();
          if (!u) return std::nullopt;
          char32_t cp = *u;
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            size_t save = pos_;
            pos_ += 2;
            auto lo = parse_hex4();
            if (lo && *lo >= 0xDC00 && *lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (*lo - 0xDC00);
            } else {
              pos_ = save;
            }
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // lone surrogate
          append_utf8(out, cp);
          break;
        }
        default: return std::nullopt;  // "Invalid \escape"
      }
    }
  }

  std::optional<Json> parse_object(int depth) {
    ++pos_;
    Json obj = Json::object();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return obj; }
    while (true) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return std::nullopt;
      auto key = parse_string();
      if (!key) return std::nullopt;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return std::nullopt;
      ++pos_;
      skip_ws();
      auto value = parse_value(depth + 1);
      if (!value) return std::nullopt;
      obj[*key] = std::move(*value);
      skip_ws();
      if (pos_ >= s_.size()) return std::nullopt;
      if (s_[pos_] == ',') { ++pos_; continue; }
      if (s_[pos_] == '}') { ++pos_; return obj; }
      return std::nullopt;
    }
  }

  std::optional<Json> parse_array(int depth) {
    ++pos_;
    Json arr = Json::array();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return arr; }
    while (true) {
      skip_ws();
      auto value = parse_value(depth + 1);
      if (!value) return std::nullopt;
      arr.push_back(std::move(*value));
      skip_ws();
      if (pos_ >= s_.size()) return std::nullopt;
      if (s_[pos_] == ',') { ++pos_; continue; }
      if (s_[pos_] == ']') { ++pos_; return arr; }
      return std::nullopt;
    }
  }
};

void append_escaped(std::string& out, std::string_view utf8, bool ensure_ascii) {
  out.push_back('"');
  size_t i = 0;
  while (i < utf8.size()) {
    unsigned char c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20 || (ensure_ascii && c == 0x7f)) {
            out += fmt::format("\\u{:04x}", c);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      continue;
    }
    size_t start = i;
    char32_t cp = decode_utf8(utf8, i);
    if (!ensure_ascii) {
      if (cp == 0xFFFD && utf8.substr(start, i - start) != "\xEF\xBF\xBD") {
        append_utf8(out, cp);  // invalid input bytes: emit the replacement character
      } else {
        out.append(utf8.substr(start, i - start));
      }
    } else if (cp >= 0x10000) {
      char32_t v = cp - 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
    } else {
      out += fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
    }
  }
  out.push_back('"');
}

void dump_value(std::string& out, const Json& v, bool ensure_ascii) {
  switch (v.type()) {
    case Json::value_t::null: out += "null"; return;
    case Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return;
    case Json::value_t::number_integer: out += std::to_string(v.get<int64_t>()); return;
    case Json::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); return;
    case Json::value_t::number_float: out += python_float_repr(v.get<double>()); return;
    case Json::value_t::string: append_escaped(out, v.get_ref<const std::string&>(), ensure_ascii); return;
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out += ", ";
        first = false;
        dump_value(out, item, ensure_ascii);
      }
      out.push_back(']');
      return;
    }
    case Json::value_t::object: {
      if (is_big_int(v)) { out += v.begin().value().get<std::string>(); return; }
      out.push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        append_escaped(out, it.key(), ensure_ascii);
        out += ": ";
        dump_value(out, it.value(), ensure_ascii);
      }
      out.push_back('}');
      return;
    }
    default: out += "null"; return;  // binary / discarded never come from our parsers
  }
}

// Digits with single '_' between them (Python's int()/float() literal rule).
bool take_digits(std::string_view s, size_t& pos, std::string& out) {
  size_t start = pos;
  while (pos < s.size()) {
    if (is_digit(s[pos])) {
      out.push_back(s[pos++]);
    } else if (s[pos] == '_' && pos > start && pos + 1 < s.size() && is_digit(s[pos + 1]) &&
               is_digit(s[pos - 1])) {
      ++pos;
    } else {
      break;
    }
  }
  return pos > start;
}

}  // namespace

std::optional<Json> python_json_loads(std::string_view text) { return JsonReader(text).parse_document(); }

std::string python_json_dumps(const Json& value, bool ensure_ascii) {
  std::string out;
  dump_value(out, value, ensure_ascii);
  return out;
}

std::string python_json_quote(std::string_view utf8, bool ensure_ascii) {
  std::string out;
  append_escaped(out, utf8, ensure_ascii);
  return out;
}

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0.0) return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's repr layout: fixed for 1e-4 <= |x| < 1e16.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  bool negative = sci[0] == '-';
  if (negative) sci.remove_prefix(1);
  size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) if (c != '.') digits.push_back(c);
  int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out.append("0.").append(static_cast<size_t>(-exponent - 1), '0').append(digits);
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out.append(digits).append(static_cast<size_t>(exponent) + 1 - digits.size(), '0').append(".0");
    } else {
      const size_t point = static_cast<size_t>(exponent) + 1;
      out.append(digits, 0, point).append(".").append(digits, point, std::string::npos);
    }
  } else {
    out.append(digits, 0, 1);
    if (digits.size() > 1) out.append(".").append(digits, 1, std::string::npos);
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  }
  return out;
}

Json make_big_int(std::string digits) {
  Json j = Json::object();
  j[kBigIntKey] = std::move(digits);
  return j;
}

bool is_big_int(const Json& value) {
  return value.is_object() && value.size() == 1 && value.begin().key() == kBigIntKey;
}

std::string python_json_type(const Json& value, bool float_integral_is_integer) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: {
      double d = value.get<double>();
      if (float_integral_is_integer && std::isfinite(d) && d == std::floor(d)) return "integer";
      return "number";
    }
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return is_big_int(value) ? "integer" : "object";
    default: return "null";
  }
}

std::optional<Json> python_int_from_string(std::string_view text) {
  std::string_view s = python_strip(text);
  size_t pos = 0;
  std::string digits;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    if (s[pos] == '-') digits.push_back('-');
    ++pos;
  }
  std::string body;
  if (!take_digits(s, pos, body) || pos != s.size()) return std::nullopt;
  return integer_from_digits(digits + body);
}

std::optional<Json> python_float_from_string(std::string_view text) {
  std::string_view s = python_strip(text);
  size_t pos = 0;
  std::string clean;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) clean.push_back(s[pos++]);
  std::string_view rest = s.substr(pos);
  auto lower_equals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
    return true;
  };
  if (lower_equals(rest, "inf") || lower_equals(rest, "infinity"))
    return Json(clean == "-" ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity());
  if (lower_equals(rest, "nan")) return Json(std::numeric_limits<double>::quiet_NaN());
  bool int_part = take_digits(s, pos, clean);
  bool frac_part = false;
  if (pos < s.size() && s[pos] == '.') {
    clean.push_back('.');
    ++pos;
    frac_part = take_digits(s, pos, clean);
  }
  if (!int_part && !frac_part) return std::nullopt;
  if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
    clean.push_back('e');
    ++pos;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) clean.push_back(s[pos++]);
    if (!take_digits(s, pos, clean)) return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return Json(parse_double(clean));
}

bool python_is_space(char32_t cp) {
  if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F)) return true;
  if (cp < 0x80) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

char32_t decode_utf8(std::string_view text, size_t& pos) {
  unsigned char c = static_cast<unsigned char>(text[pos]);
  int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || pos + static_cast<size_t>(len) > text.size()) { ++pos; return 0xFFFD; }
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int i = 1; i < len; ++i) {
    unsigned char cc = static_cast<unsigned char>(text[pos + static_cast<size_t>(i)]);
    if ((cc & 0xC0) != 0x80) { ++pos; return 0xFFFD; }
    cp = (cp << 6) | (cc & 0x3F);
  }
  pos += static_cast<size_t>(len);
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string_view python_strip(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size()) {
    size_t p = begin;
    if (!python_is_space(decode_utf8(text, p))) break;
    begin = p;
  }
  size_t end = text.size();
  while (end > begin) {
    // Walk back to the start of the last code point.
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t p = start;
    if (!python_is_space(decode_utf8(text, p))) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

}  // namespace glm::parsers
