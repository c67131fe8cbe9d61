#include "parsers/tool_schema.h"

#include <algorithm>
#include <charconv>

namespace glm::parsers {

namespace {

const Json* resolve_local_ref(const Json& root, const std::string& ref) {
  if (ref == "#") return &root;
  if (ref.rfind("#/", 0) != 0) return nullptr;
  const Json* target = &root;
  size_t start = 2;
  while (start <= ref.size()) {
    size_t slash = ref.find('/', start);
    std::string_view escaped = std::string_view(ref).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    std::string part;  // JSON-pointer unescaping: "~1" -> "/", "~0" -> "~"
    for (size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] == '~' && i + 1 < escaped.size() && (escaped[i + 1] == '0' || escaped[i + 1] == '1')) {
        part.push_back(escaped[i + 1] == '1' ? '/' : '~');
        ++i;
      } else {
        part.push_back(escaped[i]);
      }
    }
    if (target->is_object()) {
      auto it = target->find(part);
      if (it == target->end()) return nullptr;
      target = &*it;
    } else if (target->is_array()) {
      size_t index = 0;
      auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
      if (part.empty() || ec != std::errc() || end != part.data() + part.size() || index >= target->size())
        return nullptr;
      target = &(*target)[index];
    } else {
      return nullptr;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return target;
}

// utils.get_schema_properties (glm45 path): the top-level `properties`, or, when the schema declares
// none, the properties of its anyOf/oneOf/allOf branches (first declaration wins). No $ref resolution.
void collect_properties(const Json& schema, Json& merged, int depth) {
  if (!schema.is_object() || depth > 16) return;
  if (auto props = schema.find("properties"); props != schema.end() && props->is_object()) {
    for (auto it = props->begin(); it != props->end(); ++it)
      if (!merged.contains(it.key())) merged[it.key()] = it.value();
    return;
  }
  for (const char* keyword : {"anyOf", "oneOf", "allOf"}) {
    auto branches = schema.find(keyword);
    if (branches == schema.end() || !branches->is_array()) continue;
    for (const auto& branch : *branches) collect_properties(branch, merged, depth + 1);
  }
}

std::optional<Json> property_schema(const Json& parameters, std::string_view key) {
  if (!parameters.is_object()) return std::nullopt;
  if (auto props = parameters.find("properties"); props != parameters.end() && props->is_object()) {
    auto it = props->find(std::string(key));
    if (it == props->end()) return std::nullopt;
    return *it;
  }
  Json merged = Json::object();
  collect_properties(parameters, merged, 0);
  auto it = merged.find(std::string(key));
  if (it == merged.end()) return std::nullopt;
  return *it;
}

std::optional<std::string> infer_type(const Json& schema, int depth = 0) {
  if (!schema.is_object() || depth > 32) return std::nullopt;
  if (auto t = schema.find("type"); t != schema.end()) {
    if (t->is_string()) return t->get<std::string>();
    if (t->is_array() && !t->empty()) {
      for (const auto& item : *t)
        if (!(item.is_string() && item.get<std::string>() == "null")) {
          if (item.is_string()) return item.get<std::string>();
          return std::nullopt;  // Python would return a non-string type name; treat as unknown
        }
      return "string";
    }
  }
  const Json* branches = nullptr;
  if (auto a = schema.find("anyOf"); a != schema.end() && !(a->is_array() && a->empty())) branches = &*a;
  else if (auto o = schema.find("oneOf"); o != schema.end()) branches = &*o;
  if (schema.contains("anyOf") || schema.contains("oneOf")) {
    std::vector<std::string> types;
    if (branches && branches->is_array()) {
      for (const auto& sub : *branches)
        if (auto t = infer_type(sub, depth + 1); t && !t->empty()) types.push_back(*t);
    }
    if (!types.empty()) {
      std::set<std::string> distinct(types.begin(), types.end());
      if (distinct.size() == 1) return types[0];
      if (distinct.size() == 2 && distinct.count("null"))
        for (const auto& t : types) if (t != "null") return t;
      if (distinct.count("string")) return "string";
      return types[0];
    }
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    if (e->empty()) return "string";
    std::set<std::string> kinds;
    for (const auto& v : *e) kinds.insert(python_json_type(v));
    if (kinds.size() == 1) return *kinds.begin();
    return "string";
  }
  if (auto a = schema.find("allOf"); a != schema.end() && a->is_array()) {
    for (const auto& sub : *a)
      if (auto t = infer_type(sub, depth + 1); t && !t->empty() && *t != "string") return t;
    return "string";
  }
  if (schema.contains("properties")) return "object";
  if (schema.contains("items")) return "array";
  return std::nullopt;
}

// Python equality between two JSON values with glm47's type check first (1 == 1.0 but not True).
bool json_equal(const Json& a, const Json& b) {
  if (python_json_type(a, true) != python_json_type(b, true)) return false;
  if (a.is_object() && !is_big_int(a)) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !json_equal(it.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!json_equal(a[i], b[i])) return false;
    return true;
  }
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

using TypeSet = std::set<std::string>;

std::optional<TypeSet> argument_types(const Json& schema, const Json& root, const std::string* key,
                                      std::vector<const Json*>& path, const Json* value, const Json* arguments);

// _matches_discriminators: a union branch stays possible unless an already-typed sibling argument has
// a JSON type the branch rejects.
bool matches_discriminators(const Json& branch, const Json& root, const Json* arguments) {
  if (!arguments || !arguments->is_object()) return true;
  for (auto it = arguments->begin(); it != arguments->end(); ++it) {
    std::vector<const Json*> fresh;
    const std::string name = it.key();
    auto types = argument_types(branch, root, &name, fresh, &it.value(), nullptr);
    if (types && !types->count(python_json_type(it.value(), true))) return false;
  }
  return true;
}

std::optional<TypeSet> argument_types(const Json& schema, const Json& root, const std::string* key,
                                      std::vector<const Json*>& path, const Json* value, const Json* arguments) {
  if (!schema.is_object() || std::find(path.begin(), path.end(), &schema) != path.end() || path.size() > 64)
    return std::nullopt;
  path.push_back(&schema);
  std::vector<TypeSet> constraints;
  if (auto ref = schema.find("$ref"); ref != schema.end() && ref->is_string()) {
    if (const Json* target = resolve_local_ref(root, ref->get<std::string>()))
      if (auto t = argument_types(*target, root, key, path, value, arguments)) constraints.push_back(*t);
  }
  if (key) {
    auto props = schema.find("properties");
    if (props != schema.end() && props->is_object()) {
      auto field = props->find(*key);
      if (field != props->end())
        if (auto t = argument_types(*field, root, nullptr, path, value, nullptr)) constraints.push_back(*t);
    }
  } else {
    if (auto t = schema.find("type"); t != schema.end()) {
      if (t->is_string()) {
        TypeSet s{t->get<std::string>()};
        if (*s.begin() == "number") s.insert("integer");
        constraints.push_back(s);
      } else if (t->is_array()) {
        TypeSet s;
        for (const auto& item : *t) if (item.is_string()) s.insert(item.get<std::string>());
        if (s.count("number")) s.insert("integer");
        constraints.push_back(s);
      }
    }
    const Json* values = nullptr;
    Json const_list;
    if (auto c = schema.find("const"); c != schema.end()) {
      const_list = Json::array({*c});
      values = &const_list;
    } else if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
      values = &*e;
    }
    if (values) {
      TypeSet s;
      for (const auto& allowed : *values)
        if (!value || json_equal(*value, allowed)) s.insert(python_json_type(allowed, true));
      constraints.push_back(s);
    }
  }
  for (const char* keyword : {"anyOf", "oneOf"}) {
    auto branches = schema.find(keyword);
    if (branches == schema.end() || !branches->is_array()) continue;
    std::vector<std::optional<TypeSet>> alternatives;
    for (const auto& branch : *branches)
      if (!key || matches_discriminators(branch, root, arguments))
        alternatives.push_back(argument_types(branch, root, key, path, value, arguments));
    bool all_known = !alternatives.empty() &&
                     std::all_of(alternatives.begin(), alternatives.end(), [](const auto& t) { return t.has_value(); });
    if (all_known) {
      TypeSet u;
      for (const auto& t : alternatives) u.insert(t->begin(), t->end());
      constraints.push_back(u);
    }
  }
  if (auto all = schema.find("allOf"); all != schema.end() && all->is_array()) {
    for (const auto& branch : *all)
      if (auto t = argument_types(branch, root, key, path, value, arguments)) constraints.push_back(*t);
  }
  path.pop_back();
  if (constraints.empty()) return std::nullopt;
  TypeSet result = constraints[0];
  for (size_t i = 1; i < constraints.size(); ++i) {
    TypeSet next;
    std::set_intersection(result.begin(), result.end(), constraints[i].begin(), constraints[i].end(),
                          std::inserter(next, next.begin()));
    result = std::move(next);
  }
  return result;
}

void add_tool_entry(ToolSet& set, const Json& entry) {
  if (!entry.is_object()) return;
  const Json* fn = &entry;
  if (auto f = entry.find("function"); f != entry.end() && f->is_object()) fn = &*f;
  auto name = fn->find("name");
  if (name == fn->end() || !name->is_string()) return;
  ToolDefinition def;
  def.name = name->get<std::string>();
  if (auto p = fn->find("parameters"); p != fn->end()) def.parameters = *p;
  set.add(std::move(def));
}

}  // namespace

