// Output constraints with a real tokenizer (the fixture's byte-level BPE vocabulary): sampling at
// temperature 1 from random logits under response_format json_object always decodes to a JSON
// object; the mask matches a brute-force check over the vocabulary; per-step cost is printed.
// GLM_CONSTRAINT_TOKENIZER=<dir with tokenizer.json> measures another vocabulary (e.g. 151k).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/output_constraints.h"
#include "sampling/json_recognizer.h"
#include "sampling/sampler.h"

namespace glm {
namespace {

const std::string kModelDir = std::string(GLM_FIXTURES_DIR) + "/glm45-tiny";

struct Vocab {
  Tokenizer tok;
  int64_t vocab;
  std::vector<int32_t> eos;
};

Vocab load_vocab(const std::string& dir) {
  Tokenizer tok = Tokenizer::from_file(dir + "/tokenizer.json");
  std::vector<int32_t> eos = {1500, 1507, 1509};
  if (dir != kModelDir) eos = {tok.vocab_size() - 1};
  return {tok, tok.vocab_size(), eos};
}

TEST(OutputConstraints, NoConstraintWithoutSchemaOrChoices) {
  Vocab s = load_vocab(kModelDir);
  OutputConstraints oc(s.tok, s.vocab, s.eos, -1);
  EXPECT_EQ(oc.make(SamplingParams{}), nullptr);
  SamplingParams bad;
  bad.json_schema = "[1, 2]";
  EXPECT_THROW(oc.make(bad), GlmError);
  bad.json_schema = "{not json";
  EXPECT_THROW(oc.make(bad), GlmError);
}

TEST(OutputConstraints, SchemaTypeDecidesTheRoot) {
  using sampling::JsonRoot;
  EXPECT_EQ(json_schema_root(nlohmann::json::parse(R"({"type": "object"})")), JsonRoot::Object);
  EXPECT_EQ(json_schema_root(nlohmann::json::parse(R"({"type": "integer"})")), JsonRoot::Integer);
  EXPECT_EQ(json_schema_root(nlohmann::json::parse(R"({"type": ["string", "null"]})")), JsonRoot::Any);
  EXPECT_EQ(json_schema_root(nlohmann::json::parse(R"({"anyOf": []})")), JsonRoot::Any);
}

// Runs `steps` constrained samples (temperature 1, random logits), returns the decoded text and the
// mean microseconds of one apply().
std::pair<std::string, double> sample_json(const Vocab& s, OutputConstraints& oc, uint64_t seed, int steps,
                                           bool* finished) {
  SamplingParams sp;
  sp.json_schema = R"({"type": "object"})";
  auto constraint = oc.make(sp);
  std::mt19937 rng{static_cast<uint32_t>(seed)};
  std::normal_distribution<float> logit(0.0f, 1.0f);
  sampling::SamplingConfig cfg;
  cfg.seed = seed;
  sampling::Sampler sampler(cfg, size_t(s.vocab));
  std::vector<int32_t> out;
  std::vector<float> row(size_t(s.vocab));
  double total_us = 0;
  *finished = false;
  for (int i = 0; i < steps; ++i) {
    for (auto& x : row) x = logit(rng);
    for (int32_t e : s.eos) row[size_t(e)] += 3.0f;
    auto t0 = std::chrono::steady_clock::now();
    constraint->apply(row, out);
    total_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    int32_t t = sampler.sample(row, {}, out).token_id;
    if (std::find(s.eos.begin(), s.eos.end(), t) != s.eos.end()) {
      *finished = true;
      break;
    }
    out.push_back(t);
  }
  return {s.tok.decode(out, false), total_us / double(std::max<size_t>(out.size(), 1))};
}

TEST(OutputConstraints, JsonObjectSamplesDecodeToObjects) {
  Vocab s = load_vocab(kModelDir);
  OutputConstraints oc(s.tok, s.vocab, s.eos, -1);
  int finished_runs = 0;
  double us = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    bool finished = false;
    auto [text, step_us] = sample_json(s, oc, seed, 600, &finished);
    us += step_us;
    sampling::JsonRecognizer r(sampling::JsonRoot::Object);
    ASSERT_TRUE(r.feed(text)) << text;  // detokenized text is a valid prefix at every length
    if (finished) {
      ++finished_runs;
      ASSERT_TRUE(r.complete()) << text;
      if (nlohmann::json::accept(text)) {
        EXPECT_TRUE(nlohmann::json::parse(text).is_object()) << text;
      }
    }
  }
  EXPECT_GE(finished_runs, 10);
  std::printf("fixture vocab %lld: %.1f us per constrained step\n", static_cast<long long>(s.vocab), us / 20);
}

TEST(OutputConstraints, MaskMatchesBruteForceOnTheFixtureVocab) {
  Vocab s = load_vocab(kModelDir);
  OutputConstraints oc(s.tok, s.vocab, s.eos, -1);
  for (const char* prefix : {"", "{", "{\"ke", "{\"key\": ", "{\"key\": [1, tr", "{\"a\": \"x\\", "{\"a\": 1.5",
                             "{\"a\": {}}"}) {
    SamplingParams sp;
    sp.json_schema = R"({"type": "object"})";
    auto c = oc.make(sp);
    std::vector<int32_t> ids = s.tok.encode(prefix, false);
    std::vector<float> row(size_t(s.vocab), 0.0f);
    c->apply(row, ids);
    const std::string text = s.tok.decode(ids, false);
    for (int32_t id = 0; id < s.vocab; ++id) {
      bool expect;
      if (std::find(s.eos.begin(), s.eos.end(), id) != s.eos.end()) {
        sampling::JsonRecognizer r(sampling::JsonRoot::Object);
        expect = r.feed(text) && r.complete();
      } else if (s.tok.is_added_token(id) || !s.tok.token_bytes(id) || s.tok.token_bytes(id)->empty()) {
        expect = false;
      } else {
        sampling::JsonRecognizer r(sampling::JsonRoot::Object);
        expect = r.feed(text + *s.tok.token_bytes(id));
      }
      ASSERT_EQ(std::isfinite(row[size_t(id)]), expect) << "prefix " << prefix << " token " << id;
    }
  }
}

TEST(OutputConstraints, StepCostOnAnotherVocabulary) {
  const char* dir = std::getenv("GLM_CONSTRAINT_TOKENIZER");
  if (!dir) GTEST_SKIP() << "set GLM_CONSTRAINT_TOKENIZER to a model directory to measure";
  Vocab s = load_vocab(dir);
  OutputConstraints oc(s.tok, s.vocab, s.eos, -1);
  auto t0 = std::chrono::steady_clock::now();
  auto trie = oc.trie();
  double build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  double us = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    bool finished = false;
    us += sample_json(s, oc, seed, 300, &finished).second;
  }
  std::printf("vocab %lld (%zu trie nodes, built in %.0f ms): %.1f us per constrained step\n",
              static_cast<long long>(s.vocab), trie->node_count(), build_ms, us / 5);
  // Cost by state: the first apply after the given text (fresh constraint each time), best of 20.
  for (const char* prefix : {"", "{", "{\"name\": \"Par", "{\"name\": ", "{\"n\": 12", "{\"n\": [1, 2]", "{}"}) {
    double best = 1e9;
    std::vector<int32_t> ids = s.tok.encode(prefix, false);
    std::vector<float> row(size_t(s.vocab), 0.0f);
    for (int rep = 0; rep < 20; ++rep) {
      SamplingParams sp;
      sp.json_schema = R"({"type": "object"})";
      auto c = oc.make(sp);
      std::vector<int32_t> head(ids.begin(), ids.end());
      if (!head.empty()) {
        std::vector<int32_t> first(head.begin(), head.end() - 1);
        c->apply(row, first);  // consume all but the last token outside the timing
      }
      std::fill(row.begin(), row.end(), 0.0f);
      auto t0 = std::chrono::steady_clock::now();
      c->apply(row, head);
      best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("  after %-18s %7.1f us\n", nlohmann::json(prefix).dump().c_str(), best);
  }
}

}  // namespace
}  // namespace glm
