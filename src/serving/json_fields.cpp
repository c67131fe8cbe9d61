#include "serving/json_fields.h"

#include <cmath>

#include "serving/api_error.h"

namespace glm::serving {

FieldReader::FieldReader(const Json& object, std::string where) : obj_(object), where_(std::move(where)) {
  if (!obj_.is_object())
    schema_error((where_.empty() ? std::string("body") : where_) + ": Input should be a valid dictionary");
}

std::string FieldReader::path(const char* key) const { return where_.empty() ? key : where_ + "." + key; }

void FieldReader::wrong(const char* key, const char* expected) const {
  schema_error(path(key) + ": Input should be " + expected);
}

const Json* FieldReader::get(const char* key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool FieldReader::has(const char* key) const { return get(key) != nullptr; }

std::optional<std::string> FieldReader::str(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong(key, "a valid string");
  return v->get<std::string>();
}

std::optional<bool> FieldReader::boolean(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong(key, "a valid boolean");
  return v->get<bool>();
}

std::optional<int64_t> FieldReader::integer(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
    wrong(key, "a valid integer, got a number with a fractional part");
  }
  wrong(key, "a valid integer");
}

std::optional<double> FieldReader::number(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong(key, "a valid number");
  double d = v->get<double>();
  if (!std::isfinite(d)) wrong(key, "a finite number");
  return d;
}

std::optional<std::vector<std::string>> FieldReader::str_or_list(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_string()) return std::vector<std::string>{v->get<std::string>()};
  if (!v->is_array()) wrong(key, "a valid string or a list of strings");
  std::vector<std::string> out;
  for (const auto& e : *v) {
    if (!e.is_string()) wrong(key, "a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::optional<std::vector<int32_t>> FieldReader::int_list(const char* key) const {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_array()) wrong(key, "a valid list of integers");
  return to_token_ids(*v, path(key));
}

const Json* FieldReader::object(const char* key) const {
  const auto* v = get(key);
  if (v && !v->is_object()) wrong(key, "a valid dictionary");
  return v;
}

const Json* FieldReader::array(const char* key) const {
  const auto* v = get(key);
  if (v && !v->is_array()) wrong(key, "a valid list");
  return v;
}

std::vector<int32_t> to_token_ids(const Json& array, const std::string& path) {
  std::vector<int32_t> ids;
  ids.reserve(array.size());
  for (const auto& e : array) {
    if (!e.is_number_integer()) schema_error(path + ": Input should be a list of integers");
    int64_t v = e.get<int64_t>();
    if (v < 0 || v > INT32_MAX) schema_error(path + ": token id " + std::to_string(v) + " is out of range");
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

}  // namespace glm::serving
