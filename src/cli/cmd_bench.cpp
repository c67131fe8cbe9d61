// glmserve bench: two modes, one subcommand.
//   --mode offline (default): throughput of one static batch in-process, like sglang.bench_one_batch /
//     llama-bench pp+tg:  glmserve bench --model-path DIR --input-len 512 --output-len 128 --batch-size 1,4,16
//   --mode serving: load test of a running server, like sglang.bench_serving (bench_serving.h):
//     glmserve bench --mode serving --base-url http://127.0.0.1:30000 --num-prompts 64 --max-concurrency 16
// Offline mode:
// For every (threads, batch, input, output) combination: a warm-up run, then a measured run. Prefill runs
// every sequence's random prompt (packed into forwards of up to max_batch_tokens); decode runs output_len
// steps of one token per sequence, all sequences in one forward. Progress goes to the log (stderr); stdout
// gets one line per combination and, LAST, one JSON object (the last combination's figures plus "runs").
// llama-bench's pp512 is `--input-len 512 --output-len 0`; its tg128 (decode from an empty cache) is
// `--input-len 0 --output-len 128`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/bench_serving.h"
#include "cli/command_registry.h"
#include "core/error.h"
#include "core/log.h"
#include "core/proc_status.h"
#include "core/thread_pool.h"
#include "dist/communicator.h"
#include "kernels/kv_format.h"
#include "model/glm4_moe.h"

namespace {

std::vector<int> parse_list(const std::string& s, const char* flag) {
  std::vector<int> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      int x = std::stoi(item, &used);
      if (used != item.size() || x < 0) throw std::invalid_argument(item);
      v.push_back(x);
    } catch (const std::exception&) {
      glm::fail(glm::ErrorKind::InvalidArgument, "{}: '{}' is not a non-negative integer", flag, item);
    }
  }
  if (v.empty()) glm::fail(glm::ErrorKind::InvalidArgument, "{}: empty list", flag);
  return v;
}

