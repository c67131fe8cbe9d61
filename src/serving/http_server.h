#pragma once
// The HTTP front end (cpp-httplib, one worker thread per open connection from a fixed pool):
// SGLang's routes, CORS "*", --api-key bearer check on every route, 503 until the model is
// loaded, OpenAI-style JSON errors, SSE streaming with abort on client disconnect.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "serving/request_stream.h"
#include "serving/serving_context.h"

namespace httplib {
class Server;
}

namespace glm::serving {

class HttpServer {
 public:
  explicit HttpServer(const ServerArgs& args);
  ~HttpServer();

  // Binds host:port and serves on a background thread. Until set_ready() every model route
  // answers 503. Throws GlmError if the port cannot be bound.
  void start();
  // The model is loaded: from now on requests go to ctx.engine / ctx.text.
  void set_ready(ServingContext ctx);
  // Stops accepting connections; requests still generating are aborted (by wait()), so handlers
  // blocked on a long non-streaming generation return and shutdown does not hang on them.
  void stop();
  // Blocks until stop() (or a fatal listener error).
  void wait();
  int port() const { return port_; }

 private:
  void register_routes();
  void abort_active();
  const ServerArgs& args_;
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
  std::atomic<bool> stopping_{false}, listener_done_{false};
  int port_ = 0;
  int listen_socket_ = -1;  // the bound socket, to raise cpp-httplib's listen backlog
  std::mutex ctx_mu_;
  // Null while loading; set once, never replaced (streams keep references into it).
  std::shared_ptr<const ServingContext> ctx_;
  std::unique_ptr<Metrics> metrics_;
  ActiveRequests active_;
};

}  // namespace glm::serving
