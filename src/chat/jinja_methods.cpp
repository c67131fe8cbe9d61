// Python methods of str / dict / list reachable from templates, and the global functions that
// transformers' chat-template environment installs.
#include <algorithm>
#include <ctime>
#include <unordered_set>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_interpreter.h"
#include "chat/py_text.h"

namespace glm::jinja {
namespace {

const Value* opt_arg(const CallArgs& a, size_t i, std::string_view name) {
  const Value* v = a.get(i, name);
  return (v && !v->is_none()) ? v : nullptr;
}

const std::string& str_arg(const CallArgs& a, size_t i, std::string_view name, const char* method) {
  const Value* v = a.get(i, name);
  if (!v) template_fail("TypeError: {}() missing required argument", method);
  if (!v->is_string()) template_fail("TypeError: {}() argument must be str, not {}", method, v->type_name());
  return v->as_string();
}

// startswith / endswith accept a str or a tuple of str.
bool affix_match(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& a) {
    if (!a.is_string()) template_fail("TypeError: startswith/endswith first arg must be str or a tuple of str");
    const std::string& x = a.as_string();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list()) return std::any_of(affix.as_list().items.begin(), affix.as_list().items.end(), one);
  return one(affix);
}

// str.format with {}, {0} and {name} fields (no format specs beyond passing through str()).
std::string str_format(const std::string& fmt, const CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out.push_back('}');
      ++i;
    } else if (c == '{') {
      size_t close = fmt.find('}', i);
      if (close == std::string::npos) template_fail("ValueError: Single '{{' encountered in format string");
      std::string field = fmt.substr(i + 1, close - i - 1);
      if (field.find(':') != std::string::npos || field.find('!') != std::string::npos)
        template_fail("str.format specs are not supported: '{}'", field);
      const Value* v = nullptr;
      if (field.empty()) v = auto_index < a.positional.size() ? &a.positional[auto_index++] : nullptr;
      else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
        size_t k = std::stoul(field);
        v = k < a.positional.size() ? &a.positional[k] : nullptr;
      } else {
        for (const auto& [name, val] : a.keyword)
          if (name == field) v = &val;
      }
      if (!v) template_fail("IndexError: Replacement index {} out of range", field);
      append_py_str(out, *v);
      i = close;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

int64_t count_occurrences(const std::string& s, const std::string& sub) {
  if (sub.empty()) return static_cast<int64_t>(utf8_length(s)) + 1;
  int64_t n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
  return n;
}

// Byte offset -> code point index, for find()/rfind() results.
int64_t cp_index(const std::string& s, size_t byte_pos) { return static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, byte_pos))); }

