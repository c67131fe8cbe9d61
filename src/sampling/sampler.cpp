#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace glm::sampling {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kSamplingEps = 1e-6f;  // SGLang's _SAMPLING_EPS: temperatures below are greedy
constexpr size_t kFirstSortWindow = 256;

float clamp_logprob(double lp) {
  const double lowest = -static_cast<double>(std::numeric_limits<float>::max());
  if (!(lp > lowest)) return static_cast<float>(lowest);  // also catches NaN and -inf
  return static_cast<float>(lp);
}

}  // namespace

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

Sampler::Sampler(SamplingConfig config, size_t vocab_size)
    : config_(std::move(config)), vocab_size_(vocab_size), counts_(vocab_size, 0), probs_(vocab_size),
      order_(vocab_size) {
  if (vocab_size == 0) fail(ErrorKind::InvalidArgument, "sampler: vocabulary size is 0");
  if (!(config_.temperature >= 0.0f)) fail(ErrorKind::InvalidArgument, "temperature must be >= 0");
  if (!(config_.top_p > 0.0f && config_.top_p <= 1.0f)) fail(ErrorKind::InvalidArgument, "top_p must be in (0, 1]");
  if (!(config_.min_p >= 0.0f && config_.min_p <= 1.0f)) fail(ErrorKind::InvalidArgument, "min_p must be in [0, 1]");
  if (!(config_.repetition_penalty > 0.0f)) fail(ErrorKind::InvalidArgument, "repetition_penalty must be > 0");
  if (config_.seed) {
    rng_.seed(*config_.seed);
  } else {
    std::random_device rd;
    rng_.seed((static_cast<uint64_t>(rd()) << 32) ^ rd());
  }
}

void Sampler::set_logit_processor(std::shared_ptr<const LogitProcessor> processor, nlohmann::json custom_params) {
  processor_ = std::move(processor);
  custom_params_ = std::move(custom_params);
}

bool Sampler::is_greedy() const { return config_.temperature < kSamplingEps || config_.top_k == 1; }

void Sampler::update_counts(std::span<const int32_t> output_ids) {
  if (output_ids.size() < counted_) {
    for (int32_t id : seen_ids_) counts_[static_cast<size_t>(id)] = 0;
    seen_ids_.clear();
    counted_ = 0;
  }
  for (; counted_ < output_ids.size(); ++counted_) {
    int32_t id = output_ids[counted_];
    if (id < 0 || static_cast<size_t>(id) >= vocab_size_) continue;
    if (counts_[static_cast<size_t>(id)]++ == 0) seen_ids_.push_back(id);
  }
}

void Sampler::apply_penalties(std::span<float> logits, size_t output_len) const {
  const bool additive = config_.frequency_penalty != 0.0f || config_.presence_penalty != 0.0f;
  if (additive) {
    for (int32_t id : seen_ids_) {
      float& l = logits[static_cast<size_t>(id)];
      l -= config_.frequency_penalty * static_cast<float>(counts_[static_cast<size_t>(id)]);
      l -= config_.presence_penalty;
    }
  }
  if (output_len < static_cast<size_t>(std::max(config_.min_new_tokens, 0))) {
    for (int32_t id : config_.stop_token_ids)
      if (id >= 0 && static_cast<size_t>(id) < logits.size()) logits[static_cast<size_t>(id)] = kNegInf;
  }
  if (config_.repetition_penalty != 1.0f) {
    for (int32_t id : seen_ids_) {
      float& l = logits[static_cast<size_t>(id)];
      l = l < 0.0f ? l * config_.repetition_penalty : l / config_.repetition_penalty;
    }
  }
}

int32_t Sampler::draw(size_t candidates, double mass) {
  const double target = uniform01(rng_) * mass;
  double acc = 0.0;
  for (size_t i = 0; i < candidates; ++i) {
    acc += probs_[static_cast<size_t>(order_[i])];
    if (acc > target) return order_[i];
  }
  // Rounding left the target just past the accumulated mass: take the last candidate with mass.
  for (size_t i = candidates; i-- > 0;)
    if (probs_[static_cast<size_t>(order_[i])] > 0.0f) return order_[i];
  return order_[0];
}

