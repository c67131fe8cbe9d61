#include "serving/server_args.h"

#include <charconv>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"

namespace glm::serving {
namespace {

struct ValueSpec {
  const char* field;
  const char* names;
  const char* help;
};

// Flags that take a value, under SGLang's field names. Conversion happens in finish().
constexpr ValueSpec kValueFlags[] = {
    {"model_path", "--model-path,--model", "Checkpoint directory (Hugging Face layout)"},
    {"tokenizer_path", "--tokenizer-path", "Tokenizer directory (default: --model-path)"},
    {"served_model_name", "--served-model-name", "Model id reported by the API (default: --model-path)"},
    {"chat_template", "--chat-template", "Jinja chat template file (default: the checkpoint's)"},
    {"context_length", "--context-length", "Context length (default: from config.json)"},
    {"dtype", "--dtype", "auto | bfloat16 | float32"},
    {"quantization", "--quantization", "fp8 | compressed-tensors | w8a8_fp8 (default: from config.json)"},
    {"kv_cache_dtype", "--kv-cache-dtype",
     "auto (= bf16, the checkpoints' dtype) | bf16 | bfloat16 | fp8_e4m3 | fp8_e5m2 (scale 1.0, saturating) | float32"},
    {"host", "--host", "Bind address (default 127.0.0.1)"},
    {"port", "--port", "Port (default 30000)"},
    {"api_key", "--api-key", "Require 'Authorization: Bearer KEY' on every route"},
    {"tool_call_parser", "--tool-call-parser", "glm | glm45 | glm47"},
    {"reasoning_parser", "--reasoning-parser", "glm45"},
    {"log_level", "--log-level", "debug | info | warning | error"},
    {"mem_fraction_static", "--mem-fraction-static", "Fraction of memory for weights + KV pool (0,1]"},
    {"max_running_requests", "--max-running-requests", "Most requests decoding at once"},
    {"max_total_tokens", "--max-total-tokens", "KV pool size in tokens"},
    {"chunked_prefill_size", "--chunked-prefill-size", "Prefill chunk in tokens (-1 disables)"},
    {"max_prefill_tokens", "--max-prefill-tokens", "Most prompt tokens per prefill batch (default 16384)"},
    {"page_size", "--page-size", "KV page size in tokens (default 1)"},
    {"schedule_policy", "--schedule-policy", "fcfs | lpm | random | dfs-weight | lof | priority"},
    {"threads", "--threads", "Compute threads (glmserve; default: all cores)"},
    {"tp_size", "--tp-size,--tp", "Tensor parallel size"},
    {"dp_size", "--dp-size,--dp", "Data parallel size"},
    {"ep_size", "--ep-size,--ep", "Expert parallel size"},
    {"dist_init_addr", "--dist-init-addr", "host:port of node 0 (multi-node)"},
    {"nnodes", "--nnodes", "Number of nodes"},
    {"node_rank", "--node-rank", "This node's rank"},
    {"speculative_algorithm", "--speculative-algorithm", "EAGLE | NEXTN"},
    {"speculative_num_steps", "--speculative-num-steps", "Draft depth"},
    {"speculative_eagle_topk", "--speculative-eagle-topk", "Draft branching"},
    {"speculative_num_draft_tokens", "--speculative-num-draft-tokens", "Tokens verified per round"},
    {"speculative_draft_model_path", "--speculative-draft-model-path", "Draft checkpoint (default: MTP layer)"},
    {"speculative_token_map", "--speculative-token-map", "FR-Spec hot token ids (torch.save file or JSON list)"},
    {"speculative_accept_threshold_single", "--speculative-accept-threshold-single", "(0,1], default 1"},
    {"speculative_accept_threshold_acc", "--speculative-accept-threshold-acc", "(0,1], default 1"},
};

struct SwitchSpec {
  const char* field;
  const char* names;
  const char* help;
};
constexpr SwitchSpec kSwitches[] = {
    {"trust_remote_code", "--trust-remote-code", "Accepted (no remote code is ever run)"},
    {"enable_custom_logit_processor", "--enable-custom-logit-processor", "Allow custom_logit_processor"},
    {"enable_metrics", "--enable-metrics", "Serve Prometheus /metrics"},
    {"enable_cache_report", "--enable-cache-report", "Report prompt_tokens_details.cached_tokens"},
    {"allow_auto_truncate", "--allow-auto-truncate", "Truncate over-long requests instead of 400"},
    {"disable_radix_cache", "--disable-radix-cache", "No prefix cache"},
    {"disable_shared_experts_fusion", "--disable-shared-experts-fusion", "Accepted (no effect on CPU)"},
};

// GPU-only flags: accepted so SGLang command lines work, then ignored with a notice.
constexpr const char* kGpuValueFlags[] = {"--cuda-graph-max-bs", "--cuda-graph-bs", "--attention-backend",
                                          "--torch-compile-max-bs", "--device", "--sampling-backend",
                                          "--grammar-backend", "--moe-runner-backend"};
constexpr const char* kGpuSwitches[] = {"--disable-cuda-graph", "--disable-overlap-schedule",
                                        "--enable-torch-compile", "--enable-dp-attention",
                                        "--disable-cuda-graph-padding", "--enable-mixed-chunk"};

// Other SGLang launch_server flags that change nothing here: accepted so SGLang command lines start, with a
// notice saying why they have no effect (an unknown flag is still an error: typos must not pass silently).
struct NoEffectFlag {
  const char* name;
  bool takes_value;
  const char* why;
};
constexpr NoEffectFlag kNoEffectFlags[] = {
    {"--watchdog-timeout", true, "no scheduler watchdog"},
    {"--random-seed", true, "sampling is seeded per request (`seed`), unseeded requests draw fresh seeds"},
    {"--stream-interval", true, "every token is streamed as it is decoded"},
    {"--log-requests", false, "requests are not logged one by one"},
    {"--log-requests-level", true, "requests are not logged one by one"},
    {"--skip-server-warmup", false, "no warm-up request is run"},
    {"--decode-log-interval", true, "decode progress is not logged per batch"},
    {"--show-time-cost", false, "no per-stage timers"},
    {"--nccl-port", true, "tensor parallelism runs over MPI (mpirun), not NCCL"},
    {"--enable-p2p-check", false, "tensor parallelism runs over MPI (mpirun), not NCCL"},
    {"--disable-custom-all-reduce", false, "tensor parallelism runs over MPI (mpirun), not NCCL"},
    {"--enable-flashinfer-allreduce-fusion", false, "GPU kernels"},
    {"--cpu-offload-gb", true, "weights are used in place from their memory mapping"},
    {"--enable-hierarchical-cache", false, "the KV cache lives in host memory already"},
    {"--load-format", true, "safetensors checkpoints are read directly"},
    {"--model-loader-extra-config", true, "safetensors checkpoints are read directly"},
    {"--revision", true, "--model-path is a local directory"},
    {"--download-dir", true, "--model-path is a local directory"},
    {"--speculative-draft-model-revision", true, "--speculative-draft-model-path is a local directory"},
};

std::string flag_of(const std::string& names) { return names.substr(0, names.find(',')); }

int to_int(const std::string& flag, const std::string& raw) {
  int v = 0;
  auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc() || p != raw.data() + raw.size())
    fail(ErrorKind::InvalidArgument, "{}: '{}' is not an integer", flag, raw);
  return v;
}

double to_double(const std::string& flag, const std::string& raw) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(raw, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != raw.size() || !std::isfinite(v))
    fail(ErrorKind::InvalidArgument, "{}: '{}' is not a number", flag, raw);
  return v;
}

