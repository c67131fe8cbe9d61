#pragma once
// `glmserve bench --mode serving`: sglang.bench_serving against a running server (glmserve or any
// SGLang/OpenAI-compatible one). Flags keep SGLang's names:
//   --backend sglang|sglang-native (POST /generate) | sglang-oai|openai|vllm (POST /v1/completions)
//   --base-url http://h:p | --host/--port, --model (default: first id of /v1/models),
//   --tokenizer DIR (default: tokenizer_path of /get_model_info, read locally),
//   --dataset-name random (random ids decoded to text) | random-ids (token ids sent as they are),
//   --random-input-len, --random-output-len, --random-range-ratio, --num-prompts, --seed,
//   --request-rate (Poisson, inf default), --max-concurrency, --warmup-requests, --flush-cache,
//   --disable-ignore-eos, --extra-request-body JSON, --disable-tqdm, --output-file (JSONL, appended),
//   --output-details (per-request lens/ttfts/itls/texts/errors in the JSON).
// Output: the human table on stdout, then the result JSON as the LAST stdout line; progress on stderr.
// Exit status 0 when at least one request completed, 1 otherwise.
#include <limits>
#include <string>

#include <CLI/CLI.hpp>

namespace glm::cli {

struct ServingBenchArgs {
  std::string backend = "sglang", base_url, host = "127.0.0.1", model, tokenizer, dataset_name = "random";
  int port = 30000;
  int num_prompts = 1000, random_input_len = 1024, random_output_len = 1024, max_concurrency = 0;
  int warmup_requests = 1;
  double random_range_ratio = 0.0, request_rate = std::numeric_limits<double>::infinity();
  bool flush_cache = false, disable_ignore_eos = false, disable_tqdm = false, output_details = false;
  std::string extra_request_body, output_file;
};

// Adds the serving flags to `bench` (shared with the offline flags; --seed is the offline one's).
void add_serving_bench_options(CLI::App& sub, ServingBenchArgs& a);

int run_serving_bench(const ServingBenchArgs& a, unsigned seed);

}  // namespace glm::cli
