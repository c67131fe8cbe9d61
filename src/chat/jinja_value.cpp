#include "chat/jinja_value.h"

#include "chat/jinja_error.h"
#include "chat/py_text.h"

namespace glm::jinja {

const Value* ValueDict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

Value* ValueDict::find(std::string_view key) {
  for (auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void ValueDict::set(std::string key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  items.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::get(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

Value Value::undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.ptr_ = std::make_shared<std::string>(std::move(hint));
  return v;
}

const std::string& Value::undefined_hint() const {
  static const std::string kNone;
  return ptr_ ? *static_cast<const std::string*>(ptr_.get()) : kNone;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value Value::list(std::vector<Value> items, bool is_tuple) {
  auto l = std::make_shared<ValueList>();
  l->items = std::move(items);
  l->is_tuple = is_tuple;
  return Value(std::move(l));
}

Value Value::dict() { return Value(std::make_shared<ValueDict>()); }

Value Value::function(std::string name, std::function<Value(Interpreter&, const CallArgs&)> fn) {
  return Value(std::make_shared<Callable>(Callable{std::move(name), std::move(fn)}));
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return none();
    case nlohmann::json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::json::value_t::string: return Value(j.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      auto l = std::make_shared<ValueList>();
      l->items.reserve(j.size());
      for (const auto& e : j) l->items.push_back(from_json(e));
      return Value(std::move(l));
    }
    case nlohmann::json::value_t::object: {
      auto d = std::make_shared<ValueDict>();
      d->items.reserve(j.size());
      for (const auto& [k, e] : j.items()) d->items.emplace_back(k, from_json(e));
      return Value(std::move(d));
    }
    default: return undefined();  // binary / discarded: not produced by JSON text
  }
}

nlohmann::ordered_json Value::to_json() const {
  switch (kind_) {
    case Kind::None: return nullptr;
    case Kind::Bool: return as_bool();
    case Kind::Int: return int_;
    case Kind::Float: return float_;
    case Kind::String: return as_string();
    case Kind::List: {
      auto j = nlohmann::ordered_json::array();
      for (const auto& e : as_list().items) j.push_back(e.to_json());
      return j;
    }
    case Kind::Dict:
    case Kind::Namespace: {
      auto j = nlohmann::ordered_json::object();
      for (const auto& [k, e] : as_dict().items) j[k] = e.to_json();
      return j;
    }
    default: template_fail("Object of type {} is not JSON serializable", type_name());
  }
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool:
    case Kind::Int: return int_ != 0;
    case Kind::Float: return float_ != 0.0;
    case Kind::String: return !as_string().empty();
    case Kind::List: return !as_list().items.empty();
    case Kind::Dict: return !as_dict().items.empty();
    case Kind::Namespace:
    case Kind::Callable: return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (kind_) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return as_list().view_name ? as_list().view_name : as_list().is_tuple ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Namespace: return "Namespace";
    case Kind::Callable: return "function";
  }
  return "object";
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.as_string() == b.as_string();
    case Kind::List: {
      const auto &x = a.as_list(), &y = b.as_list();
      if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i)
        if (!values_equal(x.items[i], y.items[i])) return false;
      return true;
    }
    case Kind::Dict: {
      const auto &x = a.as_dict(), &y = b.as_dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !values_equal(v, *other)) return false;
      }
      return true;
    }
    case Kind::Namespace: return &a.as_dict() == &b.as_dict();
    case Kind::Callable: return &a.as_callable() == &b.as_callable();
    default: return false;
  }
}

bool value_less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 order = code point order
  if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    const auto &x = a.as_list().items, &y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!values_equal(x[i], y[i])) return value_less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  template_fail("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name());
}

static void append_str_repr(std::string& out, const std::string& s) {
  // Python picks single quotes unless the text holds ' and no ".
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  out.push_back(quote);
  for (unsigned char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out.push_back('\\');
          out.push_back(static_cast<char>(c));
        } else if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back(quote);
}

static void append_repr(std::string& out, const Value& v);

static void append_container(std::string& out, const Value& v) {
  if (v.is_list()) {
    const auto& l = v.as_list();
    if (l.view_name) {
      out += l.view_name;
      out.push_back('(');
    }
    out.push_back(l.is_tuple ? '(' : '[');
    for (size_t i = 0; i < l.items.size(); ++i) {
      if (i) out += ", ";
      append_repr(out, l.items[i]);
    }
    if (l.is_tuple && l.items.size() == 1) out.push_back(',');
    out.push_back(l.is_tuple ? ')' : ']');
    if (l.view_name) out.push_back(')');
    return;
  }
  const auto& d = v.as_dict();
  if (v.is_namespace()) out += "<Namespace ";
  out.push_back('{');
  bool first = true;
  for (const auto& [k, e] : d.items) {
    if (!first) out += ", ";
    first = false;
    append_str_repr(out, k);
    out += ": ";
    append_repr(out, e);
  }
  out.push_back('}');
  if (v.is_namespace()) out.push_back('>');
}

static void append_repr(std::string& out, const Value& v) {
  if (v.is_string()) {
    append_str_repr(out, v.as_string());
  } else if (v.is_list() || v.is_dict() || v.is_namespace()) {
    append_container(out, v);
  } else {
    append_py_str(out, v);
  }
}

void append_py_str(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return;
    case Kind::None: out += "None"; return;
    case Kind::Bool: out += v.as_bool() ? "True" : "False"; return;
    case Kind::Int: out += std::to_string(v.as_int()); return;
    case Kind::Float: out += py_float_repr(v.as_double()); return;
    case Kind::String: out += v.as_string(); return;
    case Kind::List:
    case Kind::Dict:
    case Kind::Namespace: append_container(out, v); return;
    case Kind::Callable: out += "<function " + v.as_callable().name + ">"; return;
  }
}

std::string to_py_str(const Value& v) {
  if (v.is_string()) return v.as_string();
  std::string out;
  append_py_str(out, v);
  return out;
}

std::string to_py_repr(const Value& v) {
  std::string out;
  append_repr(out, v);
  return out;
}

}  // namespace glm::jinja
