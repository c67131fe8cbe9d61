#pragma once
// Python-compatible JSON: what SGLang's parsers get from json.loads / json.dumps, reproduced on
// nlohmann::ordered_json so that argument strings match SGLang byte for byte.
//
// - python_json_loads: Python's json.loads grammar (strict strings, NaN/Infinity/-Infinity, duplicate
//   keys keep the first position and the last value, exactly as a dict does). Integers that do not fit
//   int64/uint64 keep their exact digits (see make_big_int); lone surrogate escapes become U+FFFD
//   (Python would keep them; UTF-8 output cannot).
// - python_json_dumps: json.dumps with the default separators ", " and ": "; floats printed as Python's
//   repr (shortest round trip, "1e+16", "1.5e-05", "100000.0", "Infinity", "NaN").
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace glm::parsers {

using Json = nlohmann::ordered_json;

// Python's json.loads; nullopt where Python raises JSONDecodeError.
std::optional<Json> python_json_loads(std::string_view text);

// Python's json.dumps(value, ensure_ascii=ensure_ascii).
std::string python_json_dumps(const Json& value, bool ensure_ascii = false);

// json.dumps of a single string (with the quotes).
std::string python_json_quote(std::string_view utf8, bool ensure_ascii = false);

// Python's repr(float).
std::string python_float_repr(double value);

// An integer beyond 64 bits, kept as its decimal digits (Python ints are unbounded). Represented as
// a one-key object so it survives inside ordered_json; python_json_dumps prints the digits bare.
Json make_big_int(std::string digits);
bool is_big_int(const Json& value);

// Python's json type names used by SGLang's schema code: "null", "boolean", "integer", "number",
// "string", "array", "object". A float with an integral value counts as "integer" when
// float_integral_is_integer (glm47's _json_type does that).
std::string python_json_type(const Json& value, bool float_integral_is_integer = false);

// Python's int(text) / float(text) on a str (surrounding whitespace, sign, '_' between digits);
// nullopt where Python raises ValueError. int() results beyond 64 bits become make_big_int.
std::optional<Json> python_int_from_string(std::string_view text);
std::optional<Json> python_float_from_string(std::string_view text);

// Python's str.isspace for one code point.
bool python_is_space(char32_t cp);

// Decode one UTF-8 code point at text[pos]; advances pos. Invalid bytes decode as U+FFFD.
char32_t decode_utf8(std::string_view text, size_t& pos);
void append_utf8(std::string& out, char32_t cp);

// Python's str.strip() (Unicode whitespace) on UTF-8 text.
std::string_view python_strip(std::string_view text);

}  // namespace glm::parsers
