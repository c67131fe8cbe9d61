// KV occupancy as SGLang counts it: prefix-cache (evictable) slots are not "used"; the gauges in
// /metrics carry the same numbers.
#include <gtest/gtest.h>

#include "serving/metrics.h"

using namespace glm;
using namespace glm::serving;

TEST(Metrics, KvTokenUsageExcludesEvictableCache) {
  EngineStats s;
  s.kv_capacity_tokens = 1000;
  s.kv_free_tokens = 600;
  s.kv_cached_tokens = 150;
  KvTokenUsage u = kv_token_usage(s);
  EXPECT_EQ(u.num_used, 250);
  EXPECT_EQ(u.available, 600);
  EXPECT_EQ(u.evictable, 150);
  EXPECT_DOUBLE_EQ(u.token_usage, 0.25);
  s.kv_free_tokens = 1000;
  s.kv_cached_tokens = 0;
  EXPECT_EQ(kv_token_usage(s).num_used, 0);
  EXPECT_DOUBLE_EQ(kv_token_usage(EngineStats{}).token_usage, 0.0);  // no pool: no division by zero

  Metrics m("m");
  s.kv_free_tokens = 600;
  s.kv_cached_tokens = 150;
  const std::string text = m.render(s);
  EXPECT_NE(text.find("sglang:num_used_tokens{model_name=\"m\"} 250\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sglang:token_usage{model_name=\"m\"} 0.25\n"), std::string::npos) << text;
}
