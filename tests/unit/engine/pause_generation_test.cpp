// SGLang's /pause_generation and /continue_generation in the scheduler: while paused no forward runs and
// new requests wait; in_place keeps requests where they are (the answers are those of an unpaused run);
// abort ends every request first.
#include <gtest/gtest.h>

#include <thread>

#include "engine/scheduler.h"
#include "engine_test_support.h"

namespace glm {
namespace {

using testing::Collector;
using testing::greedy_request;
using testing::prompt_of;

void wait_for_tokens(Collector& c, const std::string& rid, size_t n) {
  for (int i = 0; i < 5000 && c.get(rid).ids.size() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_GE(c.get(rid).ids.size(), n);
}

TEST(PauseGeneration, InPlaceStopsForwardsAndResumesWithTheSameAnswers) {
  auto s = testing::fixture_scheduler();
  GenerateRequest long_req = greedy_request("long", prompt_of(10, 7), 1500);
  long_req.sampling.ignore_eos = true;
  const auto want = testing::run(*s, {{long_req}}).at("long");

  Collector c;
  s->submit(long_req, c.sink("long"));
  wait_for_tokens(c, "long", 5);
  s->pause_generation(PauseMode::InPlace);
  const size_t at_pause = c.get("long").ids.size();
  const int64_t forwards = s->forward_calls();
  GenerateRequest late = greedy_request("late", prompt_of(6, 9), 8);
  s->submit(late, c.sink("late"));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(s->forward_calls(), forwards);  // nothing ran while paused
  EXPECT_EQ(c.get("long").ids.size(), at_pause);
  EXPECT_TRUE(c.get("late").ids.empty());
  EXPECT_LT(at_pause, 1500u);  // it was paused mid-way
  s->continue_generation();
  c.wait(2);
  EXPECT_EQ(c.get("long").ids, want.ids);
  EXPECT_EQ(c.get("late").last.finish_reason, FinishReason::Length);
}

TEST(PauseGeneration, AbortEndsEveryRequestAndNewOnesWaitForContinue) {
  auto s = testing::fixture_scheduler();
  Collector c;
  for (int i = 0; i < 3; ++i) {
    GenerateRequest r = greedy_request("r" + std::to_string(i), prompt_of(8, 20 + i), 2000);
    r.sampling.ignore_eos = true;
    s->submit(r, c.sink(r.rid));
  }
  wait_for_tokens(c, "r0", 3);
  s->pause_generation(PauseMode::Abort);
  c.wait(3, std::chrono::seconds(30));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.get("r" + std::to_string(i)).last.finish_reason, FinishReason::Abort) << i;
  s->submit(greedy_request("after", prompt_of(5, 3), 4), c.sink("after"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(c.get("after").events, 0);
  s->continue_generation();
  c.wait(4, std::chrono::seconds(30));
  EXPECT_EQ(c.get("after").ids.size(), 4u);
  testing::expect_pool_returns(*s);
}

}  // namespace
}  // namespace glm
