#pragma once
// One persistent pool of worker threads for all compute. The caller thread takes part as index 0.
// A parallel region costs two atomic handshakes, no allocation, no lock and (while workers are
// spinning) no syscall: decode issues hundreds of regions per token.
// Partitioning is static (thread i always gets the same slice for the same n), which keeps
// results independent of timing.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace glm {

class ThreadPool {
 public:
  // n_threads includes the caller; n_threads <= 0 means one per available CPU.
  // pin: bind thread i to the i-th CPU of the process's affinity mask.
  explicit ThreadPool(int n_threads = 0, bool pin = true);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(thread_index, n_threads) once on every thread; returns when all have finished.
  template <typename F>
  void run(F&& fn) {
    auto thunk = [](void* ctx, int i, int n) { (*static_cast<std::remove_reference_t<F>*>(ctx))(i, n); };
    run_raw(thunk, static_cast<void*>(&fn));
  }

  // Splits [0, n) into n_threads contiguous chunks (sizes differ by at most `grain`) and calls
  // fn(begin, end) for each non-empty chunk. Chunk boundaries are multiples of `grain`.
  template <typename F>
  void parallel_for(int64_t n, F&& fn, int64_t grain = 1) {
    if (n <= 0) return;
    int64_t blocks = (n + grain - 1) / grain;
    if (n_threads_ == 1 || blocks == 1) { fn(int64_t(0), n); return; }
    run([&](int i, int nt) {
      int64_t b0 = blocks * i / nt, b1 = blocks * (i + 1) / nt;
      int64_t begin = b0 * grain, end = std::min(n, b1 * grain);
      if (begin < end) fn(begin, end);
    });
  }

  // The process-wide pool used by the engine; set its size once at start-up (--threads).
  static ThreadPool& global();
  static void init_global(int n_threads, bool pin = true);

 private:
  using Thunk = void (*)(void*, int, int);
  void run_raw(Thunk thunk, void* ctx);
  void worker_loop(int index, uint64_t seen);

  int n_threads_;
  std::vector<std::thread> workers_;
  Thunk thunk_ = nullptr;
  void* ctx_ = nullptr;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace glm
