// The `regex` constraint: the pattern compiler + lazy DFA against Python's `regex` module (partial
// matching, data/regex_cases.json from data/make_regex_cases.py), refusals of unsupported features,
// the constraint's mask against brute force on a small vocabulary, and sampled outputs against
// std::regex as an independent full-match oracle.
#include <fstream>
#include <map>
#include <random>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sampling/regex_constraint.h"
#include "sampling/regex_dfa.h"
#include "sampling/regex_nfa.h"
#include "sampling/sampler.h"
#include "small_vocab.h"

namespace glm::sampling {
namespace {

std::shared_ptr<const RegexNfa> nfa_of(const std::string& p) {
  return std::make_shared<const RegexNfa>(RegexNfa::compile(p));
}

TEST(RegexDfa, AgreesWithPythonRegexOnViablePrefixesAndFullMatches) {
  std::ifstream in(std::string(GLM_SOURCE_DIR) + "/tests/unit/sampling/data/regex_cases.json");
  ASSERT_TRUE(in) << "run tests/unit/sampling/data/make_regex_cases.py";
  const nlohmann::json data = nlohmann::json::parse(in);
  std::map<std::string, std::unique_ptr<RegexDfa>> dfas;
  int checked = 0, full = 0, viable = 0;
  for (const auto& c : data["cases"]) {
    const std::string p = c["pattern"], text = c["text"];
    auto& dfa = dfas[p];
    if (!dfa) dfa = std::make_unique<RegexDfa>(nfa_of(p));
    const int32_t s = dfa->feed(dfa->start(), text);
    const bool is_viable = s != RegexDfa::kDead;
    EXPECT_EQ(is_viable, c["viable"].get<bool>()) << "pattern " << p << " text " << nlohmann::json(text).dump();
    EXPECT_EQ(is_viable && dfa->accepting(s), c["full"].get<bool>())
        << "pattern " << p << " text " << nlohmann::json(text).dump();
    // Every live state leads to a match: what makes "viable" mean "some completion matches".
    if (is_viable) {
      EXPECT_TRUE(dfa->accepting(s) || dfa->can_continue(s)) << p;
    }
    ++checked;
    full += c["full"].get<bool>();
    viable += c["viable"].get<bool>();
  }
  EXPECT_GT(checked, 2000);
  EXPECT_GT(full, 300);  // the data exercises both answers
  EXPECT_GT(viable - full, 300);
}

TEST(RegexNfa, RefusesWhatItDoesNotSupportWithAClearMessage) {
  std::ifstream in(std::string(GLM_SOURCE_DIR) + "/tests/unit/sampling/data/regex_cases.json");
  ASSERT_TRUE(in);
  const nlohmann::json data = nlohmann::json::parse(in);
  ASSERT_GT(data["errors"].size(), 10u);
  for (const auto& e : data["errors"]) {
    const std::string p = e;
    try {
      RegexNfa::compile(p);
      ADD_FAILURE() << "compiled " << p;
    } catch (const GlmError& err) {
      EXPECT_EQ(err.kind(), ErrorKind::InvalidArgument) << p;
      EXPECT_NE(std::string(err.what()).find("regex"), std::string::npos) << err.what();
    }
  }
  EXPECT_THROW(RegexNfa::compile("\xff"), GlmError);          // invalid UTF-8 in the pattern
  EXPECT_THROW(RegexNfa::compile("(a{1000}){1000}"), GlmError);  // too many states
  // A deeply nested pattern is refused instead of overflowing the stack (1e5 levels would crash the server).
  EXPECT_THROW(RegexNfa::compile(std::string(100000, '(') + "a" + std::string(100000, ')')), GlmError);
  EXPECT_NO_THROW(RegexNfa::compile(std::string(100, '(') + "a" + std::string(100, ')')));
}

Vocab regex_vocab() {
  Vocab v = small_vocab();
  for (const char* t : {"yes", "no", "ye", "123", "45", "-", "@", ".com", ".org", "bob", "x@y", "0-", "αβ", "γω",
                        "ω", "AM", " PM", "12:", "30"})
    v.bytes.push_back(std::string(t));
  return v;
}

// Brute force: token t is allowed iff feeding its bytes keeps the DFA alive (and t is no added token),
// EOS iff the text so far is a full match (or nothing else is allowed).
TEST(RegexConstraint, MaskEqualsBruteForceAtEveryStep) {
  Vocab v = regex_vocab();
  auto trie = trie_of(v);
  std::mt19937 rng(5);
  for (const std::string p : {"(yes|no)", "[0-9]{3}-[0-9]{4}", "\\w+@\\w+\\.(com|org)", "[αβγ]+ω?",
                              "\"([^\"\\\\]|\\\\.)*\"", "(\\d{1,2}:\\d\\d) ?(AM|PM)", ".{1,3}"}) {
    auto nfa = nfa_of(p);
    for (int run = 0; run < 8; ++run) {
      RegexConstraint c(trie, nfa, {{v.eos}, -1});
      RegexDfa oracle(nfa);
      int32_t state = oracle.start();
      std::vector<int32_t> out;
      for (int step = 0; step < 30; ++step) {
        auto ids = allowed_ids(c, out, v.bytes.size());
        std::vector<int32_t> expect;
        for (size_t id = 0; id < v.bytes.size(); ++id) {
          const int32_t i = int32_t(id);
          if (i == v.eos || !v.bytes[id] || v.bytes[id]->empty()) continue;
          if (std::find(v.added.begin(), v.added.end(), i) != v.added.end()) continue;
          if (oracle.feed(state, *v.bytes[id]) != RegexDfa::kDead) expect.push_back(i);
        }
        if (oracle.accepting(state) || expect.empty()) {
          expect.push_back(v.eos);
          std::sort(expect.begin(), expect.end());
        }
        ASSERT_EQ(ids, expect) << p << " step " << step;
        const int32_t pick = ids[rng() % ids.size()];
        if (pick == v.eos) break;
        out.push_back(pick);
        state = oracle.feed(state, *v.bytes[size_t(pick)]);
      }
    }
  }
}

// Sampling at temperature 1 with random logits and an eager EOS: every finished output is a full
// match by std::regex (ECMAScript: the same language for these ASCII patterns).
TEST(RegexConstraint, SampledOutputsMatchByStdRegex) {
  Vocab v = regex_vocab();
  auto trie = trie_of(v);
  for (const std::string p : {"(yes|no)", "[0-9]{3}-[0-9]{4}", "\\w+@\\w+\\.(com|org)", "-?\\d+(\\.\\d+)?",
                              "(\\d{1,2}:\\d\\d) ?(AM|PM)", "[A-Z][a-z]*( [A-Z][a-z]*)*"}) {
    auto nfa = nfa_of(p);
    const std::regex oracle(p);
    int finished = 0;
    for (uint64_t seed = 0; seed < 25; ++seed) {
      SamplingConfig cfg;
      cfg.seed = seed;
      cfg.stop_token_ids = {v.eos};
      Sampler sampler(cfg, v.bytes.size());
      sampler.set_constraint(std::make_unique<RegexConstraint>(trie, nfa, RegexConstraintOptions{{v.eos}, -1}));
      std::mt19937 rng{static_cast<uint32_t>(seed)};
      std::normal_distribution<float> logit(0.0f, 2.0f);
      std::vector<int32_t> out;
      std::string text;
      for (int step = 0; step < 200; ++step) {
        std::vector<float> row(v.bytes.size());
        for (auto& x : row) x = logit(rng);
        row[size_t(v.eos)] += 6.0f;  // a model that wants to stop: EOS must wait for a full match
        const int32_t t = sampler.sample(row, {}, out).token_id;
        if (t == v.eos) {
          EXPECT_TRUE(std::regex_match(text, oracle)) << p << ": " << text;
          ++finished;
          break;
        }
        out.push_back(t);
        text += *v.bytes[size_t(t)];
      }
    }
    EXPECT_GT(finished, 20) << p;
  }
}

TEST(RegexConstraint, WaitsForTheStartTokenAndStopsMaskingAfterForcedGarbage) {
  Vocab v = regex_vocab();
  auto trie = trie_of(v);
  int32_t think_end = -1, yes = -1, x = 'x';
  for (size_t id = 0; id < v.bytes.size(); ++id) {
    if (v.bytes[id] && *v.bytes[id] == "</think>") think_end = int32_t(id);
    if (v.bytes[id] && *v.bytes[id] == "yes") yes = int32_t(id);
  }
  RegexConstraint c(trie, nfa_of("(yes|no)"), {{v.eos}, think_end});
  EXPECT_EQ(allowed_ids(c, std::vector<int32_t>{x}, v.bytes.size()).size(), v.bytes.size());  // reasoning: free
  const std::vector<int32_t> after{x, think_end};
  auto ids = allowed_ids(c, after, v.bytes.size());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), yes) != ids.end());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), x) == ids.end());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), v.eos) == ids.end());
  const std::vector<int32_t> done{x, think_end, yes};
  EXPECT_EQ(allowed_ids(c, done, v.bytes.size()), std::vector<int32_t>{v.eos});  // only the end is left
  EXPECT_TRUE(c.matched());
  RegexConstraint c2(trie, nfa_of("(yes|no)"), {{v.eos}, think_end});
  const std::vector<int32_t> forced{x, think_end, x};  // a forced token left the pattern: no more masking
  EXPECT_EQ(allowed_ids(c2, forced, v.bytes.size()).size(), v.bytes.size());
  EXPECT_FALSE(c2.active());
}

