#pragma once
// Turning one raw `<arg_value>` text into a typed JSON value, exactly as SGLang's GLM detectors do
// (spec §3.3): json.loads, then "unescape then json.loads", then quote stripping for string
// parameters, then ast.literal_eval, then the raw text. The schema decides coercions.
#include <optional>
#include <string>
#include <string_view>

#include "parsers/python_json.h"
#include "parsers/tool_schema.h"

namespace glm::parsers {

enum class ArgumentTyping {
  Glm45,  // glm4_moe_detector: one inferred type name; "number" coerces numeric strings
  Glm47,  // glm47_moe_detector: integer vs number, unions kept until the value decides
};

// The typed value of argument `key` of tool `tool` whose raw text is `raw` (kept unstripped).
Json type_argument_value(ArgumentTyping typing, const ToolSet& tools, std::string_view tool,
                         std::string_view key, std::string_view raw);

// parse_arguments(json_value, arg_type) of the respective detector: the decoded value.
// (SGLang also returns an is_valid flag; it is true on every path the detectors take.)
Json glm45_parse_argument(std::string_view raw, const std::optional<std::string>& arg_type);
Json glm47_parse_argument(std::string_view raw, const std::optional<std::string>& arg_type);

}  // namespace glm::parsers
