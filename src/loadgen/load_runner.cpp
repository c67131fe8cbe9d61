#include "loadgen/load_runner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

namespace glm::loadgen {

std::vector<double> poisson_arrivals(int n, double rate, unsigned seed) {
  std::vector<double> t(size_t(std::max(n, 0)), 0.0);
  if (!(rate > 0) || std::isinf(rate)) return t;
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(rate);
  double now = 0;
  for (double& x : t) {
    now += gap(rng);
    x = now;
  }
  return t;
}

namespace {

using Clock = std::chrono::steady_clock;

// Counts completions and redraws the bar from its own thread (so a slow request never hides progress).
class ProgressBar {
 public:
  ProgressBar(int total, bool enabled) : total_(total), enabled_(enabled && total > 0), tty_(isatty(2) != 0) {
    if (enabled_) thread_ = std::thread([this] { loop(); });
  }
  ~ProgressBar() { close(); }
  void tick() {
    done_.fetch_add(1);
    cv_.notify_all();
  }
  void close() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    draw(true);
  }

 private:
  void loop() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      cv_.wait_for(lk, std::chrono::milliseconds(250));
      if (!stop_) draw(false);
    }
  }
  void draw(bool final) {
    const int done = done_.load();
    const int decile = done * 10 / total_;
    if (!tty_ && !final && decile == last_decile_) return;
    last_decile_ = decile;
    const double s = std::chrono::duration<double>(Clock::now() - start_).count();
    constexpr int kWidth = 30;
    const int fill = done * kWidth / total_;
    std::string bar(size_t(fill), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "%s%3d%% [%s] %d/%d %.1fs (%.2f req/s)%s", tty_ ? "\r" : "", done * 100 / total_, bar.c_str(),
                 done, total_, s, s > 0 ? done / s : 0.0, tty_ && !final ? "" : "\n");
    std::fflush(stderr);
  }

  const int total_;
  const bool enabled_, tty_;
  const Clock::time_point start_ = Clock::now();
  std::atomic<int> done_{0};
  int last_decile_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::vector<RequestRecord> run_load(const std::vector<PromptSpec>& prompts, const LoadOptions& opt, const SendFn& send,
                                    double& duration_s) {
  const int n = int(prompts.size());
  std::vector<RequestRecord> records(prompts.size());
  const std::vector<double> arrivals = poisson_arrivals(n, opt.request_rate, opt.seed);
  const int limit = std::min(opt.max_concurrency > 0 ? opt.max_concurrency : n, kMaxInFlight);
  std::mutex mu;
  std::condition_variable slot_free;
  int in_flight = 0;
  std::vector<std::thread> threads;
  threads.reserve(prompts.size());
  ProgressBar bar(n, opt.progress);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(arrivals[size_t(i)])));
    {
      std::unique_lock lk(mu);
      slot_free.wait(lk, [&] { return in_flight < limit; });
      ++in_flight;
    }
    threads.emplace_back([&, i] {
      try {
        records[size_t(i)] = send(prompts[size_t(i)]);
      } catch (const std::exception& e) {  // a thread must not throw; the request counts as failed
        records[size_t(i)].error = std::string("client error: ") + e.what();
      }
      bar.tick();
      {
        std::lock_guard lk(mu);
        --in_flight;
      }
      slot_free.notify_one();
    });
  }
  for (auto& t : threads) t.join();
  duration_s = std::chrono::duration<double>(Clock::now() - start).count();
  bar.close();
  return records;
}

}  // namespace glm::loadgen
