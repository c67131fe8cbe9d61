#include "serving/http_server.h"

#include <sys/socket.h>

#include <chrono>

#include <httplib.h>

#include "core/log.h"
#include "serving/api_error.h"
#include "serving/chat_service.h"
#include "serving/completion_service.h"
#include "serving/client_connection.h"
#include "serving/openapi.h"
#include "serving/utility_routes.h"

namespace glm::serving {
namespace {

constexpr size_t kWorkerThreads = 256;  // each open connection (stream or keep-alive) holds one
constexpr size_t kMaxBodyBytes = 64u << 20;
constexpr int kListenBacklog = 1024;  // pending connections the kernel queues before accept()
constexpr auto kEventWait = std::chrono::milliseconds(100);

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status, e.body()); }

// FastAPI's checks before the handler: JSON content type, parseable body (invalid UTF-8 included).
Json parse_body(const httplib::Request& req, bool require_json_type) {
  if (require_json_type) {
    std::string ct = req.get_header_value("Content-Type");
    std::string media = ct.substr(0, ct.find(';'));
    for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!media.empty() && media.back() == ' ') media.pop_back();
    if (media != "application/json")
      schema_error("Unsupported Media Type: Only 'application/json' is allowed");
  }
  if (req.body.empty()) schema_error("body: Field required");
  Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded()) schema_error("JSON decode error: the request body is not valid JSON (or not UTF-8)");
  return body;
}

// Runs a route body, turning every exception into the JSON error its kind means.
template <class Fn>
void guarded(httplib::Response& res, const char* route, Fn&& fn) {
  try {
    fn();
  } catch (const ApiException& e) {
    send_error(res, e.error());
  } catch (const GlmError& e) {
    ApiError err = api_error_from(e);
    if (err.status >= 500) spdlog::error("{}: {}", route, e.what());
    send_error(res, err);
  } catch (const nlohmann::json::exception& e) {
    send_error(res, {400, "Bad Request", std::string("invalid request: ") + e.what()});
  } catch (const std::exception& e) {
    spdlog::error("{}: internal error: {}", route, e.what());
    send_error(res, {500, "InternalServerError", std::string("Internal server error: ") + e.what()});
  }
}

// Streams SSE events from `stream` through `writer` (ChatStreamWriter, ...). The state lives as
// long as httplib holds the provider; destroying it aborts unfinished engine requests, which is
// what happens when the client goes away (a failed write ends the provider).
template <class Request, class Plan, class Writer>
struct StreamState {
  Request request;
  Plan plan;
  std::unique_ptr<RequestStream> stream;
  std::unique_ptr<Writer> writer;
  bool finished = false;
};

template <class State>
void start_sse(httplib::Response& res, std::shared_ptr<State> st, Metrics* metrics) {
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [st](size_t, httplib::DataSink& sink) {
        std::string out;
        IndexedOutput ev;
        if (!st->stream->all_finished()) {
          if (st->stream->next(ev, kEventWait)) st->writer->on_event(ev, out);
        }
        if (st->stream->all_finished() && !st->finished) {
          st->finished = true;
          st->writer->finish(out);
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        if (st->finished) sink.done();
        return true;
      },
      [st, metrics](bool success) {
        if (!success && !st->stream->all_finished() && !st->stream->client_left()) {  // else the watch counted it
          spdlog::info("client went away: aborting {}", st->stream->rids().empty() ? "" : st->stream->rids()[0]);
          st->stream->abort_all();
          if (metrics) metrics->observe_aborted_request();
        }
      });
}

// A non-streaming response is written only at the end, and a stream writes nothing before its first token,
// so nothing would notice a client that left: poll the connection while waiting and abort (SGLang checks
// request.is_disconnected() the same way).
void abort_when_client_leaves(RequestStream& stream, const httplib::Request& req, Metrics* metrics) {
  auto conn = std::make_shared<ClientConnection>(req);
  stream.watch_client([conn] { return conn->gone(); },
                      [&stream, metrics] {
                        spdlog::info("client went away: aborting {}", stream.rids().empty() ? "" : stream.rids()[0]);
                        if (metrics) metrics->observe_aborted_request();
                      });
}

bool check_api_key(const ServerArgs& args, const httplib::Request& req) {
  if (!args.api_key) return true;
  return req.get_header_value("Authorization") == "Bearer " + *args.api_key;
}

}  // namespace

