#pragma once
// Errors as the HTTP client sees them: a status code and SGLang's error body
//   {"object": "error", "message": ..., "type": ..., "param": null, "code": <status>}
// `type` follows SGLang: request-schema failures (FastAPI validation) say "Bad Request", handler
// checks say "BadRequestError", not-found model says OpenAI's nested {"error": {...}} shape.
#include <string>

#include "serving/json.h"

#include "core/error.h"

namespace glm::serving {

struct ApiError {
  int status = 400;
  std::string type = "BadRequestError";
  std::string message;
  Json param = nullptr;

  Json body() const;
  // Raise-able form: thrown by validation code, caught at the route edge.
  [[noreturn]] static void raise(int status, std::string type, std::string message);
};

class ApiException : public std::exception {
 public:
  explicit ApiException(ApiError e) : error_(std::move(e)) {}
  const ApiError& error() const { return error_; }
  const char* what() const noexcept override { return error_.message.c_str(); }

 private:
  ApiError error_;
};

// A request body that does not match the schema (wrong type, missing field): 400 "Bad Request".
[[noreturn]] void schema_error(const std::string& message);
// A semantically invalid request found by a handler: 400 "BadRequestError".
[[noreturn]] void bad_request(const std::string& message);

// GlmError from below the edge -> the status its kind means (InvalidArgument/Template 400,
// NotFound 404, Unauthorized 401, Unavailable 503, the rest 500).
ApiError api_error_from(const GlmError& e);

}  // namespace glm::serving
