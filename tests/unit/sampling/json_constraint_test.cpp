// JSON recognizer (valid / invalid prefixes, escapes, numbers, nesting, top-level types, against
// nlohmann::json::accept as the oracle for whole documents), the token trie, and the JSON and
// prefix-choice constraints on a small byte-level vocabulary: every sampled output is valid JSON.
#include <chrono>
#include <cmath>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sampling/json_constraint.h"
#include "sampling/json_recognizer.h"
#include "sampling/prefix_constraint.h"
#include "sampling/sampler.h"
#include "sampling/token_trie.h"
#include "small_vocab.h"

namespace glm::sampling {
namespace {

bool prefix_ok(std::string_view s, JsonRoot root = JsonRoot::Any) {
  JsonRecognizer r(root);
  return r.feed(s);
}

bool whole_ok(std::string_view s, JsonRoot root = JsonRoot::Any) {
  JsonRecognizer r(root);
  return r.feed(s) && r.complete();
}

TEST(JsonRecognizer, AcceptsValidPrefixes) {
  for (const char* s : {"", " ", "\n\t {", "{\"a\"", "{\"a\" :", "{\"a\": [1, 2", "[tr", "[true, fal", "nu",
                        "\"abc", "\"a\\", "\"a\\u00", "\"\\uD83D\\uDE0", "-", "-0.", "1e", "1e+", "[1.5E-3",
                        "{\"k\": {\"n\": [[], {}], \"s\": \"x\"}", "{\"a\":1,", "[ ] ", "\"é"})
    EXPECT_TRUE(prefix_ok(s)) << s;
}

TEST(JsonRecognizer, RejectsInvalidPrefixes) {
  for (const char* s : {"}", "]", "{]", "[}", "{a", "{\"a\" 1", "{\"a\":}", "[1,]", "[,", "{,", "{\"a\":1,}",
                        "01", "-a", "1.e", "1.5.", "1e5e", "+1", ".5", "tru e", "nulll", "truex", "\"\\x",
                        "\"\\u12G", "\"a\nb\"", "\"\t\"", "{} {}", "1 2", "[1 2]", "\"a\" x", "NaN", "Infinity",
                        "{\"a\":1}}", "'a'"})
    EXPECT_FALSE(prefix_ok(s)) << s;
}

TEST(JsonRecognizer, CompleteOnlyForWholeValues) {
  for (const char* s : {"{}", " {\"a\": 1}\n", "[1, -2.5e10, true, false, null, \"x\"]", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
                        "\"\\u00e9\\uD83D\\uDE00\"", "0", "-0", "12", "1.25", "1E9", "true", "null"})
    EXPECT_TRUE(whole_ok(s)) << s;
  for (const char* s : {"", " ", "{", "{\"a\"", "{\"a\":", "[1", "\"x", "-", "1.", "1e", "1e-", "tru", "[]]"})
    EXPECT_FALSE(whole_ok(s)) << s;
}

TEST(JsonRecognizer, TopLevelTypeFromTheSchema) {
  EXPECT_TRUE(whole_ok("{\"a\": [1]}", JsonRoot::Object));
  EXPECT_FALSE(prefix_ok("[", JsonRoot::Object));
  EXPECT_FALSE(prefix_ok("\"", JsonRoot::Object));
  EXPECT_FALSE(prefix_ok("1", JsonRoot::Object));
  EXPECT_TRUE(prefix_ok("  {", JsonRoot::Object));  // leading whitespace is allowed
  EXPECT_TRUE(whole_ok("[{}]", JsonRoot::Array));
  EXPECT_TRUE(whole_ok("-12", JsonRoot::Integer));
  EXPECT_FALSE(prefix_ok("1.5", JsonRoot::Integer));
  EXPECT_FALSE(prefix_ok("1e3", JsonRoot::Integer));
  EXPECT_TRUE(whole_ok("1.5", JsonRoot::Number));
  EXPECT_TRUE(whole_ok("false", JsonRoot::Boolean));
  EXPECT_FALSE(prefix_ok("n", JsonRoot::Boolean));
  EXPECT_TRUE(whole_ok("null", JsonRoot::Null));
  EXPECT_TRUE(whole_ok("\"s\"", JsonRoot::String));
  EXPECT_TRUE(whole_ok("[1.5]", JsonRoot::Integer) == false);
  // Nested values are free whatever the root type is.
  EXPECT_TRUE(whole_ok("{\"a\": 1.5e3}", JsonRoot::Object));
}

TEST(JsonRecognizer, NestingDepthIsBounded) {
  JsonRecognizer r;
  for (int i = 0; i < JsonRecognizer::kMaxDepth; ++i) ASSERT_TRUE(r.feed('['));
  JsonRecognizer more = r;
  EXPECT_FALSE(more.feed('['));
  EXPECT_FALSE(JsonRecognizer(r).feed('{'));
  for (int i = 0; i < JsonRecognizer::kMaxDepth; ++i) ASSERT_TRUE(r.feed(']'));
  EXPECT_TRUE(r.complete());
}

TEST(JsonRecognizer, WhitespaceRunsAreBoundedOutsideStrings) {
  const std::string run(JsonRecognizer::kDefaultWhitespaceRun, ' ');
  EXPECT_TRUE(prefix_ok(run + "{" + run + "\"a\"" + run + ":" + run + "1" + run + "}" + run));
  EXPECT_FALSE(prefix_ok(run + " "));
  EXPECT_FALSE(prefix_ok("[1" + run + "\n"));
  EXPECT_FALSE(prefix_ok("{}" + run + "\t"));
  EXPECT_TRUE(prefix_ok("\"" + run + run + run + "\""));  // inside a string anything goes
  EXPECT_TRUE(prefix_ok(std::string(100, ' '), JsonRoot::Any) == false);
  JsonRecognizer wide(JsonRoot::Any, 200);
  EXPECT_TRUE(wide.feed(std::string(100, '\n')));
}

TEST(JsonRecognizer, MixedObjectArrayStackAcrossWords) {
  // 100 levels alternate object / array so the stack spans both 64-bit words.
  std::string open, close;
  for (int i = 0; i < 100; ++i) {
    if (i % 2 == 0) {
      open += "{\"k\":";
      close = "}" + close;
    } else {
      open += "[";
      close = "]" + close;
    }
  }
  std::string doc = open + "1" + close;
  EXPECT_TRUE(whole_ok(doc));
  EXPECT_TRUE(nlohmann::json::accept(doc));
  std::string wrong = doc;
  std::swap(wrong[wrong.size() - 1], wrong[wrong.size() - 2]);  // "]}" where "}]" was expected or reverse
  EXPECT_FALSE(whole_ok(wrong));
}

// Random strings over JSON's alphabet (and UTF-8: whole characters, stray, truncated, overlong and surrogate
// sequences), and random mutations of valid documents: the recognizer says "complete" exactly when nlohmann
// (strict RFC 8259, well-formed UTF-8 in strings) parses the text.
TEST(JsonRecognizer, AgreesWithNlohmannOnWholeDocuments) {
  std::vector<std::string> alphabet;
  for (char c : std::string("{}[]\":,0123456789-+.eEtrufalsn \n\\/bu\"xA")) alphabet.push_back(std::string(1, c));
  for (const char* u : {"\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\x80", "\xc3", "\xe6\x97", "\xc0\xaf",
                        "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff"})
    alphabet.push_back(u);
  const std::vector<std::string> docs = {
      R"({"a": [1, 2.5, -3e2, true, false, null], "b": {"c": "d\"\\\n"}})", R"([[], {}, "", 0, -0.0])",
      R"({"unicode": "\u00e9\u4e2d", "nested": [[[{"x": [1E+2]}]]]})", R"("plain")", "123", "null"};
  std::mt19937 rng(42);
  int agreed = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    if (round % 2 == 0) {
      size_t n = rng() % 12;
      for (size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
      if (round % 4 == 0) s = "[\"" + s + "\"]";  // inside a string, where UTF-8 matters
    } else {
      s = docs[rng() % docs.size()];
      int edits = 1 + int(rng() % 3);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t pos = rng() % s.size();
        switch (rng() % 3) {
          case 0: s.erase(pos, 1); break;
          case 1: s.insert(pos, alphabet[rng() % alphabet.size()]); break;
          default: s.replace(pos, 1, alphabet[rng() % alphabet.size()]); break;
        }
      }
    }
    bool ours = whole_ok(s);
    bool theirs = nlohmann::json::accept(s);
    ASSERT_EQ(ours, theirs) << nlohmann::json(s).dump();
    // Every prefix of a valid document is a valid prefix.
    if (theirs) {
      for (size_t k = 0; k <= s.size(); ++k) ASSERT_TRUE(prefix_ok(std::string_view(s).substr(0, k))) << s;
    }
    ++agreed;
  }
  EXPECT_EQ(agreed, 20000);
}

