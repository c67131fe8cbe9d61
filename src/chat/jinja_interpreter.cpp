#include "chat/jinja_interpreter.h"

#include <algorithm>
#include <cmath>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/py_text.h"

namespace glm::jinja {
namespace {

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t floor_mod(int64_t a, int64_t b) {
  int64_t m = a % b;
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

double float_mod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

[[noreturn]] void unsupported_operand(const char* op, const Value& a, const Value& b) {
  template_fail("TypeError: unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
}

[[noreturn]] void undefined_error(const Value& u) {
  template_fail("UndefinedError: {}", u.undefined_hint().empty() ? "value is undefined" : u.undefined_hint());
}

// Python sequence repetition: "ab" * 3, [1] * 2.
Value repeat(const Value& seq, int64_t n, size_t limit) {
  if (n <= 0) return seq.is_string() ? Value("") : Value::list({}, seq.as_list().is_tuple);
  if (seq.is_string()) {
    if (seq.as_string().size() * static_cast<size_t>(n) > limit) template_fail("string repetition exceeds the output limit");
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  if (seq.as_list().items.size() * static_cast<size_t>(n) > limit) template_fail("list repetition too large");
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i)
    out.insert(out.end(), seq.as_list().items.begin(), seq.as_list().items.end());
  return Value::list(std::move(out), seq.as_list().is_tuple);
}

bool value_in(const Value& needle, const Value& haystack) {
  if (haystack.is_string()) {
    if (!needle.is_string())
      template_fail("TypeError: 'in <string>' requires string as left operand, not {}", needle.type_name());
    return haystack.as_string().find(needle.as_string()) != std::string::npos;
  }
  if (haystack.is_list()) {
    for (const auto& e : haystack.as_list().items)
      if (values_equal(e, needle)) return true;
    return false;
  }
  if (haystack.is_dict()) {
    if ((needle.is_list() && !needle.as_list().is_tuple) || needle.is_dict())
      template_fail("TypeError: unhashable type: '{}'", needle.type_name());
    return needle.is_string() && haystack.as_dict().find(needle.as_string()) != nullptr;
  }
  if (haystack.is_undefined()) return false;  // Undefined iterates as empty
  template_fail("TypeError: argument of type '{}' is not iterable", haystack.type_name());
}

}  // namespace

// ---- scopes ------------------------------------------------------------------------------------

Value Interpreter::lookup(const std::string& name) const {
  for (size_t i = top_; i-- > 0;) {
    for (const auto& [k, v] : frames_[i].vars)
      if (k == name) return v;
    if (frames_[i].barrier && i > 1) i = 2;  // continue with the top-level frame (index 1)
  }
  if (Value g = builtin_global(name); !g.is_undefined()) return g;
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

void Interpreter::assign(const std::string& name, Value v) {
  auto& vars = current().vars;
  for (auto& [k, existing] : vars) {
    if (k == name) {
      existing = std::move(v);
      return;
    }
  }
  vars.emplace_back(name, std::move(v));
}

void Interpreter::push_frame(bool barrier) {
  if (top_ == frames_.size()) frames_.emplace_back();
  Frame& f = frames_[top_++];
  f.vars.clear();  // keeps its capacity: no allocation per loop iteration once warm
  f.barrier = barrier;
}

void Interpreter::pop_frame() { frames_[--top_].vars.clear(); }

void Interpreter::check_output(const std::string& out) const {
  if (out.size() > limits_.max_output_bytes)
    template_fail("rendered output exceeds {} bytes", limits_.max_output_bytes);
}

// ---- entry -------------------------------------------------------------------------------------

std::string Interpreter::render(const Body& body, std::vector<std::pair<std::string, Value>> vars) {
  top_ = 0;
  push_frame(false);  // 0: reserved (globals are resolved by builtin_global)
  push_frame(false);  // 1: render variables and top-level sets
  current().vars = std::move(vars);
  call_depth_ = 0;
  std::string out;
  exec_body(body, out);
  return out;
}

// ---- statements --------------------------------------------------------------------------------

Interpreter::Flow Interpreter::exec_body(const Body& body, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec(*s, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, std::string& out) {
  try {
    switch (s.kind) {
      case StmtKind::Text: out += s.text; break;
      case StmtKind::Output: {
        Value v = eval(*s.expr);
        append_py_str(out, v);
        check_output(out);
        break;
      }
      case StmtKind::If: {
        for (const auto& [cond, body] : s.branches)
          if (eval(*cond).truthy()) return exec_body(body, out);
        return exec_body(s.else_body, out);
      }
      case StmtKind::For: exec_for(s, out); break;
      case StmtKind::Set:
      case StmtKind::SetBlock: exec_set(s, out); break;
      case StmtKind::Macro: assign(s.name, make_macro(s)); break;
      case StmtKind::CallBlock: {
        // `caller` is the block body as a macro without parameters.
        const Stmt* block = &s;
        Closure closure = capture_closure();
        Value caller = Value::function("caller", [block, closure](Interpreter& in, const CallArgs& args) {
          return in.call_macro(*block, args, closure);
        });
        Value callee = eval(*s.expr->args[0]);
        if (!callee.is_callable()) template_fail("'{}' is not callable", callee.type_name());
        CallArgs args = eval_args(*s.expr, 1);
        args.keyword.emplace_back("caller", caller);
        Value r = call(callee, args);
        append_py_str(out, r);
        check_output(out);
        break;
      }
      case StmtKind::FilterBlock: {
        std::string inner;
        push_frame(false);
        Flow f = exec_body(s.body, inner);
        pop_frame();
        // Apply the chain innermost-first: the chain's deepest Filter has args[0] == nullptr.
        std::vector<const Expr*> chain;
        for (const Expr* f2 = s.filter.get(); f2; f2 = f2->args[0].get()) chain.push_back(f2);
        Value v(std::move(inner));
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) v = apply_filter((*it)->name, v, eval_args(**it, 1));
        append_py_str(out, v);
        check_output(out);
        return f;
      }
      case StmtKind::Break: return Flow::Break;
      case StmtKind::Continue: return Flow::Continue;
      case StmtKind::Scope: {
        std::vector<std::pair<std::string, Value>> assigned;
        for (const auto& [name, expr] : s.with_assignments) assigned.emplace_back(name, eval(*expr));
        push_frame(false);
        current().vars = std::move(assigned);
        Flow f = exec_body(s.body, out);
        pop_frame();
        return f;
      }
    }
  } catch (const TemplateError& e) {
    if (e.located()) throw;
    throw TemplateError(fmt::format("template error at line {}: {}", s.line, e.what()), true);
  }
  return Flow::Normal;
}

void Interpreter::exec_for(const Stmt& s, std::string& out) {
  std::vector<Value> items = iterate(eval(*s.expr));
  auto bind_targets = [&](Frame& frame, const Value& item) {
    if (s.targets.size() == 1) {
      frame.vars.emplace_back(s.targets[0], item);
      return;
    }
    std::vector<Value> parts = iterate(item);
    if (parts.size() != s.targets.size())
      template_fail("ValueError: cannot unpack {} values into {} loop variables", parts.size(), s.targets.size());
    for (size_t k = 0; k < parts.size(); ++k) frame.vars.emplace_back(s.targets[k], parts[k]);
  };
  if (s.filter) {  // `for x in xs if cond`: filtered before loop.length is known
    std::vector<Value> kept;
    for (auto& item : items) {
      push_frame(false);
      bind_targets(current(), item);
      bool keep = eval(*s.filter).truthy();
      pop_frame();
      if (keep) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    push_frame(false);
    exec_body(s.else_body, out);
    pop_frame();
    return;
  }
  const int64_t n = static_cast<int64_t>(items.size());
  Value loop = Value::dict();
  auto& lv = loop.as_dict().items;
  for (const char* key : {"index0", "index", "revindex0", "revindex", "first", "last", "length", "previtem",
                          "nextitem", "depth", "depth0", "cycle"})
    lv.emplace_back(key, Value());
  lv[6].second = Value(n);
  auto cycle_index = std::make_shared<int64_t>(0);
  lv[11].second = Value::function("cycle", [cycle_index](Interpreter&, const CallArgs& args) -> Value {
    if (args.positional.empty()) template_fail("TypeError: no items for cycling given");
    return args.positional[static_cast<size_t>(*cycle_index) % args.positional.size()];
  });
  lv[9].second = Value(1);
  lv[10].second = Value(0);
  for (int64_t i = 0; i < n; ++i) {
    lv[0].second = Value(i);
    lv[1].second = Value(i + 1);
    lv[2].second = Value(n - i - 1);
    lv[3].second = Value(n - i);
    lv[4].second = Value(i == 0);
    lv[5].second = Value(i == n - 1);
    lv[7].second = i > 0 ? items[i - 1] : Value::undefined("there is no previous item");
    lv[8].second = i + 1 < n ? items[i + 1] : Value::undefined("there is no next item");
    *cycle_index = i;
    push_frame(false);
    current().vars.emplace_back("loop", loop);
    bind_targets(current(), items[i]);
    Flow f = exec_body(s.body, out);
    pop_frame();
    if (f == Flow::Break) break;
  }
}

void Interpreter::exec_set(const Stmt& s, std::string& out) {
  Value v;
  if (s.kind == StmtKind::SetBlock) {
    std::string inner;
    push_frame(false);
    exec_body(s.body, inner);
    pop_frame();
    v = Value(std::move(inner));
    std::vector<const Expr*> chain;
    for (const Expr* f = s.filter.get(); f; f = f->args[0].get()) chain.push_back(f);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) v = apply_filter((*it)->name, v, eval_args(**it, 1));
  } else {
    v = eval(*s.expr);
  }
  if (s.ns_attr) {
    Value ns = lookup(s.targets[0]);
    if (!ns.is_namespace()) template_fail("cannot assign attribute on non-namespace object");
    if (!s.targets[1].empty() && s.targets[1][0] == '_')
      template_fail("SecurityError: chat templates cannot store underscore-prefixed attributes on a namespace");
    ns.as_dict().set(s.targets[1], std::move(v));
    return;
  }
  if (s.targets.size() == 1) {
    assign(s.targets[0], std::move(v));
    return;
  }
  std::vector<Value> parts = iterate(v);
  if (parts.size() != s.targets.size())
    template_fail("ValueError: cannot unpack {} values into {} names", parts.size(), s.targets.size());
  for (size_t k = 0; k < parts.size(); ++k) assign(s.targets[k], parts[k]);
}

// ---- macros ------------------------------------------------------------------------------------

Interpreter::Closure Interpreter::capture_closure() const {
  // Names of the enclosing loop / with scopes (frames above the top level), inner ones winning;
  // top-level names stay dynamic (looked up at call time), as in jinja2.
  if (top_ <= 2) return nullptr;
  auto vars = std::make_shared<std::vector<std::pair<std::string, Value>>>();
  for (size_t i = 2; i < top_; ++i) {
    if (frames_[i].barrier) vars->clear();  // a macro frame: its own closure starts over
    for (const auto& [k, v] : frames_[i].vars) {
      auto it = std::find_if(vars->begin(), vars->end(), [&](const auto& kv) { return kv.first == k; });
      if (it != vars->end()) it->second = v;
      else vars->emplace_back(k, v);
    }
  }
  return vars;
}

Value Interpreter::make_macro(const Stmt& s) {
  const Stmt* macro = &s;
  Closure closure = capture_closure();
  return Value::function(s.name, [macro, closure](Interpreter& in, const CallArgs& args) {
    return in.call_macro(*macro, args, closure);
  });
}

Value Interpreter::call_macro(const Stmt& macro, const CallArgs& args, const Closure& closure) {
  if (++call_depth_ > limits_.max_call_depth) {
    --call_depth_;
    template_fail("maximum macro recursion depth ({}) exceeded", limits_.max_call_depth);
  }
  if (args.positional.size() > macro.params.size()) {
    --call_depth_;
    template_fail("macro '{}' takes not more than {} argument(s)", macro.name, macro.params.size());
  }
  // Frames: [closure (barrier: lookups then skip to the top level)] [parameters]. Defaults are
  // evaluated in the parameter frame so later defaults can refer to earlier parameters.
  push_frame(true);
  if (closure) current().vars = *closure;
  push_frame(false);
  try {
    for (size_t i = 0; i < macro.params.size(); ++i) {
      const auto& p = macro.params[i];
      const Value* given = args.get(i, p.name);
      Value v = given ? *given
                : p.default_value ? eval(*p.default_value)
                                  : Value::undefined(fmt::format("parameter '{}' was not provided", p.name));
      current().vars.emplace_back(p.name, std::move(v));
    }
    for (const auto& [k, v] : args.keyword) {
      bool known = false;
      for (const auto& p : macro.params) known |= p.name == k;
      if (k == "caller") {
        current().vars.emplace_back(k, v);
      } else if (!known) {
        template_fail("macro '{}' was invoked with unknown keyword argument '{}'", macro.name, k);
      }
    }
    std::string out;
    exec_body(macro.body, out);
    pop_frame();
    pop_frame();
    --call_depth_;
    return Value(std::move(out));
  } catch (...) {
    pop_frame();
    pop_frame();
    --call_depth_;
    throw;
  }
}

// ---- object protocol ---------------------------------------------------------------------------

std::vector<Value> Interpreter::iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return {};
    case Kind::List: return v.as_list().items;
    case Kind::Dict: {
      std::vector<Value> keys;
      keys.reserve(v.as_dict().items.size());
      for (const auto& kv : v.as_dict().items) keys.emplace_back(kv.first);
      return keys;
    }
    case Kind::String: {
      std::vector<Value> chars;
      std::string one;
      for (char32_t c : utf8_decode(v.as_string())) {
        one.clear();
        utf8_append(one, c);
        chars.emplace_back(one);
      }
      return chars;
    }
    default: template_fail("TypeError: '{}' object is not iterable", v.type_name());
  }
}

Value Interpreter::getattr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Kind::Undefined: undefined_error(obj);
    case Kind::Namespace: {
      if (const Value* v = obj.as_dict().find(name)) return *v;
      break;
    }
    case Kind::Dict: {
      if (Value m = bound_method(obj, name); !m.is_undefined()) return m;
      if (const Value* v = obj.as_dict().find(name)) return *v;
      break;
    }
    case Kind::String:
    case Kind::List: {
      if (Value m = bound_method(obj, name); !m.is_undefined()) return m;
      break;
    }
    default: break;
  }
  return Value::undefined(fmt::format("'{} object' has no attribute '{}'", obj.type_name(), name));
}

