// glmserve generate: greedy continuation of a prompt given as token ids or as text.
//   glmserve generate --model-path DIR (--prompt-ids 1,2,3 | --prompt TEXT) --max-new-tokens N [--threads N]
//   mpirun -np 2 glmserve generate ... --tp 2     (tensor parallelism; --print-logits checks it against tp 1)
// Prints the generated ids, comma-separated, on the first line of stdout and, when the model directory
// has a tokenizer, their text after it; progress and timings go to the log (stderr).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "cli/command_registry.h"
#include "core/error.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "kernels/kv_format.h"
#include "model/glm4_moe.h"
#include "tokenizer/tokenizer.h"

#include <filesystem>
#include <optional>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace {

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    try {
      size_t used = 0;
      long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(int32_t(v));
    } catch (const std::exception&) {
      glm::fail(glm::ErrorKind::InvalidArgument, "--prompt-ids: '{}' is not a token id", item);
    }
  }
  if (ids.empty()) glm::fail(glm::ErrorKind::InvalidArgument, "--prompt-ids: no token ids given");
  return ids;
}

struct GenerateArgs {
  std::string model_path, prompt_ids, prompt_text;
  int max_new_tokens = 16;
  int threads = 0;
  int tp = 1, ep = 1;
  bool ignore_eos = false;
  std::string kv_cache_dtype = "auto";
  std::string logits_file;  // each step's full logits row, float32 little-endian, appended
};

int run_generate(const GenerateArgs& a) {
  using namespace glm;
  // stdout carries only the generated ids; the log (load progress, timings) goes to stderr.
  auto logger = spdlog::stderr_color_mt("generate");
  logger->set_level(spdlog::default_logger()->level());
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  std::optional<Tokenizer> tokenizer;
  if (std::filesystem::exists(std::filesystem::path(a.model_path) / "tokenizer.json"))
    tokenizer = Tokenizer::from_dir(a.model_path);
  if (a.prompt_ids.empty() == a.prompt_text.empty())
    fail(ErrorKind::InvalidArgument, "give exactly one of --prompt-ids and --prompt");
  if (!a.prompt_text.empty() && !tokenizer)
    fail(ErrorKind::InvalidArgument, "--prompt needs a tokenizer.json in {}", a.model_path);
  std::vector<int32_t> prompt = a.prompt_text.empty() ? parse_ids(a.prompt_ids) : tokenizer->encode(a.prompt_text, false);
  if (prompt.empty()) fail(ErrorKind::InvalidArgument, "--prompt: the text encodes to no tokens");
  if (a.max_new_tokens < 0) fail(ErrorKind::InvalidArgument, "--max-new-tokens must be >= 0");
  const KvDType kv_dtype = kv_dtype_from_name(a.kv_cache_dtype);
  ThreadPool::init_global(a.threads);
  ThreadPool& pool = ThreadPool::global();
  LoadOptions opt;
  opt.max_batch_tokens = std::max<int64_t>(int64_t(prompt.size()), 1);
  opt.nextn = NextNLoad::Skip;
  opt.tp_size = a.tp;
  opt.ep_size = a.ep;
  auto model = Glm4MoeModel::load(a.model_path, pool, opt);
  std::FILE* logits_out = nullptr;
  if (!a.logits_file.empty() && !(logits_out = std::fopen(a.logits_file.c_str(), "wb")))
    fail(ErrorKind::InvalidArgument, "--logits-file: cannot write {}", a.logits_file);
  const ModelConfig& cfg = model->config();
  const int64_t total = int64_t(prompt.size()) + a.max_new_tokens;
  const int64_t page_size = 16;
  auto kv_pool = model->make_kv_pool((total + page_size - 1) / page_size, page_size, kv_dtype);
  KvSequence seq;

  std::vector<int32_t> out;
  std::vector<int32_t> step(prompt);
  int64_t pos = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double prefill_s = 0;
  for (int i = 0; i < a.max_new_tokens; ++i) {
    SequenceInput in{step, pos, &seq, false};
    ForwardResult r = model->forward(std::span<const SequenceInput>(&in, 1), *kv_pool);
    if (i == 0) prefill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    pos += int64_t(step.size());
    const float* lg = r.logits;
    if (logits_out) std::fwrite(lg, sizeof(float), size_t(cfg.vocab_size), logits_out);
    const int32_t next = int32_t(std::max_element(lg, lg + cfg.vocab_size) - lg);
    out.push_back(next);
    if (!a.ignore_eos && std::find(cfg.eos_token_ids.begin(), cfg.eos_token_ids.end(), next) != cfg.eos_token_ids.end())
      break;
    step.assign(1, next);
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (logits_out) std::fclose(logits_out);
  spdlog::info("generate: prompt {} tokens, prefill {:.3f} s ({:.1f} tok/s), {} new tokens, decode {:.1f} tok/s",
               prompt.size(), prefill_s, double(prompt.size()) / std::max(prefill_s, 1e-9), out.size(),
               out.size() > 1 ? double(out.size() - 1) / std::max(total_s - prefill_s, 1e-9) : 0.0);
  std::string line;
  for (size_t i = 0; i < out.size(); ++i) line += (i ? "," : "") + std::to_string(out[i]);
  std::printf("%s\n", line.c_str());
  if (tokenizer) std::printf("%s\n", tokenizer->decode(out, /*skip_special_tokens=*/false).c_str());
  return 0;
}

glm::cli::Registration reg{"generate", "Greedy generation from token ids or text (prints ids, then text)",
                           [](CLI::App& sub) -> glm::cli::RunFn {
                             auto a = std::make_shared<GenerateArgs>();
                             sub.add_option("--model-path", a->model_path, "checkpoint directory")->required();
                             sub.add_option("--prompt-ids", a->prompt_ids, "comma-separated prompt token ids");
                             sub.add_option("--prompt", a->prompt_text, "prompt text (needs tokenizer.json)");
                             sub.add_option("--max-new-tokens", a->max_new_tokens, "tokens to generate")->capture_default_str();
                             sub.add_option("--threads", a->threads, "compute threads (0: one per CPU)")->capture_default_str();
                             sub.add_flag("--ignore-eos", a->ignore_eos, "do not stop at an eos token");
                             sub.add_option("--kv-cache-dtype", a->kv_cache_dtype, "auto (= bf16) | bf16 | bfloat16 | fp8_e4m3 | fp8_e5m2 | float32")->capture_default_str();
                             sub.add_option("--tp,--tp-size", a->tp, "tensor-parallel ranks (launch with mpirun -np N)")->capture_default_str();
                             sub.add_option("--ep-size", a->ep, "1, or --tp: routed experts placed whole on ranks")->capture_default_str();
                             sub.add_option("--logits-file", a->logits_file, "write each step's logits (float32 rows) here");
                             return [a] { return run_generate(*a); };
                           }};

}  // namespace
