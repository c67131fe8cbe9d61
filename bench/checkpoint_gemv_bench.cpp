// One-token GEMV rates over a real checkpoint's matrices, read in place from its own file mapping, as the
// decode of that model reads them (kernels on synthetic matrices in anonymous memory, bench/linear_bench.cpp,
// do not show what the page cache's folios and the real shapes cost):
//   bench_checkpoint_gemv MODEL_DIR [tokens=50] [reps=3] [threads=1]
// (the first repetition includes the first touch of the weights; lm_head is also copied once into anonymous
// memory, so the process needs its size twice)
// Per "token": every MoE layer's 8 randomly chosen routed experts (gate and up, then down), every layer's
// attention projections, and lm_head, each one linear() call with n = 1. Prints GB/s of weights read per
// matrix group, and lm_head once more from a copy in anonymous huge pages (the gap is what the mapping costs
// on this machine: docs/PERFORMANCE.md "Decode kernel, session 4").
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/float_formats.h"
#include "core/thread_pool.h"
#include "kernels/linear.h"
#include "model/glm4_moe.h"

namespace {

using namespace glm;
using Clock = std::chrono::steady_clock;

double bytes_of(const WeightRef& w) { return double(w.rows) * double(w.cols) * double(dtype_size(w.dtype)); }

struct Rate {
  double seconds = 0, bytes = 0;
  void add(Clock::time_point t0, const WeightRef& w) {
    seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    bytes += bytes_of(w);
  }
  double gbps() const { return seconds > 0 ? bytes / seconds / 1e9 : 0; }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [tokens=50] [reps=3] [threads=1]\n", argv[0]);
    return 2;
  }
  const int tokens = argc > 2 ? std::atoi(argv[2]) : 50, reps = argc > 3 ? std::atoi(argv[3]) : 3;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 1;
  ThreadPool pool(threads);
  std::unique_ptr<Glm4MoeModel> model;
  try {
    model = Glm4MoeModel::load(argv[1], pool);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  const Glm4MoeWeights& W = model->weights();
  const ModelConfig& c = model->config();
  // One input and one output buffer big enough for every matrix below (o_proj reads q_dim columns, which
  // exceeds the hidden size on the real models).
  int64_t max_cols = W.lm_head.cols, max_rows = W.lm_head.rows;
  auto grow = [&](const WeightRef& w) { max_cols = std::max(max_cols, w.cols), max_rows = std::max(max_rows, w.rows); };
  for (const LayerWeights& L : W.layers) {
    for (const WeightRef* w : {&L.attn.q_proj, &L.attn.k_proj, &L.attn.v_proj, &L.attn.o_proj}) grow(*w);
    for (const MlpWeights& e : L.moe.experts) grow(e.gate_proj), grow(e.up_proj), grow(e.down_proj);
  }
  std::vector<float> x(static_cast<size_t>(max_cols), 0.5f), y(static_cast<size_t>(max_rows));
  auto run = [&](const WeightRef& w, Rate& r) {
    const auto t0 = Clock::now();
    linear(x.data(), 1, w, nullptr, y.data(), pool);
    r.add(t0, w);
  };

  // lm_head again from anonymous memory advised MADV_HUGEPAGE: the same bytes, another kind of page.
  WeightRef anon = W.lm_head;
  const size_t anon_bytes = size_t(bytes_of(anon));
  void* copy = mmap(nullptr, anon_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (copy == MAP_FAILED) return 1;
  madvise(copy, anon_bytes, MADV_HUGEPAGE);
  std::memcpy(copy, anon.data, anon_bytes);
  anon.data = copy;

  std::mt19937 rng(1);
  for (int rep = 0; rep < reps; ++rep) {
    Rate gate_up, down, attn, head, head_anon;
    for (int t = 0; t < tokens; ++t) {
      for (const LayerWeights& L : W.layers) {
        run(L.attn.q_proj, attn), run(L.attn.k_proj, attn), run(L.attn.v_proj, attn), run(L.attn.o_proj, attn);
        if (!L.is_moe) continue;
        std::vector<int> ids(L.moe.experts.size());
        for (size_t i = 0; i < ids.size(); ++i) ids[i] = int(i);
        std::shuffle(ids.begin(), ids.end(), rng);
        for (int k = 0; k < c.num_experts_per_tok && k < int(ids.size()); ++k) {
          const MlpWeights& e = L.moe.experts[size_t(ids[size_t(k)])];
          run(e.gate_proj, gate_up), run(e.up_proj, gate_up), run(e.down_proj, down);
        }
      }
      run(W.lm_head, head);
      run(anon, head_anon);
    }
    std::printf("experts gate/up %.1f GB/s  down %.1f GB/s  attention %.1f GB/s  lm_head %.1f GB/s "
                "(anonymous huge-page copy %.1f GB/s)\n",
                gate_up.gbps(), down.gbps(), attn.gbps(), head.gbps(), head_anon.gbps());
  }
  munmap(copy, anon_bytes);
  return 0;
}
