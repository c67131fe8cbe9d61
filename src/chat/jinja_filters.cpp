// jinja2's built-in filters and tests (jinja2/filters.py, jinja2/tests.py), with transformers'
// `tojson` override: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <unordered_map>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_interpreter.h"
#include "chat/py_text.h"

namespace glm::jinja {
namespace {

Value arg_or(const CallArgs& a, size_t i, std::string_view name, Value dflt) {
  const Value* v = a.get(i, name);
  return v ? *v : dflt;
}

int64_t length_of(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined: return 0;
    case Kind::String: return static_cast<int64_t>(utf8_length(v.as_string()));
    case Kind::List: return static_cast<int64_t>(v.as_list().items.size());
    case Kind::Dict:
    case Kind::Namespace: return static_cast<int64_t>(v.as_dict().items.size());
    default: template_fail("TypeError: object of type '{}' has no len()", v.type_name());
  }
}

// Attribute paths like "a.b" or "0", as jinja's make_attrgetter resolves them.
Value get_attribute_path(Interpreter& in, const Value& item, const std::string& path) {
  Value cur = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    cur = numeric ? in.getitem(cur, Value(static_cast<int64_t>(std::stoll(part)))) : in.getitem(cur, Value(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(py_lower(v.as_string()));
  return v;
}

// ---- filters ------------------------------------------------------------------------------------

Value f_abs(Interpreter&, const Value& v, const CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_int() || v.is_bool()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  template_fail("TypeError: bad operand type for abs(): '{}'", v.type_name());
}

// environment.getattr: attributes only, so a dict's keys are not found (its methods are).
Value f_attr(Interpreter& in, const Value& v, const CallArgs& a) {
  std::string name = to_py_str(arg_or(a, 0, "name", Value("")));
  if (v.is_dict()) {
    Value m = bound_method(v, name);
    return m.is_undefined() ? Value::undefined(fmt::format("'dict object' has no attribute '{}'", name)) : m;
  }
  return in.getattr(v, name);
}

Value f_capitalize(Interpreter&, const Value& v, const CallArgs&) { return Value(py_capitalize(to_py_str(v))); }
Value f_lower(Interpreter&, const Value& v, const CallArgs&) { return Value(py_lower(to_py_str(v))); }
Value f_upper(Interpreter&, const Value& v, const CallArgs&) { return Value(py_upper(to_py_str(v))); }
Value f_string(Interpreter&, const Value& v, const CallArgs&) { return v.is_string() ? v : Value(to_py_str(v)); }
Value f_safe(Interpreter&, const Value& v, const CallArgs&) { return v; }
Value f_length(Interpreter&, const Value& v, const CallArgs&) { return Value(length_of(v)); }

Value f_title(Interpreter&, const Value& v, const CallArgs&) {
  // jinja: words split on runs of whitespace, '-', '(', '{', '[', '<'; first char upper, rest lower.
  auto cps = utf8_decode(to_py_str(v));
  std::string out;
  bool word_start = true;
  for (char32_t c : cps) {
    bool sep = py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    std::string one;
    utf8_append(one, c);
    out += sep ? one : word_start ? py_upper(one) : py_lower(one);
    word_start = sep;
  }
  return Value(std::move(out));
}

Value f_default(Interpreter&, const Value& v, const CallArgs& a) {
  Value dflt = arg_or(a, 0, "default_value", Value(""));
  bool boolean = arg_or(a, 1, "boolean", Value(false)).truthy();
  if (v.is_undefined() || (boolean && !v.truthy())) return dflt;
  return v;
}

Value f_escape(Interpreter&, const Value& v, const CallArgs&) {
  std::string out;
  for (char c : to_py_str(v)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return Value(std::move(out));
}

Value f_list(Interpreter& in, const Value& v, const CallArgs&) { return Value::list(in.iterate(v)); }

Value f_first(Interpreter& in, const Value& v, const CallArgs&) {
  auto items = in.iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(Interpreter& in, const Value& v, const CallArgs&) {
  auto items = in.iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_reverse(Interpreter& in, const Value& v, const CallArgs&) {
  auto items = in.iterate(v);
  std::reverse(items.begin(), items.end());
  if (v.is_string()) {
    std::string out;
    for (const auto& c : items) out += c.as_string();
    return Value(std::move(out));
  }
  return Value::list(std::move(items));
}

Value f_join(Interpreter& in, const Value& v, const CallArgs& a) {
  std::string sep = to_py_str(arg_or(a, 0, "d", Value("")));
  Value attribute = arg_or(a, 1, "attribute", Value::none());
  std::string out;
  bool first = true;
  for (const auto& item : in.iterate(v)) {
    if (!first) out += sep;
    first = false;
    append_py_str(out, attribute.is_none() ? item : get_attribute_path(in, item, to_py_str(attribute)));
  }
  return Value(std::move(out));
}

Value f_int(Interpreter&, const Value& v, const CallArgs& a) {
  Value dflt = arg_or(a, 0, "default", Value(0));
  int64_t base = arg_or(a, 1, "base", Value(10)).as_int();
  if (v.is_undefined()) template_fail("UndefinedError: {}", v.undefined_hint());  // int(Undefined) raises
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return std::isfinite(v.as_double()) ? Value(static_cast<int64_t>(v.as_double())) : dflt;
  if (v.is_string()) {
    std::string s = py_strip(v.as_string(), nullptr, true, true);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    try {
      size_t used = 0;
      int64_t r = std::stoll(s, &used, static_cast<int>(base));
      if (used == s.size()) return Value(r);
    } catch (const std::exception&) {
    }
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size() && std::isfinite(d)) return Value(static_cast<int64_t>(d));
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

Value f_float(Interpreter&, const Value& v, const CallArgs& a) {
  Value dflt = arg_or(a, 0, "default", Value(0.0));
  if (v.is_undefined()) template_fail("UndefinedError: {}", v.undefined_hint());  // float(Undefined) raises
  if (v.is_number()) return Value(v.as_double());
  if (v.is_string()) {
    std::string s = py_strip(v.as_string(), nullptr, true, true);
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size()) return Value(d);
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

Value f_round(Interpreter&, const Value& v, const CallArgs& a) {
  int64_t precision = arg_or(a, 0, "precision", Value(0)).as_int();
  std::string method = to_py_str(arg_or(a, 1, "method", Value("common")));
  if (!v.is_number()) template_fail("TypeError: round() needs a number, not {}", v.type_name());
  double x = v.as_double();
  if (method == "common" && !v.is_float() && precision >= 0) return Value(v.as_int());  // round(int) is an int
  if (method == "common") {
    // Python's round(): correctly rounded, ties to even on the exact binary value; glibc's printf
    // rounds the same way, so print with `precision` decimals and read back.
    if (precision >= 0 && precision < 300 && std::isfinite(x)) {
      char buf[720];
      std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(precision), x);
      return Value(std::strtod(buf, nullptr));
    }
    double scale = std::pow(10.0, static_cast<double>(precision));
    return Value(std::nearbyint(x * scale) / scale);
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  if (method == "ceil") x = std::ceil(x * scale);
  else if (method == "floor") x = std::floor(x * scale);
  else template_fail("FilterArgumentError: method must be common, ceil or floor");
  return Value(x / scale);
}

Value f_items(Interpreter&, const Value& v, const CallArgs&) {
  if (v.is_undefined()) return Value::list();
  if (!v.is_dict()) template_fail("TypeError: can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, e] : v.as_dict().items) out.push_back(Value::list({Value(k), e}, true));
  return Value::list(std::move(out));
}

Value f_dictsort(Interpreter& in, const Value& v, const CallArgs& a) {
  bool case_sensitive = arg_or(a, 0, "case_sensitive", Value(false)).truthy();
  std::string by = to_py_str(arg_or(a, 1, "by", Value("key")));
  bool reverse = arg_or(a, 2, "reverse", Value(false)).truthy();
  auto pairs = f_items(in, v, a).as_list().items;
  size_t pos = by == "value" ? 1 : 0;
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    Value kx = sort_key(x.as_list().items[pos], case_sensitive), ky = sort_key(y.as_list().items[pos], case_sensitive);
    return reverse ? value_less(ky, kx) : value_less(kx, ky);
  });
  return Value::list(std::move(pairs));
}

Value f_replace(Interpreter&, const Value& v, const CallArgs& a) {
  const Value* old = a.get(0, "old");
  const Value* rep = a.get(1, "new");
  if (!old || !rep) template_fail("TypeError: replace() missing arguments");
  Value count = arg_or(a, 2, "count", Value::none());
  return Value(py_replace(to_py_str(v), to_py_str(*old), to_py_str(*rep), count.is_none() ? -1 : count.as_int()));
}

Value f_trim(Interpreter&, const Value& v, const CallArgs& a) {
  Value chars = arg_or(a, 0, "chars", Value::none());
  std::string c = chars.is_none() ? std::string() : to_py_str(chars);
  return Value(py_strip(to_py_str(v), chars.is_none() ? nullptr : &c, true, true));
}

Value f_center(Interpreter&, const Value& v, const CallArgs& a) {
  std::string s = to_py_str(v);
  int64_t width = arg_or(a, 0, "width", Value(80)).as_int();
  int64_t len = static_cast<int64_t>(utf8_length(s));
  if (width <= len) return Value(s);
  int64_t total = width - len;
  int64_t left = total / 2 + (total & width & 1);  // CPython's centering rule
  return Value(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
}

Value f_indent(Interpreter&, const Value& v, const CallArgs& a) {
  Value width = arg_or(a, 0, "width", Value(4));
  bool first = arg_or(a, 1, "first", Value(false)).truthy();
  bool blank = arg_or(a, 2, "blank", Value(false)).truthy();
  std::string pad = width.is_string() ? width.as_string() : std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), ' ');
  std::string s = to_py_str(v);
  std::string out;
  size_t start = 0;
  bool first_line = true;
  while (true) {
    size_t nl = s.find('\n', start);
    std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    bool indent = first_line ? first : (blank || !line.empty());
    if (indent && !(first_line && line.empty() && !blank && !first)) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out.push_back('\n');
    start = nl + 1;
    first_line = false;
  }
  return Value(std::move(out));
}

Value f_format(Interpreter&, const Value& v, const CallArgs& a) {
  if (!a.keyword.empty()) {
    Value d = Value::dict();
    for (const auto& [k, e] : a.keyword) d.as_dict().set(k, e);
    return Value(py_percent_format(to_py_str(v), d));
  }
  return Value(py_percent_format(to_py_str(v), Value::list(a.positional, true)));
}

// jinja: len(re.findall(r"\w+", s)); non-ASCII code points count as word characters (letters/digits).
Value f_wordcount(Interpreter&, const Value& v, const CallArgs&) {
  int64_t words = 0;
  bool in_word = false;
  for (char32_t c : utf8_decode(to_py_str(v))) {
    bool word = c == '_' || (c < 0x80 ? std::isalnum(static_cast<int>(c)) != 0 : !py_isspace(c));
    if (word && !in_word) ++words;
    in_word = word;
  }
  return Value(words);
}

Value f_tojson(Interpreter&, const Value& v, const CallArgs& a) {
  JsonDumpOptions o;
  o.ensure_ascii = arg_or(a, 0, "ensure_ascii", Value(false)).truthy();
  Value indent = arg_or(a, 1, "indent", Value::none());
  Value separators = arg_or(a, 2, "separators", Value::none());
  o.sort_keys = arg_or(a, 3, "sort_keys", Value(false)).truthy();
  if (indent.is_int()) o.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, indent.as_int())), ' ');
  else if (indent.is_string()) o.indent = indent.as_string();
  if (o.indent) o.item_separator = ",";
  if (separators.is_list() && separators.as_list().items.size() == 2) {
    o.item_separator = to_py_str(separators.as_list().items[0]);
    o.key_separator = to_py_str(separators.as_list().items[1]);
  }
  return Value(py_json_dumps(v, o));
}

Value f_unique(Interpreter& in, const Value& v, const CallArgs& a) {
  bool case_sensitive = arg_or(a, 0, "case_sensitive", Value(false)).truthy();
  Value attribute = arg_or(a, 1, "attribute", Value::none());
  std::vector<Value> seen, out;
  for (const auto& item : in.iterate(v)) {
    Value key = sort_key(attribute.is_none() ? item : get_attribute_path(in, item, to_py_str(attribute)), case_sensitive);
    if ((key.is_list() && !key.as_list().is_tuple) || key.is_dict()) template_fail("TypeError: unhashable type: '{}'", key.type_name());
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return values_equal(s, key); })) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::list(std::move(out));
}

Value f_sort(Interpreter& in, const Value& v, const CallArgs& a) {
  bool reverse = arg_or(a, 0, "reverse", Value(false)).truthy();
  bool case_sensitive = arg_or(a, 1, "case_sensitive", Value(false)).truthy();
  Value attribute = arg_or(a, 2, "attribute", Value::none());
  auto items = in.iterate(v);
  auto key = [&](const Value& x) {
    return sort_key(attribute.is_none() ? x : get_attribute_path(in, x, to_py_str(attribute)), case_sensitive);
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return reverse ? value_less(key(y), key(x)) : value_less(key(x), key(y));
  });
  return Value::list(std::move(items));
}

