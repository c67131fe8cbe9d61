#include "chat/py_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/jinja_error.h"
#include "chat/jinja_value.h"

namespace glm::jinja {

std::string py_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  // Shortest round-trip digits in scientific form, e.g. "1.2345e-05", then Python's layout rules.
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);
  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos))
    if (c != '.') digits.push_back(c);
  int exponent = std::stoi(std::string(sci.substr(e_pos + 1)));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits;
        out.append(int_len - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_len);
        out.push_back('.');
        out += digits.substr(int_len);
      }
    } else {
      out += "0.";
      out.append(static_cast<size_t>(-exponent - 1), '0');
      out += digits;
    }
    return out;
  }
  out.push_back(digits[0]);
  if (digits.size() > 1) {
    out.push_back('.');
    out += digits.substr(1);
  }
  out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out;
}

std::vector<char32_t> utf8_decode(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(c);  // stray byte: keep it as its own unit
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    out.push_back(cp);
    i += len;
  }
  return out;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

static std::string utf8_encode(const std::vector<char32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) utf8_append(out, cps[i]);
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

bool py_isspace(char32_t cp) {
  // Python's str.isspace(): Unicode White_Space plus the ASCII information separators.
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000;
}

static bool all_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right) {
  if (all_ascii(s) && (!chars || all_ascii(*chars))) {
    auto strip_it = [&](char c) {
      return chars ? chars->find(c) != std::string::npos : py_isspace(static_cast<unsigned char>(c));
    };
    size_t b = 0, e = s.size();
    if (left)
      while (b < e && strip_it(s[b])) ++b;
    if (right)
      while (e > b && strip_it(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
  }
  auto cps = utf8_decode(s);
  std::vector<char32_t> set;
  if (chars) set = utf8_decode(*chars);
  auto strip_it = [&](char32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : py_isspace(c);
  };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_it(cps[b])) ++b;
  if (right)
    while (e > b && strip_it(cps[e - 1])) --e;
  return utf8_encode(cps, b, e);
}

std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) template_fail("ValueError: empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      size_t hit = s.find(*sep, pos);
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, hit - pos));
      pos = hit + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  // Whitespace split: runs of Unicode whitespace, no empty fields.
  auto cps = utf8_decode(s);
  size_t i = 0, n = cps.size();
  while (i < n) {
    while (i < n && py_isspace(cps[i])) ++i;
    if (i == n) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      size_t e = n;
      while (e > i && py_isspace(cps[e - 1])) --e;
      out.push_back(utf8_encode(cps, i, e));
      break;
    }
    size_t start = i;
    while (i < n && !py_isspace(cps[i])) ++i;
    out.push_back(utf8_encode(cps, start, i));
  }
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view replacement, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts the replacement between every code point (and at both ends).
    auto cps = utf8_decode(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += replacement;
        ++done;
      }
      if (i < cps.size()) utf8_append(out, cps[i]);
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t hit = s.find(old, pos);
    if (hit == std::string_view::npos) break;
    out += s.substr(pos, hit - pos);
    out += replacement;
    pos = hit + old.size();
    ++done;
  }
  out += s.substr(pos);
  return out;
}

// Case mapping covers ASCII and Latin-1/Greek/Cyrillic basic ranges; other scripts are caseless here.
static char32_t to_upper_cp(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if ((c >= 0xe0 && c <= 0xfe && c != 0xf7)) return c - 32;
  if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) return c - 32;
  if (c >= 0x430 && c <= 0x44f) return c - 32;
  if (c >= 0x450 && c <= 0x45f) return c - 80;
  return c;
}
static char32_t to_lower_cp(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if ((c >= 0xc0 && c <= 0xde && c != 0xd7)) return c + 32;
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 32;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  return c;
}
static bool is_cased(char32_t c) { return to_upper_cp(c) != c || to_lower_cp(c) != c; }

template <typename F>
static std::string map_code_points(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  if (all_ascii(s)) {
    for (char c : s) out.push_back(static_cast<char>(f(static_cast<unsigned char>(c))));
    return out;
  }
  for (char32_t c : utf8_decode(s)) utf8_append(out, f(c));
  return out;
}

std::string py_upper(std::string_view s) {
  std::string out = map_code_points(s, to_upper_cp);
  if (out.find("\xc3\x9f") != std::string::npos) out = py_replace(out, "\xc3\x9f", "SS", -1);  // ß -> SS
  return out;
}
std::string py_lower(std::string_view s) { return map_code_points(s, to_lower_cp); }

std::string py_title(std::string_view s) {
  bool prev_cased = false;
  return map_code_points(s, [&](char32_t c) {
    char32_t r = prev_cased ? to_lower_cp(c) : to_upper_cp(c);
    prev_cased = is_cased(c);
    return r;
  });
}

std::string py_capitalize(std::string_view s) {
  bool first = true;
  return map_code_points(s, [&](char32_t c) {
    char32_t r = first ? to_upper_cp(c) : to_lower_cp(c);
    first = false;
    return r;
  });
}

