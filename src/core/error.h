#pragma once
// Typed errors with context. Code below the edge throws GlmError; the edge (CLI main, HTTP handler)
// turns it into an exit status or an OpenAI-style JSON error. Nothing calls abort() on user input.
#include <stdexcept>
#include <string>
#include <fmt/format.h>

namespace glm {

enum class ErrorKind {
  InvalidArgument,   // bad flag, bad request field           -> exit 2 / HTTP 400
  InvalidModel,      // broken or unsupported checkpoint      -> exit 1
  NotFound,          // missing file, unknown model or route  -> exit 1 / HTTP 404
  Template,          // chat template error / raise_exception -> HTTP 400
  Unauthorized,      //                                       -> HTTP 401
  Unavailable,       // loading, overloaded                   -> HTTP 503
  Internal,          // a bug                                 -> HTTP 500
};

class GlmError : public std::runtime_error {
 public:
  GlmError(ErrorKind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

template <typename... Args>
[[noreturn]] inline void fail(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  throw GlmError(kind, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace glm