Value Interpreter::getitem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.is_dict() || obj.is_namespace()) {
    if (key.is_string()) {
      if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
      if (obj.is_dict()) return getattr(obj, key.as_string());
    }
    return Value::undefined(fmt::format("'{} object' has no attribute '{}'", obj.type_name(), to_py_str(key)));
  }
  if (obj.is_list() && obj.as_list().view_name)
    template_fail("TypeError: '{}' object is not subscriptable", obj.as_list().view_name);
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t n = obj.is_list() ? static_cast<int64_t>(obj.as_list().items.size())
                              : static_cast<int64_t>(utf8_length(obj.as_string()));
    int64_t i = key.as_int();
    if (i < 0) i += n;
    if (i < 0 || i >= n)
      return Value::undefined(fmt::format("'{} object' has no element {}", obj.type_name(), key.as_int()));
    if (obj.is_list()) return obj.as_list().items[static_cast<size_t>(i)];
    return Value(utf8_slice(obj.as_string(), {i}));
  }
  if (key.is_string()) return getattr(obj, key.as_string());
  return Value::undefined(fmt::format("'{} object' has no element {}", obj.type_name(), to_py_str(key)));
}

Value Interpreter::call(const Value& callee, const CallArgs& args) {
  if (callee.is_undefined()) undefined_error(callee);
  if (!callee.is_callable()) template_fail("TypeError: '{}' object is not callable", callee.type_name());
  return callee.as_callable().fn(*this, args);
}