void check_choice(const std::string& flag, const std::string& v, std::initializer_list<const char*> choices) {
  std::string list;
  for (const char* c : choices) {
    if (v == c) return;
    list += list.empty() ? c : std::string(" | ") + c;
  }
  fail(ErrorKind::InvalidArgument, "{}: '{}' is not one of {}", flag, v, list);
}

void check_min(const std::string& flag, double v, double lo) {
  if (v < lo) fail(ErrorKind::InvalidArgument, "{}: {} is below the minimum {}", flag, v, lo);
}

// SGLang's _handle_speculative_decoding for the EAGLE family on GLM: the three numbers are set together
// or not at all (then (3, 1, 4), SGLang's auto choice for Glm4MoeForCausalLM); topk 1 forces
// num_draft_tokens = num_steps + 1; topk > 1 drafts a tree of num_draft_tokens nodes (SGLang's bound on
// it applies; not with --speculative-num-steps auto).
void resolve_speculative(ServerArgs& a) {
  const bool steps = a.speculative_num_steps || a.speculative_adaptive;
  const int given = int(steps) + int(a.speculative_eagle_topk.has_value()) +
                    int(a.speculative_num_draft_tokens.has_value());
  if (a.speculative_adaptive) {
    // auto: the draft tokens (if given) bound the depth; topk may only be 1.
    if (!a.speculative_num_draft_tokens) a.speculative_num_draft_tokens = 4;
    if (*a.speculative_num_draft_tokens < 2)
      fail(ErrorKind::InvalidArgument, "--speculative-num-draft-tokens: {} leaves no draft with --speculative-num-steps "
           "auto (need >= 2)", *a.speculative_num_draft_tokens);
    a.speculative_num_steps = *a.speculative_num_draft_tokens - 1;
    if (!a.speculative_eagle_topk) a.speculative_eagle_topk = 1;
  } else if (given == 0) {
    a.speculative_num_steps = 3;
    a.speculative_eagle_topk = 1;
    a.speculative_num_draft_tokens = 4;
  } else if (given != 3) {
    fail(ErrorKind::InvalidArgument, "--speculative-num-steps, --speculative-eagle-topk and "
         "--speculative-num-draft-tokens: set all three or none (none = 3, 1, 4 for GLM)");
  }
  const int64_t topk = *a.speculative_eagle_topk, steps_n = *a.speculative_num_steps;
  if (topk > 1) {
    // Tree drafting (engine/spec_tree.h). SGLang picks the num_draft_tokens - 1 tree nodes among the
    // topk + (num_steps - 1) * topk^2 candidates the beams produce.
    if (a.speculative_adaptive)
      fail(ErrorKind::InvalidArgument, "--speculative-eagle-topk {}: --speculative-num-steps auto chooses a chain depth "
           "per round; tree drafting needs a fixed --speculative-num-steps", topk);
    const int64_t candidates = topk + (steps_n - 1) * topk * topk;
    if (*a.speculative_num_draft_tokens < 2 || *a.speculative_num_draft_tokens - 1 > candidates)
      fail(ErrorKind::InvalidArgument, "--speculative-num-draft-tokens {}: a tree of {} steps with topk {} has {} "
           "candidate nodes; need 2 <= num_draft_tokens <= {}", *a.speculative_num_draft_tokens, steps_n, topk,
           candidates, candidates + 1);
  } else if (*a.speculative_num_draft_tokens != *a.speculative_num_steps + 1) {
    if (!a.speculative_adaptive)
      a.notices.push_back(fmt::format("speculative_num_draft_tokens is adjusted to speculative_num_steps + 1 = {} "
                                      "because speculative_eagle_topk == 1 (was {})",
                                      *a.speculative_num_steps + 1, *a.speculative_num_draft_tokens));
    a.speculative_num_draft_tokens = *a.speculative_num_steps + 1;
  }
  if (a.speculative_draft_model_path) {
    auto norm = [](const std::string& p) {
      std::error_code ec;
      std::filesystem::path c = std::filesystem::weakly_canonical(p, ec);
      if (ec) c = std::filesystem::path(p).lexically_normal();
      return c.has_filename() ? c : c.parent_path();  // "/m/" is "/m"
    };
    if (norm(*a.speculative_draft_model_path) != norm(a.model_path))
      fail(ErrorKind::InvalidArgument, "--speculative-draft-model-path {}: only the target checkpoint's own MTP layer "
           "can draft here (omit the flag, or pass the --model-path)", *a.speculative_draft_model_path);
  }
  a.speculative_draft_model_path = a.model_path;
}

}  // namespace

