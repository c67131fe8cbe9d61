#pragma once
// Tree-walking evaluator for the jinja AST with jinja2's runtime rules: per-iteration loop scopes
// (a `set` inside a for body never leaks out), macros that see the template's top level and their
// own arguments, attribute access that falls back to keys and keys that fall back to attributes,
// the sandbox's refusal of mutating methods, and limits on output size and call depth.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/jinja_ast.h"
#include "chat/jinja_value.h"

namespace glm::jinja {

struct RenderLimits {
  size_t max_output_bytes = 64u << 20;
  int max_call_depth = 100;
};

class Interpreter {
 public:
  explicit Interpreter(const RenderLimits& limits = {}) : limits_(limits) {}

  // Renders `body` with `vars` as the top-level names (plus the built-in globals).
  std::string render(const Body& body, std::vector<std::pair<std::string, Value>> vars);

  // Python/jinja object protocol, used by the built-in filters as well.
  Value getattr(const Value& obj, const std::string& name);
  Value getitem(const Value& obj, const Value& key);
  Value call(const Value& callee, const CallArgs& args);
  Value apply_filter(const std::string& name, const Value& value, const CallArgs& args);
  bool apply_test(const std::string& name, const Value& value, const CallArgs& args);
  // Elements a for loop visits: list items, dict keys, string code points, nothing for Undefined.
  std::vector<Value> iterate(const Value& v);

 private:
  enum class Flow { Normal, Break, Continue };
  struct Frame {
    std::vector<std::pair<std::string, Value>> vars;
    bool barrier = false;  // macro frame: lookups skip from here to the top-level frame
  };

  Flow exec_body(const Body& body, std::string& out);
  Flow exec(const Stmt& s, std::string& out);
  void exec_for(const Stmt& s, std::string& out);
  void exec_set(const Stmt& s, std::string& out);
  Value eval(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_slice(const Value& obj, const Expr& slice);
  CallArgs eval_args(const Expr& e, size_t first_positional);
  using Closure = std::shared_ptr<const std::vector<std::pair<std::string, Value>>>;
  Closure capture_closure() const;
  Value make_macro(const Stmt& s);
  Value call_macro(const Stmt& macro, const CallArgs& args, const Closure& closure);

  void push_frame(bool barrier);
  void pop_frame();
  Frame& current() { return frames_[top_ - 1]; }
  Value lookup(const std::string& name) const;
  void assign(const std::string& name, Value v);
  void check_output(const std::string& out) const;

  RenderLimits limits_;
  std::vector<Frame> frames_;  // frames_[0, top_) are live; the rest keep their capacity for reuse
  size_t top_ = 0;
  int call_depth_ = 0;
};

}  // namespace glm::jinja
