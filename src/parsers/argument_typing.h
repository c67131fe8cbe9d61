#pragma once
// Turning one raw `<arg_value>` text into a typed JSON value, exactly as SGLang's GLM detectors do
// (spec §3.3): json.loads, then "unescape then json.loads", then quote stripping for string
// parameters, then ast.literal_eval, then the raw text. The schema decides coercions.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// The typed argument object of one call: (raw key, raw value) pairs in order. Keys are stripped; a
// repeated key keeps its first position and its last value (a Python dict). For glm47 tools whose
// schema needs sibling context (glm47_needs_argument_context), values are typed in two passes with
// the already-typed siblings, as Glm47MoeDetector._parse_argument_pairs does.
Json type_argument_pairs(ArgumentTyping typing, const ToolSet& tools, std::string_view tool,
                         const std::vector<std::pair<std::string_view, std::string_view>>& pairs);

// parse_arguments(json_value, arg_type) of the respective detector: the decoded value.
// (SGLang also returns an is_valid flag; it is true on every path the detectors take.)
Json glm45_parse_argument(std::string_view raw, const std::optional<std::string>& arg_type);
Json glm47_parse_argument(std::string_view raw, const std::optional<std::string>& arg_type);

}  // namespace glm::parsers
