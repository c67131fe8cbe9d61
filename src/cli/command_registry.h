#pragma once
// Subcommands register themselves at static-initialisation time, each from its own cmd_*.cpp:
//   static glm::cli::Registration reg{"generate", "Greedy generation from token ids", setup_fn};
// setup_fn adds options to its CLI11 subcommand and returns the function to run (exit status).
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace glm::cli {

using RunFn = std::function<int()>;
using SetupFn = std::function<RunFn(CLI::App& sub)>;

struct CommandSpec {
  std::string name, description;
  SetupFn setup;
};

std::vector<CommandSpec>& command_registry();

struct Registration {
  Registration(std::string name, std::string description, SetupFn setup) {
    command_registry().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace glm::cli
