// Decode throughput of the scheduler with and without speculative decoding (no HTTP):
//   bench_spec_decode MODEL_DIR [batch=1,8] [num_steps=3] [new_tokens=128] [prompt_len=32] [threads=1] [mode=fixed]
//                     [reps=1]
// (mode: fixed | auto | guard = fixed depth with the guard on, as the server runs an explicit setting |
//  zero = speculation on with depth 0 every round: the bookkeeping's own cost)
// For each batch size: B greedy requests (random prompts) submitted together, timed from submit to the
// last finish (prefill included, so use new_tokens >> prompt_len); the same requests plain, then with
// speculation (mode fixed: num_steps every round, no guard; auto: the adaptive depth), `reps` times
// interleaved (plain, spec, spec, plain, ...: on a shared machine the load drifts, so only ratios measured
// side by side mean anything). Prints tokens/s (totals over the reps), the speed-up of the totals and the
// range of the per-rep ratios, the speed-up in process CPU time (robust to a loaded machine when
// threads = 1: the time slices other processes take do not count), the average accept length (tokens per verify round, plain rounds of an
// adaptive run included) and checks the greedy outputs are identical.
// Tree drafting: GLM_SPEC_TOPK=K GLM_SPEC_DRAFT_TOKENS=N in the environment (mode fixed); an FR-Spec token map:
// GLM_SPEC_TOKEN_MAP=FILE.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>

#include "core/log.h"
#include "core/thread_pool.h"
#include "engine/scheduler.h"
#include "model/speculative_token_map.h"

