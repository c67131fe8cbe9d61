#pragma once
// The value model of the Jinja engine: the Python objects a chat template can see.
// Mirrors Python semantics where templates can observe them: dicts keep insertion order, ints and
// floats are distinct (1 vs 1.0 print differently), bool is an int for arithmetic and equality,
// tuples print as (a, b), and jinja2's default Undefined is a value of its own (falsy, prints "",
// iterates as empty, errors when an attribute is read from it or it is called).
// Containers are shared by reference like Python objects; copying a Value never deep-copies.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace glm::jinja {

class Value;
class Interpreter;

struct ValueList {
  std::vector<Value> items;
  bool is_tuple = false;  // only changes how it prints: (a, b) instead of [a, b]
  // Set for dict.keys()/values()/items() results: "dict_keys" etc. They print as dict_keys([...])
  // and, as in Python, cannot be indexed.
  const char* view_name = nullptr;
};

// Insertion-ordered string-keyed map. Chat-template dicts hold a handful of keys, so a linear scan
// beats hashing; JSON input never has non-string keys.
struct ValueDict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(std::string key, Value value);
};

// Positional and keyword arguments of a call, already evaluated.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // Python-style binding: argument `index` positionally, else by `name`; nullptr when absent.
  const Value* get(size_t index, std::string_view name) const;
};

struct Callable {
  std::string name;
  std::function<Value(Interpreter&, const CallArgs&)> fn;
};

enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

class Value {
 public:
  Value() = default;  // Undefined
  static Value undefined(std::string hint = {});
  static Value none();
  Value(bool b) : kind_(Kind::Bool), int_(b) {}
  Value(int v) : kind_(Kind::Int), int_(v) {}
  Value(int64_t v) : kind_(Kind::Int), int_(v) {}
  Value(double v) : kind_(Kind::Float), float_(v) {}
  Value(std::string s) : kind_(Kind::String), ptr_(std::make_shared<std::string>(std::move(s))) {}
  Value(std::string_view s) : Value(std::string(s)) {}
  Value(const char* s) : Value(std::string(s)) {}
  Value(std::shared_ptr<ValueList> l) : kind_(Kind::List), ptr_(std::move(l)) {}
  Value(std::shared_ptr<ValueDict> d, bool is_namespace = false)
      : kind_(is_namespace ? Kind::Namespace : Kind::Dict), ptr_(std::move(d)) {}
  Value(std::shared_ptr<Callable> c) : kind_(Kind::Callable), ptr_(std::move(c)) {}

  static Value list(std::vector<Value> items = {}, bool is_tuple = false);
  static Value dict();
  static Value function(std::string name, std::function<Value(Interpreter&, const CallArgs&)> fn);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }
  bool is_callable() const { return kind_ == Kind::Callable; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }  // Int and Bool
  double as_double() const { return kind_ == Kind::Float ? float_ : static_cast<double>(int_); }
  const std::string& as_string() const { return *static_cast<const std::string*>(ptr_.get()); }
  ValueList& as_list() const { return *static_cast<ValueList*>(ptr_.get()); }
  ValueDict& as_dict() const { return *static_cast<ValueDict*>(ptr_.get()); }  // Dict and Namespace
  const Callable& as_callable() const { return *static_cast<const Callable*>(ptr_.get()); }
  const std::string& undefined_hint() const;

  bool truthy() const;
  const char* type_name() const;  // Python's type name: 'str', 'int', 'dict', ...
  nlohmann::ordered_json to_json() const;  // for tests and debugging; errors on Undefined/callables

 private:
  // 24 bytes: the payload is either inline (bool/int/float) or one shared immutable-or-container
  // object (string, list, dict, namespace, callable, Undefined hint), so copies never deep-copy.
  Kind kind_ = Kind::Undefined;
  union {
    int64_t int_ = 0;
    double float_;
  };
  std::shared_ptr<void> ptr_;
};

// Python `==` (1 == 1.0 == True; containers compare element-wise; Undefined == Undefined).
bool values_equal(const Value& a, const Value& b);
// Python `<` for numbers, strings and sequences; throws a template error for other pairs.
bool value_less(const Value& a, const Value& b);
// Python str(x) as jinja prints it: None -> "None", Undefined -> "", floats as repr.
std::string to_py_str(const Value& v);
// Python repr(x): 'abc' quoted, containers with repr of their elements.
std::string to_py_repr(const Value& v);
void append_py_str(std::string& out, const Value& v);

}  // namespace glm::jinja
