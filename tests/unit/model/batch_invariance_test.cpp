// The batched forward gives every sequence exactly the result it gets alone: linear() sums in an order
// that ignores the batch, attention reads only the sequence's own pages, and MoE accumulates each token's
// experts in ascending expert order. So these comparisons are bitwise, not within a tolerance. Every test
// runs for each KV cache dtype (K/V are rounded when written and read back from the cache only).
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "model_fixture.h"

namespace glm::test {
namespace {

const char* kModel = "glm45-tiny";  // qk-norm, group-limited routing, MTP

bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

class BatchInvariance : public ::testing::TestWithParam<KvDType> {
 protected:
  void SetUp() override {
    if (!fixture_exists(kModel)) GTEST_SKIP() << "fixture not generated";
    lm_ = &loaded(kModel);
  }
  Glm4MoeModel& model() { return *lm_->model; }
  std::unique_ptr<KvPagePool> make_pool(int64_t n_pages, int64_t page_size = 16) {
    return model().make_kv_pool(n_pages, page_size, GetParam());
  }
  std::vector<int32_t> prompt(int p) { return lm_->ref->ints(fmt::format("p{}.input_ids", p)); }
  LoadedModel* lm_ = nullptr;
};

TEST_P(BatchInvariance, BatchedPrefillEqualsSinglePrefill) {
  const int64_t V = model().config().vocab_size, H = model().config().hidden_size;
  auto pool = make_pool(128);
  std::vector<std::vector<int32_t>> prompts{prompt(2), prompt(0), prompt(4), prompt(1)};
  std::vector<PrefillOutput> alone;
  for (auto& p : prompts) {
    KvSequence s;
    alone.push_back(prefill(model(), *pool, s, p));
    s.release(*pool);
  }
  std::vector<KvSequence> seqs(prompts.size());
  std::vector<SequenceInput> batch;
  for (size_t i = 0; i < prompts.size(); ++i) batch.push_back({prompts[i], 0, &seqs[i], true});
  ForwardResult r = model().forward(batch, *pool);
  int64_t row = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const size_t n = prompts[i].size();
    EXPECT_TRUE(same_bits(r.logits + row * V, alone[i].logits.data(), n * V)) << "sequence " << i << " logits";
    EXPECT_TRUE(same_bits(r.hidden + row * H, alone[i].hidden.data(), n * H)) << "sequence " << i << " hidden";
    row += int64_t(n);
  }
  for (auto& s : seqs) s.release(*pool);
}

TEST_P(BatchInvariance, ChunkedPrefillEqualsOneShot) {
  const int64_t V = model().config().vocab_size;
  auto pool = make_pool(64, 8);
  auto ids = prompt(3);
  KvSequence one;
  PrefillOutput ref = prefill(model(), *pool, one, ids);
  KvSequence chunked;
  const size_t chunk = 37;  // not a multiple of the page size
  for (size_t s = 0; s < ids.size(); s += chunk) {
    std::vector<int32_t> part(ids.begin() + s, ids.begin() + std::min(ids.size(), s + chunk));
    SequenceInput in{part, int64_t(s), &chunked, true};
    ForwardResult r = model().forward(std::span<const SequenceInput>(&in, 1), *pool);
    EXPECT_TRUE(same_bits(r.logits, ref.logits.data() + s * V, part.size() * V)) << "chunk at " << s;
  }
  EXPECT_EQ(chunked.length(), int64_t(ids.size()));
}

// Decode steps of two sequences batched with a prefill of a third give the same tokens as alone.
TEST_P(BatchInvariance, MixedDecodeAndPrefill) {
  const int64_t V = model().config().vocab_size;
  auto pool = make_pool(128);
  auto a = prompt(2), b = prompt(4), c = prompt(1);
  auto greedy_alone = [&](const std::vector<int32_t>& ids, int steps) {
    KvSequence s;
    std::vector<int32_t> out, step = ids;
    int64_t pos = 0;
    for (int i = 0; i < steps; ++i) {
      SequenceInput in{step, pos, &s, false};
      ForwardResult r = model().forward(std::span<const SequenceInput>(&in, 1), *pool);
      pos += int64_t(step.size());
      out.push_back(argmax(r.logits, V));
      step.assign(1, out.back());
    }
    s.release(*pool);
    return out;
  };
  const int steps = 6;
  auto ga = greedy_alone(a, steps), gb = greedy_alone(b, steps);
  KvSequence sa, sb;
  std::vector<SequenceInput> first{{a, 0, &sa, false}, {b, 0, &sb, false}};
  ForwardResult r = model().forward(first, *pool);
  std::vector<int32_t> ta{argmax(r.logits, V)}, tb{argmax(r.logits + V, V)};
  for (int i = 1; i < steps; ++i) {
    KvSequence sc;  // a new prefill joins every step
    std::vector<int32_t> la{ta.back()}, lb{tb.back()};
    std::vector<SequenceInput> batch{{la, sa.length(), &sa, false}, {c, 0, &sc, false}, {lb, sb.length(), &sb, false}};
    ForwardResult rr = model().forward(batch, *pool);
    ta.push_back(argmax(rr.logits, V));
    tb.push_back(argmax(rr.logits + 2 * V, V));
    sc.release(*pool);
  }
  EXPECT_EQ(ta, ga);
  EXPECT_EQ(tb, gb);
  sa.release(*pool);
  sb.release(*pool);
}

// Re-running from an earlier position (rejected speculative tokens) overwrites the cache correctly.
TEST_P(BatchInvariance, RewindOverwritesCache) {
  const int64_t V = model().config().vocab_size;
  auto pool = make_pool(64);
  auto ids = prompt(2);
  KvSequence s;
  PrefillOutput ref = prefill(model(), *pool, s, ids);
  std::vector<int32_t> junk{5, 6, 7};
  SequenceInput j{junk, int64_t(ids.size()), &s, false};
  model().forward(std::span<const SequenceInput>(&j, 1), *pool);
  // rewind to 10 and redo the rest of the prompt
  std::vector<int32_t> rest(ids.begin() + 10, ids.end());
  SequenceInput in{rest, 10, &s, true};
  ForwardResult r = model().forward(std::span<const SequenceInput>(&in, 1), *pool);
  EXPECT_TRUE(same_bits(r.logits, ref.logits.data() + 10 * V, rest.size() * V));
  EXPECT_EQ(s.length(), int64_t(ids.size()));
}

// Two compute threads give the same bits as one (static partitions; each output element summed by one thread).
TEST_P(BatchInvariance, ThreadCountDoesNotChangeResults) {
  const int64_t V = model().config().vocab_size;
  ThreadPool two(2, false);
  // Give the worker time to start before the first region (see the report on ThreadPool start-up).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  LoadOptions opt;
  opt.max_batch_tokens = 512;
  auto m2 = Glm4MoeModel::load(model_dir(kModel), two, opt);
  auto ids = prompt(3);
  auto p1 = make_pool(64), p2 = m2->make_kv_pool(64, 16, GetParam());
  KvSequence s1, s2;
  PrefillOutput a = prefill(model(), *p1, s1, ids), b = prefill(*m2, *p2, s2, ids);
  EXPECT_TRUE(same_bits(a.logits.data(), b.logits.data(), ids.size() * V));
  EXPECT_TRUE(same_bits(a.hidden.data(), b.hidden.data(), a.hidden.size()));
}

TEST_P(BatchInvariance, BadInputsAreErrors) {
  auto pool = make_pool(4, 4);
  KvSequence s;
  std::vector<int32_t> bad{int32_t(model().config().vocab_size)};
  SequenceInput in{bad, 0, &s, false};
  EXPECT_THROW(model().forward(std::span<const SequenceInput>(&in, 1), *pool), GlmError);
  std::vector<int32_t> ok{1, 2};
  SequenceInput gap{ok, 5, &s, false};  // cache holds 0 positions
  EXPECT_THROW(model().forward(std::span<const SequenceInput>(&gap, 1), *pool), GlmError);
  std::vector<int32_t> too_long(17, 1);  // 4 pages of 4 tokens
  SequenceInput full{too_long, 0, &s, false};
  try {
    model().forward(std::span<const SequenceInput>(&full, 1), *pool);
    ADD_FAILURE() << "expected a full-cache error";
  } catch (const GlmError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unavailable);
  }
}

INSTANTIATE_TEST_SUITE_P(KvDtypes, BatchInvariance,
                         ::testing::Values(KvDType::BF16, KvDType::FP8_E4M3, KvDType::FP8_E5M2, KvDType::F32),
                         [](const auto& info) { return std::string(kv_dtype_name(info.param)); });

}  // namespace
}  // namespace glm::test