// Python's json.loads reads 1e999 as inf; nlohmann rejects it. Outside strings, exponents become
// "e0" so that nlohmann can be the oracle for the structure.
std::string tame_exponents(const std::string& s) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < s.size()) out += s[++i];
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if ((c == 'e' || c == 'E') && !out.empty() && out.back() >= '0' && out.back() <= '9') {
      out += "e0";
      if (i + 1 < s.size() && (s[i + 1] == '+' || s[i + 1] == '-')) ++i;
      while (i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') ++i;
    } else {
      out += c;
    }
  }
  return out;
}

TEST(TokenTrie, SubtreesAreContiguousRanges) {
  Vocab v = small_vocab();
  auto trie = trie_of(v);
  EXPECT_EQ(trie->sorted().size(), v.bytes.size() - 1);  // the padding id has no bytes
  // Walk to "get": its subtree holds exactly the tokens starting with "get".
  const TokenTrie::Node* n = &trie->root();
  for (char c : std::string("get")) {
    const TokenTrie::Node* next = nullptr;
    for (const auto& ch : trie->children(*n))
      if (ch.byte == uint8_t(c)) next = &ch;
    ASSERT_NE(next, nullptr);
    n = next;
  }
  std::set<std::string> got;
  for (uint32_t i = n->lo; i < n->hi; ++i) got.insert(trie->bytes(trie->sorted()[i]));
  EXPECT_EQ(got, (std::set<std::string>{"get", "get_weather", "get_time"}));
  EXPECT_EQ(n->ends, 1u);
  EXPECT_TRUE(n->plain_below);
}


