#include "loadgen/stream_client.h"

#include <chrono>

#include <httplib.h>

#include "core/error.h"
#include "loadgen/sse_parser.h"

namespace glm::loadgen {

Endpoint parse_base_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    fail(ErrorKind::InvalidArgument, "--base-url '{}': only http:// URLs are supported", url);
  std::string rest = url.substr(scheme.size());
  Endpoint ep;
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    ep.path_prefix = rest.substr(slash);
    rest = rest.substr(0, slash);
    while (!ep.path_prefix.empty() && ep.path_prefix.back() == '/') ep.path_prefix.pop_back();
  }
  const size_t colon = rest.rfind(':');
  ep.port = 80;
  if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    try {
      size_t used = 0;
      ep.port = std::stoi(port, &used);
      if (used != port.size() || ep.port < 1 || ep.port > 65535) throw std::invalid_argument(port);
    } catch (const std::exception&) {
      fail(ErrorKind::InvalidArgument, "--base-url '{}': bad port '{}'", url, port);
    }
    rest = rest.substr(0, colon);
  }
  if (rest.size() > 2 && rest.front() == '[' && rest.back() == ']') rest = rest.substr(1, rest.size() - 2);
  if (rest.empty()) fail(ErrorKind::InvalidArgument, "--base-url '{}': no host", url);
  ep.host = rest;
  return ep;
}

