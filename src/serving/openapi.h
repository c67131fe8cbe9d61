#pragma once
// GET /openapi.json: every route with its request schema (OpenAPI 3.0.3), as FastAPI would
// describe SGLang's pydantic models. Used by clients and by the schemathesis fuzz test.
#include "serving/json.h"

namespace glm::serving {
Json openapi_document();
}
