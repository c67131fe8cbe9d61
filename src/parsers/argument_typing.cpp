#include "parsers/argument_typing.h"

#include <cmath>

#include "parsers/python_literal.h"

namespace glm::parsers {

namespace {

bool is_str(const Json& v) { return v.is_string(); }
bool is_container(const Json& v) { return (v.is_object() && !is_big_int(v)) || v.is_array(); }

// _convert_to_number: float() when the text has '.' or 'e', else int(); the string itself on failure.
Json convert_to_number(const std::string& text) {
  bool floaty = text.find('.') != std::string::npos || text.find('e') != std::string::npos ||
                text.find('E') != std::string::npos;
  auto v = floaty ? python_float_from_string(text) : python_int_from_string(text);
  return v ? *v : Json(text);
}

Json convert_to_integer(const std::string& text) {
  auto v = python_int_from_string(text);
  return v ? *v : Json(text);
}

// Strategy 2: json.loads('{"tmp": "' + raw + '"}')["tmp"] then json.loads of that.
std::optional<Json> unescape_then_parse(std::string_view raw) {
  std::string wrapped = "{\"tmp\": \"";
  wrapped.append(raw);
  wrapped += "\"}";
  auto outer = python_json_loads(wrapped);
  if (!outer || !outer->is_object()) return std::nullopt;
  auto it = outer->find("tmp");
  // A raw value containing `", "x": "` can make extra keys; SGLang reads "tmp" (the last one wins).
  if (it == outer->end() || !it->is_string()) return std::nullopt;
  return python_json_loads(it->get<std::string>());
}

bool wrapped_in_matching_quotes(std::string_view raw) {
  return raw.size() >= 2 && raw.front() == raw.back() && (raw.front() == '"' || raw.front() == '\'');
}

// Python's str() of a JSON scalar.
std::string python_str(const Json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  if (v.is_number_float()) {
    std::string r = python_float_repr(v.get<double>());
    if (r == "Infinity") return "inf";
    if (r == "-Infinity") return "-inf";
    if (r == "NaN") return "nan";
    return r;
  }
  return python_json_dumps(v);  // ints and big ints print their digits
}

}  // namespace

Json glm45_parse_argument(std::string_view raw, const std::optional<std::string>& arg_type) {
  const bool is_number = arg_type && *arg_type == "number";
  const bool is_string = arg_type && *arg_type == "string";
  auto finish = [&](Json parsed) -> Json {
    if (is_number && is_str(parsed)) parsed = convert_to_number(parsed.get<std::string>());
    return parsed;
  };
  if (auto v = python_json_loads(raw)) return finish(std::move(*v));
  if (auto v = unescape_then_parse(raw)) return finish(std::move(*v));
  if (is_string) {
    if (wrapped_in_matching_quotes(raw)) return Json(std::string(raw.substr(1, raw.size() - 2)));
    return Json(std::string(raw));
  }
  if (auto v = python_literal_eval(raw)) return *v;
  return Json(std::string(raw));
}

Json glm47_parse_argument(std::string_view raw, const std::optional<std::string>& arg_type) {
  auto coerce = [&](Json parsed) -> Json {
    if (is_str(parsed) && arg_type) {
      if (*arg_type == "integer") return convert_to_integer(parsed.get<std::string>());
      if (*arg_type == "number") return convert_to_number(parsed.get<std::string>());
    }
    return parsed;
  };
  if (auto v = python_json_loads(raw)) return coerce(std::move(*v));
  if (auto v = unescape_then_parse(raw)) return coerce(std::move(*v));
  if (arg_type && *arg_type == "string") {
    if (wrapped_in_matching_quotes(raw)) return Json(std::string(raw.substr(1, raw.size() - 2)));
    return Json(std::string(raw));
  }
  if (auto v = python_literal_eval(raw)) return *v;
  return Json(std::string(raw));
}

namespace {

// One glm47 value given the sibling arguments typed so far (known: an object, or nullptr).
Json type_glm47_value(const ToolSet& tools, std::string_view tool, std::string_view key, std::string_view raw,
                      const Json* known) {
  auto arg_type = glm47_argument_type(tools, tool, key, known);
  // Untyped values are parsed as if they were strings: JSON when it parses, else the raw text.
  Json parsed = glm47_parse_argument(raw, arg_type ? arg_type : std::optional<std::string>("string"));
  if (arg_type && *arg_type == "string") return parsed.is_string() ? parsed : Json(std::string(raw));
  if (!arg_type) {
    // A value whose JSON type the schema rejects stays the raw text when a string is admissible
    // (e.g. enum ["7", 8] with "7").
    auto allowed = glm47_argument_types(tools, tool, key, &parsed, known);
    Json raw_json = Json(std::string(raw));
    auto native = glm47_argument_types(tools, tool, key, &raw_json, known);
    if (allowed && !allowed->count(python_json_type(parsed, true)) && native && native->count("string"))
      return raw_json;
  }
  return parsed;
}

Json type_glm45_value(const ToolSet& tools, std::string_view tool, std::string_view key, std::string_view raw) {
  auto arg_type = glm45_argument_type(tools, tool, key);
  Json parsed = glm45_parse_argument(raw, arg_type);
  if (arg_type && *arg_type == "string") {
    if (parsed.is_string()) return parsed;
    if (is_container(parsed)) return Json(python_json_dumps(parsed));
    return Json(python_str(parsed));  // str(): "True", "None", "100000.0", "12345"
  }
  return parsed;
}

}  // namespace

Json type_argument_value(ArgumentTyping typing, const ToolSet& tools, std::string_view tool,
                         std::string_view key, std::string_view raw) {
  if (typing == ArgumentTyping::Glm45) return type_glm45_value(tools, tool, key, raw);
  return type_glm47_value(tools, tool, key, raw, nullptr);
}

Json type_argument_pairs(ArgumentTyping typing, const ToolSet& tools, std::string_view tool,
                         const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  Json arguments = Json::object();
  if (typing == ArgumentTyping::Glm45) {
    for (const auto& [raw_key, raw_value] : pairs) {
      std::string key(python_strip(raw_key));
      arguments[key] = type_glm45_value(tools, tool, key, raw_value);
    }
    return arguments;
  }
  Json known = Json::object();
  if (pairs.size() > 1 && glm47_needs_argument_context(tools, tool)) {
    // First pass: values whose type is certain (or that could not be a string) steer union branches.
    for (const auto& [raw_key, raw_value] : pairs) {
      std::string key(python_strip(raw_key));
      Json parsed = type_glm47_value(tools, tool, key, raw_value, nullptr);
      Json raw_json = Json(std::string(raw_value));
      auto native = glm47_argument_types(tools, tool, key, &raw_json, nullptr);
      if (parsed.is_string() || !native || !native->count("string")) known[key] = std::move(parsed);
    }
  }
  for (const auto& [raw_key, raw_value] : pairs) {
    std::string key(python_strip(raw_key));
    arguments[key] = type_glm47_value(tools, tool, key, raw_value, &known);
    known[key] = arguments[key];
  }
  return arguments;
}

}  // namespace glm::parsers