int32_t Sampler::verify_draft(const DraftCheck& draft, size_t candidates, double mass) {
  for (int32_t d : draft.candidates()) {
    // p(d) over the renormalised candidate set (less the rejected siblings); 0 when top-k / top-p /
    // min-p removed d.
    float raw = 0.0f;
    size_t slot = candidates;
    for (size_t i = 0; i < candidates; ++i)
      if (order_[i] == d) {
        raw = probs_[static_cast<size_t>(d)];
        slot = i;
        break;
      }
    const double p = mass > 0.0 ? static_cast<double>(raw) / mass : 0.0;
    if (slot < candidates) {
      if (p >= static_cast<double>(draft.threshold_single)) return d;
      if (uniform01(rng_) * static_cast<double>(draft.threshold_acc) < p) return d;
      // Rejected: the residual distribution is p with d removed (max(p - q, 0) for a point-mass q).
      order_[slot] = order_[candidates - 1];
      --candidates;
      mass -= raw;
    }
    if (candidates == 0 || !(mass > 0.0)) return d;  // d held all the mass left: accepted above
  }
  // draw() looks at probs_ by id; the removed ids are simply no longer candidates.
  return draw(candidates, mass);
}

void Sampler::fill_top_logprobs(std::span<const float> source, bool source_is_logits, float log_norm, int n,
                                SampleResult& out) {
  // source holds logits (greedy: logprob = logit - log_norm) or probabilities (logprob = log p).
  // Called after the draw, so the candidate scratch is free to reuse.
  const size_t k = std::min(static_cast<size_t>(n), vocab_size_);
  std::vector<int32_t>& ids = order_;
  std::iota(ids.begin(), ids.end(), 0);
  auto better = [&](int32_t a, int32_t b) {
    float va = source[static_cast<size_t>(a)], vb = source[static_cast<size_t>(b)];
    if (std::isnan(va)) va = kNegInf;
    if (std::isnan(vb)) vb = kNegInf;
    return va > vb || (va == vb && a < b);
  };
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), better);
  out.top_logprobs.clear();
  for (size_t i = 0; i < k; ++i) {
    float v = source[static_cast<size_t>(ids[i])];
    double lp = source_is_logits ? static_cast<double>(v) - log_norm : std::log(static_cast<double>(v));
    out.top_logprobs.emplace_back(ids[i], clamp_logprob(lp));
  }
}