Value Interpreter::apply_filter(const std::string& name, const Value& value, const CallArgs& args) {
  FilterFn f = find_filter(name);
  if (!f) template_fail("no filter named '{}'", name);
  return f(*this, value, args);
}

bool Interpreter::apply_test(const std::string& name, const Value& value, const CallArgs& args) {
  TestFn t = find_test(name);
  if (!t) template_fail("no test named '{}'", name);
  return t(*this, value, args);
}

// ---- expressions -------------------------------------------------------------------------------

CallArgs Interpreter::eval_args(const Expr& e, size_t first_positional) {
  CallArgs args;
  args.positional.reserve(e.args.size());
  for (size_t i = first_positional; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i]));
  for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v));
  return args;
}

Value Interpreter::eval_slice(const Value& obj, const Expr& slice) {
  auto bound = [&](const ExprPtr& p) -> std::optional<int64_t> {
    if (!p) return std::nullopt;
    Value v = eval(*p);
    if (v.is_none()) return std::nullopt;
    if (!v.is_int() && !v.is_bool()) template_fail("TypeError: slice indices must be integers or None");
    return v.as_int();
  };
  std::optional<int64_t> start = bound(slice.args[0]), stop = bound(slice.args[1]), step_o = bound(slice.args[2]);
  int64_t step = step_o.value_or(1);
  if (step == 0) template_fail("ValueError: slice step cannot be zero");
  if (obj.is_undefined()) undefined_error(obj);
  if ((!obj.is_list() && !obj.is_string()) || (obj.is_list() && obj.as_list().view_name))
    template_fail("TypeError: '{}' object is not subscriptable", obj.type_name());
  int64_t n = obj.is_list() ? static_cast<int64_t>(obj.as_list().items.size())
                            : static_cast<int64_t>(utf8_length(obj.as_string()));
  // Python's slice.indices().
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t b = clamp(start, step > 0 ? 0 : n - 1), e = clamp(stop, step > 0 ? n : -1);
  std::vector<int64_t> idx;
  for (int64_t i = b; step > 0 ? i < e : i > e; i += step) idx.push_back(i);
  if (obj.is_string()) return Value(utf8_slice(obj.as_string(), idx));
  std::vector<Value> out;
  out.reserve(idx.size());
  for (int64_t i : idx) out.push_back(obj.as_list().items[static_cast<size_t>(i)]);
  return Value::list(std::move(out), obj.as_list().is_tuple);
}