struct BenchArgs {
  std::string mode = "offline";
  glm::cli::ServingBenchArgs serving;
  std::string model_path, input_len = "512", output_len = "128", batch_size = "1", threads = "0", result_file;
  std::string kv_cache_dtype = "auto";
  int max_batch_tokens = 4096;
  int repeats = 1;  // measured runs per combination; rates are their medians (llama-bench's -r)
  int tp = 1, ep = 1;
  uint32_t seed = 1;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct RunResult {
  double prefill_s = 0, decode_s = 0;
  double decode_comm_s = 0;  // tensor parallelism: rank 0's time inside all-reduce / gather during decode
  int64_t decode_all_reduces = 0;
};

RunResult run_once(glm::Glm4MoeModel& m, int batch, int in_len, int out_len, glm::KvDType kv_dtype, std::mt19937& rng) {
  using namespace glm;
  const int64_t page = 16;
  const int64_t per_seq = in_len + out_len + 1;
  auto kv_pool = m.make_kv_pool(batch * ((per_seq + page - 1) / page), page, kv_dtype);
  std::vector<KvSequence> seqs(static_cast<size_t>(batch));
  std::uniform_int_distribution<int32_t> dist(0, int32_t(m.config().vocab_size) - 1);
  std::vector<std::vector<int32_t>> prompts(size_t(batch), std::vector<int32_t>(size_t(in_len), 0));
  for (auto& p : prompts)
    for (auto& t : p) t = dist(rng);
  std::vector<int32_t> last(size_t(batch), 0);
  std::vector<SequenceInput> inputs;
  const int64_t V = m.config().vocab_size, cap = m.max_batch_tokens();

  auto t0 = std::chrono::steady_clock::now();
  std::vector<int64_t> done(size_t(batch), 0);
  // in_len 0: decode from an empty cache (llama-bench's tg), starting from token 0 at position 0.
  for (int b = in_len > 0 ? 0 : batch; b < batch;) {  // pack prompt chunks into forwards of <= cap tokens
    inputs.clear();
    std::vector<int> rows;
    int64_t room = cap;
    for (int j = b; j < batch && room > 0; ++j) {
      int64_t n = std::min<int64_t>(in_len - done[size_t(j)], room);
      if (n <= 0) continue;
      inputs.push_back({std::span<const int32_t>(prompts[size_t(j)].data() + done[size_t(j)], size_t(n)),
                        done[size_t(j)], &seqs[size_t(j)], false});
      rows.push_back(j);
      room -= n;
    }
    ForwardResult r = m.forward(inputs, *kv_pool);
    for (size_t i = 0; i < rows.size(); ++i) {
      done[size_t(rows[i])] += int64_t(inputs[i].tokens.size());
      const float* lg = r.logits + int64_t(i) * V;
      last[size_t(rows[i])] = int32_t(std::max_element(lg, lg + V) - lg);
    }
    while (b < batch && done[size_t(b)] == in_len) ++b;
  }
  auto t1 = std::chrono::steady_clock::now();
  const dist::CollectiveStats c0 = dist::world().stats();
  for (int step = 0; step < out_len; ++step) {
    inputs.clear();
    for (int j = 0; j < batch; ++j)
      inputs.push_back({std::span<const int32_t>(&last[size_t(j)], 1), in_len + step, &seqs[size_t(j)], false});
    ForwardResult r = m.forward(inputs, *kv_pool);
    for (int j = 0; j < batch; ++j) {
      const float* lg = r.logits + int64_t(j) * V;
      last[size_t(j)] = int32_t(std::max_element(lg, lg + V) - lg);
    }
  }
  auto t2 = std::chrono::steady_clock::now();
  const dist::CollectiveStats c1 = dist::world().stats();
  for (auto& s : seqs) s.release(*kv_pool);
  return {std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count(),
          (c1.all_reduce_s - c0.all_reduce_s) + (c1.gather_s - c0.gather_s),
          c1.all_reduce_calls - c0.all_reduce_calls};
}

int run_bench(const BenchArgs& a) {
  using namespace glm;
  if (a.mode == "serving") return cli::run_serving_bench(a.serving, a.seed);
  if (a.model_path.empty()) fail(ErrorKind::InvalidArgument, "--model-path is required in offline mode");
  auto batches = parse_list(a.batch_size, "--batch-size");
  auto ins = parse_list(a.input_len, "--input-len");
  auto outs = parse_list(a.output_len, "--output-len");
  auto threads = parse_list(a.threads, "--threads");
  for (int b : batches)
    if (b < 1 || b > a.max_batch_tokens)
      fail(ErrorKind::InvalidArgument, "--batch-size {} must be in [1, --max-batch-tokens {}]", b, a.max_batch_tokens);
  for (int i : ins)
    if (i < 0) fail(ErrorKind::InvalidArgument, "--input-len must be >= 0");
  const KvDType kv_dtype = kv_dtype_from_name(a.kv_cache_dtype);
  std::mt19937 rng(a.seed);
  nlohmann::json runs = nlohmann::json::array(), last;
  for (int th : threads) {
    ThreadPool pool(th);
    LoadOptions opt;
    opt.max_batch_tokens = a.max_batch_tokens;
    opt.nextn = NextNLoad::Skip;
    opt.tp_size = a.tp;
    opt.ep_size = a.ep;
    auto model = Glm4MoeModel::load(a.model_path, pool, opt);
    for (int b : batches)
      for (int in : ins)
        for (int out : outs) {
          spdlog::info("bench: threads {} batch {} input {} output {}: warm-up", pool.size(), b, in, out);
          run_once(*model, b, std::min(in, 16), std::min(out, 4), kv_dtype, rng);
          std::vector<double> pps, tgs;
          RunResult r;
          for (int rep = 0; rep < std::max(1, a.repeats); ++rep) {
            r = run_once(*model, b, in, out, kv_dtype, rng);
            pps.push_back(in > 0 ? double(b) * in / std::max(r.prefill_s, 1e-9) : 0.0);
            tgs.push_back(out > 0 ? double(b) * out / std::max(r.decode_s, 1e-9) : 0.0);
          }
          const double pp = median(pps), tg = median(tgs);
          std::printf("threads %d batch %d pp%d %.1f tok/s tg%d %.1f tok/s (%.2f ms/step; median of %zu)\n",
                      pool.size(), b, in, pp, out, tg, tg > 0 ? 1e3 * b / tg : 0.0, pps.size());
          if (a.tp > 1 && out > 0)  // last repeat's figures
            std::printf("tp %d: collectives %.3f ms per decode step (%.1f%% of it), %lld all-reduces per step\n", a.tp,
                        1e3 * r.decode_comm_s / out, 100.0 * r.decode_comm_s / std::max(r.decode_s, 1e-9),
                        (long long)(r.decode_all_reduces / out));
          std::fflush(stdout);
          last = {{"threads", pool.size()}, {"batch_size", b}, {"input_len", in}, {"output_len", out},
                  {"prefill_s", r.prefill_s}, {"decode_s", r.decode_s}, {"kv_cache_dtype", kv_dtype_name(kv_dtype)},
                  {"prefill_tokens_per_s", pp}, {"decode_tokens_per_s", tg},
                  {"prefill_tokens_per_s_samples", pps}, {"decode_tokens_per_s_samples", tgs}, {"tp", a.tp},
                  {"decode_collectives_s", r.decode_comm_s}};
          last["rss_mib"] = resident_memory().rss_mib;  // this rank (rank 0), model and KV alive
          runs.push_back(last);
        }
    spdlog::info("bench: {} with the model loaded", resident_memory_text());
  }
  nlohmann::json result = last;
  result["model_path"] = a.model_path;
  result["runs"] = runs;
  if (!a.result_file.empty()) {
    std::ofstream f(a.result_file);
    if (!f) fail(ErrorKind::InvalidArgument, "--result-file: cannot write {}", a.result_file);
    f << result.dump() << "\n";
  }
  std::printf("%s\n", result.dump().c_str());
  return 0;
}

glm::cli::Registration reg{"bench", "Offline batch throughput (--mode offline) or a load test of a server (--mode serving)",
                           [](CLI::App& sub) -> glm::cli::RunFn {
                             auto a = std::make_shared<BenchArgs>();
                             sub.add_option("--mode", a->mode, "offline: in-process batch; serving: against a server")
                                 ->check(CLI::IsMember({"offline", "serving"}))->capture_default_str();
                             sub.add_option("--model-path", a->model_path, "checkpoint directory (offline mode)");
                             sub.add_option("--input-len", a->input_len, "prompt tokens (comma list for a grid; 0: decode from an empty cache)")->capture_default_str();
                             sub.add_option("--output-len", a->output_len, "decode steps (comma list)")->capture_default_str();
                             sub.add_option("--batch-size", a->batch_size, "sequences (comma list)")->capture_default_str();
                             sub.add_option("--threads", a->threads, "compute threads, 0: one per CPU (comma list)")->capture_default_str();
                             sub.add_option("--max-batch-tokens", a->max_batch_tokens, "tokens per forward (workspace)")->capture_default_str();
                             sub.add_option("--repeats,-r", a->repeats, "measured runs per combination (median reported)")->capture_default_str();
                             sub.add_option("--seed", a->seed, "random prompt (and arrival) seed")->capture_default_str();
                             sub.add_option("--kv-cache-dtype", a->kv_cache_dtype, "auto (= bf16) | bf16 | bfloat16 | fp8_e4m3 | fp8_e5m2 | float32")->capture_default_str();
                             sub.add_option("--tp,--tp-size", a->tp, "tensor-parallel ranks (launch with mpirun -np N)")->capture_default_str();
                             sub.add_option("--ep-size", a->ep, "1, or --tp: routed experts placed whole on ranks")->capture_default_str();
                             glm::cli::add_serving_bench_options(sub, a->serving);
                             sub.add_option("--result-file", a->result_file, "also write the final JSON here");
                             return [a] { return run_bench(*a); };
                           }};

}  // namespace