SampleResult Sampler::sample(std::span<float> logits, std::span<const int32_t> prompt_ids,
                             std::span<const int32_t> output_ids, bool want_logprob, int top_logprobs,
                             const DraftCheck& draft) {
  if (logits.size() != vocab_size_)
    fail(ErrorKind::Internal, "sampler: logits row has {} entries, vocabulary is {}", logits.size(), vocab_size_);
  update_counts(output_ids);
  apply_penalties(logits, output_ids.size());
  for (const auto& [id, bias] : config_.logit_bias)
    if (id >= 0 && static_cast<size_t>(id) < logits.size()) logits[static_cast<size_t>(id)] += bias;
  if (processor_) processor_->apply(logits, {prompt_ids, output_ids, &custom_params_});
  if (constraint_) constraint_->apply(logits, output_ids);

  SampleResult result;
  float max_logit = kNegInf;
  size_t argmax = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] > max_logit) {  // strict: ties keep the lowest id; NaN never wins
      max_logit = logits[i];
      argmax = i;
    }
  }
  if (max_logit == kNegInf) {
    // Everything masked: SGLang's sampler would produce NaN probabilities and fall back to argmax (0).
    result.token_id = static_cast<int32_t>(argmax);
    result.logprob = clamp_logprob(-INFINITY);
    return result;
  }

  if (is_greedy()) {
    result.token_id = static_cast<int32_t>(argmax);
    const auto c = draft.candidates();
    result.draft_accepted = std::find(c.begin(), c.end(), result.token_id) != c.end();
    if (want_logprob || top_logprobs > 0) {
      double sum = 0.0;
      for (float l : logits) sum += std::exp(static_cast<double>(l) - max_logit);
      const float log_norm = static_cast<float>(max_logit + std::log(sum));
      result.logprob = clamp_logprob(static_cast<double>(logits[argmax]) - log_norm);
      if (top_logprobs > 0) fill_top_logprobs(logits, true, log_norm, top_logprobs, result);
    }
    return result;
  }

  // probs = softmax(logits / T) over the whole vocabulary.
  const double inv_t = 1.0 / static_cast<double>(config_.temperature);
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    double e = std::exp((static_cast<double>(logits[i]) - max_logit) * inv_t);
    if (std::isnan(e)) e = 0.0;
    probs_[i] = static_cast<float>(e);
    sum += e;
  }
  const float inv_sum = static_cast<float>(1.0 / sum);
  for (float& p : probs_) p *= inv_sum;

  // Candidate set, best first where an order matters.
  auto better = [&](int32_t a, int32_t b) {
    float pa = probs_[static_cast<size_t>(a)], pb = probs_[static_cast<size_t>(b)];
    return pa > pb || (pa == pb && a < b);
  };
  std::iota(order_.begin(), order_.end(), 0);
  const size_t k = (config_.top_k > 0 && static_cast<size_t>(config_.top_k) < vocab_size_)
                       ? static_cast<size_t>(config_.top_k) : vocab_size_;
  size_t candidates = vocab_size_;
  if (k < vocab_size_ || config_.top_p < 1.0f) {
    // Partial selection: sort only a window of the best ids, growing it until top_p is decided.
    size_t window = std::min(k, kFirstSortWindow);
    while (true) {
      std::nth_element(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(window - 1), order_.end(), better);
      std::sort(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(window), better);
      double before = 0.0;
      size_t keep = window;
      bool decided = window == k;
      for (size_t i = 0; i < window; ++i) {
        if (before > static_cast<double>(config_.top_p)) {  // mass before this token exceeds top_p
          keep = i;
          decided = true;
          break;
        }
        before += probs_[static_cast<size_t>(order_[i])];
      }
      if (decided) {
        candidates = keep;
        break;
      }
      window = std::min(window * 2, k);
    }
  }
  if (config_.min_p > 0.0f) {
    // p_max is the best probability overall (the first candidate when sorted).
    float p_max = 0.0f;
    for (size_t i = 0; i < candidates; ++i) p_max = std::max(p_max, probs_[static_cast<size_t>(order_[i])]);
    const float threshold = p_max * config_.min_p;
    size_t kept = 0;
    for (size_t i = 0; i < candidates; ++i)
      if (probs_[static_cast<size_t>(order_[i])] >= threshold) order_[kept++] = order_[i];
    candidates = kept;
  }
  double mass = 0.0;
  for (size_t i = 0; i < candidates; ++i) mass += probs_[static_cast<size_t>(order_[i])];
  if (!draft.candidates().empty() && candidates > 0) {
    result.token_id = verify_draft(draft, candidates, mass);
    const auto c = draft.candidates();
    result.draft_accepted = std::find(c.begin(), c.end(), result.token_id) != c.end();
  } else {
    result.token_id = candidates > 0 ? draw(candidates, mass) : static_cast<int32_t>(argmax);
  }

  if (want_logprob || top_logprobs > 0) {
    result.logprob = clamp_logprob(std::log(static_cast<double>(probs_[static_cast<size_t>(result.token_id)])));
    if (top_logprobs > 0) fill_top_logprobs(probs_, false, 0.0f, top_logprobs, result);
  }
  return result;
}

}  // namespace glm::sampling