Value string_method(const std::string& s, const std::string& name, const CallArgs& a) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const Value* chars = opt_arg(a, 0, "chars");
    std::string c = chars ? to_py_str(*chars) : std::string();
    return Value(py_strip(s, chars ? &c : nullptr, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    const Value* sep = opt_arg(a, 0, "sep");
    const Value* maxsplit = opt_arg(a, 1, "maxsplit");
    std::string sp = sep ? to_py_str(*sep) : std::string();
    int64_t m = maxsplit ? maxsplit->as_int() : -1;
    std::vector<std::string> parts;
    if (name == "rsplit" && m >= 0) {
      // Split from the right: reverse the problem on the whole pieces.
      auto all = py_split(s, sep ? &sp : nullptr, -1);
      if (static_cast<int64_t>(all.size()) > m + 1) {
        size_t keep = all.size() - static_cast<size_t>(m);
        std::string head;
        if (sep) {
          for (size_t i = 0; i < keep; ++i) head += (i ? sp : "") + all[i];
        } else {
          // whitespace: the head keeps its original inner spacing
          std::string t = py_strip(s, nullptr, false, true);
          size_t cut = t.size();
          for (size_t i = 0; i < static_cast<size_t>(m); ++i) {
            cut = t.rfind(all[all.size() - 1 - i], cut);
            while (cut > 0 && py_isspace(static_cast<unsigned char>(t[cut - 1]))) --cut;
          }
          head = py_strip(t.substr(0, cut), nullptr, true, true);
        }
        parts.push_back(head);
        parts.insert(parts.end(), all.begin() + static_cast<long>(keep), all.end());
      } else {
        parts = std::move(all);
      }
    } else {
      parts = py_split(s, sep ? &sp : nullptr, m);
    }
    std::vector<Value> out;
    out.reserve(parts.size());
    for (auto& p : parts) out.emplace_back(std::move(p));
    return Value::list(std::move(out));
  }
  if (name == "splitlines") {
    std::vector<Value> out;
    size_t start = 0;
    bool keepends = opt_arg(a, 0, "keepends") && a.get(0, "keepends")->truthy();
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        size_t end = i;
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        out.emplace_back(s.substr(start, (keepends ? i + 1 : end) - start));
        start = i + 1;
      }
    }
    if (start < s.size()) out.emplace_back(s.substr(start));
    return Value::list(std::move(out));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* affix = a.get(0, "prefix");
    if (!affix) affix = a.get(0, "suffix");
    if (!affix) template_fail("TypeError: {}() takes at least 1 argument", name);
    return Value(affix_match(s, *affix, name == "startswith"));
  }
  if (name == "replace") {
    const Value* count = opt_arg(a, 2, "count");
    return Value(py_replace(s, str_arg(a, 0, "old", "replace"), str_arg(a, 1, "new", "replace"), count ? count->as_int() : -1));
  }
  if (name == "upper") return Value(py_upper(s));
  if (name == "lower") return Value(py_lower(s));
  if (name == "title") return Value(py_title(s));
  if (name == "capitalize") return Value(py_capitalize(s));
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    const std::string& sub = str_arg(a, 0, "sub", name.c_str());
    size_t p = (name[0] == 'r') ? s.rfind(sub) : s.find(sub);
    if (p == std::string::npos) {
      if (name.find("index") != std::string::npos) template_fail("ValueError: substring not found");
      return Value(static_cast<int64_t>(-1));
    }
    return Value(cp_index(s, p));
  }
  if (name == "count") return Value(count_occurrences(s, str_arg(a, 0, "sub", "count")));
  if (name == "join") {
    const Value* items = a.get(0, "iterable");
    if (!items || !items->is_list()) template_fail("TypeError: join() needs a list of strings");
    std::string out;
    bool first = true;
    for (const auto& e : items->as_list().items) {
      if (!e.is_string()) template_fail("TypeError: sequence item: expected str instance, {} found", e.type_name());
      if (!first) out += s;
      first = false;
      out += e.as_string();
    }
    return Value(std::move(out));
  }
  if (name == "format") return Value(str_format(s, a));
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal")
    return Value(!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
  if (name == "isalpha")
    return Value(!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }));
  if (name == "isalnum")
    return Value(!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }));
  if (name == "isspace") {
    auto cps = utf8_decode(s);
    return Value(!cps.empty() && std::all_of(cps.begin(), cps.end(), py_isspace));
  }
  if (name == "islower") return Value(py_lower(s) == s && py_upper(s) != s);
  if (name == "isupper") return Value(py_upper(s) == s && py_lower(s) != s);
  if (name == "zfill" || name == "ljust" || name == "rjust" || name == "center") {
    const Value* w = a.get(0, "width");
    if (!w) template_fail("TypeError: {}() takes at least 1 argument", name);
    int64_t width = w->as_int(), len = static_cast<int64_t>(utf8_length(s));
    if (width <= len) return Value(s);
    size_t pad = static_cast<size_t>(width - len);
    if (name == "zfill") {
      bool sign = !s.empty() && (s[0] == '-' || s[0] == '+');
      return Value((sign ? s.substr(0, 1) : "") + std::string(pad, '0') + s.substr(sign ? 1 : 0));
    }
    if (name == "ljust") return Value(s + std::string(pad, ' '));
    if (name == "rjust") return Value(std::string(pad, ' ') + s);
    size_t left = pad / 2 + (pad & static_cast<size_t>(width) & 1);
    return Value(std::string(left, ' ') + s + std::string(pad - left, ' '));
  }
  template_fail("'str object' has no attribute '{}'", name);
}