// Brute force: token t is allowed iff text + bytes(t) is a valid prefix (and t is no added token),
// EOS iff the text is complete.
TEST(JsonConstraint, MaskEqualsBruteForceAtEveryStep) {
  Vocab v = small_vocab();
  auto trie = trie_of(v);
  std::mt19937 rng(3);
  for (int run = 0; run < 30; ++run) {
    JsonConstraint c(trie, {JsonRoot::Object, nullptr, {v.eos}, -1});
    std::vector<int32_t> out;
    std::string text;
    for (int step = 0; step < 60; ++step) {
      auto ids = allowed_ids(c, out, v.bytes.size());
      std::vector<int32_t> expect;
      for (size_t id = 0; id < v.bytes.size(); ++id) {
        const int32_t i = int32_t(id);
        if (i == v.eos) {
          if (whole_ok(text, JsonRoot::Object)) expect.push_back(i);
          continue;
        }
        if (!v.bytes[id] || std::find(v.added.begin(), v.added.end(), i) != v.added.end()) continue;
        if (prefix_ok(text + *v.bytes[id], JsonRoot::Object)) expect.push_back(i);
      }
      ASSERT_EQ(ids, expect) << "after " << nlohmann::json(text).dump();
      ASSERT_FALSE(ids.empty());
      const int32_t pick = ids[rng() % ids.size()];
      if (pick == v.eos) break;
      out.push_back(pick);
      text += *v.bytes[size_t(pick)];
    }
  }
}

// Sampling at temperature 1 with random logits: the output always parses once EOS is picked.
TEST(JsonConstraint, SampledOutputsParse) {
  Vocab v = small_vocab();
  auto trie = trie_of(v);
  int finished = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    SamplingConfig cfg;
    cfg.seed = seed;
    cfg.stop_token_ids = {v.eos};
    Sampler sampler(cfg, v.bytes.size());
    sampler.set_constraint(std::make_unique<JsonConstraint>(trie, JsonConstraintOptions{JsonRoot::Object, nullptr, {v.eos}, -1}));
    std::mt19937 rng{static_cast<uint32_t>(seed)};
    std::normal_distribution<float> logit(0.0f, 2.0f);
    std::vector<int32_t> out;
    std::string text;
    for (int step = 0; step < 400; ++step) {
      std::vector<float> row(v.bytes.size());
      for (auto& x : row) x = logit(rng);
      row[size_t(v.eos)] += 4.0f;  // like a model that wants to stop: EOS must still wait for the '}'
      int32_t t = sampler.sample(row, {}, out).token_id;
      if (t == v.eos) {
        const std::string shown = tame_exponents(text);  // the raw bytes: strings are well-formed UTF-8
        nlohmann::json doc;
        try {
          doc = nlohmann::json::parse(shown);
        } catch (const std::exception& e) {
          FAIL() << e.what() << nlohmann::json(shown).dump();
        }
        ASSERT_TRUE(doc.is_object());
        ++finished;
        break;
      }
      out.push_back(t);
      text += *v.bytes[size_t(t)];
      ASSERT_TRUE(prefix_ok(text, JsonRoot::Object)) << text;
    }
  }
  EXPECT_GT(finished, 20);
}

