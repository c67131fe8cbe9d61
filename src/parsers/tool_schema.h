#pragma once
// The request's tools as the parsers need them: name -> JSON-Schema of the parameters, and the
// expected type of one argument, inferred the two ways SGLang's GLM detectors do.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "parsers/python_json.h"

namespace glm::parsers {

struct ToolDefinition {
  std::string name;
  Json parameters;  // JSON-Schema object, or null when the tool declares none
};

class ToolSet {
 public:
  ToolSet() = default;
  // Accepts the OpenAI request's `tools` array: [{"type": "function", "function": {name, parameters}}]
  // or bare function objects [{name, parameters}]. Entries without a string name are ignored.
  static ToolSet from_openai_tools(const nlohmann::json& tools);
  static ToolSet from_openai_tools(const Json& tools);

  const ToolDefinition* find(std::string_view name) const;
  bool empty() const { return tools_.empty(); }
  const std::vector<ToolDefinition>& tools() const { return tools_; }
  void add(ToolDefinition tool) { tools_.push_back(std::move(tool)); }

 private:
  std::vector<ToolDefinition> tools_;
};

// glm45 (glm4_moe_detector.get_argument_type + utils.infer_type_from_json_schema): the property's
// schema (top-level `properties`, else the first anyOf/oneOf/allOf branch declaring it; $ref is not
// followed, as in SGLang 0.5.23) reduced to one type name: `type` (first non-null of a list), anyOf/oneOf (common type,
// optional-of-T -> T, mixed -> "string" if present else the first), enum (uniform value type, else
// "string"), allOf (first non-string), `properties` -> "object", `items` -> "array".
// nullopt for an unknown tool or key.
std::optional<std::string> glm45_argument_type(const ToolSet& tools, std::string_view tool,
                                               std::string_view key);

// glm47 (glm47_moe_detector._argument_types): every JSON type the property admits ("number" also
// admits "integer"), following $ref, anyOf/oneOf (union), allOf (intersection), const/enum. With
// `value` set, const/enum only contribute the types of entries equal to it. With `known_arguments`
// (an object of already-typed sibling arguments), union branches those siblings contradict are
// skipped (discriminated unions). nullopt = unconstrained.
std::optional<std::set<std::string>> glm47_argument_types(const ToolSet& tools, std::string_view tool,
                                                          std::string_view key, const Json* value = nullptr,
                                                          const Json* known_arguments = nullptr);

// glm47 get_argument_type: the single admissible type ({number, integer} -> "number"), else nullopt.
std::optional<std::string> glm47_argument_type(const ToolSet& tools, std::string_view tool,
                                               std::string_view key, const Json* known_arguments = nullptr);

// glm47 _needs_argument_context: the tool's schema has a union under which some property's type is
// ambiguous, so values are typed with their siblings' help (and streamed as one object at the end).
bool glm47_needs_argument_context(const ToolSet& tools, std::string_view tool);

}  // namespace glm::parsers
