#pragma once
// Typed reads of request fields. A field of the wrong JSON type is a schema error (HTTP 400,
// "Bad Request") naming the field by its path, e.g. "messages.2.content: Input should be a
// valid string". JSON null counts as absent, as for SGLang's Optional[...] fields.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "serving/json.h"

namespace glm::serving {

class FieldReader {
 public:
  // `where` names the object in messages ("" for the request body itself).
  FieldReader(const Json& object, std::string where);

  bool has(const char* key) const;  // present and not null
  const Json* get(const char* key) const;
  std::optional<std::string> str(const char* key) const;
  std::optional<bool> boolean(const char* key) const;
  std::optional<int64_t> integer(const char* key) const;
  std::optional<double> number(const char* key) const;
  // A string or an array of strings (OpenAI `stop`).
  std::optional<std::vector<std::string>> str_or_list(const char* key) const;
  std::optional<std::vector<int32_t>> int_list(const char* key) const;
  const Json* object(const char* key) const;
  const Json* array(const char* key) const;

  std::string path(const char* key) const;
  [[noreturn]] void wrong(const char* key, const char* expected) const;

 private:
  const Json& obj_;
  std::string where_;
};

// Token ids: integers in [0, 2^31).
std::vector<int32_t> to_token_ids(const Json& array, const std::string& path);

}  // namespace glm::serving