ToolSet ToolSet::from_openai_tools(const Json& tools) {
  ToolSet set;
  if (tools.is_array())
    for (const auto& entry : tools) add_tool_entry(set, entry);
  return set;
}

ToolSet ToolSet::from_openai_tools(const nlohmann::json& tools) {
  // Through text: nlohmann::json and ordered_json are different types (invalid UTF-8 is replaced).
  return from_openai_tools(Json::parse(tools.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

const ToolDefinition* ToolSet::find(std::string_view name) const {
  for (const auto& t : tools_)
    if (t.name == name) return &t;
  return nullptr;
}

std::optional<std::string> glm45_argument_type(const ToolSet& tools, std::string_view tool,
                                               std::string_view key) {
  const ToolDefinition* def = tools.find(tool);
  if (!def) return std::nullopt;
  auto prop = property_schema(def->parameters, key);
  if (!prop) return std::nullopt;
  return infer_type(*prop);
}

std::optional<std::set<std::string>> glm47_argument_types(const ToolSet& tools, std::string_view tool,
                                                          std::string_view key, const Json* value,
                                                          const Json* known_arguments) {
  const ToolDefinition* def = tools.find(tool);
  if (!def) return std::nullopt;
  std::string k(key);
  std::vector<const Json*> path;
  return argument_types(def->parameters, def->parameters, &k, path, value, known_arguments);
}

std::optional<std::string> glm47_argument_type(const ToolSet& tools, std::string_view tool,
                                               std::string_view key, const Json* known_arguments) {
  auto types = glm47_argument_types(tools, tool, key, nullptr, known_arguments);
  if (!types) return std::nullopt;
  if (*types == std::set<std::string>{"integer", "number"}) return "number";
  if (types->size() == 1) return *types->begin();
  return std::nullopt;
}

namespace {

void collect_context_keys(const Json& node, const Json& root, std::vector<const Json*>& seen,
                          std::set<std::string>& keys, bool& has_union) {
  if (!node.is_object() || std::find(seen.begin(), seen.end(), &node) != seen.end()) return;
  seen.push_back(&node);
  if (auto props = node.find("properties"); props != node.end() && props->is_object())
    for (auto it = props->begin(); it != props->end(); ++it) keys.insert(it.key());
  if (auto ref = node.find("$ref"); ref != node.end() && ref->is_string())
    if (const Json* target = resolve_local_ref(root, ref->get<std::string>()))
      collect_context_keys(*target, root, seen, keys, has_union);
  for (const char* keyword : {"anyOf", "oneOf", "allOf"}) {
    auto branches = node.find(keyword);
    if (branches == node.end() || !branches->is_array()) continue;
    if (std::string_view(keyword) != "allOf") has_union = true;
    for (const auto& branch : *branches) collect_context_keys(branch, root, seen, keys, has_union);
  }
}

}  // namespace

bool glm47_needs_argument_context(const ToolSet& tools, std::string_view tool) {
  const ToolDefinition* def = tools.find(tool);
  if (!def) return false;
  std::vector<const Json*> seen;
  std::set<std::string> keys;
  bool has_union = false;
  collect_context_keys(def->parameters, def->parameters, seen, keys, has_union);
  if (!has_union) return false;
  for (const auto& key : keys) {
    std::vector<const Json*> path;
    auto types = argument_types(def->parameters, def->parameters, &key, path, nullptr, nullptr);
    if (!types || (types->size() > 1 && *types != std::set<std::string>{"integer", "number"})) return true;
  }
  return false;
}

}  // namespace glm::parsers
