#include "cli/bench_serving.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "loadgen/latency_stats.h"
#include "loadgen/load_runner.h"
#include "loadgen/random_dataset.h"
#include "loadgen/stream_client.h"
#include "tokenizer/tokenizer.h"

namespace glm::cli {

using nlohmann::json;

void add_serving_bench_options(CLI::App& sub, ServingBenchArgs& a) {
  const char* g = "Serving mode (--mode serving)";
  sub.add_option("--backend", a.backend, "sglang|sglang-native: /generate; sglang-oai|openai|vllm: /v1/completions")
      ->check(CLI::IsMember({"sglang", "sglang-native", "sglang-oai", "openai", "vllm"}))
      ->capture_default_str()->group(g);
  sub.add_option("--base-url", a.base_url, "server URL (http://host:port), instead of --host/--port")->group(g);
  sub.add_option("--host", a.host, "server host")->capture_default_str()->group(g);
  sub.add_option("--port", a.port, "server port")->capture_default_str()->group(g);
  sub.add_option("--model", a.model, "model name for /v1/completions (default: first of /v1/models)")->group(g);
  sub.add_option("--tokenizer", a.tokenizer, "tokenizer directory (default: the server's tokenizer_path)")->group(g);
  sub.add_option("--dataset-name", a.dataset_name, "random (ids decoded to text) | random-ids (token ids)")
      ->check(CLI::IsMember({"random", "random-ids"}))->capture_default_str()->group(g);
  sub.add_option("--num-prompts", a.num_prompts, "requests")->capture_default_str()->group(g);
  sub.add_option("--random-input-len", a.random_input_len, "prompt tokens (maximum)")->capture_default_str()->group(g);
  sub.add_option("--random-output-len", a.random_output_len, "output tokens (maximum)")->capture_default_str()->group(g);
  sub.add_option("--random-range-ratio", a.random_range_ratio, "lengths uniform in [len * ratio, len]")
      ->capture_default_str()->group(g);
  sub.add_option("--request-rate", a.request_rate, "requests/s, Poisson arrivals (inf: all at once)")
      ->capture_default_str()->group(g);
  sub.add_option("--max-concurrency", a.max_concurrency, "most requests in flight (0: no limit)")
      ->capture_default_str()->group(g);
  sub.add_option("--warmup-requests", a.warmup_requests, "requests run (and discarded) before the benchmark")
      ->capture_default_str()->group(g);
  sub.add_flag("--flush-cache", a.flush_cache, "POST /flush_cache after the warm-up")->group(g);
  sub.add_flag("--disable-ignore-eos", a.disable_ignore_eos, "let EOS end requests early")->group(g);
  sub.add_flag("--disable-tqdm", a.disable_tqdm, "no progress bar")->group(g);
  sub.add_option("--extra-request-body", a.extra_request_body, "JSON object merged into every request body")->group(g);
  sub.add_option("--output-file", a.output_file, "append the result JSON to this JSONL file")->group(g);
  sub.add_flag("--output-details", a.output_details, "per-request details in the JSON")->group(g);
}

namespace {

loadgen::Endpoint endpoint(const ServingBenchArgs& a) {
  loadgen::Endpoint ep = a.base_url.empty() ? loadgen::parse_base_url("http://" + a.host + ":" + std::to_string(a.port))
                                            : loadgen::parse_base_url(a.base_url);
  if (const char* key = std::getenv("OPENAI_API_KEY")) ep.api_key = key;  // as sglang.bench_serving
  return ep;
}

json get_json(const loadgen::Endpoint& ep, const std::string& path) {
  auto r = loadgen::http_get(ep, path);
  if (r.status != 200)
    fail(ErrorKind::Unavailable, "GET {}{}: {}", ep.path_prefix, path,
         r.status == 0 ? "cannot connect to " + ep.host + ":" + std::to_string(ep.port) : "HTTP " + std::to_string(r.status));
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) fail(ErrorKind::Unavailable, "GET {}: not JSON", path);
  return j;
}

Tokenizer load_tokenizer(const ServingBenchArgs& a, const loadgen::Endpoint& ep) {
  std::string dir = a.tokenizer;
  if (dir.empty()) {
    json info = get_json(ep, "/get_model_info");
    dir = info.value("tokenizer_path", std::string());
    if (dir.empty()) dir = info.value("model_path", std::string());
  }
  try {
    return Tokenizer::from_dir(dir);
  } catch (const std::exception& e) {
    fail(ErrorKind::InvalidArgument, "cannot load the tokenizer from '{}' ({}); pass --tokenizer DIR", dir, e.what());
  }
}

json json_number_or_string(double v) { return std::isinf(v) ? json("inf") : json(v); }

}  // namespace