Value min_max(Interpreter& in, const Value& v, const CallArgs& a, bool want_max) {
  bool case_sensitive = arg_or(a, 0, "case_sensitive", Value(false)).truthy();
  Value attribute = arg_or(a, 1, "attribute", Value::none());
  auto items = in.iterate(v);
  if (items.empty()) return Value::undefined(want_max ? "No aggregated item, sequence was empty." : "No aggregated item, sequence was empty.");
  auto key = [&](const Value& x) {
    return sort_key(attribute.is_none() ? x : get_attribute_path(in, x, to_py_str(attribute)), case_sensitive);
  };
  const Value* best = &items[0];
  for (size_t i = 1; i < items.size(); ++i)
    if (const Value& x = items[i]; want_max ? value_less(key(*best), key(x)) : value_less(key(x), key(*best))) best = &x;
  return *best;
}
Value f_max(Interpreter& in, const Value& v, const CallArgs& a) { return min_max(in, v, a, true); }
Value f_min(Interpreter& in, const Value& v, const CallArgs& a) { return min_max(in, v, a, false); }

Value f_sum(Interpreter& in, const Value& v, const CallArgs& a) {
  Value attribute = arg_or(a, 0, "attribute", Value::none());
  Value total = arg_or(a, 1, "start", Value(0));
  for (const auto& x : in.iterate(v)) {
    Value e = attribute.is_none() ? x : get_attribute_path(in, x, to_py_str(attribute));
    if (!e.is_number() || !total.is_number()) template_fail("TypeError: unsupported operand type(s) for +");
    total = (total.is_float() || e.is_float()) ? Value(total.as_double() + e.as_double()) : Value(total.as_int() + e.as_int());
  }
  return total;
}

