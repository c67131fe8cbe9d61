#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/thread_pool.h"

namespace glm {
namespace {

// A region launched immediately after construction (before workers had a chance to run) must complete.
TEST(ThreadPool, FirstRegionRightAfterConstruction) {
  for (int rep = 0; rep < 200; ++rep) {
    ThreadPool pool(2, /*pin=*/false);
    std::atomic<int> hits{0};
    pool.run([&](int, int) { hits.fetch_add(1); });
    EXPECT_EQ(hits.load(), 2);
  }
}

TEST(ThreadPool, ParallelForCoversRangeOnceWithGrain) {
  ThreadPool pool(3, false);
  for (int64_t n : {1, 5, 16, 17, 1000}) {
    std::vector<int> seen(size_t(n), 0);
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      EXPECT_EQ(b % 4, 0);
      for (int64_t i = b; i < e; ++i) seen[size_t(i)]++;
    }, 4);
    for (int v : seen) EXPECT_EQ(v, 1);
  }
}

TEST(ThreadPool, ManyRegions) {
  ThreadPool pool(2, false);
  std::atomic<int64_t> sum{0};
  for (int r = 0; r < 20000; ++r) pool.parallel_for(2, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 40000);
}

}  // namespace
}  // namespace glm