HttpServer::HttpServer(const ServerArgs& args) : args_(args), http_(std::make_unique<httplib::Server>()) {
  if (args.enable_metrics) metrics_ = std::make_unique<Metrics>(args.served_model_name);
  http_->new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  http_->set_payload_max_length(kMaxBodyBytes);
  http_->set_keep_alive_max_count(1000);
  // cpp-httplib listens with a backlog of 5 (compiled into Debian's library): 64 clients connecting at once
  // overflowed it and a few saw their connection reset. Remember the listening socket so start() can raise it.
  http_->set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = int(sock);
  });
  register_routes();
}

HttpServer::~HttpServer() {
  stop();
  wait();
}

void HttpServer::set_ready(ServingContext ctx) {
  ctx.args = &args_;
  ctx.metrics = metrics_.get();
  std::lock_guard lk(ctx_mu_);
  ctx_ = std::make_shared<const ServingContext>(std::move(ctx));
}

void HttpServer::start() {
  // Port 0 (tests only: the flag requires 1..65535) picks a free port.
  port_ = args_.port == 0 ? http_->bind_to_any_port(args_.host) : (http_->bind_to_port(args_.host, args_.port) ? args_.port : -1);
  if (port_ <= 0)
    fail(ErrorKind::InvalidArgument, "cannot listen on {}:{} (address in use or not available)", args_.host,
         args_.port);
  // Calling listen() again on a listening socket updates its backlog (capped by net.core.somaxconn).
  if (listen_socket_ >= 0) ::listen(listen_socket_, kListenBacklog);
  listener_ = std::thread([this] {
    http_->listen_after_bind();
    listener_done_ = true;
  });
  spdlog::info("listening on http://{}:{}", args_.host, port_);
}

void HttpServer::stop() {
  stopping_ = true;
  if (http_) http_->stop();
}

void HttpServer::abort_active() {
  std::shared_ptr<const ServingContext> c;
  {
    std::lock_guard lk(ctx_mu_);
    c = ctx_;
  }
  if (c)
    for (const auto& rid : active_.snapshot()) c->engine->abort(rid);
}

