// paged_attention() on one GLM-4.5-Air-shaped layer (96 query heads, 8 KV heads, head_dim 128, GQA 12,
// pages of 16 tokens in a shuffled pool on huge pages): decode of one token at 4k and 32k context and a
// 512-token prefill, for every ISA path (3 = AVX-512 BF16: bf16 scores on bf16/fp8 pages) and KV dtype,
// 1 and 2 threads; beside the scalar float32 kernel
// this one replaced (LegacyScalar). Decode reports GB/s of KV read (context x 2 x kv_dim x bytes per
// element, every byte once); prefill reports tokens/s and GFLOP/s (4 * head_dim per query head and key).
//   bench_attention_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// See docs/PERFORMANCE.md, "Attention and KV cache".
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/isa.h"
#include "kernels/kv_format.h"

namespace glm {
namespace {

constexpr int64_t kHeads = 96, kKvHeads = 8, kHeadDim = 128, kPage = 16, kKvDim = kKvHeads * kHeadDim;

ThreadPool& pool(int threads) {
  static ThreadPool* pools[3] = {};
  if (!pools[threads]) {
    pools[threads] = new ThreadPool(threads, false);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // workers running before the first region
  }
  return *pools[threads];
}

// One layer of KV for `len` tokens in dtype t, pages shuffled, on 2 MiB huge pages.
struct BenchKv {
  void* mem = nullptr;
  size_t bytes = 0;
  std::vector<int32_t> pages;
  KvDType dtype;
  BenchKv(KvDType t, int64_t len) : dtype(t) {
    const int64_t n_pages = (len + kPage - 1) / kPage;
    bytes = size_t(n_pages * 2 * kPage * kKvDim * kv_dtype_bytes(t));
    mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::bad_alloc();
    madvise(mem, bytes, MADV_HUGEPAGE);
    pages.resize(size_t(n_pages));
    std::iota(pages.begin(), pages.end(), 0);
    std::shuffle(pages.begin(), pages.end(), std::mt19937(1));
    std::mt19937 g(2);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> row(kKvDim);
    for (int64_t p = 0; p < n_pages * kPage; ++p)
      for (int kv = 0; kv < 2; ++kv) {
        for (auto& x : row) x = d(g);
        kv_store_row(t, row.data(), const_cast<void*>(kv ? view().v_row(p) : view().k_row(p)), kKvDim);
      }
  }
  ~BenchKv() { munmap(mem, bytes); }
  KvPagesView view() const {
    KvPagesView v;
    v.base = mem;
    v.dtype = dtype;
    v.page_ids = pages.data();
    v.page_size = kPage;
    v.page_stride = 2 * kPage * kKvDim;
    v.k_offset = 0;
    v.v_offset = kPage * kKvDim;
    v.kv_dim = kKvDim;
    return v;
  }
};

// The kernel paged_attention() replaced (float32 pages only): one query head at a time, scalar dot
// products, so each K/V row is read once per query head; threads over (token, KV head).
void legacy_scalar_attention(const float* q, int64_t ld_q, const AttentionSequence& s, const AttentionShape& sh,
                             float* out, int64_t ld_out, ThreadPool& tp) {
  const int64_t group = sh.n_heads / sh.n_kv_heads, hd = sh.head_dim;
  tp.parallel_for(s.n_tokens * sh.n_kv_heads, [&](int64_t i0, int64_t i1) {
    float acc[kHeadDim], scores[64];
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t i = item / sh.n_kv_heads, kvh = item % sh.n_kv_heads, n_keys = s.start_pos + i + 1;
      for (int64_t g = 0; g < group; ++g) {
        const int64_t h = kvh * group + g;
        const float* qh = q + (s.q_row + i) * ld_q + h * hd;
        std::fill(acc, acc + hd, 0.0f);
        float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
        for (int64_t t0 = 0; t0 < n_keys; t0 += 64) {
          const int64_t nt = std::min<int64_t>(64, n_keys - t0);
          float tmax = -std::numeric_limits<float>::infinity();
          for (int64_t j = 0; j < nt; ++j) {
            const float* k = static_cast<const float*>(s.kv.k_row(t0 + j)) + kvh * hd;
            float x = 0.0f;
            for (int64_t d = 0; d < hd; ++d) x += qh[d] * k[d];
            scores[j] = x * sh.scale;
            tmax = std::max(tmax, scores[j]);
          }
          const float m_new = std::max(m, tmax), corr = std::exp(m - m_new);
          l *= corr;
          for (int64_t d = 0; d < hd; ++d) acc[d] *= corr;
          for (int64_t j = 0; j < nt; ++j) {
            const float p = std::exp(scores[j] - m_new);
            l += p;
            const float* v = static_cast<const float*>(s.kv.v_row(t0 + j)) + kvh * hd;
            for (int64_t d = 0; d < hd; ++d) acc[d] += p * v[d];
          }
          m = m_new;
        }
        float* o = out + (s.q_row + i) * ld_out + h * hd;
        for (int64_t d = 0; d < hd; ++d) o[d] = acc[d] / l;
      }
    }
  });
}

// Args: isa (-1: legacy scalar kernel on float32 pages), KV dtype, context (keys of the last query),
// query tokens (1: decode, else a prefill from position context - n), threads.
void BM_Attention(benchmark::State& state) {
  const int isa = int(state.range(0));
  const auto dtype = KvDType(state.range(1));
  const int64_t context = state.range(2), n = state.range(3);
  const int threads = int(state.range(4));
  if (isa > int(best_isa())) {
    state.SkipWithError("ISA not supported by this CPU");
    return;
  }
  BenchKv kv(dtype, context);
  const AttentionShape shape{kHeads, kKvHeads, kHeadDim, 1.0f / std::sqrt(float(kHeadDim))};
  const AttentionSequence seq{kv.view(), 0, n, context - n};
  std::vector<float> q(size_t(n * kHeads * kHeadDim)), out(q.size());
  std::mt19937 g(3);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (auto& x : q) x = d(g);
  const int64_t qd = kHeads * kHeadDim;
  ThreadPool& tp = pool(threads);
  for (auto _ : state) {
    if (isa < 0) legacy_scalar_attention(q.data(), qd, seq, shape, out.data(), qd, tp);
    else paged_attention_with_isa(Isa(isa), q.data(), qd, std::span<const AttentionSequence>(&seq, 1), shape,
                                  out.data(), qd, tp);
    benchmark::DoNotOptimize(out.data());
  }
  const double iters = double(state.iterations());
  const double kv_bytes = double(context) * 2.0 * kKvDim * double(kv_dtype_bytes(dtype));
  double key_rows = 0;  // (query token, key) pairs
  for (int64_t i = 0; i < n; ++i) key_rows += double(context - n + i + 1);
  state.counters["KV_GBps"] = benchmark::Counter(iters * kv_bytes, benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["GFLOPs"] = benchmark::Counter(iters * key_rows * kHeads * 4.0 * kHeadDim, benchmark::Counter::kIsRate,
                                                benchmark::Counter::kIs1000);
  state.counters["tok_per_s"] = benchmark::Counter(iters * double(n), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(isa < 0 ? "legacy-scalar" : isa_name(Isa(isa))) + " " + std::string(kv_dtype_name(dtype)));
}

void attention_args(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2})
    for (auto [context, n] : {std::pair<int64_t, int64_t>{4096, 1}, {32768, 1}, {512, 512}}) {
      b->Args({-1, int64_t(KvDType::F32), context, n, threads});
      for (int isa = 0; isa <= 3; ++isa)
        for (KvDType t : {KvDType::BF16, KvDType::FP8_E4M3, KvDType::FP8_E5M2, KvDType::F32}) {
          if (isa < 2 && t != KvDType::BF16) continue;  // every dtype on the AVX-512 paths; every path on bf16
          b->Args({isa, int64_t(t), context, n, threads});
        }
    }
}

BENCHMARK(BM_Attention)->Apply(attention_args)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace glm

BENCHMARK_MAIN();
