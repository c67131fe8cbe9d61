// What one speculative verify pass costs on a model, relative to a plain decode step:
//   bench_spec_verify MODEL_DIR [context=512] [max_tokens=5] [repeats=7] [threads=1]
// Prefills `context` random tokens once, then times (median of `repeats`, lengths interleaved) a target forward of n = 1..max
// tokens of ONE sequence at that position (the verify of [last, d1..d_{n-1}]; each time overwriting the
// same positions), and prints t(n) / t(1) and the speed-up this predicts for an accept length a:
//   speed-up = a / (t(k+1)/t(1) + k * draft)     draft = one MTP step / one decode step
// The draft step is measured when the checkpoint has its MTP layer, else estimated from the bytes it
// reads (one decoder layer + eh_proj + lm_head) over the bytes of a decode step (all layers + lm_head).
// GLM_SPEC_TOKEN_MAP=FILE also times the draft restricted to an FR-Spec token map (--speculative-token-map);
// the speed-ups then use that draft cost.
// On a MoE the verify rows route to different experts, so t(n) grows with n; the MoE kernel groups the
// batch's tokens by expert, so an expert chosen by several rows is still read once.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/glm4_moe.h"
#include "model/nextn.h"
#include "model/speculative_token_map.h"

int main(int argc, char** argv) {
  using namespace glm;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [context=512] [max_tokens=5] [repeats=7] [threads=1]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int64_t context = argc > 2 ? std::stoll(argv[2]) : 512;
  const int64_t max_n = argc > 3 ? std::stoll(argv[3]) : 5;
  const int repeats = argc > 4 ? std::stoi(argv[4]) : 7;
  const int threads = argc > 5 ? std::stoi(argv[5]) : 1;
  ThreadPool pool(threads, false);
  LoadOptions opt;
  opt.max_batch_tokens = std::max<int64_t>(context, max_n);
  auto model = Glm4MoeModel::load(dir, pool, opt);
  const ModelConfig& c = model->config();
  const bool has_mtp = model->weights().nextn.has_value();
  auto kv = model->make_kv_pool((context + max_n) / 16 + 2, 16, KvDType::BF16, has_mtp);
  KvSequence seq;
  std::mt19937 rng(1);
  std::vector<int32_t> prompt(static_cast<size_t>(context));
  for (auto& t : prompt) t = int32_t(rng() % uint32_t(c.vocab_size));
  SequenceInput pre{prompt, 0, &seq, false};
  ForwardResult pr = model->forward(std::span<const SequenceInput>(&pre, 1), *kv);
  std::vector<float> hidden(pr.hidden + (context - 1) * c.hidden_size, pr.hidden + context * c.hidden_size);

  auto time_it = [&](auto&& fn) {
    std::vector<double> t;
    for (int r = 0; r < repeats + 1; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      fn();
      if (r > 0) t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  };
  std::vector<double> cost(static_cast<size_t>(max_n) + 1);
  std::vector<int32_t> toks(static_cast<size_t>(max_n));
  for (auto& t : toks) t = int32_t(rng() % uint32_t(c.vocab_size));
  // Repetitions interleave the lengths, so drift of the machine (other load, clocks) hits all alike.
  std::vector<std::vector<double>> samples(cost.size());
  for (int r = 0; r < repeats + 1; ++r)
    for (int64_t n = 1; n <= max_n; ++n) {
      SequenceInput in{std::span<const int32_t>(toks.data(), size_t(n)), context, &seq, true};
      const auto t0 = std::chrono::steady_clock::now();
      model->forward(std::span<const SequenceInput>(&in, 1), *kv);
      if (r > 0) samples[size_t(n)].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      seq.truncate(context);
    }
  for (int64_t n = 1; n <= max_n; ++n) {
    auto& v = samples[size_t(n)];
    std::sort(v.begin(), v.end());
    cost[size_t(n)] = v[v.size() / 2];
  }
  double draft = 0, draft_map = 0;
  std::vector<int32_t> token_map;
  if (const char* path = std::getenv("GLM_SPEC_TOKEN_MAP"))
    token_map = load_speculative_token_map(path, c.vocab_size);
  if (has_mtp) {
    NextNDraft d(*model, max_n);
    SequenceInput in{std::span<const int32_t>(toks.data(), 1), context, &seq, false};
    draft = time_it([&] { d.forward(std::span<const SequenceInput>(&in, 1), hidden.data(), *kv); }) / cost[1];
    if (!token_map.empty()) {
      d.restrict_vocabulary(token_map);
      draft_map = time_it([&] { d.forward(std::span<const SequenceInput>(&in, 1), hidden.data(), *kv); }) / cost[1];
    }
  } else {
    // Bytes read per token: attention + dense-or-MoE (active experts) per layer, lm_head once.
    const double H = double(c.hidden_size), heads = double(c.num_attention_heads), kvh = double(c.num_key_value_heads);
    const double hd = double(c.head_dim), V = double(c.vocab_size);
    const double attn = H * hd * (heads + 2 * kvh) + heads * hd * H;
    const double moe = 3 * H * double(c.moe_intermediate_size) * double(c.num_experts_per_tok + c.n_shared_experts);
    const double lm = V * H;
    const double step = double(c.num_hidden_layers) * (attn + moe) + lm;
    draft = (attn + moe + 2 * H * H + lm) / step;
  }
  std::printf("model %s (%lld layers, %lld experts top-%lld), context %lld, %d thread(s)\n", dir.c_str(),
              (long long)c.num_hidden_layers, (long long)c.n_routed_experts, (long long)c.num_experts_per_tok,
              (long long)context, threads);
  std::printf("decode step t(1) = %.2f ms; draft step = %.3f x t(1) (%s)\n", cost[1] * 1e3, draft,
              has_mtp ? "measured" : "estimated from bytes read");
  if (draft_map > 0) {
    std::printf("draft step with the token map (%zu of %lld ids) = %.3f x t(1)\n", token_map.size(),
                (long long)c.vocab_size, draft_map);
    draft = draft_map;  // the speed-ups below: with the map
  }
  for (int64_t n = 1; n <= max_n; ++n) {
    const int64_t k = n - 1;
    const double verify = cost[size_t(n)] / cost[1], round = verify + double(k) * draft;
    if (k == 0) {
      std::printf("verify 1 token:  t = %.2f ms (a plain decode step)\n", cost[1] * 1e3);
      continue;
    }
    std::printf("verify %lld tokens: t = %.2f ms = %.2f x t(1); at accept length 2.0 (k=%lld) speed-up %.2f "
                "(verify only: %.2f); break-even accept length %.2f\n",
                (long long)n, cost[size_t(n)] * 1e3, verify, (long long)k, 2.0 / round, 2.0 / verify, round);
  }
  seq.release(*kv);
  return 0;
}