void HttpServer::wait() {
  if (!listener_.joinable()) return;
  // The listener returns once every handler has: a non-streaming request generating (say) 100k
  // tokens would hold it for minutes. Keep aborting what is active (a handler may have submitted
  // just after a sweep) until it is done.
  while (stopping_ && !listener_done_) {
    abort_active();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  listener_.join();
}

void HttpServer::register_routes() {
  auto& s = *http_;
  // Every response: CORS; every route: the API key; OPTIONS: the preflight answer.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Access-Control-Allow-Origin", "*");
    res.set_header("Access-Control-Allow-Credentials", "true");
    if (req.method == "OPTIONS") {
      res.set_header("Access-Control-Allow-Methods", "*");
      res.set_header("Access-Control-Allow-Headers", req.get_header_value("Access-Control-Request-Headers").empty()
                                                         ? "*"
                                                         : req.get_header_value("Access-Control-Request-Headers"));
      res.status = 200;
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!check_api_key(args_, req)) {
      send_json(res, 401, Json{{"error", "Unauthorized"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) send_json(res, 404, Json{{"detail", "Not Found"}});
    else if (res.status == 405) send_json(res, 405, Json{{"detail", "Method Not Allowed"}});
    else if (res.status == 413) send_error(res, {413, "Bad Request", "request body too large"});
    else if (res.status == 400) send_error(res, {400, "Bad Request", "malformed HTTP request"});
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, {500, "InternalServerError", "Internal server error: " + what});
  });

  // The context while serving, or a 503 while loading.
  auto ready = [this](httplib::Response& res) -> std::shared_ptr<const ServingContext> {
    std::shared_ptr<const ServingContext> c;
    {
      std::lock_guard lk(ctx_mu_);
      c = ctx_;
    }
    if (!c) send_error(res, {503, "ServiceUnavailable", "The server is starting: the model is still loading."});
    return c;
  };

  auto health = [this, ready](const httplib::Request&, httplib::Response& res) {
    auto c = ready(res);
    if (!c) {
      res.body.clear();
      res.status = 503;
      return;
    }
    res.status = health_check(*c) ? 200 : 503;
  };
  s.Get("/health", health);
  s.Get("/health_generate", health);
  s.Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });

  s.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, openapi_document()); });

  s.Get("/metrics", [this, ready](const httplib::Request&, httplib::Response& res) {
    if (!metrics_) {
      send_json(res, 404, Json{{"detail", "Not Found"}});
      return;
    }
    auto c = ready(res);
    EngineStats st = c ? c->engine->stats() : EngineStats{};
    res.status = 200;
    res.set_content(metrics_->render(st), "text/plain; version=0.0.4; charset=utf-8");
  });

  auto chat = [this, ready](const httplib::Request& req, httplib::Response& res) {
    guarded(res, "/v1/chat/completions", [&] {
      Json body = parse_body(req, true);
      auto c = ready(res);
      if (!c) return;
      using State = StreamState<ChatRequest, ChatPlan, ChatStreamWriter>;
      auto st = std::make_shared<State>();
      st->request = parse_chat_request(body);
      st->plan = plan_chat(*c, st->request);
      st->stream = std::make_unique<RequestStream>(*c->engine, st->plan.requests, &active_);
      if (!st->request.stream) {
        abort_when_client_leaves(*st->stream, req, c->metrics);
        send_json(res, 200, run_chat(*c, st->request, st->plan, *st->stream));
        return;
      }
      st->writer = std::make_unique<ChatStreamWriter>(*c, st->request, st->plan);
      // A stream notices a client that left at its next write; before the first token (a long prefill, a
      // queue) there is none, so the connection is watched too.
      abort_when_client_leaves(*st->stream, req, c->metrics);
      start_sse(res, st, c->metrics);
    });
  };
  s.Post("/v1/chat/completions", chat);
  s.Post("/invocations", chat);

  s.Post("/v1/completions", [this, ready](const httplib::Request& req, httplib::Response& res) {
    guarded(res, "/v1/completions", [&] {
      Json body = parse_body(req, true);
      auto c = ready(res);
      if (!c) return;
      using State = StreamState<CompletionRequest, CompletionPlan, CompletionStreamWriter>;
      auto st = std::make_shared<State>();
      st->request = parse_completion_request(body);
      st->plan = plan_completion(*c, st->request);
      st->stream = std::make_unique<RequestStream>(*c->engine, st->plan.requests, &active_);
      if (!st->request.stream) {
        abort_when_client_leaves(*st->stream, req, c->metrics);
        send_json(res, 200, run_completion(*c, st->request, st->plan, *st->stream));
        return;
      }
      st->writer = std::make_unique<CompletionStreamWriter>(*c, st->request, st->plan);
      // A stream notices a client that left at its next write; before the first token (a long prefill, a
      // queue) there is none, so the connection is watched too.
      abort_when_client_leaves(*st->stream, req, c->metrics);
      start_sse(res, st, c->metrics);
    });
  });

  auto generate = [this, ready](const httplib::Request& req, httplib::Response& res) {
    guarded(res, "/generate", [&] {
      Json body = parse_body(req, false);
      auto c = ready(res);
      if (!c) return;
      using State = StreamState<NativeGenerateRequest, GeneratePlan, GenerateStreamWriter>;
      auto st = std::make_shared<State>();
      st->request = parse_generate_request(body);
      st->plan = plan_generate(*c, st->request);
      st->stream = std::make_unique<RequestStream>(*c->engine, st->plan.requests, &active_);
      if (!st->request.stream) {
        abort_when_client_leaves(*st->stream, req, c->metrics);
        send_json(res, 200, run_generate(*c, st->request, st->plan, *st->stream));
        return;
      }
      st->writer = std::make_unique<GenerateStreamWriter>(*c, st->request, st->plan);
      // A stream notices a client that left at its next write; before the first token (a long prefill, a
      // queue) there is none, so the connection is watched too.
      abort_when_client_leaves(*st->stream, req, c->metrics);
      start_sse(res, st, c->metrics);
    });
  };
  s.Post("/generate", generate);
  s.Put("/generate", generate);

  s.Get("/v1/models", [this, ready](const httplib::Request&, httplib::Response& res) {
    auto c = ready(res);
    if (c) send_json(res, 200, Json{{"object", "list"}, {"data", Json::array({model_card(*c, c->model.served_model_name)})}});
  });
  s.Get(R"(/v1/models/(.+))", [this, ready](const httplib::Request& req, httplib::Response& res) {
    auto c = ready(res);
    if (!c) return;
    std::string id = req.matches[1];
    if (id != c->model.served_model_name) {
      send_json(res, 404, Json{{"error", {{"message", "The model '" + id + "' does not exist"},
                                          {"type", "invalid_request_error"},
                                          {"param", "model"},
                                          {"code", "model_not_found"}}}});
      return;
    }
    send_json(res, 200, model_card(*c, id));
  });

  // Newer SGLang also serves these as /model_info and /server_info.
  for (const char* route : {"/get_model_info", "/model_info"}) {
    s.Get(route, [this, ready](const httplib::Request&, httplib::Response& res) {
      auto c = ready(res);
      if (c) send_json(res, 200, model_info_json(*c));
    });
  }
  for (const char* route : {"/get_server_info", "/server_info"}) {
    s.Get(route, [this, ready](const httplib::Request&, httplib::Response& res) {
      auto c = ready(res);
      if (c) send_json(res, 200, server_info_json(*c));
    });
  }
  s.Get("/get_load", [this, ready](const httplib::Request&, httplib::Response& res) {
    auto c = ready(res);
    if (c) send_json(res, 200, load_json(*c));
  });

  auto simple_post = [this, ready](const char* route, bool json_type, Json (*fn)(const ServingContext&, const Json&)) {
    return [this, ready, route, json_type, fn](const httplib::Request& req, httplib::Response& res) {
      guarded(res, route, [&] {
        Json body = parse_body(req, json_type);
        auto c = ready(res);
        if (c) send_json(res, 200, fn(*c, body));
      });
    };
  };
  s.Post("/v1/tokenize", simple_post("/v1/tokenize", true, tokenize_route));
  s.Post("/tokenize", simple_post("/tokenize", true, tokenize_route));
  s.Post("/v1/detokenize", simple_post("/v1/detokenize", true, detokenize_route));
  s.Post("/detokenize", simple_post("/detokenize", true, detokenize_route));
  s.Post("/parse_function_call", simple_post("/parse_function_call", false, parse_function_call_route));
  s.Post("/separate_reasoning", simple_post("/separate_reasoning", false, separate_reasoning_route));

  auto flush = [this, ready](const httplib::Request&, httplib::Response& res) {
    auto c = ready(res);
    if (!c) return;
    bool ok = c->engine->flush_cache();
    res.status = ok ? 200 : 400;
    res.set_content(
        "Cache flushed.\nPlease check backend logs for more details. (When there are running or waiting requests, "
        "the operation will not be performed.)\n",
        "text/plain");
  };
  // `curl -X POST .../flush_cache` (as SGLang's docs write it) sends no Content-Length: cpp-httplib would
  // then read a body until the connection closes (seconds). These routes take the body only if one is
  // announced.
  s.Post("/flush_cache", [flush](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader&) {
    flush(req, res);
  });
  s.Get("/flush_cache", flush);

  // Bodies optional (SGLang's fields all have defaults).
  for (auto [route, fn] : {std::pair{"/pause_generation", &pause_generation_route},
                           std::pair{"/continue_generation", &continue_generation_route}}) {
    s.Post(route, [this, ready, route, fn](const httplib::Request& req, httplib::Response& res,
                                          const httplib::ContentReader& reader) {
      guarded(res, route, [&] {
        std::string text;
        if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))
          reader([&](const char* data, size_t n) {
            if (text.size() + n > (1u << 20)) return false;  // these bodies are a few bytes
            text.append(data, n);
            return true;
          });
        Json body = Json::object();
        if (!text.empty()) {
          body = Json::parse(text, nullptr, false);
          if (body.is_discarded()) schema_error("JSON decode error: the request body is not valid JSON (or not UTF-8)");
        }
        auto c = ready(res);
        if (c) send_json(res, 200, fn(*c, body));
      });
    });
  }

  s.Post("/abort_request", [this, ready](const httplib::Request& req, httplib::Response& res) {
    guarded(res, "/abort_request", [&] {
      Json body = parse_body(req, false);
      auto c = ready(res);
      if (!c) return;
      abort_route(*c, body, active_);
      res.status = 200;
    });
  });
}

}  // namespace glm::serving
