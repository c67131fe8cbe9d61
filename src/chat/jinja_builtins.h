#pragma once
// The built-in names a chat template can reach: jinja2's filters and tests, the globals that
// transformers installs (range, dict, namespace, raise_exception, strftime_now), and the Python
// methods of str, dict and list that the sandbox allows (no mutating methods).
#include <string>
#include <string_view>

#include "chat/jinja_value.h"

namespace glm::jinja {

using FilterFn = Value (*)(Interpreter&, const Value& value, const CallArgs& args);
using TestFn = bool (*)(Interpreter&, const Value& value, const CallArgs& args);

FilterFn find_filter(std::string_view name);  // nullptr when unknown
TestFn find_test(std::string_view name);      // nullptr when unknown
// `obj.name` as a bound method when `obj` is a str/dict/list that has it; Undefined otherwise.
Value bound_method(const Value& obj, const std::string& name);
// Global function by name; Undefined when not a global.
Value builtin_global(const std::string& name);

}  // namespace glm::jinja