Value Interpreter::eval_call(const Expr& e) {
  Value callee = eval(*e.args[0]);
  CallArgs args = eval_args(e, 1);
  return call(callee, args);
}

Value Interpreter::eval_compare(const Expr& e) {
  Value left = eval(*e.args[0]);
  for (size_t i = 0; i < e.compare_ops.size(); ++i) {
    Value right = eval(*e.args[i + 1]);
    bool ok = false;
    switch (e.compare_ops[i]) {
      case Op::Eq: ok = values_equal(left, right); break;
      case Op::Ne: ok = !values_equal(left, right); break;
      case Op::Lt: ok = value_less(left, right); break;
      case Op::Gt: ok = value_less(right, left); break;
      case Op::Le: ok = !value_less(right, left); break;
      case Op::Ge: ok = !value_less(left, right); break;
      case Op::In: ok = value_in(left, right); break;
      default: ok = !value_in(left, right); break;
    }
    if (!ok) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Interpreter::eval_binary(const Expr& e) {
  const Op op = e.op;
  const char* op_text = e.name.c_str();
  if (op == Op::And) {
    Value l = eval(*e.args[0]);
    return l.truthy() ? eval(*e.args[1]) : l;
  }
  if (op == Op::Or) {
    Value l = eval(*e.args[0]);
    return l.truthy() ? l : eval(*e.args[1]);
  }
  Value a = eval(*e.args[0]);
  Value b = eval(*e.args[1]);
  if (op == Op::Concat) {
    std::string s = to_py_str(a);
    append_py_str(s, b);
    if (s.size() > limits_.max_output_bytes) template_fail("string exceeds the output limit");
    return Value(std::move(s));
  }
  if (op == Op::Mod && a.is_string()) return Value(py_percent_format(a.as_string(), b));  // b may be Undefined
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  const bool ints = (a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool());
  const bool nums = a.is_number() && b.is_number();
  if (op == Op::Add) {
    if (ints) return Value(a.as_int() + b.as_int());
    if (nums) return Value(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      if (a.as_string().size() + b.as_string().size() > limits_.max_output_bytes)
        template_fail("string exceeds the output limit");
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple && !a.as_list().view_name &&
        !b.as_list().view_name) {
      std::vector<Value> out = a.as_list().items;
      out.insert(out.end(), b.as_list().items.begin(), b.as_list().items.end());
      return Value::list(std::move(out), a.as_list().is_tuple);
    }
    if (a.is_string() || b.is_string())
      template_fail("TypeError: can only concatenate str (not \"{}\") to str", a.is_string() ? b.type_name() : a.type_name());
    unsupported_operand("+", a, b);
  }
  if (op == Op::Sub) {
    if (ints) return Value(a.as_int() - b.as_int());
    if (nums) return Value(a.as_double() - b.as_double());
    unsupported_operand("-", a, b);
  }
  if (op == Op::Mul) {
    if (ints) return Value(a.as_int() * b.as_int());
    if (nums) return Value(a.as_double() * b.as_double());
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int(), limits_.max_output_bytes);
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int(), limits_.max_output_bytes);
    unsupported_operand("*", a, b);
  }
  if (op == Op::Div) {
    if (!nums) unsupported_operand("/", a, b);
    if (b.as_double() == 0.0) template_fail("ZeroDivisionError: division by zero");
    return Value(a.as_double() / b.as_double());
  }
  if (op == Op::FloorDiv) {
    if (!nums) unsupported_operand("//", a, b);
    if (b.as_double() == 0.0) template_fail("ZeroDivisionError: integer division or modulo by zero");
    if (ints) return Value(floor_div(a.as_int(), b.as_int()));
    return Value(std::floor(a.as_double() / b.as_double()));
  }
  if (op == Op::Mod) {
    if (a.is_string()) return Value(py_percent_format(a.as_string(), b));
    if (!nums) unsupported_operand("%", a, b);
    if (b.as_double() == 0.0) template_fail("ZeroDivisionError: integer division or modulo by zero");
    if (ints) return Value(floor_mod(a.as_int(), b.as_int()));
    return Value(float_mod(a.as_double(), b.as_double()));
  }
  if (op == Op::Pow) {
    if (!nums) unsupported_operand("**", a, b);
    if (ints && b.as_int() >= 0) {
      int64_t r = 1, base = a.as_int();
      for (int64_t k = 0; k < b.as_int() && k < 64; ++k) r *= base;
      return Value(r);
    }
    if (a.as_double() == 0.0 && b.as_double() < 0)
      template_fail("ZeroDivisionError: 0.0 cannot be raised to a negative power");
    if (a.as_double() < 0 && b.as_double() != std::floor(b.as_double()))
      template_fail("a negative number raised to a fractional power is complex; not supported");
    return Value(std::pow(a.as_double(), b.as_double()));
  }
  template_fail("unknown operator '{}'", op_text);
}

