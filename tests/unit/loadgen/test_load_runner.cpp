// run_load: every request runs once, in-flight requests never exceed --max-concurrency, Poisson
// arrivals have the requested mean gap and pace the releases; records keep request order.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "loadgen/load_runner.h"

using namespace glm::loadgen;

TEST(LoadRunner, PoissonArrivalsHaveTheRequestedRate) {
  auto t = poisson_arrivals(20000, 50.0, 3);
  ASSERT_EQ(t.size(), 20000u);
  for (size_t i = 1; i < t.size(); ++i) ASSERT_GE(t[i], t[i - 1]);
  EXPECT_NEAR(t.back() / double(t.size()), 1.0 / 50.0, 0.001);  // mean gap 20 ms
  EXPECT_EQ(poisson_arrivals(3, 50.0, 3), poisson_arrivals(3, 50.0, 3));
  EXPECT_EQ(poisson_arrivals(4, std::numeric_limits<double>::infinity(), 1), std::vector<double>(4, 0.0));
}

TEST(LoadRunner, RespectsMaxConcurrencyAndKeepsOrder) {
  std::vector<PromptSpec> prompts(24);
  for (size_t i = 0; i < prompts.size(); ++i) prompts[i].output_len = int64_t(i);
  std::atomic<int> now{0}, peak{0};
  LoadOptions opt;
  opt.max_concurrency = 3;
  opt.progress = false;
  double dur = 0;
  auto recs = run_load(prompts, opt, [&](const PromptSpec& p) {
    int n = ++now;
    int seen = peak.load();
    while (n > seen && !peak.compare_exchange_weak(seen, n)) {}
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    --now;
    RequestRecord r;
    r.success = true;
    r.output_len = p.output_len;
    return r;
  }, dur);
  ASSERT_EQ(recs.size(), prompts.size());
  for (size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(recs[i].output_len, int64_t(i));
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 2);  // they did overlap
  EXPECT_GT(dur, 0.0);
}

TEST(LoadRunner, RequestRatePacesReleases) {
  std::vector<PromptSpec> prompts(10);
  LoadOptions opt;
  opt.request_rate = 100.0;  // the 10th release is ~100 ms in (seeded, so exactly poisson_arrivals' value)
  opt.progress = false;
  double dur = 0;
  auto recs = run_load(prompts, opt, [](const PromptSpec&) { return RequestRecord{}; }, dur);
  EXPECT_GE(dur, poisson_arrivals(10, 100.0, opt.seed).back());
}

TEST(LoadRunner, AThrowingSenderCountsAsAFailure) {
  std::vector<PromptSpec> prompts(2);
  LoadOptions opt;
  opt.progress = false;
  double dur = 0;
  auto recs = run_load(prompts, opt, [](const PromptSpec&) -> RequestRecord { throw std::runtime_error("boom"); }, dur);
  EXPECT_FALSE(recs[0].success);
  EXPECT_NE(recs[1].error.find("boom"), std::string::npos);
}
