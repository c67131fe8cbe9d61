#include "parsers/tool_call_grammar.h"

#include <algorithm>
#include <string_view>
#include <vector>

namespace glm::parsers {
namespace {

constexpr const char* kAnyKey = "[^<]+";

// Any text that does not contain `word` (which starts with '<' and has no other '<'), as a regular
// expression without lookahead: runs of other characters, or attempts at `word` that break off after
// k of its characters (k = 0 .., length - 2) on a character that neither continues it nor restarts it,
// then at the end an attempt that is still incomplete. A value may so hold '<' (HTML, code, comparisons)
// but not its own closing tag.
std::string text_without(std::string_view word) {
  std::string broken, tail;
  for (size_t k = 0; k + 1 < word.size(); ++k) {
    const std::string done = std::string(word.substr(1, k));
    broken += (k ? "|" : "") + std::string("<+") + done + "[^" + std::string(1, word[k + 1]) + "<]";
    tail += (k ? "|" : "") + done;
  }
  return "(?:[^<]|" + broken + ")*(?:<+(?:" + tail + "))?";
}

// A value the expression cannot type (strings, objects, arrays, anything undeclared): any text up to the
// closing tag.
const std::string& any_value() {
  static const std::string rx = text_without("</arg_value>");
  return rx;
}

constexpr const char* kInteger = "-?(?:0|[1-9][0-9]*)";
constexpr const char* kNumber = "-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?";

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\.^$*+?{}[]|()").find(c) != std::string_view::npos) out += '\\';
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

std::string alternatives(const std::vector<std::string>& parts) {
  if (parts.empty()) return any_value();
  if (parts.size() == 1) return parts[0];
  std::string out = "(?:";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "|" : "") + parts[i];
  return out + ")";
}

// How the template writes one argument value: strings raw, anything else as JSON text.
std::string value_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string type_regex(const std::string& type) {
  if (type == "integer") return kInteger;
  if (type == "number") return kNumber;
  if (type == "boolean") return "(?:true|false)";
  if (type == "null") return "null";
  return any_value();  // string, object, array
}

std::string value_regex(const Json& schema, int depth = 0) {
  if (!schema.is_object() || depth > 8) return any_value();
  if (auto c = schema.find("const"); c != schema.end()) return escape(value_text(*c));
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array() && !e->empty()) {
    std::vector<std::string> parts;
    for (const Json& v : *e) parts.push_back(escape(value_text(v)));
    return alternatives(parts);
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    if (auto u = schema.find(key); u != schema.end() && u->is_array() && !u->empty()) {
      std::vector<std::string> parts;
      for (const Json& branch : *u) parts.push_back(value_regex(branch, depth + 1));
      if (std::find(parts.begin(), parts.end(), any_value()) != parts.end()) return any_value();
      return alternatives(parts);
    }
  }
  auto t = schema.find("type");
  if (t == schema.end()) return any_value();
  if (t->is_string()) return type_regex(t->get<std::string>());
  if (t->is_array()) {
    std::vector<std::string> parts;
    for (const Json& one : *t) {
      if (!one.is_string()) return any_value();
      parts.push_back(type_regex(one.get<std::string>()));
    }
    if (std::find(parts.begin(), parts.end(), any_value()) != parts.end()) return any_value();
    return alternatives(parts);
  }
  return any_value();
}

struct Dialect {
  std::string after_name, between_key_value, after_pair, before_call;
};

Dialect dialect(const std::string& parser) {
  if (parser == "glm47") return {"", "", "", ""};
  return {"\\n", "\\n", "\\n", "\\n"};  // glm / glm45: the GLM-4.5 template's layout
}

std::string pair_regex(const Dialect& d, const std::string& key_regex, const std::string& value) {
  return "<arg_key>" + key_regex + "</arg_key>" + d.between_key_value + "<arg_value>" + value + "</arg_value>" +
         d.after_pair;
}

// The arguments of one call, then the closing tag.
std::string arguments_regex(const Dialect& d, const ToolDefinition& tool) {
  const Json& params = tool.parameters;
  const Json* props = nullptr;
  if (params.is_object()) {
    auto p = params.find("properties");
    if (p != params.end() && p->is_object()) props = &*p;
  }
  if (!props || props->empty()) return "(?:" + pair_regex(d, kAnyKey, any_value()) + ")*</tool_call>";
  std::vector<std::string> required;
  if (auto r = params.find("required"); r != params.end() && r->is_array())
    for (const Json& k : *r)
      if (k.is_string()) required.push_back(k.get<std::string>());
  // Declared order; required keys mandatory, optional ones at most once. Required keys without a
  // declared schema follow, any value.
  std::string out;
  for (auto it = props->begin(); it != props->end(); ++it) {
    const std::string pair = pair_regex(d, escape(it.key()), value_regex(it.value()));
    const bool req = std::find(required.begin(), required.end(), it.key()) != required.end();
    out += req ? pair : "(?:" + pair + ")?";
  }
  for (const std::string& key : required)
    if (!props->contains(key)) out += pair_regex(d, escape(key), any_value());
  return out + "</tool_call>";
}

// One whole call after "<tool_call>": the name, the arguments, the closing tag.
std::string call_regex(const Dialect& d, const ToolDefinition& tool) {
  return escape(tool.name) + d.after_name + arguments_regex(d, tool);
}

}  // namespace

std::string tool_call_output_regex(const ToolSet& tools, const ToolCallGrammarOptions& options) {
  const Dialect d = dialect(options.parser);
  std::vector<const ToolDefinition*> allowed;
  for (const ToolDefinition& t : tools.tools())
    if (options.only_tool.empty() || t.name == options.only_tool) allowed.push_back(&t);
  std::vector<std::string> calls;
  for (const ToolDefinition* t : allowed) calls.push_back(call_regex(d, *t));
  const std::string any_call = alternatives(calls);

  std::string first;
  if (!options.prefilled_name.empty()) {
    const ToolDefinition* t = tools.find(options.prefilled_name);
    first = t ? arguments_regex(d, *t) : "(?:" + pair_regex(d, kAnyKey, any_value()) + ")*</tool_call>";
  } else {
    first = any_call;
  }
  if (!options.parallel_tool_calls || calls.empty()) return first;
  return first + "(?:" + d.before_call + "<tool_call>" + any_call + ")*";
}

}  // namespace glm::parsers
