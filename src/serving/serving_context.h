#pragma once
// Everything a route handler needs, owned by the HTTP server and alive for its lifetime.
#include "engine/engine.h"
#include "serving/metrics.h"
#include "serving/server_args.h"
#include "serving/text_backend.h"

namespace glm::serving {

struct ServingContext {
  const ServerArgs* args = nullptr;
  Engine* engine = nullptr;
  const TextBackend* text = nullptr;
  ModelInfo model;
  Metrics* metrics = nullptr;  // null without --enable-metrics
};

}  // namespace glm::serving