TEST(JsonConstraint, WaitsForTheStartTokenAndToleratesForcedGarbage) {
  Vocab v = small_vocab();
  auto trie = trie_of(v);
  int32_t think_end = -1, x = 'x';
  for (size_t id = 0; id < v.bytes.size(); ++id)
    if (v.bytes[id] == std::optional<std::string>("</think>")) think_end = int32_t(id);
  JsonConstraint c(trie, {JsonRoot::Object, nullptr, {v.eos}, think_end});
  std::vector<int32_t> out = {x, x};
  EXPECT_EQ(allowed_ids(c, out, v.bytes.size()).size(), v.bytes.size());  // still reasoning: free
  out.push_back(think_end);
  auto ids = allowed_ids(c, out, v.bytes.size());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), int32_t('{')) != ids.end());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), x) == ids.end());
  EXPECT_TRUE(c.active());
  out.push_back(x);  // forced by something else: the constraint steps aside instead of failing
  EXPECT_EQ(allowed_ids(c, out, v.bytes.size()).size(), v.bytes.size());
  EXPECT_FALSE(c.active());
  out.resize(3);  // a shorter history restarts it
  EXPECT_LT(allowed_ids(c, out, v.bytes.size()).size(), 100u);
}

TEST(JsonConstraint, ConstraintWinsOverAFullyMaskedRow) {
  Vocab v = small_vocab();
  JsonConstraint c(trie_of(v), {JsonRoot::Object, nullptr, {v.eos}, -1});
  std::vector<float> row(v.bytes.size(), -INFINITY);
  row[size_t('x')] = 1.0f;  // the only finite logit is not allowed
  c.apply(row, {});
  EXPECT_EQ(row[size_t('{')], 0.0f);
  EXPECT_TRUE(std::isinf(row[size_t('x')]));
}

std::string text_of(const Vocab& v, const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += *v.bytes[size_t(id)];
  return s;
}

TEST(PrefixChoiceConstraint, OnlyAllowedNamesThenFree) {
  Vocab v = small_vocab();
  auto trie = trie_of(v);
  const std::vector<std::string> choices = {"get_weather\n", "get_time\n"};
  std::mt19937 rng(11);
  for (int run = 0; run < 200; ++run) {
    PrefixChoiceConstraint c(trie, choices);
    std::vector<int32_t> out;
    for (int step = 0; step < 20; ++step) {
      auto ids = allowed_ids(c, out, v.bytes.size());
      ASSERT_FALSE(ids.empty());
      std::string text = text_of(v, out);
      bool done = text.rfind("get_weather\n", 0) == 0 || text.rfind("get_time\n", 0) == 0;
      if (done) {
        EXPECT_EQ(ids.size(), v.bytes.size());
        break;
      }
      for (int32_t id : ids) {
        std::string t = text + *v.bytes[size_t(id)];
        bool ok = false;
        for (const auto& ch : choices)
          ok = ok || ch.rfind(t, 0) == 0 || t.rfind(ch, 0) == 0;
        ASSERT_TRUE(ok) << nlohmann::json(t).dump();
      }
      out.push_back(ids[rng() % ids.size()]);
    }
    std::string text = text_of(v, out);
    EXPECT_TRUE(text.rfind("get_weather\n", 0) == 0 || text.rfind("get_time\n", 0) == 0) << text;
  }
}

TEST(PrefixChoiceConstraint, AddedTokensCountWithTheirText) {
  Vocab v = small_vocab();
  PrefixChoiceConstraint c(trie_of(v), {"get<arg_key>", "get</tool_call>"});
  int32_t get = -1, arg_key = -1, end_call = -1;
  for (size_t id = 0; id < v.bytes.size(); ++id) {
    if (v.bytes[id] == std::optional<std::string>("get")) get = int32_t(id);
    if (v.bytes[id] == std::optional<std::string>("<arg_key>")) arg_key = int32_t(id);
    if (v.bytes[id] == std::optional<std::string>("</tool_call>")) end_call = int32_t(id);
  }
  std::vector<int32_t> out = {get};
  auto ids = allowed_ids(c, out, v.bytes.size());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), arg_key) != ids.end());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), end_call) != ids.end());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), int32_t('<')) != ids.end());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), int32_t('_')) == ids.end());
}

}  // namespace
}  // namespace glm::sampling
