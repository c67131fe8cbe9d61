#include "chat/jinja_template.h"

#include "chat/jinja_error.h"
#include "chat/jinja_parser.h"

namespace glm::jinja {

Template Template::parse(std::string_view source) {
  Template t;
  t.body_ = std::make_shared<const Body>(parse_template(source));
  return t;
}

std::string Template::render(std::vector<std::pair<std::string, Value>> vars, const RenderLimits& limits) const {
  Interpreter interpreter(limits);
  return interpreter.render(*body_, std::move(vars));
}

std::string Template::render_json(const nlohmann::ordered_json& context, const RenderLimits& limits) const {
  if (!context.is_object()) template_fail("template context must be a JSON object");
  std::vector<std::pair<std::string, Value>> vars;
  vars.reserve(context.size());
  for (const auto& [k, v] : context.items()) vars.emplace_back(k, Value::from_json(v));
  return render(std::move(vars), limits);
}

}  // namespace glm::jinja
