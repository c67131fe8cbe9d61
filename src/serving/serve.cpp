#include "serving/serve.h"

#include <pthread.h>
#include <signal.h>

#include <thread>

#include "core/log.h"
#include "serving/http_server.h"
#include "serving/model_loader.h"

namespace glm::serving {

int run_server(const ServerArgs& args) {
  set_log_level(args.log_level == "critical" ? "error" : args.log_level);
  for (const auto& f : args.ignored_gpu_flags) spdlog::info("{} is a GPU-only flag: accepted and ignored", f);
  for (const auto& n : args.notices) spdlog::warn("{}", n);
  if (args.tp_size > 1 || args.dp_size > 1 || args.nnodes > 1)
    spdlog::warn("--tp-size {} --dp-size {} --nnodes {}: this build runs one process on one node",
                 args.tp_size, args.dp_size, args.nnodes);

  // Writes to a closed socket must fail with EPIPE (then the stream is aborted), not kill us.
  signal(SIGPIPE, SIG_IGN);
  // Termination signals are taken by sigwait below; every thread created from here inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGUSR1);  // the loader failed
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  HttpServer server(args);
  server.start();

  LoadedModel model;
  std::string load_error;
  pthread_t main_thread = pthread_self();
  std::thread loader([&] {
    try {
      model = load_model(args);
      ServingContext ctx;
      ctx.engine = model.engine.get();
      ctx.text = model.text.get();
      ctx.model = model.info;
      server.set_ready(std::move(ctx));
      spdlog::info("The server is fired up and ready to roll! (model {}, context {} tokens)",
                   model.info.served_model_name, model.info.context_length);
    } catch (const std::exception& e) {
      load_error = e.what();
      pthread_kill(main_thread, SIGUSR1);
    }
  });

  int sig = 0;
  sigwait(&stop_signals, &sig);
  loader.join();
  server.stop();
  server.wait();
  if (!load_error.empty()) {
    spdlog::error("loading {} failed: {}", args.model_path, load_error);
    return 1;
  }
  spdlog::info("shutting down (signal {})", sig);
  return 0;
}

}  // namespace glm::serving
