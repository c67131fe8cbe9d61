// linear() throughput: decode-shaped GEMV (n = 1) on matrices twice the size of the L3 cache, reported
// as GB/s of weights streamed beside a plain read loop over the same amount of memory, and prefill GEMM
// (n = 512) reported as GFLOP/s; every ISA path, 1 and 2 threads. See docs/PERFORMANCE.md.
//   bench_linear_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <immintrin.h>
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "core/float_formats.h"
#include "core/thread_pool.h"
#include "kernels/gemm_kernels.h"
#include "kernels/isa.h"
#include "kernels/linear.h"

// Optional comparison with oneDNN's bf16 matmul: compiled when the headers are installed
// (apt-get install libdnnl-dev), the library is dlopen'ed at run time, so nothing links against it.
#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#define GLM_BENCH_ONEDNN 1
#endif

namespace glm {
namespace {

// Anonymous memory on 2 MiB transparent huge pages, like a checkpoint mapping whose page cache holds
// large folios (4 KiB pages cost ~25 % of single-core read bandwidth on this machine).
struct HugeBuffer {
  void* p = nullptr;
  size_t bytes = 0;
  explicit HugeBuffer(size_t n) : bytes(n) {
    p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, n, MADV_HUGEPAGE);
  }
  ~HugeBuffer() { munmap(p, bytes); }
};

ThreadPool& pool(int threads) {
  // Workers must be running before the first region (see the ThreadPool startup race in the report).
  static ThreadPool* pools[3] = {};
  if (!pools[threads]) {
    pools[threads] = new ThreadPool(threads, false);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return *pools[threads];
}

// A weight matrix in huge pages filled with realistic values (bf16 ~N(0, 0.02); fp8 any non-NaN byte).
struct BenchWeight {
  std::unique_ptr<HugeBuffer> data;
  std::vector<float> scale;
  WeightRef ref;
};

BenchWeight make_weight(DType dtype, ScaleLayout layout, int64_t rows, int64_t cols) {
  BenchWeight w;
  w.data = std::make_unique<HugeBuffer>(size_t(rows * cols) * dtype_size(dtype));
  std::mt19937 rng(1);
  if (dtype == DType::BF16) {
    std::normal_distribution<float> normal(0.f, 0.02f);
    auto* p = static_cast<uint16_t*>(w.data->p);
    for (int64_t i = 0; i < rows * cols; ++i) p[i] = f32_to_bf16(normal(rng));
  } else {
    auto* p = static_cast<uint8_t*>(w.data->p);
    for (int64_t i = 0; i < rows * cols; ++i) {
      uint8_t b = uint8_t(rng());
      p[i] = (b & 0x7f) == 0x7f ? 0 : b;
    }
  }
  w.ref.dtype = dtype;
  w.ref.data = w.data->p;
  w.ref.rows = rows;
  w.ref.cols = cols;
  w.ref.scale_layout = layout;
  if (layout == ScaleLayout::PerRow) w.scale.assign(size_t(rows), 0.01f);
  if (layout == ScaleLayout::Block) {
    w.ref.block_rows = w.ref.block_cols = 128;
    w.scale.assign(size_t((rows + 127) / 128 * w.ref.scale_cols()), 0.01f);
  }
  w.ref.scale = w.scale.empty() ? nullptr : w.scale.data();
  return w;
}

// Decode matrices: 64 MiB of weights each, twice the 32 MiB L3, so every call streams from DRAM.
constexpr int64_t kCols = 4096;
constexpr int64_t kGemvBytes = int64_t(64) << 20;

enum Format { kBf16, kF8PerRow, kF8Block };

BenchWeight& gemv_weight(Format f) {
  static std::unique_ptr<BenchWeight> cache[3];
  if (!cache[f]) {
    if (f == kBf16) cache[f] = std::make_unique<BenchWeight>(make_weight(DType::BF16, ScaleLayout::None, kGemvBytes / 2 / kCols, kCols));
    else cache[f] = std::make_unique<BenchWeight>(make_weight(DType::F8_E4M3, f == kF8PerRow ? ScaleLayout::PerRow : ScaleLayout::Block,
                                                              kGemvBytes / kCols, kCols));
  }
  return *cache[f];
}

// args: isa, format, threads
void BM_Gemv(benchmark::State& state) {
  const Isa isa = Isa(state.range(0));
  if (int(isa) > int(best_isa())) return state.SkipWithError("ISA not supported");
  BenchWeight& w = gemv_weight(Format(state.range(1)));
  ThreadPool& tp = pool(int(state.range(2)));
  std::vector<float> x(size_t(kCols), 0.5f), y(size_t(w.ref.rows));
  for (auto _ : state) {
    linear_with_isa(isa, x.data(), 1, kCols, w.ref, nullptr, y.data(), w.ref.rows, tp);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * w.ref.rows * kCols * int64_t(dtype_size(w.ref.dtype)));
  state.SetLabel(std::string(isa_name(isa)));
}

// Small-batch decode (one token, or a speculative-decoding verify batch) over FP8 weights on the AVX-512 BF16
// path, with the VBMI byte-table decode on or off (off: the shift/add decode every AVX-512 BF16 CPU has).
// args: format (1 per-row, 2 blocks), n, table decode 0/1, threads
void BM_GemvFp8SmallBatch(benchmark::State& state) {
  if (best_isa() != Isa::Avx512Bf16) return state.SkipWithError("no AVX-512 BF16");
  const bool tables = state.range(2) != 0;
  if (tables && !cpu_features().avx512_vbmi) return state.SkipWithError("no AVX512-VBMI");
  BenchWeight& w = gemv_weight(Format(state.range(0)));
  const int64_t n = state.range(1);
  ThreadPool& tp = pool(int(state.range(3)));
  std::vector<float> x(size_t(n * kCols), 0.5f), y(size_t(n * w.ref.rows));
  bool& enabled = linear_detail::fp8_vbmi_decode_enabled();
  const bool saved = enabled;
  enabled = tables;
  for (auto _ : state) {
    linear_with_isa(Isa::Avx512Bf16, x.data(), n, kCols, w.ref, nullptr, y.data(), w.ref.rows, tp);
    benchmark::DoNotOptimize(y.data());
  }
  enabled = saved;
  state.SetBytesProcessed(int64_t(state.iterations()) * w.ref.rows * kCols);
  state.SetLabel(tables ? "byte tables" : "shift/add");
}

// Decode over model-shaped matrices: 64 MiB cut into matrices of 1024 rows x cols (cols 512 / 1024 / 4096,
// like MoE experts' down and gate/up projections with hidden size 1024), one n = 1 linear() per matrix in
// turn, the best ISA. Short rows are what the whole-model decode reads (docs/PERFORMANCE.md).
// args: format, cols, threads
void BM_GemvShort(benchmark::State& state) {
  const Format f = Format(state.range(0));
  const int64_t cols = state.range(1), rows = 1024;
  BenchWeight& w = gemv_weight(f);  // reused as the backing store of the small matrices
  const size_t es = f == kBf16 ? 2 : 1;
  const int64_t count = kGemvBytes / int64_t(size_t(rows * cols) * es);
  std::vector<WeightRef> mats;
  for (int64_t i = 0; i < count; ++i) {
    WeightRef r = w.ref;
    r.data = static_cast<const uint8_t*>(w.ref.data) + size_t(i * rows * cols) * es;
    r.rows = rows;
    r.cols = cols;
    mats.push_back(r);  // FP8 scales: the big matrix's (valid for any smaller shape)
  }
  ThreadPool& tp = pool(int(state.range(2)));
  std::vector<float> x(static_cast<size_t>(cols), 0.5f), y(static_cast<size_t>(rows));
  for (auto _ : state) {
    for (const WeightRef& r : mats) linear(x.data(), 1, r, nullptr, y.data(), tp);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kGemvBytes);
  state.SetLabel(std::string(isa_name(active_isa())));
}

// Reads kGemvBytes with AVX-512 (AVX2 otherwise) loads into 4 accumulators: the bandwidth ceiling
// the GEMV is measured against. args: threads
__attribute__((target("avx2"))) float read_slice_avx2(const float* p, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

void BM_ReadBandwidth(benchmark::State& state) {
  static HugeBuffer buf{size_t(kGemvBytes)};
  static bool filled = [] { std::memset(buf.p, 1, buf.bytes); return true; }();
  (void)filled;
  ThreadPool& tp = pool(int(state.range(0)));
  const float* p = static_cast<const float*>(buf.p);
  const int64_t n = kGemvBytes / 4;
  float sink[2] = {};
  for (auto _ : state) {
    tp.parallel_for(n, [&](int64_t a, int64_t b) { sink[a == 0 ? 0 : 1] += read_slice_avx2(p + a, b - a); }, 1 << 16);
    benchmark::DoNotOptimize(sink);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kGemvBytes);
}

// Prefill: 512 tokens through a 4096 x 4096 projection (17.2 GFLOP per call). args: isa, format, threads
void BM_Gemm(benchmark::State& state) {
  const Isa isa = Isa(state.range(0));
  if (int(isa) > int(best_isa())) return state.SkipWithError("ISA not supported");
  const Format f = Format(state.range(1));
  static std::unique_ptr<BenchWeight> cache[3];
  if (!cache[f]) {
    cache[f] = std::make_unique<BenchWeight>(
        f == kBf16 ? make_weight(DType::BF16, ScaleLayout::None, 4096, kCols)
                   : make_weight(DType::F8_E4M3, f == kF8PerRow ? ScaleLayout::PerRow : ScaleLayout::Block, 4096, kCols));
  }
  const BenchWeight& w = *cache[f];
  const int64_t n = 512;
  ThreadPool& tp = pool(int(state.range(2)));
  std::vector<float> x(size_t(n * kCols)), y(size_t(n * w.ref.rows));
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (float& v : x) v = normal(rng);
  for (auto _ : state) {
    linear_with_isa(isa, x.data(), n, kCols, w.ref, nullptr, y.data(), w.ref.rows, tp);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(double(state.iterations()) * 2.0 * double(n) * double(w.ref.rows) * double(kCols),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.SetLabel(std::string(isa_name(isa)));
}

void gemv_args(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2})
    for (int f : {kBf16, kF8PerRow, kF8Block})
      for (int isa = 0; isa <= 3; ++isa) b->Args({isa, f, threads});
}

BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemv)->Apply(gemv_args)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemvFp8SmallBatch)->Apply([](benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2})
    for (int f : {kF8PerRow, kF8Block})
      for (int n : {1, 2, 3, 4, 8})
        for (int tables : {0, 1}) b->Args({f, n, tables, threads});
})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemvShort)->Apply([](benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2})
    for (int f : {kBf16, kF8PerRow, kF8Block})
      for (int cols : {512, 1024, 4096}) b->Args({f, cols, threads});
})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm)->Apply(gemv_args)->UseRealTime()->Unit(benchmark::kMillisecond);