// The tool-call grammar spells the model's special tokens (<arg_key>, </tool_call>): with
// added_tokens_as_text an added token is allowed exactly where the pattern reads its text, and emitting it
// keeps the constraint going; without it, added tokens are refused (and one in the output ends masking).
TEST(RegexConstraint, AddedTokensCanBeTextOfThePattern) {
  Vocab v = small_vocab();
  auto trie = trie_of(v);
  auto id_of = [&](const std::string& s) {
    for (size_t id = 0; id < v.bytes.size(); ++id)
      if (v.bytes[id] && *v.bytes[id] == s) return int32_t(id);
    return int32_t(-1);
  };
  const int32_t arg_key = id_of("<arg_key>"), close = id_of("</tool_call>"), tool_call = id_of("<tool_call>");
  ASSERT_TRUE(arg_key >= 0 && close >= 0 && tool_call >= 0);
  auto nfa = nfa_of("x(<arg_key>y)?</tool_call>");
  auto has = [](const std::vector<int32_t>& ids, int32_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };

  RegexConstraintOptions text_opts{{v.eos}, -1};
  text_opts.added_tokens_as_text = true;
  RegexConstraint c(trie, nfa, text_opts);
  auto ids = allowed_ids(c, std::vector<int32_t>{'x'}, v.bytes.size());
  EXPECT_TRUE(has(ids, arg_key) && has(ids, close) && has(ids, '<'));
  EXPECT_FALSE(has(ids, tool_call) || has(ids, v.eos) || has(ids, 'y'));
  ids = allowed_ids(c, std::vector<int32_t>{'x', arg_key}, v.bytes.size());
  EXPECT_EQ(ids, std::vector<int32_t>{'y'});  // the added token advanced the pattern by its text
  ids = allowed_ids(c, std::vector<int32_t>{'x', arg_key, 'y', close}, v.bytes.size());
  EXPECT_EQ(ids, std::vector<int32_t>{v.eos});
  EXPECT_TRUE(c.matched());

  RegexConstraint plain(trie, nfa, {{v.eos}, -1});
  ids = allowed_ids(plain, std::vector<int32_t>{'x'}, v.bytes.size());
  EXPECT_FALSE(has(ids, arg_key) || has(ids, close));
  EXPECT_TRUE(has(ids, '<'));  // the text can still be spelled byte by byte
  allowed_ids(plain, std::vector<int32_t>{'x', arg_key}, v.bytes.size());
  EXPECT_FALSE(plain.active());
}

}  // namespace
}  // namespace glm::sampling
