#pragma once
// `glmserve serve`: start the HTTP listener at once (it answers 503 while loading, as SGLang),
// load the model, serve until SIGINT / SIGTERM.
#include "serving/server_args.h"

namespace glm::serving {
int run_server(const ServerArgs& args);
}
