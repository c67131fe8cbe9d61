// stop_regex against Python's re.search (data/make_stop_regex_cases.py -> stop_regex_cases.json): text
// arrives in chunks as tokens do, and the matcher must report a match after exactly the chunk where
// re.search first finds one. Then in the scheduler: a request stops at that token, text untrimmed.
#include "engine/stop_regex.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/scheduler.h"
#include "engine_test_support.h"

namespace glm {
namespace {

TEST(StopRegex, StopsAfterTheChunkWherePythonsSearchFirstMatches) {
  std::ifstream f(std::string(GLM_SOURCE_DIR) + "/tests/unit/engine/data/stop_regex_cases.json");
  const nlohmann::json cases = nlohmann::json::parse(f)["cases"];
  // What the regex engine refuses (sampling/regex_nfa.h): word boundaries and lookaround.
  const std::set<std::string> refused = {"\\bword", "q(?=u)"};
  int checked = 0, matched = 0;
  for (const auto& c : cases) {
    const std::string pattern = c["pattern"];
    if (refused.count(pattern)) {
      EXPECT_THROW(StopRegexMatcher({pattern}), GlmError) << pattern;
      continue;
    }
    StopRegexMatcher m({"never-in-these-texts", pattern});
    std::string text;
    int first = -1;
    for (size_t i = 0; i < c["chunks"].size(); ++i) {
      text += c["chunks"][i].get<std::string>();
      if (const std::string* hit = m.advance(text)) {
        EXPECT_EQ(*hit, pattern);
        first = int(i);
        break;
      }
    }
    EXPECT_EQ(first, c["first"].get<int>()) << "pattern " << pattern << " text " << c["chunks"].dump();
    ++checked;
    matched += first >= 0;
  }
  EXPECT_GT(checked, 800);
  EXPECT_GT(matched, 150);
}

TEST(StopRegex, RefusesWhatTheEngineCannotRunNamingThePattern) {
  EXPECT_THROW(StopRegexMatcher(std::vector<std::string>(StopRegexMatcher::kMaxPatterns + 1, "a")), GlmError);
  EXPECT_NO_THROW(StopRegexMatcher(std::vector<std::string>(StopRegexMatcher::kMaxPatterns, "a")));
  // Large patterns: each fits, together they do not (memory at submit stays bounded).
  EXPECT_NO_THROW(StopRegexMatcher({"(a{1000}){60}"}));
  EXPECT_THROW(StopRegexMatcher(std::vector<std::string>(4, "(a{1000}){60}")), GlmError);
  try {
    StopRegexMatcher({"ok", "(a"});
    FAIL() << "accepted";
  } catch (const GlmError& e) {
    EXPECT_NE(std::string(e.what()).find("stop_regex '(a'"), std::string::npos) << e.what();
  }
}

// In the scheduler: the output is plain greedy decoding's, cut after the first token whose text makes
// std::regex_search (an independent engine; these patterns mean the same in ECMAScript) find a match.
TEST(StopRegex, RequestStopsAtTheTokenThatCompletesAMatch) {
  using testing::greedy_request;
  using testing::prompt_of;
  const std::string dir = std::string(GLM_FIXTURES_DIR) + "/glm45-tiny";
  std::vector<GenerateRequest> plain_reqs;
  for (int i = 0; i < 4; ++i) plain_reqs.push_back(greedy_request("p" + std::to_string(i), prompt_of(8, 20 + i), 40));
  auto s = testing::fixture_scheduler();
  auto plain = testing::run(*s, {plain_reqs});
  int stopped = 0;
  for (const char* pattern : {"[aeiou]{2}", "e.{0,3}r", "[0-9]", "\\s\\s"}) {
    std::vector<GenerateRequest> reqs = plain_reqs;
    for (auto& r : reqs) {
      r.rid += std::string("-") + pattern;
      r.sampling.stop_regex = {pattern};
    }
    auto got = testing::run(*s, {reqs});
    const Tokenizer tok = Tokenizer::from_file(dir + "/tokenizer.json");
    for (const auto& r : plain_reqs) {
      const auto& want = plain.at(r.rid);
      const auto& have = got.at(r.rid + "-" + pattern);
      // The oracle: the first prefix of the plain output whose decoded text has a match.
      size_t cut = want.ids.size();
      for (size_t k = 1; k <= want.ids.size(); ++k) {
        const std::string text = tok.decode(std::span<const int32_t>(want.ids.data(), k), true);
        if (std::regex_search(text, std::regex(pattern))) {
          cut = k;
          break;
        }
      }
      ASSERT_EQ(have.ids, std::vector<int32_t>(want.ids.begin(), want.ids.begin() + std::ptrdiff_t(cut))) << pattern;
      if (cut < want.ids.size() || have.last.finish_reason == FinishReason::Stop) {
        EXPECT_EQ(have.last.finish_reason, FinishReason::Stop) << pattern;
        ASSERT_TRUE(std::holds_alternative<std::string>(have.last.matched_stop)) << pattern;
        EXPECT_EQ(std::get<std::string>(have.last.matched_stop), pattern);
        EXPECT_EQ(have.text, tok.decode(have.ids, true)) << pattern;  // not trimmed
        ++stopped;
      }
    }
  }
  EXPECT_GE(stopped, 6);
  testing::expect_pool_returns(*s);
}

}  // namespace
}  // namespace glm
