#pragma once
// Binds TextBackend to glmserve's own modules (tokenizer/, chat/, parsers/) and builds the
// engine (the scheduler, in make_glm_engine). Kept apart so that the HTTP layer and its unit
// tests never include those modules.
#include <memory>

#include "engine/engine.h"
#include "serving/server_args.h"
#include "serving/text_backend.h"

namespace glm::serving {

std::unique_ptr<TextBackend> make_glm_text_backend(const ServerArgs& args);
std::unique_ptr<Engine> make_glm_engine(const ServerArgs& args, const ModelInfo& info);

}  // namespace glm::serving