nlohmann::json build_request_body(const StreamOptions& opt, const PromptSpec& p) {
  nlohmann::json body;
  if (opt.backend == Backend::Sglang) {
    if (p.use_ids) body["input_ids"] = p.ids;
    else body["text"] = p.text;
    body["sampling_params"] = {{"max_new_tokens", p.output_len}, {"temperature", 0.0}, {"ignore_eos", opt.ignore_eos}};
    body["stream"] = true;
  } else {
    body["model"] = opt.model;
    if (p.use_ids) body["prompt"] = p.ids;
    else body["prompt"] = p.text;
    body["max_tokens"] = p.output_len;
    body["temperature"] = 0.0;
    body["ignore_eos"] = opt.ignore_eos;
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  if (opt.extra_body.is_object())
    for (auto& [k, v] : opt.extra_body.items()) body[k] = v;
  return body;
}

namespace {

using Clock = std::chrono::steady_clock;

httplib::Headers auth_headers(const Endpoint& ep) {
  httplib::Headers h;
  if (!ep.api_key.empty()) h.emplace("Authorization", "Bearer " + ep.api_key);
  return h;
}

// Turns the event stream of one request into a RequestRecord.
class EventHandler {
 public:
  EventHandler(Backend b, RequestRecord& rec, Clock::time_point start) : backend_(b), rec_(rec), start_(start) {}

  // Returns false (and sets the error) to stop reading.
  bool on_data(const std::string& data) {
    if (data == "[DONE]") {
      done_ = true;
      return true;
    }
    nlohmann::json ev = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (ev.is_discarded() || !ev.is_object()) return error("malformed event: " + data.substr(0, 200));
    if (ev.contains("error")) return error("server error event: " + data.substr(0, 500));
    return backend_ == Backend::Sglang ? sglang_event(ev) : openai_event(ev);
  }

  bool finish() {
    if (!rec_.error.empty()) return false;
    if (!saw_final_) return error("the stream ended without a final event");
    // A server that sends no usage: one token per text chunk (as sglang.bench_serving assumes).
    if (backend_ == Backend::OpenAI && !saw_usage_) rec_.output_len = tokens_;
    rec_.success = true;
    return true;
  }

 private:
  bool error(std::string msg) {
    if (rec_.error.empty()) rec_.error = std::move(msg);
    return false;
  }

  void tokens_arrived(int64_t n) {
    if (n <= 0) return;
    const double t = std::chrono::duration<double>(Clock::now() - start_).count();
    if (tokens_ == 0) {
      rec_.ttft = t;  // tokens that come with the first one add no gaps (as sglang.bench_serving)
    } else {
      const double gap = (t - last_t_) / double(n);
      for (int64_t i = 0; i < n; ++i) rec_.itl.push_back(gap);
    }
    tokens_ += n;
    last_t_ = t;
  }

  bool sglang_event(const nlohmann::json& ev) {
    const auto& meta = ev.value("meta_info", nlohmann::json::object());
    const int64_t completion = meta.value("completion_tokens", int64_t(0));
    tokens_arrived(completion - tokens_);
    rec_.generated_text = ev.value("text", std::string());  // cumulative
    rec_.output_len = completion;
    if (meta.contains("prompt_tokens")) rec_.prompt_len = meta["prompt_tokens"].get<int64_t>();
    if (meta.contains("cached_tokens")) rec_.cached_tokens = meta["cached_tokens"].get<int64_t>();
    const auto& fr = meta.value("finish_reason", nlohmann::json());
    if (fr.is_object()) {
      saw_final_ = true;
      if (fr.value("type", std::string()) == "abort") return error("aborted: " + fr.dump());
      rec_.latency = std::chrono::duration<double>(Clock::now() - start_).count();
    }
    return true;
  }

  bool openai_event(const nlohmann::json& ev) {
    const auto& choices = ev.value("choices", nlohmann::json::array());
    if (choices.is_array() && !choices.empty()) {
      const auto& c = choices[0];
      const std::string text = c.value("text", std::string());
      if (!text.empty()) {
        tokens_arrived(1);
        rec_.generated_text += text;
      }
      const auto& fr = c.value("finish_reason", nlohmann::json());
      if (fr.is_string()) {
        if (fr.get<std::string>() == "abort") return error("aborted by the server");
        rec_.latency = std::chrono::duration<double>(Clock::now() - start_).count();
        saw_final_ = true;
      }
    }
    const auto& usage = ev.value("usage", nlohmann::json());
    if (usage.is_object()) {
      saw_final_ = saw_usage_ = true;
      rec_.output_len = usage.value("completion_tokens", rec_.output_len);
      rec_.prompt_len = usage.value("prompt_tokens", rec_.prompt_len);
      const auto& details = usage.value("prompt_tokens_details", nlohmann::json());
      if (details.is_object()) rec_.cached_tokens = details.value("cached_tokens", int64_t(0));
      if (rec_.latency == 0) rec_.latency = std::chrono::duration<double>(Clock::now() - start_).count();
    }
    return true;
  }

  Backend backend_;
  RequestRecord& rec_;
  Clock::time_point start_;
  int64_t tokens_ = 0;
  double last_t_ = 0;
  bool done_ = false, saw_final_ = false, saw_usage_ = false;
};

}  // namespace

RequestRecord run_stream_request(const Endpoint& ep, const StreamOptions& opt, const PromptSpec& p) {
  RequestRecord rec;
  rec.prompt_len = p.prompt_len;
  httplib::Client cli(ep.host, ep.port);
  const auto timeout = std::chrono::duration<double>(opt.timeout_s);
  cli.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  cli.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  httplib::Request req;
  req.method = "POST";
  req.path = ep.path_prefix + (opt.backend == Backend::Sglang ? "/generate" : "/v1/completions");
  req.headers = auth_headers(ep);
  req.set_header("Content-Type", "application/json");
  req.body = build_request_body(opt, p).dump();

  const auto start = Clock::now();
  EventHandler handler(opt.backend, rec, start);
  SseParser parser;
  int status = 0;
  std::string error_body;  // a non-200 reply's body, for the message
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (status != 200) {
      if (error_body.size() < 2000) error_body.append(data, std::min<size_t>(n, 2000));
      return true;
    }
    bool keep = true;
    parser.feed(std::string_view(data, n), [&](const std::string& ev) { keep = handler.on_data(ev) && keep; });
    return keep;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool ok = cli.send(req, res, err);
  if (status != 0 && status != 200) {
    rec.error = "HTTP " + std::to_string(status) + ": " + error_body;
  } else if (!ok && rec.error.empty()) {
    rec.error = "transport error: " + httplib::to_string(err);
  }
  if (rec.error.empty()) handler.finish();
  if (!rec.error.empty()) rec.success = false;
  return rec;
}

HttpReply http_get(const Endpoint& ep, const std::string& path) {
  httplib::Client cli(ep.host, ep.port);
  cli.set_read_timeout(60, 0);
  auto r = cli.Get((ep.path_prefix + path).c_str(), auth_headers(ep));
  if (!r) return {};
  return {r->status, r->body};
}

HttpReply http_post_json(const Endpoint& ep, const std::string& path, const nlohmann::json& body) {
  httplib::Client cli(ep.host, ep.port);
  cli.set_read_timeout(600, 0);
  auto r = cli.Post((ep.path_prefix + path).c_str(), auth_headers(ep), body.dump(), "application/json");
  if (!r) return {};
  return {r->status, r->body};
}

}  // namespace glm::loadgen
