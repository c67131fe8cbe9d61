#include "engine/spec_depth.h"

#include <algorithm>
#include <iterator>

namespace glm {

namespace {

constexpr double kEma = 0.2;       // weight of a new timing
constexpr double kDecay = 0.995;   // per recorded round: acceptance adapts over a few hundred rounds
constexpr int kExploreEvery = 16;
constexpr int kExploreMax = 128;

// EMA that one preempted or cache-cold sample cannot swing: a new sample counts at most at twice (or half)
// the current value.
void robust_ema(double& value, double sample) {
  value = (1 - kEma) * value + kEma * std::clamp(sample, 0.5 * value, 2.0 * value);
}

void ema(std::map<int64_t, double>& table, int64_t n, double seconds) {
  if (n <= 0 || !(seconds > 0)) return;
  auto [it, fresh] = table.emplace(n, seconds);
  if (!fresh) robust_ema(it->second, seconds);
}

}  // namespace

void SpecDepthPolicy::record_target(int64_t n_tokens, double seconds) { ema(target_s_, n_tokens, seconds); }
void SpecDepthPolicy::record_draft(int64_t n_tokens, double seconds) { ema(draft_s_, n_tokens, seconds); }

void SpecDepthPolicy::record_round(int depth, int accepted) {
  for (auto* v : {&tries_, &hits_})
    for (double& x : *v) x *= kDecay;
  depth = std::min(depth, max_depth_);
  // Draft j was verified only when drafts 1..j-1 were all accepted.
  for (int j = 1; j <= depth && j <= accepted + 1; ++j) {
    tries_[size_t(j)] += 1;
    if (j <= accepted) hits_[size_t(j)] += 1;
  }
}

double SpecDepthPolicy::alpha(int j) const {
  // Depths never tried borrow the deepest measured rate (or the prior 1/2 when nothing is measured).
  int k = j;
  while (k > 1 && tries_[size_t(k)] < 1.0) --k;
  return (hits_[size_t(k)] + 1.0) / (tries_[size_t(k)] + 2.0);
}

double SpecDepthPolicy::expected_tokens(int depth) const {
  double e = 1.0, run = 1.0;
  for (int j = 1; j <= depth; ++j) e += run *= alpha(j);
  return e;
}

double SpecDepthPolicy::cost_at(const std::map<int64_t, double>& table, int64_t n) {
  if (table.empty()) return double(n);  // uncalibrated: cost proportional to tokens (never speculates)
  auto hi = table.lower_bound(n);
  if (hi != table.end() && hi->first == n) return hi->second;
  if (hi == table.begin()) return hi->second * double(n) / double(hi->first);
  auto lo = std::prev(hi);
  if (hi == table.end()) return lo->second * double(n) / double(lo->first);
  const double f = double(n - lo->first) / double(hi->first - lo->first);
  return lo->second + f * (hi->second - lo->second);
}

int SpecDepthPolicy::batch_class(int batch) {
  int c = 0;
  while (batch > 1) {
    batch >>= 1;
    ++c;
  }
  return c;
}

void SpecDepthPolicy::record_iteration(int depth, int batch, double seconds) {
  const double model = model_cost(depth, batch);
  if (!(model > 0) || !(seconds > 0)) return;
  Overhead& o = overhead_[{batch_class(batch), depth}];
  if (o.samples++ == 0)
    o.factor = seconds / model;
  else
    robust_ema(o.factor, seconds / model);
}

double SpecDepthPolicy::round_cost(int depth, int batch) const {
  // A depth measured fewer than 4 times borrows the overhead of the most measured depth of its class.
  auto it = overhead_.find({batch_class(batch), depth});
  if (it == overhead_.end() || it->second.samples < 4) {
    auto best = overhead_.end();
    for (auto o = overhead_.begin(); o != overhead_.end(); ++o)
      if (o->first.first == batch_class(batch) && (best == overhead_.end() || o->second.samples > best->second.samples))
        best = o;
    it = best;
  }
  return model_cost(depth, batch) * (it == overhead_.end() ? 1.0 : it->second.factor);
}

double SpecDepthPolicy::model_cost(int depth, int batch) const {
  const int64_t b = std::max(batch, 1);
  // A drafting round runs k - 1 chain steps and one draft-extend; plain rounds defer the extend.
  const double draft = cost_at(draft_s_, b) * double(depth);
  return cost_at(target_s_, b * (depth + 1)) + draft;
}

int SpecDepthPolicy::best_depth(int batch) const {
  int best = 0;
  double best_rate = 0;
  for (int k = 0; k <= max_depth_; ++k) {
    const double rate = expected_tokens(k) / round_cost(k, batch);
    if (rate > best_rate * 1.0001) {  // ties go to the shallower (cheaper, less variance) depth
      best_rate = rate;
      best = k;
    }
  }
  return best;
}

int SpecDepthPolicy::choose(int batch) {
  const int k = best_depth(batch);
  probe_from_plain_ = false;
  if (++since_probe_ < probe_every_) return k;
  since_probe_ = 0;
  probe_from_plain_ = k == 0 && max_depth_ > 0;
  probe_every_ = k > 0 ? kExploreEvery : std::min(probe_every_ * 2, kExploreMax);
  // Probes alternate deeper and shallower than the best, so the costs of both neighbours stay current.
  if (k > 0 && (shallow_probe_ = !shallow_probe_)) return k - 1;
  return std::min(k + 1, max_depth_);
}

}  // namespace glm
