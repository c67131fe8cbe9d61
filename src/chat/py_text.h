#pragma once
// Python text semantics the chat templates depend on, over UTF-8 strings: float repr, json.dumps,
// str methods that work on code points (strip with a char set, slicing, len), `%` formatting.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glm::jinja {

class Value;

// Python repr(float): shortest round-trip digits, scientific below 1e-4 and from 1e16 on.
std::string py_float_repr(double v);

struct JsonDumpOptions {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // nullopt: one line; otherwise the per-level indent string
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
// Python json.dumps(v, ...) for the JSON-representable subset; throws a template error otherwise.
std::string py_json_dumps(const Value& v, const JsonDumpOptions& options);

// UTF-8 helpers. Invalid bytes decode as U+FFFD-like single units so nothing crashes.
std::vector<char32_t> utf8_decode(std::string_view s);
void utf8_append(std::string& out, char32_t cp);
size_t utf8_length(std::string_view s);
bool py_isspace(char32_t cp);

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit);
std::string py_replace(std::string_view s, std::string_view old, std::string_view replacement, int64_t count);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_title(std::string_view s);
std::string py_capitalize(std::string_view s);
// Python str[start:stop:step] / str[i] on code points (indices already normalised by the caller).
std::string utf8_slice(std::string_view s, const std::vector<int64_t>& code_point_indices);

// Python `fmt % args` (printf-style) with s, r, d, i, f, F, e, E, g, G, x, X, o, c, % conversions.
std::string py_percent_format(std::string_view fmt, const Value& args);

}  // namespace glm::jinja