#ifdef GLM_BENCH_ONEDNN
// The handful of oneDNN C API entry points a bf16 matmul needs, resolved from libdnnl.so.2.
struct OneDnn {
  decltype(&dnnl_engine_create) engine_create = nullptr;
  decltype(&dnnl_stream_create) stream_create = nullptr;
  decltype(&dnnl_memory_desc_init_by_tag) md_init = nullptr;
  decltype(&dnnl_matmul_desc_init) matmul_init = nullptr;
  decltype(&dnnl_primitive_desc_create) pd_create = nullptr;
  decltype(&dnnl_primitive_create) prim_create = nullptr;
  decltype(&dnnl_memory_create) mem_create = nullptr;
  decltype(&dnnl_primitive_execute) execute = nullptr;
  decltype(&dnnl_stream_wait) wait = nullptr;
  void (*omp_set_threads)(int) = nullptr;
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  bool ok = false;

  OneDnn() {
    void* h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_GLOBAL);
    if (!h) return;
    auto sym = [&](auto& fn, const char* name) { fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name)); return fn != nullptr; };
    ok = sym(engine_create, "dnnl_engine_create") && sym(stream_create, "dnnl_stream_create") &&
         sym(md_init, "dnnl_memory_desc_init_by_tag") && sym(matmul_init, "dnnl_matmul_desc_init") &&
         sym(pd_create, "dnnl_primitive_desc_create") && sym(prim_create, "dnnl_primitive_create") &&
         sym(mem_create, "dnnl_memory_create") && sym(execute, "dnnl_primitive_execute") && sym(wait, "dnnl_stream_wait");
    omp_set_threads = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    ok = ok && engine_create(&engine, dnnl_cpu, 0) == dnnl_success &&
         stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success;
  }
  static OneDnn& get() {
    static OneDnn d;
    return d;
  }
};

