#include "engine/spec_depth.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>

#include "core/log.h"

namespace glm {

namespace {

constexpr double kEma = 0.2;       // weight of a new timing
constexpr double kDecay = 0.995;   // per recorded round: acceptance adapts over a few hundred rounds
constexpr int kExploreEvery = 16;
constexpr int kExploreMax = 128;
constexpr int kExploreHopeless = 1024;  // no acceptance could make drafting pay at the measured costs
constexpr int64_t kMeasuredSamples = 2;
constexpr int kCostProbes = 4;  // back-to-back whole-batch probes (they need not be recorded: partial batches)  // a ratio timed this often no longer needs whole-batch probes

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

double SpecDepthPolicy::model_cost(int depth, int batch) const {
  const int64_t b = std::max(batch, 1);
  // A drafting round runs k - 1 chain steps and one draft-extend; plain rounds defer the extend.
  const double draft = depth > 0 ? cost_at(draft_s_, b) * double(depth) : 0.0;
  return cost_at(target_s_, b * (depth + 1)) + draft;
}

double SpecDepthPolicy::plain_seconds(int batch) const {
  return plain_s_.empty() ? model_cost(0, batch) : cost_at(plain_s_, std::max(batch, 1));
}

bool SpecDepthPolicy::plain_measured(int batch) const {
  auto it = plain_s_.lower_bound(int64_t(1) << batch_class(batch));
  return it != plain_s_.end() && batch_class(int(it->first)) == batch_class(batch);
}

bool SpecDepthPolicy::measured(int depth, int batch) const {
  auto it = ratio_.find({batch_class(batch), depth});
  return depth == 0 || (it != ratio_.end() && it->second.samples >= kMeasuredSamples);
}

void SpecDepthPolicy::record_iteration(int depth, int batch, double seconds) {
  if (!(seconds > 0) || batch < 1) return;
  if (depth <= 0) {
    ema(plain_s_, batch, seconds);
    return;
  }
  if (!plain_measured(batch)) return;  // a ratio to the forward-only model would be meaningless
  const double plain = plain_seconds(batch);
  if (!(plain > 0)) return;
  Ratio& r = ratio_[{batch_class(batch), std::min(depth, max_depth_)}];
  if (r.samples++ == 0)
    r.value = seconds / plain;
  else
    robust_ema(r.value, seconds / plain);
}

double SpecDepthPolicy::cost_ratio(int depth, int batch) const {
  if (depth <= 0) return 1.0;
  const int c = batch_class(batch);
  auto it = ratio_.find({c, depth});
  if (it != ratio_.end() && it->second.samples > 0) return it->second.value;
  // Unmeasured here: the forward-only model, scaled by how far it was off for the most-measured depth of
  // this class, or else of the nearest class measured (the model leaves out the per-round costs that
  // whole iterations have, and those hardly depend on the batch).
  auto best = ratio_.end();
  for (auto o = ratio_.begin(); o != ratio_.end(); ++o) {
    if (o->second.samples == 0) continue;
    if (best == ratio_.end()) {
      best = o;
      continue;
    }
    const int d = std::abs(o->first.first - c), bd = std::abs(best->first.first - c);
    if (d < bd || (d == bd && o->second.samples > best->second.samples)) best = o;
  }
  auto prior = [&](int k, int b) { return model_cost(k, b) / model_cost(0, b); };
  if (best == ratio_.end()) return prior(depth, batch);
  const auto [mc, mk] = best->first;
  const int mb = mc == c ? batch : 1 << mc;  // the measured class's smallest batch
  return best->second.value / prior(mk, mb) * prior(depth, batch);
}

int SpecDepthPolicy::best_depth(int batch) const {
  int best = 0;
  double best_gain = 1.0;
  for (int k = 1; k <= max_depth_; ++k) {
    const double g = gain(k, batch);
    if (g > best_gain * 1.0001) {  // ties go to the shallower (cheaper, less variance) depth
      best_gain = g;
      best = k;
    }
  }
  return best;
}

bool SpecDepthPolicy::hopeless(int batch) const {
  if (!measured(1, batch)) return false;
  for (int k = 1; k <= max_depth_; ++k)
    if (double(k + 1) > cost_ratio(k, batch)) return false;  // k + 1 tokens if every draft were accepted
  return true;
}

int SpecDepthPolicy::choose(int batch, bool cheap_probe) {
  int k = best_depth(batch);
  // Hysteresis: resuming drafting costs a catch-up extend, and timings on a shared machine are noisy.
  if (!drafting_ && k > 0 && gain(k, batch) < kSwitchGain) k = 0;
  drafting_ = k > 0;
  probe_from_plain_ = probe_measures_cost_ = false;
  int chosen = k;
  // A probe from plain decoding also waits for a plain round of this batch class: ratios are relative to it.
  if (++since_probe_ >= probe_every_ && (k > 0 || (cheap_probe && plain_measured(batch)))) {
    since_probe_ = 0;
    if (k == 0) {
      if (max_depth_ > 0) {
        chosen = 1;
        probe_from_plain_ = true;
        probe_measures_cost_ = !measured(1, batch);
      }
      // Probes refresh the acceptance estimate; where even full acceptance could not pay for the measured
      // cost of any depth, only the costs need an occasional re-measurement. A probe that measures the cost
      // is repeated at the next cheap round (the requests it drafted for are current then).
      auto r = ratio_.find({batch_class(batch), 1});
      const int64_t samples = r == ratio_.end() ? 0 : r->second.samples;
      if (probe_measures_cost_ && samples + 1 < kMeasuredSamples && ++cost_probes_ <= kCostProbes)
        since_probe_ = probe_every_;
      else
        probe_every_ = std::min(probe_every_ * 2, hopeless(batch) ? kExploreHopeless : kExploreMax);
    } else {
      // Probes cycle deeper, shallower and plain, so the neighbours' ratios and the plain cost stay current.
      probe_every_ = kExploreEvery;
      const int phase = probe_phase_++ % 3;
      chosen = phase == 0 ? std::min(k + 1, max_depth_) : phase == 1 ? k - 1 : 0;
    }
  }
  if (chosen_.size() <= size_t(max_depth_)) chosen_.assign(size_t(max_depth_) + 1, 0);
  ++chosen_[size_t(chosen)];
  return chosen;
}

std::string SpecDepthPolicy::describe(int batch) const {
  std::string s = fmt::format("batch {}, plain round {:.3g} ms:", batch, plain_seconds(batch) * 1e3);
  for (int k = 1; k <= max_depth_; ++k)
    s += fmt::format(" k={}: {:.2f} tok/round, ratio {:.2f}{}, gain {:.2f};", k, expected_tokens(k),
                     cost_ratio(k, batch), measured(k, batch) ? "m" : "", gain(k, batch));
  s += fmt::format(" best {}, rounds by depth", best_depth(batch));
  for (size_t k = 0; k < chosen_.size(); ++k) s += fmt::format("{}{}", k ? "/" : " ", chosen_[k]);
  return s;
}

}  // namespace glm
