#pragma once
// The one place that knows which modules make up a running model: the engine (scheduler over
// the Glm4Moe model), the tokenizer, the chat template and the parsers. The HTTP layer only
// sees the Engine and TextBackend interfaces it returns.
#include <memory>

#include "engine/engine.h"
#include "serving/server_args.h"
#include "serving/text_backend.h"

namespace glm::serving {

struct LoadedModel {
  std::unique_ptr<TextBackend> text;
  std::unique_ptr<Engine> engine;
  ModelInfo info;
};

// Loads everything --model-path names. Throws GlmError (InvalidModel / NotFound / ...).
LoadedModel load_model(const ServerArgs& args);

// The model-side facts the server needs (config.json, generation_config.json).
ModelInfo read_model_info(const ServerArgs& args);

}  // namespace glm::serving