Value dict_view(std::vector<Value> items, const char* view_name) {
  Value v = Value::list(std::move(items));
  v.as_list().view_name = view_name;
  return v;
}

Value dict_method(const Value& d, const std::string& name, const CallArgs& a) {
  const auto& items = d.as_dict().items;
  if (name == "items") {
    std::vector<Value> out;
    out.reserve(items.size());
    for (const auto& [k, v] : items) out.push_back(Value::list({Value(k), v}, true));
    return dict_view(std::move(out), "dict_items");
  }
  if (name == "keys") {
    std::vector<Value> out;
    for (const auto& kv : items) out.emplace_back(kv.first);
    return dict_view(std::move(out), "dict_keys");
  }
  if (name == "values") {
    std::vector<Value> out;
    for (const auto& kv : items) out.push_back(kv.second);
    return dict_view(std::move(out), "dict_values");
  }
  if (name == "get") {
    const Value* key = a.get(0, "key");
    if (!key) template_fail("TypeError: get expected at least 1 argument, got 0");
    const Value* dflt = a.get(1, "default");
    if (key->is_string())
      if (const Value* v = d.as_dict().find(key->as_string())) return *v;
    return dflt ? *dflt : Value::none();
  }
  if (name == "copy") {
    auto c = std::make_shared<ValueDict>(d.as_dict());
    return Value(std::move(c));
  }
  template_fail("'dict object' has no attribute '{}'", name);
}

Value list_method(const Value& l, const std::string& name, const CallArgs& a) {
  const auto& items = l.as_list().items;
  const Value* x = a.get(0, "value");
  if (name == "index") {
    if (!x) template_fail("TypeError: index expected 1 argument");
    for (size_t i = 0; i < items.size(); ++i)
      if (values_equal(items[i], *x)) return Value(static_cast<int64_t>(i));
    template_fail("ValueError: {} is not in list", to_py_repr(*x));
  }
  if (name == "count") {
    if (!x) template_fail("TypeError: count expected 1 argument");
    return Value(static_cast<int64_t>(std::count_if(items.begin(), items.end(), [&](const Value& e) { return values_equal(e, *x); })));
  }
  if (name == "copy") return Value::list(items, l.as_list().is_tuple);
  template_fail("'list object' has no attribute '{}'", name);
}

const std::unordered_set<std::string>& string_methods() {
  static const std::unordered_set<std::string> k = {
      "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "replace",
      "upper", "lower", "title", "capitalize", "find", "rfind", "index", "rindex", "count", "join", "format",
      "isdigit", "isnumeric", "isdecimal", "isalpha", "isalnum", "isspace", "islower", "isupper", "zfill",
      "ljust", "rjust", "center"};
  return k;
}

// Methods the immutable sandbox refuses (they would mutate a value the caller passed in).
bool is_mutating(const Value& obj, const std::string& name) {
  static const std::unordered_set<std::string> list_m = {"append", "extend", "insert", "pop", "remove", "clear", "reverse", "sort"};
  static const std::unordered_set<std::string> dict_m = {"pop", "popitem", "clear", "update", "setdefault"};
  return obj.is_list() ? list_m.count(name) > 0 : obj.is_dict() ? dict_m.count(name) > 0 : false;
}

}  // namespace

