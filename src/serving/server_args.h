#pragma once
// SGLang's `launch_server` flags (python/sglang/srt/server_args.py): the same names, aliases and
// defaults, so a command line written for SGLang starts glmserve unchanged.
// Parsing is two-step so that every mistake becomes GlmError(InvalidArgument) (exit status 2):
// CLI11 collects raw strings (extras allowed), then finish() converts, range-checks and rejects
// unknown flags with a message that names the flag.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace glm::serving {

struct ServerArgs {
  // Model and tokenizer
  std::string model_path;
  std::string tokenizer_path;            // defaults to model_path
  std::string served_model_name;         // defaults to model_path
  std::string chat_template;             // file path; empty = the checkpoint's template
  std::optional<int> context_length;     // empty = config.json max_position_embeddings
  bool trust_remote_code = false;
  std::string dtype = "auto";
  std::optional<std::string> quantization;
  std::string kv_cache_dtype = "auto";   // auto (= bf16) | bf16 | bfloat16 | fp8_e4m3 | fp8_e5m2 | float32

  // HTTP
  std::string host = "127.0.0.1";
  int port = 30000;
  std::optional<std::string> api_key;

  // Parsers and features
  std::optional<std::string> tool_call_parser;   // glm | glm45 | glm47
  std::optional<std::string> reasoning_parser;   // glm45
  bool enable_custom_logit_processor = false;
  bool enable_metrics = false;
  bool enable_cache_report = false;
  bool allow_auto_truncate = false;
  std::string log_level = "info";

  // Memory and scheduling
  std::optional<double> mem_fraction_static;
  std::optional<int> max_running_requests;
  std::optional<int> max_total_tokens;
  std::optional<int> chunked_prefill_size;       // -1 disables chunking
  int max_prefill_tokens = 16384;
  int page_size = 1;
  bool disable_radix_cache = false;
  std::string schedule_policy = "fcfs";
  int threads = 0;                               // ours: compute threads, 0 = all cores

  // Parallelism (single node CPU: accepted, validated, reported)
  int tp_size = 1, dp_size = 1, ep_size = 1;
  std::optional<std::string> dist_init_addr;
  int nnodes = 1, node_rank = 0;
  bool disable_shared_experts_fusion = false;

  // Speculative decoding (EAGLE over the checkpoint's MTP / NextN layer)
  std::optional<std::string> speculative_algorithm;  // EAGLE (NEXTN is an alias, as in SGLang)
  // finish() resolves these as SGLang does when --speculative-algorithm is set (all three, or (3, 1, 4)).
  std::optional<int> speculative_num_steps;       // with speculative_adaptive: the largest depth tried
  bool speculative_adaptive = false;               // ours: --speculative-num-steps auto
  std::optional<int> speculative_eagle_topk;
  std::optional<int> speculative_num_draft_tokens;
  std::optional<std::string> speculative_draft_model_path;
  std::optional<std::string> speculative_token_map;  // FR-Spec: reset (with a notice) where it cannot apply
  double speculative_accept_threshold_single = 1.0;
  double speculative_accept_threshold_acc = 1.0;

  // Adjustments made while resolving flags, logged once at start (SGLang warns the same way).
  std::vector<std::string> notices;

  // GPU-only flags seen on the command line (accepted, ignored, one notice each).
  std::vector<std::string> ignored_gpu_flags;

  // Every field under its SGLang name, for /get_server_info.
  nlohmann::json to_json() const;
};

// Registers the flags on a CLI11 (sub)command and turns what it parsed into ServerArgs.
class ServerArgsParser {
 public:
  void register_flags(CLI::App& app);
  // Throws GlmError(InvalidArgument) naming the flag for unknown flags and bad values.
  ServerArgs finish(const CLI::App& app) const;

 private:
  struct ValueFlag {
    std::string names;   // CLI11 spelling: "--tp-size,--tp"
    std::string help;
    std::string raw;     // as typed
  };
  std::map<std::string, ValueFlag> values_;       // key: the SGLang field name
  std::map<std::string, bool> switches_;          // boolean flags by field name
  std::map<std::string, std::vector<std::string>> gpu_values_;
  std::map<std::string, bool> gpu_switches_;
  std::map<std::string, std::vector<std::string>> no_effect_values_;
  std::map<std::string, bool> no_effect_switches_;
};

}  // namespace glm::serving