Value f_map(Interpreter& in, const Value& v, const CallArgs& a) {
  std::vector<Value> out;
  if (!v.truthy()) return Value::list();  // jinja: `if value: for item in value` (0/None/False map to nothing)
  if (const Value* attr = a.get(99, "attribute")) {
    Value dflt = arg_or(a, 99, "default", Value());
    for (const auto& x : in.iterate(v)) {
      Value r = get_attribute_path(in, x, to_py_str(*attr));
      out.push_back(r.is_undefined() && !dflt.is_undefined() ? dflt : r);
    }
    return Value::list(std::move(out));
  }
  if (a.positional.empty()) template_fail("map requires a filter name or attribute=");
  std::string filter = to_py_str(a.positional[0]);
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const auto& x : in.iterate(v)) out.push_back(in.apply_filter(filter, x, rest));
  return Value::list(std::move(out));
}

Value select_impl(Interpreter& in, const Value& v, const CallArgs& a, bool by_attr, bool keep_when) {
  if (!v.truthy()) return Value::list();  // as f_map
  size_t first = 0;
  std::string attr;
  if (by_attr) {
    if (a.positional.empty()) template_fail("missing attribute for selectattr/rejectattr");
    attr = to_py_str(a.positional[0]);
    first = 1;
  }
  std::string test = a.positional.size() > first ? to_py_str(a.positional[first]) : "";
  CallArgs rest;
  if (a.positional.size() > first + 1) rest.positional.assign(a.positional.begin() + first + 1, a.positional.end());
  rest.keyword = a.keyword;
  std::vector<Value> out;
  for (const auto& x : in.iterate(v)) {
    Value subject = by_attr ? get_attribute_path(in, x, attr) : x;
    bool ok = test.empty() ? subject.truthy() : in.apply_test(test, subject, rest);
    if (ok == keep_when) out.push_back(x);
  }
  return Value::list(std::move(out));
}
Value f_select(Interpreter& in, const Value& v, const CallArgs& a) { return select_impl(in, v, a, false, true); }
Value f_reject(Interpreter& in, const Value& v, const CallArgs& a) { return select_impl(in, v, a, false, false); }
Value f_selectattr(Interpreter& in, const Value& v, const CallArgs& a) { return select_impl(in, v, a, true, true); }
Value f_rejectattr(Interpreter& in, const Value& v, const CallArgs& a) { return select_impl(in, v, a, true, false); }