int run_serving_bench(const ServingBenchArgs& a, unsigned seed) {
  using namespace loadgen;
  if (a.num_prompts < 1) fail(ErrorKind::InvalidArgument, "--num-prompts must be >= 1");
  if (a.max_concurrency < 0) fail(ErrorKind::InvalidArgument, "--max-concurrency must be >= 0 (0: no limit)");
  if (a.warmup_requests < 0) fail(ErrorKind::InvalidArgument, "--warmup-requests must be >= 0");
  if (!(a.request_rate > 0)) fail(ErrorKind::InvalidArgument, "--request-rate must be > 0 (inf: no pacing)");
  const Endpoint ep = endpoint(a);
  StreamOptions so;
  so.backend = (a.backend == "sglang" || a.backend == "sglang-native") ? Backend::Sglang : Backend::OpenAI;
  so.ignore_eos = !a.disable_ignore_eos;
  if (!a.extra_request_body.empty()) {
    so.extra_body = json::parse(a.extra_request_body, nullptr, false);
    if (!so.extra_body.is_object()) fail(ErrorKind::InvalidArgument, "--extra-request-body must be a JSON object");
  }
  so.model = a.model;
  if (so.backend == Backend::OpenAI && so.model.empty()) {
    json models = get_json(ep, "/v1/models");
    if (models.contains("data") && models["data"].is_array() && !models["data"].empty())
      so.model = models["data"][0].value("id", std::string());
    if (so.model.empty()) fail(ErrorKind::InvalidArgument, "no model in /v1/models; pass --model");
  }

  const Tokenizer tok = load_tokenizer(a, ep);
  RandomDatasetOptions dopt;
  dopt.num_prompts = a.num_prompts;
  dopt.input_len = a.random_input_len;
  dopt.output_len = a.random_output_len;
  dopt.range_ratio = a.random_range_ratio;
  dopt.seed = seed;
  dopt.as_text = a.dataset_name == "random";
  const std::vector<PromptSpec> prompts = make_random_dataset(dopt, tok);
  auto send = [&](const PromptSpec& p) { return run_stream_request(ep, so, p); };

  if (a.warmup_requests > 0) {
    spdlog::info("bench: {} warm-up request(s)", a.warmup_requests);
    PromptSpec w = prompts.front();
    w.output_len = std::min<int64_t>(w.output_len, 16);
    std::vector<PromptSpec> warm(size_t(a.warmup_requests), w);
    double unused = 0;
    auto recs = run_load(warm, LoadOptions{0, 0, seed, false}, send, unused);
    for (const auto& r : recs)
      if (!r.success) fail(ErrorKind::Unavailable, "warm-up request failed: {}", r.error);
  }
  if (a.flush_cache) {
    auto r = http_post_json(ep, "/flush_cache", json::object());
    if (r.status != 200) spdlog::warn("bench: /flush_cache answered {}", r.status);
  }

  spdlog::info("bench: {} requests, {} backend, request rate {}, max concurrency {}", prompts.size(), a.backend,
               a.request_rate, a.max_concurrency > 0 ? std::to_string(a.max_concurrency) : "not set");
  LoadOptions lo;
  lo.request_rate = a.request_rate;
  lo.max_concurrency = a.max_concurrency;
  lo.seed = seed;
  lo.progress = !a.disable_tqdm;
  double duration = 0;
  const std::vector<RequestRecord> records = run_load(prompts, lo, send, duration);

  json result = {{"backend", a.backend},
                 {"dataset_name", a.dataset_name},
                 {"request_rate", json_number_or_string(a.request_rate)},
                 {"max_concurrency", a.max_concurrency > 0 ? json(a.max_concurrency) : json(nullptr)},
                 {"num_prompts", a.num_prompts},
                 {"random_input_len", a.random_input_len},
                 {"random_output_len", a.random_output_len},
                 {"random_range_ratio", a.random_range_ratio},
                 {"seed", seed}};
  result.update(compute_metrics(records, duration));
  // Several errors are usually the same one: show the first few, count them all.
  int shown = 0;
  for (const auto& r : records)
    if (!r.success && shown++ < 3) spdlog::warn("bench: request failed: {}", r.error);
  if (a.output_details) {
    json in = json::array(), out = json::array(), ttfts = json::array(), itls = json::array(), texts = json::array(),
         errors = json::array();
    for (const auto& r : records) {
      in.push_back(r.prompt_len);
      out.push_back(r.output_len);
      ttfts.push_back(r.ttft);
      itls.push_back(r.itl);
      texts.push_back(r.generated_text);
      errors.push_back(r.error);
    }
    result["input_lens"] = in;
    result["output_lens"] = out;
    result["ttfts"] = ttfts;
    result["itls"] = itls;
    result["generated_texts"] = texts;
    result["errors"] = errors;
  }
  std::fputs(format_table(result).c_str(), stdout);
  const std::string line = result.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!a.output_file.empty()) {
    std::ofstream f(a.output_file, std::ios::app);
    if (!f) fail(ErrorKind::InvalidArgument, "--output-file: cannot write {}", a.output_file);
    f << line << "\n";
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  return result["completed"].get<int64_t>() > 0 ? 0 : 1;
}

}  // namespace glm::cli