void ServerArgsParser::register_flags(CLI::App& app) {
  app.allow_extras();  // unknown flags are reported by finish() with exit status 2
  for (const auto& s : kValueFlags) {
    ValueFlag& f = values_[s.field];
    f.names = s.names;
    f.help = s.help;
    app.add_option(f.names, f.raw, f.help);
  }
  for (const auto& s : kSwitches) app.add_flag(s.names, switches_[s.field], s.help);
  for (const char* n : kGpuValueFlags) app.add_option(n, gpu_values_[n], "GPU only: accepted and ignored")->group("");
  for (const char* n : kGpuSwitches) app.add_flag(n, gpu_switches_[n], "GPU only: accepted and ignored")->group("");
  for (const NoEffectFlag& f : kNoEffectFlags) {
    if (f.takes_value) app.add_option(f.name, no_effect_values_[f.name], f.why)->group("");
    else app.add_flag(f.name, no_effect_switches_[f.name], f.why)->group("");
  }
}

ServerArgs ServerArgsParser::finish(const CLI::App& app) const {
  for (const std::string& extra : app.remaining()) {
    if (extra.rfind("-", 0) == 0) fail(ErrorKind::InvalidArgument, "unknown flag {}", extra);
    fail(ErrorKind::InvalidArgument, "unexpected argument '{}'", extra);
  }
  ServerArgs a;
  auto raw = [&](const char* field) -> const std::string& { return values_.at(field).raw; };
  auto flag = [&](const char* field) { return flag_of(values_.at(field).names); };
  auto set = [&](const char* field) { return !values_.at(field).raw.empty() || app.count(flag(field)) > 0; };
  auto str = [&](const char* field, std::string& out) {
    if (set(field)) out = raw(field);
  };
  auto opt_str = [&](const char* field, std::optional<std::string>& out) {
    if (set(field)) out = raw(field);
  };
  auto num = [&](const char* field, int& out, int lo) {
    if (!set(field)) return;
    out = to_int(flag(field), raw(field));
    check_min(flag(field), out, lo);
  };
  auto opt_num = [&](const char* field, std::optional<int>& out, int lo) {
    if (!set(field)) return;
    out = to_int(flag(field), raw(field));
    check_min(flag(field), *out, lo);
  };
  auto fraction = [&](const char* field) {
    double v = to_double(flag(field), raw(field));
    if (!(v > 0.0 && v <= 1.0)) fail(ErrorKind::InvalidArgument, "{}: {} is not in (0, 1]", flag(field), v);
    return v;
  };

  str("model_path", a.model_path);
  if (a.model_path.empty()) fail(ErrorKind::InvalidArgument, "--model-path is required");
  str("tokenizer_path", a.tokenizer_path);
  if (a.tokenizer_path.empty()) a.tokenizer_path = a.model_path;
  str("served_model_name", a.served_model_name);
  if (a.served_model_name.empty()) a.served_model_name = a.model_path;
  str("chat_template", a.chat_template);
  opt_num("context_length", a.context_length, 1);
  a.trust_remote_code = switches_.at("trust_remote_code");
  str("dtype", a.dtype);
  check_choice("--dtype", a.dtype, {"auto", "bfloat16", "float32"});
  opt_str("quantization", a.quantization);
  if (a.quantization) check_choice("--quantization", *a.quantization, {"fp8", "compressed-tensors", "w8a8_fp8"});
  str("kv_cache_dtype", a.kv_cache_dtype);
  check_choice("--kv-cache-dtype", a.kv_cache_dtype, {"auto", "bf16", "bfloat16", "fp8_e4m3", "fp8_e5m2", "float32"});

  str("host", a.host);
  num("port", a.port, 1);
  if (a.port > 65535) fail(ErrorKind::InvalidArgument, "--port: {} is not a TCP port", a.port);
  opt_str("api_key", a.api_key);

  opt_str("tool_call_parser", a.tool_call_parser);
  if (a.tool_call_parser) check_choice("--tool-call-parser", *a.tool_call_parser, {"glm", "glm45", "glm47"});
  opt_str("reasoning_parser", a.reasoning_parser);
  if (a.reasoning_parser) check_choice("--reasoning-parser", *a.reasoning_parser, {"glm45"});
  a.enable_custom_logit_processor = switches_.at("enable_custom_logit_processor");
  a.enable_metrics = switches_.at("enable_metrics");
  a.enable_cache_report = switches_.at("enable_cache_report");
  a.allow_auto_truncate = switches_.at("allow_auto_truncate");
  str("log_level", a.log_level);
  check_choice("--log-level", a.log_level, {"debug", "info", "warning", "error", "critical"});

  if (set("mem_fraction_static")) a.mem_fraction_static = fraction("mem_fraction_static");
  opt_num("max_running_requests", a.max_running_requests, 1);
  opt_num("max_total_tokens", a.max_total_tokens, 1);
  if (set("chunked_prefill_size")) {
    a.chunked_prefill_size = to_int("--chunked-prefill-size", raw("chunked_prefill_size"));
    if (*a.chunked_prefill_size == 0 || *a.chunked_prefill_size < -1)
      fail(ErrorKind::InvalidArgument, "--chunked-prefill-size: {} must be positive or -1", *a.chunked_prefill_size);
  }
  num("max_prefill_tokens", a.max_prefill_tokens, 1);
  num("page_size", a.page_size, 1);
  a.disable_radix_cache = switches_.at("disable_radix_cache");
  str("schedule_policy", a.schedule_policy);
  check_choice("--schedule-policy", a.schedule_policy, {"fcfs", "lpm", "random", "dfs-weight", "lof", "priority"});
  num("threads", a.threads, 0);

  num("tp_size", a.tp_size, 1);
  num("dp_size", a.dp_size, 1);
  num("ep_size", a.ep_size, 1);
  opt_str("dist_init_addr", a.dist_init_addr);
  if (a.dist_init_addr && a.dist_init_addr->find(':') == std::string::npos)
    fail(ErrorKind::InvalidArgument, "--dist-init-addr: '{}' is not host:port", *a.dist_init_addr);
  num("nnodes", a.nnodes, 1);
  num("node_rank", a.node_rank, 0);
  if (a.node_rank >= a.nnodes)
    fail(ErrorKind::InvalidArgument, "--node-rank: {} is not below --nnodes {}", a.node_rank, a.nnodes);
  a.disable_shared_experts_fusion = switches_.at("disable_shared_experts_fusion");

  opt_str("speculative_algorithm", a.speculative_algorithm);
  if (a.speculative_algorithm) {
    check_choice("--speculative-algorithm", *a.speculative_algorithm, {"EAGLE", "NEXTN"});
    if (*a.speculative_algorithm == "NEXTN") a.speculative_algorithm = "EAGLE";  // SGLang's alias
  }
  // Ours: --speculative-num-steps auto picks the depth per round (at most num_draft_tokens - 1).
  if (set("speculative_num_steps") && raw("speculative_num_steps") == "auto") {
    a.speculative_adaptive = true;
  } else {
    opt_num("speculative_num_steps", a.speculative_num_steps, 1);
  }
  opt_num("speculative_eagle_topk", a.speculative_eagle_topk, 1);
  opt_num("speculative_num_draft_tokens", a.speculative_num_draft_tokens, 1);
  opt_str("speculative_draft_model_path", a.speculative_draft_model_path);
  opt_str("speculative_token_map", a.speculative_token_map);
  if (set("speculative_accept_threshold_single"))
    a.speculative_accept_threshold_single = fraction("speculative_accept_threshold_single");
  if (set("speculative_accept_threshold_acc"))
    a.speculative_accept_threshold_acc = fraction("speculative_accept_threshold_acc");
  if (a.speculative_algorithm) resolve_speculative(a);
  if (a.speculative_token_map) {
    // SGLang downloads a repo path; here it must be a local file (checked now, read once the vocabulary is known).
    if (!std::filesystem::is_regular_file(*a.speculative_token_map))
      fail(ErrorKind::InvalidArgument, "--speculative-token-map {}: no such file (glmserve reads local files only)",
           *a.speculative_token_map);
    if (!a.speculative_algorithm) {
      a.notices.push_back("--speculative-token-map has no effect without --speculative-algorithm");
      a.speculative_token_map.reset();
    }
  }
  for (const auto& [name, vals] : gpu_values_)
    if (!vals.empty()) a.ignored_gpu_flags.push_back(name);
  for (const auto& [name, on] : gpu_switches_)
    if (on) a.ignored_gpu_flags.push_back(name);
  for (const NoEffectFlag& f : kNoEffectFlags) {
    const bool given = f.takes_value ? !no_effect_values_.at(f.name).empty() : no_effect_switches_.at(f.name);
    if (given) a.notices.push_back(fmt::format("{}: accepted, no effect in glmserve ({})", f.name, f.why));
  }
  return a;
}

