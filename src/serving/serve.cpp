#include "serving/serve.h"

#include <pthread.h>
#include <signal.h>

#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "dist/communicator.h"
#include "serving/http_server.h"
#include "serving/model_loader.h"

namespace glm::serving {

int run_server(const ServerArgs& args) {
  set_log_level(args.log_level == "critical" ? "error" : args.log_level);
  for (const auto& f : args.ignored_gpu_flags) spdlog::info("{} is a GPU-only flag: accepted and ignored", f);
  for (const auto& n : args.notices) spdlog::warn("{}", n);
  if (args.dp_size > 1) spdlog::warn("--dp-size {}: data parallelism is not implemented, one replica runs", args.dp_size);
  // Multi-node: MPI places the ranks (mpirun --hostfile); SGLang's rendezvous flags are accepted as a
  // consistency check only. Without mpirun they cannot work: say how to launch.
  if (args.nnodes > 1 || args.dist_init_addr) {
    if (!dist::launched_by_mpi())
      fail(ErrorKind::InvalidArgument,
           "--nnodes {} / --dist-init-addr: glmserve runs across hosts under MPI: mpirun --hostfile HOSTS -np {} "
           "glmserve serve --tp {} ... (one rank per tensor-parallel shard; the flags are then not needed)",
           args.nnodes, args.tp_size, args.tp_size);
    if (args.nnodes > args.tp_size)
      fail(ErrorKind::InvalidArgument, "--nnodes {} exceeds --tp {}", args.nnodes, args.tp_size);
    spdlog::info("--nnodes {} --node-rank {} --dist-init-addr {}: rank placement comes from mpirun", args.nnodes,
                 args.node_rank, args.dist_init_addr.value_or("-"));
  }

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