// y(n, rows) f32 = x(n, cols) bf16 * W^T with W the same row-major (rows, cols) bf16 matrix used in
// place (format "ba" of the (cols, rows) weights operand: no reordering into oneDNN's blocked layout).
// x is converted to bf16 outside the timed loop (linear() includes that step). args: n, threads
void BM_OneDnnBf16Matmul(benchmark::State& state) {
  OneDnn& d = OneDnn::get();
  if (!d.ok) return state.SkipWithError("libdnnl.so.2 not loadable");
  if (d.omp_set_threads) d.omp_set_threads(int(state.range(1)));
  const int64_t n = state.range(0), rows = n == 1 ? kGemvBytes / 2 / kCols : 4096, cols = kCols;
  BenchWeight w = make_weight(DType::BF16, ScaleLayout::None, rows, cols);
  std::vector<uint16_t> xb(size_t(n * cols));
  for (size_t i = 0; i < xb.size(); ++i) xb[i] = f32_to_bf16(float(i % 17) * 0.1f);
  std::vector<float> y(size_t(n * rows));
  dnnl_memory_desc_t src_md, wei_md, dst_md;
  const dnnl_dims_t src_dims = {n, cols}, wei_dims = {cols, rows}, dst_dims = {n, rows};
  d.md_init(&src_md, 2, src_dims, dnnl_bf16, dnnl_ab);
  d.md_init(&wei_md, 2, wei_dims, dnnl_bf16, dnnl_ba);
  d.md_init(&dst_md, 2, dst_dims, dnnl_f32, dnnl_ab);
  dnnl_matmul_desc_t desc;
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t prim;
  if (d.matmul_init(&desc, &src_md, &wei_md, nullptr, &dst_md) != dnnl_success ||
      d.pd_create(&pd, &desc, nullptr, d.engine, nullptr) != dnnl_success || d.prim_create(&prim, pd) != dnnl_success)
    return state.SkipWithError("oneDNN bf16 matmul not available");
  dnnl_memory_t src_m, wei_m, dst_m;
  d.mem_create(&src_m, &src_md, d.engine, xb.data());
  d.mem_create(&wei_m, &wei_md, d.engine, w.data->p);
  d.mem_create(&dst_m, &dst_md, d.engine, y.data());
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}};
  for (auto _ : state) {
    d.execute(prim, d.stream, 3, args);
    d.wait(d.stream);
  }
  state.counters["GFLOPs"] = benchmark::Counter(double(state.iterations()) * 2.0 * double(n) * double(rows) * double(cols),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.SetBytesProcessed(int64_t(state.iterations()) * rows * cols * 2);
}
BENCHMARK(BM_OneDnnBf16Matmul)->Args({1, 1})->Args({512, 1})->Args({1, 2})->Args({512, 2})->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

}  // namespace
}  // namespace glm

BENCHMARK_MAIN();