namespace {

using namespace glm;

double cpu_seconds() {  // the whole process: immune to time slices lost to other processes
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

struct Outcome {
  double seconds = 0, cpu = 0, accept_length = 0;
  int64_t tokens = 0;
  std::map<std::string, std::vector<int32_t>> ids;
};

Outcome run(const std::string& dir, ThreadPool& pool, int batch, int steps, const std::string& mode,
            int new_tokens, int prompt_len) {
  LoadOptions opt;
  opt.max_batch_tokens = 1024;
  opt.nextn = steps > 0 ? NextNLoad::Require : NextNLoad::Skip;
  SchedulerConfig cfg;
  cfg.disable_radix_cache = true;
  cfg.spec.num_steps = steps;
  const char* topk = std::getenv("GLM_SPEC_TOPK");
  const char* nodes = std::getenv("GLM_SPEC_DRAFT_TOKENS");
  cfg.spec.topk = steps > 0 && topk ? std::atoi(topk) : 1;
  cfg.spec.num_draft_tokens = cfg.spec.topk > 1 && nodes ? std::atoi(nodes) : steps + 1;
  if (const char* map = std::getenv("GLM_SPEC_TOKEN_MAP"); map && steps > 0)
    cfg.spec.token_map = load_speculative_token_map(map, 1 << 30);  // ids are checked against the model later
  // A tree's forks hold pages of their own besides the request's (SpeculativeDecoder::extra_pages).
  const int64_t forks = cfg.spec.topk > 1 ? 16 * std::max(2 * cfg.spec.topk, cfg.spec.num_draft_tokens) * (2 + steps / 16) : 0;
  cfg.kv_capacity_tokens = int64_t(batch) * (prompt_len + new_tokens + 64 + forks);
  cfg.spec.adaptive = mode == "auto" || mode == "zerocal";  // zerocal: zero after the start-up calibration
  cfg.spec.guard = mode == "guard";
  if (mode == "zero" || mode == "zerocal") cfg.spec.depth_schedule = {0};  // mode zero: speculation's bookkeeping with depth 0 every round
  Scheduler s(Glm4MoeModel::load(dir, pool, opt), Tokenizer::from_file(dir + "/tokenizer.json"), cfg);
  const int64_t vocab = s.model().config().vocab_size;
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  Outcome out;
  std::mt19937 rng(7);
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  for (int b = 0; b < batch; ++b) {
    GenerateRequest r;
    r.rid = "r" + std::to_string(b);
    for (int i = 0; i < prompt_len; ++i) r.input_ids.push_back(int32_t(rng() % uint32_t(std::min<int64_t>(vocab, 1400))));
    r.sampling.temperature = 0;
    r.sampling.max_new_tokens = new_tokens;
    r.sampling.ignore_eos = true;
    const std::string rid = r.rid;
    s.submit(std::move(r), [&, rid](const GenerateOutput& o) {
      std::lock_guard lk(mu);
      auto& v = out.ids[rid];
      v.insert(v.end(), o.new_token_ids.begin(), o.new_token_ids.end());
      if (o.finished) {
        ++finished;
        cv.notify_all();
      }
    });
  }
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return finished == batch; });
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.cpu = cpu_seconds() - cpu0;
  for (const auto& [rid, v] : out.ids) out.tokens += int64_t(v.size());
  out.accept_length = s.stats().spec_accept_length;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [batch=1,8] [num_steps=3] [new_tokens=128] [prompt_len=32] [threads=1] "
                 "[mode=fixed|auto|guard|zero] [reps=1]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<int> batches;
  std::stringstream ss(argc > 2 ? argv[2] : "1,8");
  for (std::string item; std::getline(ss, item, ',');) batches.push_back(std::stoi(item));
  const int steps = argc > 3 ? std::stoi(argv[3]) : 3;
  const int new_tokens = argc > 4 ? std::stoi(argv[4]) : 128;
  const int prompt_len = argc > 5 ? std::stoi(argv[5]) : 32;
  const int threads = argc > 6 ? std::stoi(argv[6]) : 1;
  const std::string mode = argc > 7 ? argv[7] : "fixed";
  const int reps = argc > 8 ? std::max(1, std::stoi(argv[8])) : 1;
  glm::ThreadPool pool(threads, false);
  if (const char* lvl = std::getenv("GLM_LOG_LEVEL")) glm::set_log_level(lvl);  // debug: the depth policy's view
  for (int b : batches) {
    double plain_s = 0, spec_s = 0, plain_cpu = 0, spec_cpu = 0, lo = 1e30, hi = 0, accept = 0;
    int64_t plain_t = 0, spec_t = 0;
    bool same = true;
    for (int rep = 0; rep < reps; ++rep) {
      Outcome plain, spec;  // ABBA: neither always runs first
      if (rep % 2 == 0) plain = run(dir, pool, b, 0, "fixed", new_tokens, prompt_len);
      spec = run(dir, pool, b, steps, mode, new_tokens, prompt_len);
      if (rep % 2 == 1) plain = run(dir, pool, b, 0, "fixed", new_tokens, prompt_len);
      plain_s += plain.seconds, spec_s += spec.seconds, plain_t += plain.tokens, spec_t += spec.tokens;
      plain_cpu += plain.cpu, spec_cpu += spec.cpu;
      const double ratio = (double(spec.tokens) / spec.seconds) / (double(plain.tokens) / plain.seconds);
      lo = std::min(lo, ratio), hi = std::max(hi, ratio);
      accept += spec.accept_length / reps;
      same = same && plain.ids == spec.ids;
    }
    const double plain_rate = double(plain_t) / plain_s, spec_rate = double(spec_t) / spec_s;
    std::printf("batch %d: plain %.1f tok/s; speculative (%s, %d steps, topk %s) %.1f tok/s, accept length %.2f; "
                "speed-up %.3f (%d reps interleaved, per rep %.2f..%.2f), in CPU time %.3f; greedy outputs %s\n",
                b, plain_rate, mode.c_str(), steps, std::getenv("GLM_SPEC_TOPK") ? std::getenv("GLM_SPEC_TOPK") : "1",
                spec_rate, accept, spec_rate / plain_rate, reps, lo, hi,
                (double(spec_t) / spec_cpu) / (double(plain_t) / plain_cpu), same ? "identical" : "DIFFER");
  }
  return 0;
}
