#pragma once
// Request and response bodies keep their keys in the order they were written (Python dicts do):
// tool schemas reach the chat template byte-for-byte as the client sent them, and responses list
// fields in SGLang's order.
#include <nlohmann/json.hpp>

namespace glm::serving {
using Json = nlohmann::ordered_json;
}
