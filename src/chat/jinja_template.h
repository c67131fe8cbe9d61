#pragma once
// A parsed Jinja template, rendered the way transformers' apply_chat_template renders chat
// templates with Python jinja2 (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
// loopcontrols, its tojson/raise_exception/strftime_now/namespace/dict globals).
//
//   auto t = glm::jinja::Template::parse(source);        // throws GlmError(Template) on syntax errors
//   std::string s = t.render({{"messages", ...}, ...});  // throws GlmError(Template) on runtime errors
//
// A Template is immutable after parse and may be rendered concurrently from several threads.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/jinja_ast.h"
#include "chat/jinja_interpreter.h"

namespace glm::jinja {

class Template {
 public:
  static Template parse(std::string_view source);

  std::string render(std::vector<std::pair<std::string, Value>> vars, const RenderLimits& limits = {}) const;
  // Every key of `context` (a JSON object) becomes a top-level template name.
  std::string render_json(const nlohmann::ordered_json& context, const RenderLimits& limits = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace glm::jinja