Value Interpreter::eval(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Literal: return e.literal;
    case ExprKind::Name: return lookup(e.name);
    case ExprKind::List:
    case ExprKind::Tuple: {
      std::vector<Value> items;
      items.reserve(e.args.size());
      for (const auto& a : e.args) items.push_back(eval(*a));
      return Value::list(std::move(items), e.kind == ExprKind::Tuple);
    }
    case ExprKind::Dict: {
      Value d = Value::dict();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = eval(*e.args[i]);
        if (!k.is_string()) template_fail("dict literal keys must be strings in this engine");
        d.as_dict().set(k.as_string(), eval(*e.args[i + 1]));
      }
      return d;
    }
    case ExprKind::GetAttr: return getattr(eval(*e.args[0]), e.name);
    case ExprKind::GetItem: {
      Value obj = eval(*e.args[0]);
      if (e.args[1]->kind == ExprKind::Slice) return eval_slice(obj, *e.args[1]);
      return getitem(obj, eval(*e.args[1]));
    }
    case ExprKind::Slice: template_fail("slice outside of a subscript");
    case ExprKind::Call: return eval_call(e);
    case ExprKind::Filter: {
      Value v = eval(*e.args[0]);
      return apply_filter(e.name, v, eval_args(e, 1));
    }
    case ExprKind::Test: {
      Value v = eval(*e.args[0]);
      bool r = apply_test(e.name, v, eval_args(e, 1));
      return Value(e.negated ? !r : r);
    }
    case ExprKind::Unary: {
      Value v = eval(*e.args[0]);
      if (e.op == Op::Not) return Value(!v.truthy());
      if (v.is_undefined()) undefined_error(v);
      if (e.op == Op::Neg) {
        if (v.is_int() || v.is_bool()) return Value(-v.as_int());
        if (v.is_float()) return Value(-v.as_double());
        template_fail("TypeError: bad operand type for unary -: '{}'", v.type_name());
      }
      if (!v.is_number()) template_fail("TypeError: bad operand type for unary +: '{}'", v.type_name());
      return v.is_bool() ? Value(v.as_int()) : v;
    }
    case ExprKind::Binary: return eval_binary(e);
    case ExprKind::Compare: return eval_compare(e);
    case ExprKind::Conditional: {
      if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
      if (e.args[2]) return eval(*e.args[2]);
      return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
    }
  }
  return Value();
}

}  // namespace glm::jinja
