#pragma once
// The small routes: health, model and server info, tokenize / detokenize, the native parser
// endpoints and abort. Each takes the parsed body and returns the response body (or throws
// ApiException).
#include "serving/json.h"
#include "serving/request_stream.h"
#include "serving/serving_context.h"

namespace glm::serving {

// SGLang /health: a one-token generation unless requests are already running; false after 20 s.
bool health_check(const ServingContext& ctx);

Json model_card(const ServingContext& ctx, const std::string& id);
Json model_info_json(const ServingContext& ctx);
Json server_info_json(const ServingContext& ctx);
Json load_json(const ServingContext& ctx);  // GET /get_load

Json tokenize_route(const ServingContext& ctx, const Json& body);
Json detokenize_route(const ServingContext& ctx, const Json& body);
Json parse_function_call_route(const ServingContext& ctx, const Json& body);
Json separate_reasoning_route(const ServingContext& ctx, const Json& body);
void abort_route(const ServingContext& ctx, const Json& body, ActiveRequests& active);
// SGLang's POST /pause_generation {"mode": "abort" | "retract" | "in_place"} (default abort) and
// /continue_generation (RL weight syncs): no forward runs in between; new requests wait.
Json pause_generation_route(const ServingContext& ctx, const Json& body);
Json continue_generation_route(const ServingContext& ctx, const Json& body);

}  // namespace glm::serving
