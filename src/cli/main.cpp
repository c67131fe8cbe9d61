// glmserve: one binary, subcommands serve (default), generate, render, tokenize, detokenize, bench.
// Errors that reach here become a one-line message and an exit status; nothing is left uncaught.
// Under mpirun (tensor parallelism, --tp N): rank 0 runs the subcommand; ranks 1..N-1 run the follower
// loop (model/tp_link.h) and exit with the status rank 0 sends when its subcommand ends.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "cli/command_registry.h"
#include "core/error.h"
#include "core/log.h"
#include "dist/communicator.h"
#include "model/tp_link.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace glm::cli {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> r;
  return r;
}
}  // namespace glm::cli

namespace {

// SGLang parses launch_server flags with argparse, which takes any unambiguous prefix of a long flag
// (--mem-frac for --mem-fraction-static, --context-len for --context-length); command lines written
// for it rely on that. Rewrites such prefixes (also --prefix=value) to the full name for `serve`;
// ambiguous or unknown ones are left for the parser to report.
void expand_flag_prefixes(const CLI::App& sub, std::vector<std::string>& args, size_t first) {
  std::vector<std::string> names;
  for (const CLI::Option* o : sub.get_options())
    for (const auto& n : o->get_lnames()) names.push_back(n);
  for (size_t i = first; i < args.size(); ++i) {
    std::string& a = args[i];
    if (a.size() < 3 || a.rfind("--", 0) != 0) continue;
    const size_t eq = a.find('=');
    const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    const std::string* match = nullptr;
    int matches = 0;
    for (const auto& n : names)
      if (n.rfind(name, 0) == 0) {
        match = &n;
        ++matches;
      }
    if (matches == 1) a = "--" + *match + (eq == std::string::npos ? "" : a.substr(eq));
  }
}

int run_command(int argc, char** argv) {
  using namespace glm;
  CLI::App app{"glmserve: an inference server for the GLM-4.5 / 4.6 / 4.7 MoE family"};
  app.require_subcommand(0, 1);
  std::map<std::string, cli::RunFn> runs;
  std::map<std::string, CLI::App*> subs;
  for (auto& spec : cli::command_registry()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    runs[spec.name] = spec.setup(*sub);
    subs[spec.name] = sub;
  }
  // `glmserve --model-path X ...` without a subcommand means `glmserve serve ...`, as with SGLang.
  std::vector<std::string> args(argv + 1, argv + argc);
  bool has_sub = !args.empty() && subs.count(args[0]);
  bool wants_help = !args.empty() && (args[0] == "-h" || args[0] == "--help" || args[0] == "--version");
  if (!has_sub && !wants_help && subs.count("serve")) args.insert(args.begin(), "serve");
  if (!args.empty() && args[0] == "serve") expand_flag_prefixes(*subs["serve"], args, 1);
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [name, sub] : subs)
      if (sub->parsed()) return runs[name]();
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const GlmError& e) {
    spdlog::error("{}", e.what());
    return e.kind() == ErrorKind::InvalidArgument ? 2 : 1;
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace glm;
  // Logs go to stderr: stdout carries command output (ids, prompts, JSON).
  spdlog::set_default_logger(spdlog::stderr_color_mt("glmserve"));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  try {
    dist::init_world(&argc, &argv);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  dist::Communicator& comm = dist::world();
  if (comm.size() > 1) spdlog::set_pattern(fmt::format("[%Y-%m-%d %H:%M:%S.%e] [rank {}] [%^%l%$] %v", comm.rank()));
  if (comm.rank() > 0) {
    // mpirun forwards SIGINT/SIGTERM to every rank: followers wait for rank 0's Shutdown instead, so
    // the server drains and all ranks leave together.
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    const int code = run_tp_follower(comm);
    dist::finalize_world();
    return code;
  }
  const int code = run_command(argc, argv);
  try {
    tp_leader::shutdown(code);
  } catch (const std::exception& e) {
    comm.abort(fmt::format("cannot stop the other ranks: {}", e.what()));
  }
  dist::finalize_world();
  return code;
}
