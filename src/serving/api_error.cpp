#include "serving/api_error.h"

namespace glm::serving {

Json ApiError::body() const {
  return {{"object", "error"}, {"message", message}, {"type", type}, {"param", param}, {"code", status}};
}

void ApiError::raise(int status, std::string type, std::string message) {
  throw ApiException(ApiError{status, std::move(type), std::move(message)});
}

void schema_error(const std::string& message) { ApiError::raise(400, "Bad Request", message); }

void bad_request(const std::string& message) { ApiError::raise(400, "BadRequestError", message); }

ApiError api_error_from(const GlmError& e) {
  switch (e.kind()) {
    case ErrorKind::InvalidArgument:
    case ErrorKind::Template:
      return {400, "BadRequestError", e.what()};
    case ErrorKind::NotFound:
      return {404, "NotFoundError", e.what()};
    case ErrorKind::Unauthorized:
      return {401, "Unauthorized", e.what()};
    case ErrorKind::Unavailable:
      return {503, "ServiceUnavailable", e.what()};
    case ErrorKind::InvalidModel:
    case ErrorKind::Internal:
      break;
  }
  return {500, "InternalServerError", std::string("Internal server error: ") + e.what()};
}

}  // namespace glm::serving