// ---- tests --------------------------------------------------------------------------------------

const Value& test_arg(const CallArgs& a) {
  if (a.positional.empty()) template_fail("test requires an argument");
  return a.positional[0];
}

bool t_defined(Interpreter&, const Value& v, const CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, const CallArgs&) { return v.is_undefined(); }
bool t_none(Interpreter&, const Value& v, const CallArgs&) { return v.is_none(); }
bool t_boolean(Interpreter&, const Value& v, const CallArgs&) { return v.is_bool(); }
bool t_true(Interpreter&, const Value& v, const CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_false(Interpreter&, const Value& v, const CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_integer(Interpreter&, const Value& v, const CallArgs&) { return v.is_int(); }
bool t_float(Interpreter&, const Value& v, const CallArgs&) { return v.is_float(); }
bool t_number(Interpreter&, const Value& v, const CallArgs&) { return v.is_number(); }
bool t_string(Interpreter&, const Value& v, const CallArgs&) { return v.is_string(); }
bool t_mapping(Interpreter&, const Value& v, const CallArgs&) { return v.is_dict(); }
bool t_callable(Interpreter&, const Value& v, const CallArgs&) { return v.is_callable(); }
bool t_iterable(Interpreter&, const Value& v, const CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
bool t_sequence(Interpreter&, const Value& v, const CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
// jinja's even/odd/divisibleby compute `value % n` with Python semantics (floats allowed).
bool py_mod_is_zero(const Value& v, const Value& n) {
  if (!v.is_number() || !n.is_number())
    template_fail("TypeError: unsupported operand type(s) for %: '{}' and '{}'", v.type_name(), n.type_name());
  if (n.as_double() == 0.0) template_fail("ZeroDivisionError: integer division or modulo by zero");
  if (v.is_float() || n.is_float()) return std::fmod(v.as_double(), n.as_double()) == 0.0;
  return v.as_int() % n.as_int() == 0;
}
bool t_even(Interpreter&, const Value& v, const CallArgs&) { return py_mod_is_zero(v, Value(2)); }
bool t_odd(Interpreter&, const Value& v, const CallArgs&) {
  if (!v.is_number()) return py_mod_is_zero(v, Value(2));
  if (v.is_float()) {
    double m = std::fmod(v.as_double(), 2.0);
    if (m < 0) m += 2.0;
    return m == 1.0;
  }
  return v.as_int() % 2 != 0;
}
bool t_divisibleby(Interpreter&, const Value& v, const CallArgs& a) { return py_mod_is_zero(v, test_arg(a)); }
bool t_eq(Interpreter&, const Value& v, const CallArgs& a) { return values_equal(v, test_arg(a)); }
bool t_ne(Interpreter&, const Value& v, const CallArgs& a) { return !values_equal(v, test_arg(a)); }
bool t_lt(Interpreter&, const Value& v, const CallArgs& a) { return value_less(v, test_arg(a)); }
bool t_gt(Interpreter&, const Value& v, const CallArgs& a) { return value_less(test_arg(a), v); }
bool t_le(Interpreter&, const Value& v, const CallArgs& a) { return !value_less(test_arg(a), v); }
bool t_ge(Interpreter&, const Value& v, const CallArgs& a) { return !value_less(v, test_arg(a)); }
bool t_in(Interpreter&, const Value& v, const CallArgs& a) {
  const Value& seq = test_arg(a);
  if (seq.is_string()) return v.is_string() && seq.as_string().find(v.as_string()) != std::string::npos;
  if (seq.is_list())
    return std::any_of(seq.as_list().items.begin(), seq.as_list().items.end(), [&](const Value& e) { return values_equal(e, v); });
  if (seq.is_dict()) return v.is_string() && seq.as_dict().find(v.as_string()) != nullptr;
  template_fail("TypeError: argument of type '{}' is not iterable", seq.type_name());
}
bool t_sameas(Interpreter&, const Value& v, const CallArgs& a) {
  const Value& o = test_arg(a);
  if (v.kind() != o.kind()) return false;
  switch (v.kind()) {
    case Kind::None:
    case Kind::Undefined: return true;
    case Kind::Bool:
    case Kind::Int: return v.as_int() == o.as_int();
    case Kind::List: return &v.as_list() == &o.as_list();
    case Kind::Dict:
    case Kind::Namespace: return &v.as_dict() == &o.as_dict();
    default: return values_equal(v, o);
  }
}
bool t_lower(Interpreter&, const Value& v, const CallArgs&) {
  std::string s = to_py_str(v);
  return py_lower(s) == s && py_upper(s) != s;
}
bool t_upper(Interpreter&, const Value& v, const CallArgs&) {
  std::string s = to_py_str(v);
  return py_upper(s) == s && py_lower(s) != s;
}
bool t_escaped(Interpreter&, const Value&, const CallArgs&) { return false; }
bool t_filter(Interpreter&, const Value& v, const CallArgs&) { return v.is_string() && find_filter(v.as_string()); }
bool t_test(Interpreter&, const Value& v, const CallArgs&) { return v.is_string() && find_test(v.as_string()); }

}  // namespace

FilterFn find_filter(std::string_view name) {
  static const std::unordered_map<std::string_view, FilterFn> kFilters = {
      {"abs", f_abs}, {"attr", f_attr}, {"capitalize", f_capitalize}, {"center", f_center},
      {"count", f_length}, {"d", f_default}, {"default", f_default}, {"dictsort", f_dictsort},
      {"e", f_escape}, {"escape", f_escape}, {"first", f_first}, {"float", f_float}, {"format", f_format},
      {"indent", f_indent}, {"int", f_int}, {"items", f_items}, {"join", f_join}, {"last", f_last},
      {"length", f_length}, {"list", f_list}, {"lower", f_lower}, {"map", f_map}, {"max", f_max},
      {"min", f_min}, {"reject", f_reject}, {"rejectattr", f_rejectattr}, {"replace", f_replace},
      {"reverse", f_reverse}, {"round", f_round}, {"safe", f_safe}, {"select", f_select},
      {"selectattr", f_selectattr}, {"sort", f_sort}, {"string", f_string}, {"sum", f_sum},
      {"title", f_title}, {"tojson", f_tojson}, {"trim", f_trim}, {"unique", f_unique}, {"upper", f_upper},
      {"wordcount", f_wordcount},
  };
  auto it = kFilters.find(name);
  return it == kFilters.end() ? nullptr : it->second;
}

TestFn find_test(std::string_view name) {
  static const std::unordered_map<std::string_view, TestFn> kTests = {
      {"boolean", t_boolean}, {"callable", t_callable}, {"defined", t_defined}, {"divisibleby", t_divisibleby},
      {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq}, {"escaped", t_escaped}, {"even", t_even},
      {"false", t_false}, {"filter", t_filter}, {"float", t_float}, {"ge", t_ge}, {">=", t_ge},
      {"gt", t_gt}, {"greaterthan", t_gt}, {">", t_gt}, {"in", t_in}, {"integer", t_integer},
      {"iterable", t_iterable}, {"le", t_le}, {"<=", t_le}, {"lower", t_lower}, {"lt", t_lt},
      {"lessthan", t_lt}, {"<", t_lt}, {"mapping", t_mapping}, {"ne", t_ne}, {"!=", t_ne},
      {"none", t_none}, {"number", t_number}, {"odd", t_odd}, {"sameas", t_sameas},
      {"sequence", t_sequence}, {"string", t_string}, {"test", t_test}, {"true", t_true},
      {"undefined", t_undefined}, {"upper", t_upper},
  };
  auto it = kTests.find(name);
  return it == kTests.end() ? nullptr : it->second;
}

}  // namespace glm::jinja
