#pragma once
// One streamed generation request against a running server, timed the way sglang.bench_serving
// times it. Two wire formats:
//   Backend::Sglang  POST {base}/generate  {"input_ids"|"text", "sampling_params": {max_new_tokens,
//                    temperature 0, ignore_eos}, "stream": true}; events carry cumulative text and
//                    meta_info.completion_tokens / prompt_tokens / cached_tokens.
//   Backend::OpenAI  POST {base}/v1/completions {"model", "prompt" (text or token ids), max_tokens,
//                    temperature 0, ignore_eos, "stream": true, stream_options.include_usage};
//                    events carry delta text, the last one usage (without usage, each text
//                    chunk counts one token and a finish_reason ends the request).
// A token's arrival is the event that first reports it: TTFT is the first event with an output
// token, and an event that brings n tokens at once adds n inter-token gaps of dt / n (OpenAI
// events without per-event usage count one token each). Output/prompt/cached token counts come
// from the server's final numbers. Any transport error, HTTP status other than 200, malformed
// event or missing final event makes the record a failure with a message; nothing throws.
#include <string>

#include <nlohmann/json.hpp>

#include "loadgen/request_record.h"

namespace glm::loadgen {

enum class Backend { Sglang, OpenAI };

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 30000;
  std::string path_prefix;  // "" or "/something" (a base URL with a path)
  std::string api_key;      // sent as "Authorization: Bearer ..." when not empty
};

// "http://host:port[/prefix]" (port defaults to 80). Throws GlmError(InvalidArgument) for other
// schemes (https is not built in) or a malformed URL.
Endpoint parse_base_url(const std::string& url);

struct StreamOptions {
  Backend backend = Backend::Sglang;
  std::string model;  // OpenAI "model" field
  bool ignore_eos = true;
  nlohmann::json extra_body = nlohmann::json::object();  // merged into the request body last
  double timeout_s = 6 * 3600;
};

// The JSON body for `p` (exposed for tests).
nlohmann::json build_request_body(const StreamOptions& opt, const PromptSpec& p);

RequestRecord run_stream_request(const Endpoint& ep, const StreamOptions& opt, const PromptSpec& p);

// Plain GET / POST helpers for the bench's setup calls; status 0 on a transport error.
struct HttpReply {
  int status = 0;
  std::string body;
};
HttpReply http_get(const Endpoint& ep, const std::string& path);
HttpReply http_post_json(const Endpoint& ep, const std::string& path, const nlohmann::json& body);

}  // namespace glm::loadgen