std::string utf8_slice(std::string_view s, const std::vector<int64_t>& code_point_indices) {
  std::string out;
  if (all_ascii(s)) {
    for (int64_t i : code_point_indices) out.push_back(s[static_cast<size_t>(i)]);
    return out;
  }
  auto cps = utf8_decode(s);
  for (int64_t i : code_point_indices) utf8_append(out, cps[static_cast<size_t>(i)]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// json.dumps

static void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  auto hex4 = [&](unsigned v) { out += fmt::format("\\u{:04x}", v); };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) hex4(c);
          else out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    int len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + len > s.size()) len = 1;
    if (!ensure_ascii) {
      out.append(s, i, len);
    } else {
      char32_t cp = utf8_decode(std::string_view(s).substr(i, len))[0];
      if (cp >= 0x10000) {
        cp -= 0x10000;
        hex4(0xd800 + (cp >> 10));
        hex4(0xdc00 + (cp & 0x3ff));
      } else {
        hex4(cp);
      }
    }
    i += len;
  }
  out.push_back('"');
}

static void json_value(std::string& out, const Value& v, const JsonDumpOptions& o, int level) {
  auto newline = [&](int lvl) {
    out.push_back('\n');
    for (int i = 0; i < lvl; ++i) out += *o.indent;
  };
  switch (v.kind()) {
    case Kind::None: out += "null"; return;
    case Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Kind::Int: out += std::to_string(v.as_int()); return;
    case Kind::Float: {
      double d = v.as_double();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
      else out += py_float_repr(d);
      return;
    }
    case Kind::String: json_string(out, v.as_string(), o.ensure_ascii); return;
    case Kind::List: {
      const auto& items = v.as_list().items;
      if (items.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += o.item_separator;
        if (o.indent) newline(level + 1);
        json_value(out, items[i], o, level + 1);
      }
      if (o.indent) newline(level);
      out.push_back(']');
      return;
    }
    case Kind::Dict: {
      const auto& items = v.as_dict().items;
      if (items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> order;
      for (const auto& kv : items) order.push_back(&kv);
      if (o.sort_keys)
        std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out.push_back('{');
      for (size_t i = 0; i < order.size(); ++i) {
        if (i) out += o.item_separator;
        if (o.indent) newline(level + 1);
        json_string(out, order[i]->first, o.ensure_ascii);
        out += o.key_separator;
        json_value(out, order[i]->second, o, level + 1);
      }
      if (o.indent) newline(level);
      out.push_back('}');
      return;
    }
    default: template_fail("TypeError: Object of type {} is not JSON serializable", v.type_name());
  }
}

std::string py_json_dumps(const Value& v, const JsonDumpOptions& options) {
  std::string out;
  json_value(out, v, options, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// printf-style `%` formatting

std::string py_percent_format(std::string_view fmt, const Value& args) {
  std::vector<Value> positional;
  const ValueDict* mapping = nullptr;
  if (args.is_list() && args.as_list().is_tuple) positional = args.as_list().items;
  else if (args.is_dict()) mapping = &args.as_dict();
  else positional.push_back(args);
  size_t next_arg = 0;
  bool used_mapping = false;

  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) template_fail("ValueError: incomplete format");
    const Value* arg = nullptr;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string_view::npos || !mapping) template_fail("TypeError: format requires a mapping");
      arg = mapping->find(fmt.substr(i + 1, close - i - 1));
      if (!arg) template_fail("KeyError: '{}'", fmt.substr(i + 1, close - i - 1));
      used_mapping = true;
      i = close + 1;
    }
    std::string spec = "%";
    while (i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos) spec += fmt[i++];
    while (i < fmt.size() && (std::isdigit(static_cast<unsigned char>(fmt[i])) || fmt[i] == '.')) spec += fmt[i++];
    if (i >= fmt.size()) template_fail("ValueError: incomplete format");
    char conv = fmt[i];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (!arg) {
      if (mapping && positional.empty()) arg = &args;
      else if (next_arg < positional.size()) arg = &positional[next_arg++];
      else template_fail("TypeError: not enough arguments for format string");
    }
    char buf[512];
    switch (conv) {
      case 's':
      case 'r': {
        std::string s = conv == 's' ? to_py_str(*arg) : to_py_repr(*arg);
        spec += 's';
        int n = std::snprintf(buf, sizeof(buf), spec.c_str(), s.c_str());
        out += (n >= 0 && static_cast<size_t>(n) < sizeof(buf)) ? std::string(buf) : s;
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o': {
        if (!arg->is_number()) template_fail("TypeError: %{} format: a real number is required, not {}", conv, arg->type_name());
        long long n = arg->is_float() ? static_cast<long long>(arg->as_double()) : arg->as_int();
        spec += "ll";
        spec += conv == 'i' ? 'd' : conv;
        std::snprintf(buf, sizeof(buf), spec.c_str(), n);
        out += buf;
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!arg->is_number()) template_fail("TypeError: must be real number, not {}", arg->type_name());
        spec += conv;
        std::snprintf(buf, sizeof(buf), spec.c_str(), arg->as_double());
        out += buf;
        break;
      }
      case 'c': {
        if (arg->is_string()) out += arg->as_string();
        else if (arg->is_int()) utf8_append(out, static_cast<char32_t>(arg->as_int()));
        break;
      }
      default: template_fail("ValueError: unsupported format character '{}'", conv);
    }
  }
  // Python treats any non-tuple argument with __getitem__ (list, Undefined) like a mapping here.
  const bool getitem_arg = (args.is_list() && !args.as_list().is_tuple) || args.is_undefined();
  if (!mapping && !used_mapping && !getitem_arg && next_arg < positional.size())
    template_fail("TypeError: not all arguments converted during string formatting");
  return out;
}

}  // namespace glm::jinja
