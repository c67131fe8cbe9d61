#pragma once
// The text a GLM model may write under tool_choice "required" or a named tool, as a regular expression
// (Python `re` syntax, the `regex` sampling constraint's language: sampling/regex_nfa.h), so decoding is
// constrained to well-formed calls of the allowed tools with arguments of the declared types.
//
// Design choice: SGLang constrains glm45 in this mode with a JSON schema of an array of {name, parameters}
// and so makes the model write JSON instead of its trained XML (spec §3.6); glmserve keeps the template's
// own format (what the tool-call parsers read back) and constrains it instead:
//   glm45: <tool_call>NAME\n(<arg_key>KEY</arg_key>\n<arg_value>VALUE</arg_value>\n)*</tool_call>, further
//          calls each after "\n"; glm47: the same without any newline.
// Arguments: the declared properties in the schema's order, each required one once and each optional one at
// most once (the order models write them in; a regular language allowing every order of n keys needs n!
// branches), then required keys the schema does not declare; a tool without declared
// properties takes any keys. Values by the property's schema: enum/const -> exactly those values (strings
// raw, others as JSON text, as the template writes them), integer / number / boolean / null -> their JSON
// syntax, unions (type lists, anyOf, oneOf) -> any branch, string / object / array / unknown -> any text
// that does not contain "</arg_value>" (a regular expression cannot follow JSON nesting).
#include <string>

#include "parsers/tool_schema.h"

namespace glm::parsers {

struct ToolCallGrammarOptions {
  std::string parser = "glm45";  // "glm" / "glm45" or "glm47": which template dialect
  // The forced prefix already holds "<tool_call>" + this name (+ "\n" for glm45): the expression starts at
  // its arguments. Empty: the prefix ends at "<tool_call>" and any allowed tool's name comes first.
  std::string prefilled_name;
  // Only this tool may be called (tool_choice naming a function); empty: any tool of the set.
  std::string only_tool;
  bool parallel_tool_calls = true;  // further calls may follow the first
};

// The expression for the output after the forced prefix. Tool names, keys and enum values are escaped.
std::string tool_call_output_regex(const ToolSet& tools, const ToolCallGrammarOptions& options);

}  // namespace glm::parsers
