// `glmserve serve` (also what `glmserve --model-path X ...` means): SGLang's launch_server flags.
#include "cli/command_registry.h"
#include "serving/serve.h"
#include "serving/server_args.h"

namespace {

glm::cli::Registration reg{"serve", "OpenAI-compatible HTTP server (SGLang launch_server flags)", [](CLI::App& sub) {
  auto parser = std::make_shared<glm::serving::ServerArgsParser>();
  parser->register_flags(sub);
  return glm::cli::RunFn([parser, &sub] {
    glm::serving::ServerArgs args = parser->finish(sub);
    return glm::serving::run_server(args);
  });
}};

}  // namespace