nlohmann::json ServerArgs::to_json() const {
  auto opt = [](const auto& o) -> nlohmann::json { return o ? nlohmann::json(*o) : nlohmann::json(nullptr); };
  return {
      {"model_path", model_path},
      {"tokenizer_path", tokenizer_path},
      {"served_model_name", served_model_name},
      {"chat_template", chat_template.empty() ? nlohmann::json(nullptr) : nlohmann::json(chat_template)},
      {"context_length", opt(context_length)},
      {"trust_remote_code", trust_remote_code},
      {"dtype", dtype},
      {"quantization", opt(quantization)},
      {"kv_cache_dtype", kv_cache_dtype},
      {"host", host},
      {"port", port},
      {"api_key", api_key ? nlohmann::json("<redacted>") : nlohmann::json(nullptr)},
      {"tool_call_parser", opt(tool_call_parser)},
      {"reasoning_parser", opt(reasoning_parser)},
      {"enable_custom_logit_processor", enable_custom_logit_processor},
      {"enable_metrics", enable_metrics},
      {"enable_cache_report", enable_cache_report},
      {"allow_auto_truncate", allow_auto_truncate},
      {"log_level", log_level},
      {"mem_fraction_static", opt(mem_fraction_static)},
      {"max_running_requests", opt(max_running_requests)},
      {"max_total_tokens", opt(max_total_tokens)},
      {"chunked_prefill_size", opt(chunked_prefill_size)},
      {"max_prefill_tokens", max_prefill_tokens},
      {"page_size", page_size},
      {"disable_radix_cache", disable_radix_cache},
      {"schedule_policy", schedule_policy},
      {"threads", threads},
      {"tp_size", tp_size},
      {"dp_size", dp_size},
      {"ep_size", ep_size},
      {"dist_init_addr", opt(dist_init_addr)},
      {"nnodes", nnodes},
      {"node_rank", node_rank},
      {"disable_shared_experts_fusion", disable_shared_experts_fusion},
      {"speculative_algorithm", opt(speculative_algorithm)},
      {"speculative_num_steps", opt(speculative_num_steps)},
      {"speculative_adaptive_depth", speculative_adaptive},
      {"speculative_eagle_topk", opt(speculative_eagle_topk)},
      {"speculative_num_draft_tokens", opt(speculative_num_draft_tokens)},
      {"speculative_draft_model_path", opt(speculative_draft_model_path)},
      {"speculative_token_map", opt(speculative_token_map)},
      {"speculative_accept_threshold_single", speculative_accept_threshold_single},
      {"speculative_accept_threshold_acc", speculative_accept_threshold_acc},
  };
}

}  // namespace glm::serving
