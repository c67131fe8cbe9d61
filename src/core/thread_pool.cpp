#include "core/thread_pool.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <sched.h>

namespace glm {
namespace {

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

void pin_to(std::thread::native_handle_type h, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(h, sizeof(set), &set);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Waiting has three stages. Pause-spin for the first kPauseSpin: the gap between two kernels of one
// decode step is microseconds, and a spinning thread answers fastest. Then spin with sched_yield() until
// kYieldSpin: alone on its cores this costs what spinning costs, but when the machine is oversubscribed
// (ctest runs two test processes whose pools pin to the same cores, mpirun ranks, a benchmark beside a
// build) a thread waiting for a descheduled peer hands its core over instead of burning a whole time
// slice - without it, two processes each waiting for the other's threads crawled at time-slice pace.
// Workers then sleep on the futex (between requests).
using WaitClock = std::chrono::steady_clock;
constexpr auto kPauseSpin = std::chrono::microseconds(50);
constexpr auto kYieldSpin = std::chrono::milliseconds(4);

// One waiting stage step; `since` is when the wait began. Returns false once the wait should sleep.
inline bool spin_once(int& spins, WaitClock::time_point since) {
  if ((++spins & 255) != 0) { cpu_relax(); return true; }  // the clock is read every 256 rounds only
  auto waited = WaitClock::now() - since;
  if (waited < kPauseSpin) { cpu_relax(); return true; }
  if (waited < kYieldSpin) { sched_yield(); return true; }
  return false;
}

std::unique_ptr<ThreadPool> g_pool;
std::once_flag g_once;

}  // namespace

ThreadPool::ThreadPool(int n_threads, bool pin) {
  auto cpus = allowed_cpus();
  if (n_threads <= 0) n_threads = cpus.empty() ? int(std::thread::hardware_concurrency()) : int(cpus.size());
  if (n_threads <= 0) n_threads = 1;
  n_threads_ = n_threads;
  bool can_pin = pin && int(cpus.size()) >= n_threads;
  if (can_pin) pin_to(pthread_self(), cpus[0]);
  for (int i = 1; i < n_threads_; ++i) {
    workers_.emplace_back([this, i] { worker_loop(i, 0); });
    if (can_pin) pin_to(workers_.back().native_handle(), cpus[i]);
  }
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_raw(Thunk thunk, void* ctx) {
  if (n_threads_ == 1) { thunk(ctx, 0, 1); return; }
  thunk_ = thunk;
  ctx_ = ctx;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  thunk(ctx, 0, n_threads_);
  if (pending_.load(std::memory_order_acquire) == 0) return;
  int spins = 0;
  auto since = WaitClock::now();
  while (pending_.load(std::memory_order_acquire) != 0)
    if (!spin_once(spins, since)) sched_yield();  // the caller never sleeps: the workers are mid-region
}

// `seen` starts at the generation the pool was built with (0), not at whatever the worker reads when it
// first runs: a region launched before the thread got scheduled must still be picked up.
void ThreadPool::worker_loop(int index, uint64_t seen) {
  for (;;) {
    uint64_t g;
    int spins = 0;
    auto since = WaitClock::now();
    while ((g = generation_.load(std::memory_order_acquire)) == seen)
      if (!spin_once(spins, since)) generation_.wait(seen, std::memory_order_acquire);
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    thunk_(ctx_, index, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

ThreadPool& ThreadPool::global() {
  std::call_once(g_once, [] { if (!g_pool) g_pool = std::make_unique<ThreadPool>(0, true); });
  return *g_pool;
}

void ThreadPool::init_global(int n_threads, bool pin) {
  std::call_once(g_once, [&] { g_pool = std::make_unique<ThreadPool>(n_threads, pin); });
}

}  // namespace glm
