#pragma once
// Loads each fixture model once per test binary and runs the common single-sequence helpers.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/glm4_moe.h"
#include "model/nextn.h"
#include "reference_data.h"

namespace glm::test {

// One compute thread: the comparisons do not depend on it (linear() and attention are thread-count
// invariant, checked separately), and a single thread keeps the shared build machine free.
inline ThreadPool& test_pool() {
  static ThreadPool pool(1, false);
  return pool;
}

struct LoadedModel {
  std::unique_ptr<Glm4MoeModel> model;
  std::unique_ptr<ReferenceData> ref;
};

// expand_f32: every projection as a float32 copy (linear() then keeps float32 activations).
inline LoadedModel& loaded(const std::string& name, bool expand_f32 = false) {
  static std::map<std::string, LoadedModel> cache;
  const std::string key = name + (expand_f32 ? "/f32" : "");
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  LoadedModel m;
  LoadOptions opt;
  opt.max_batch_tokens = 512;
  opt.expand_weights_to_f32 = expand_f32;
  m.model = Glm4MoeModel::load(model_dir(name), test_pool(), opt);
  m.ref = std::make_unique<ReferenceData>(name);
  return cache.emplace(key, std::move(m)).first->second;
}

// Runs `tokens` as one prefill on a fresh cache; returns all logits (T, V) and final hidden (T, H).
struct PrefillOutput {
  std::vector<float> logits, hidden;
};
inline PrefillOutput prefill(Glm4MoeModel& m, KvPagePool& pool, KvSequence& seq, const std::vector<int32_t>& tokens,
                             const ForwardOptions& opt = {}) {
  SequenceInput in{tokens, 0, &seq, true};
  ForwardResult r = m.forward(std::span<const SequenceInput>(&in, 1), pool, opt);
  const int64_t V = m.config().vocab_size, H = m.config().hidden_size;
  return {std::vector<float>(r.logits, r.logits + r.n_logit_rows * V),
          std::vector<float>(r.hidden, r.hidden + r.n_tokens * H)};
}

inline const std::vector<std::string>& fixture_models() {
  static const std::vector<std::string> names{"glm45-tiny", "glm45air-tiny-fp8", "glm-tiny-fp8-channel",
                                              "glm-odd-tiny"};
  return names;
}

}  // namespace glm::test
