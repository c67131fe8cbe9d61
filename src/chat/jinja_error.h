#pragma once
// Template errors. Everything the engine raises is a glm::GlmError of kind Template; the
// interpreter prefixes the template line once, at the innermost statement that knows it.
#include <string>

#include <fmt/format.h>

#include "core/error.h"

namespace glm::jinja {

class TemplateError : public GlmError {
 public:
  TemplateError(std::string message, bool located = false)
      : GlmError(ErrorKind::Template, std::move(message)), located_(located) {}
  bool located() const { return located_; }

 private:
  bool located_;
};

// raise_exception(msg) from the template: the message goes out as written, no location prefix.
class RaisedException : public TemplateError {
 public:
  explicit RaisedException(std::string message) : TemplateError(std::move(message), true) {}
};

template <typename... Args>
[[noreturn]] inline void template_fail(fmt::format_string<Args...> f, Args&&... args) {
  throw TemplateError(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace glm::jinja