Value bound_method(const Value& obj, const std::string& name) {
  if (is_mutating(obj, name))
    return Value::undefined(fmt::format("SecurityError: access to attribute '{}' of '{}' object is unsafe.", name, obj.type_name()));
  bool known = false;
  if (obj.is_string()) known = string_methods().count(name) > 0;
  else if (obj.is_dict()) known = name == "items" || name == "keys" || name == "values" || name == "get" || name == "copy";
  else if (obj.is_list()) known = name == "index" || name == "count" || name == "copy";
  if (!known) return Value();
  return Value::function(name, [obj, name](Interpreter&, const CallArgs& a) -> Value {
    if (obj.is_string()) return string_method(obj.as_string(), name, a);
    if (obj.is_dict()) return dict_method(obj, name, a);
    return list_method(obj, name, a);
  });
}

namespace {

constexpr int64_t kMaxRange = 100000;  // jinja2.sandbox.MAX_RANGE

Value g_range(Interpreter&, const CallArgs& a) {
  if (a.positional.empty() || a.positional.size() > 3) template_fail("TypeError: range expected 1 to 3 arguments");
  for (const auto& v : a.positional)
    if (!v.is_int() && !v.is_bool()) template_fail("TypeError: '{}' object cannot be interpreted as an integer", v.type_name());
  int64_t start = 0, stop, step = 1;
  if (a.positional.size() == 1) {
    stop = a.positional[0].as_int();
  } else {
    start = a.positional[0].as_int();
    stop = a.positional[1].as_int();
    if (a.positional.size() == 3) step = a.positional[2].as_int();
  }
  if (step == 0) template_fail("ValueError: range() arg 3 must not be zero");
  int64_t n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                       : (start > stop ? (start - stop - step - 1) / -step : 0);
  if (n > kMaxRange) template_fail("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange);
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.emplace_back(start + i * step);
  return Value::list(std::move(out));
}

Value dict_from_args(const CallArgs& a, bool is_namespace) {
  auto d = std::make_shared<ValueDict>();
  if (!a.positional.empty()) {
    const Value& src = a.positional[0];
    if (src.is_dict() || src.is_namespace()) {
      d->items = src.as_dict().items;
    } else if (src.is_list()) {
      for (const auto& pair : src.as_list().items) {
        if (!pair.is_list() || pair.as_list().items.size() != 2 || !pair.as_list().items[0].is_string())
          template_fail("ValueError: dictionary update sequence element has wrong shape");
        d->set(pair.as_list().items[0].as_string(), pair.as_list().items[1]);
      }
    } else {
      template_fail("TypeError: '{}' object is not iterable", src.type_name());
    }
  }
  for (const auto& [k, v] : a.keyword) {
    if (is_namespace && !k.empty() && k[0] == '_')
      template_fail("SecurityError: chat templates cannot store underscore-prefixed attributes on a namespace");
    d->set(k, v);
  }
  return Value(std::move(d), is_namespace);
}

Value g_dict(Interpreter&, const CallArgs& a) { return dict_from_args(a, false); }
Value g_namespace(Interpreter&, const CallArgs& a) { return dict_from_args(a, true); }

Value g_raise_exception(Interpreter&, const CallArgs& a) {
  const Value* msg = a.get(0, "message");
  throw RaisedException(msg ? to_py_str(*msg) : std::string("raise_exception called"));
}

Value g_strftime_now(Interpreter&, const CallArgs& a) {
  const Value* f = a.get(0, "format");
  if (!f || !f->is_string()) template_fail("TypeError: strftime_now() needs a format string");
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[512];
  size_t n = std::strftime(buf, sizeof(buf), f->as_string().c_str(), &tm);
  return Value(std::string(buf, n));
}

}  // namespace

Value builtin_global(const std::string& name) {
  using Fn = Value (*)(Interpreter&, const CallArgs&);
  static const std::pair<const char*, Fn> kGlobals[] = {
      {"range", g_range}, {"dict", g_dict}, {"namespace", g_namespace},
      {"raise_exception", g_raise_exception}, {"strftime_now", g_strftime_now}};
  for (const auto& [n, fn] : kGlobals)
    if (name == n) return Value::function(n, fn);
  return Value();
}

}  // namespace glm::jinja
