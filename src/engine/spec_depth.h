#pragma once
// How deep to draft in the next speculative round (engine/speculative.h), from what speculation costs
// and what it buys on this machine and this traffic. For B requests decoding together, depth k yields
//   tokens(k) = B * (1 + sum_{j=1..k} prod_{i<=j} alpha_i)    alpha_i = P(draft i accepted | 1..i-1 were)
// per round and costs ratio(k) x a plain decoding round, so its gain over plain decoding is
//   gain(k) = tokens(k) / B / ratio(k)                         (gain(0) = 1)
// and the policy picks the k in [0, max_depth] with the largest gain; k = 0 is plain decoding at plain
// decoding's cost (the draft-extend is deferred: the target's hidden states are kept and the draft
// catches up in one forward when drafting resumes).
//
// ratio(k) is measured end to end: every decode-only iteration (plan, draft chain, verify forward,
// sampling, draft-extend, bookkeeping) is timed, plain iterations feed an EMA of the plain round's
// seconds per batch size, and an iteration at depth k > 0 feeds an EMA of its seconds / the plain round's
// seconds of that batch size, per batch-size class (1, 2-3, 4-7, ...). Measuring the ratio rather than
// absolute seconds keeps it valid while every round slows down as contexts grow, and measuring whole
// iterations counts the fixed per-round costs that dominate small models (where a draft step costs
// about half a target step and speculation rarely pays). The catch-up extend of a round that resumes
// drafting is a switching cost, not part of the depth's cost: the caller leaves it out of the seconds,
// and the policy only leaves plain decoding for a depth whose gain exceeds kSwitchGain (hysteresis: the
// catch-up and the noise of a shared machine cannot make it flip back and forth).
// Before a depth is measured in a class, its ratio is the forward-only cost model's (seconds per forward
// by token count: the target over the verify tokens plus k draft forwards, measured at start-up and
// updated online, interpolated linearly between measured counts and extrapolated per token beyond),
// scaled by how far the model was off for the most-measured depth of the class. alpha_i are decayed
// counts with a 1/2 prior; depths never tried are assumed to accept like the deepest one measured.
// Timings enter through an EMA that clamps each sample to [1/2, 2] x the current value (one preempted
// iteration cannot swing a decision).
// Exploration: every 16th round while drafting is a probe, cycling one step deeper than the best, one
// step shallower and plain decoding, so the neighbours' ratios and the plain cost they are relative to stay
// current. While plain decoding is best, depth 1 is probed from the first round on, then after 16 rounds,
// the interval doubling after each probe up to 128 (or up to 1024 once the measured costs are such that no
// depth could pay even if every draft were accepted: then probes only re-measure costs). A due probe
// waits for a cheap round (choose(.., cheap_probe)): the caller's drafts are deferred while plain decoding,
// and only a request whose draft is current (freshly prefilled, or probed the round before) can draft
// without a catch-up over its whole deferred history, which on a small model costs more than the probe
// tells. The probe drafts for one request only (probe_from_plain()), bounding its cost, unless depth 1
// was never measured in this batch class (probe_measures_cost()): then the whole batch drafts, and again
// at the next cheap round (up to 4 times) until its ratio is measured.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace glm {

class SpecDepthPolicy {
 public:
  static constexpr double kSwitchGain = 1.05;  // leave plain decoding only for an expected gain above this

  explicit SpecDepthPolicy(int max_depth)
      : max_depth_(max_depth), tries_(size_t(max_depth) + 1, 0.0), hits_(size_t(max_depth) + 1, 0.0) {}

  int max_depth() const { return max_depth_; }
  // A forward of the target over n tokens took `seconds` (start-up calibration and decode-only rounds).
  void record_target(int64_t n_tokens, double seconds);
  // A draft forward over n tokens took `seconds`.
  void record_draft(int64_t n_tokens, double seconds);
  // One request's round: `depth` drafts were verified and the first `accepted` of them accepted.
  void record_round(int depth, int accepted);
  // A whole decode-only iteration at `depth` for `batch` requests took `seconds` (switching costs excluded).
  void record_iteration(int depth, int batch, double seconds);

  // The depth with the largest gain for `batch` requests decoding together (no hysteresis, no probes).
  int best_depth(int batch) const;
  // The depth for this round: best_depth with hysteresis when leaving plain decoding, plus the periodic
  // exploration round (call once per round). cheap_probe: a probe from plain decoding would be cheap now
  // (some request's draft is current); a due probe waits for such a round.
  int choose(int batch, bool cheap_probe = true);
  // The last choose() was a probe while plain decoding is best: draft for a single request ...
  bool probe_from_plain() const { return probe_from_plain_; }
  // ... unless this is set: the probed depth's cost is unmeasured in this batch class, draft for all.
  bool probe_measures_cost() const { return probe_measures_cost_; }

  double expected_tokens(int depth) const;      // per request, including the bonus token
  double cost_ratio(int depth, int batch) const;  // a round at depth / a plain round (1 at depth 0)
  double gain(int depth, int batch) const { return expected_tokens(depth) / cost_ratio(depth, batch); }
  double round_cost(int depth, int batch) const { return cost_ratio(depth, batch) * plain_seconds(batch); }
  double alpha(int j) const;                    // acceptance probability of draft j (1-based)
  bool measured(int depth, int batch) const;    // ratio(depth) timed in batch's class
  bool hopeless(int batch) const;               // measured, and no depth pays even at full acceptance
  // One line for the debug log: per depth tokens/round, ratio (m = measured), gain; and the choices made.
  std::string describe(int batch) const;

 private:
  static double cost_at(const std::map<int64_t, double>& table, int64_t n);
  double model_cost(int depth, int batch) const;  // forward-only seconds
  double plain_seconds(int batch) const;          // measured plain round, else the forward-only model
  bool plain_measured(int batch) const;           // a plain round of batch's class was timed
  static int batch_class(int batch);

  int max_depth_;
  std::map<int64_t, double> target_s_, draft_s_;  // EMA seconds by token count
  std::vector<double> tries_, hits_;               // decayed counts by draft index (1-based)
  std::map<int64_t, double> plain_s_;              // EMA seconds of a plain round by batch size
  struct Ratio {
    double value = 1.0;
    int64_t samples = 0;
  };
  std::map<std::pair<int, int>, Ratio> ratio_;  // by (batch class, depth), depth >= 1
  int since_probe_ = 15, probe_every_ = 16, probe_phase_ = 0;  // the first round may probe
  int cost_probes_ = 0;
  bool drafting_ = false;  // the last non-probe choice was a depth > 0 (hysteresis)
  bool probe_from_plain_ = false, probe_measures_cost_ = false;
  std::vector<int64_t> chosen_;  // rounds per chosen depth (debug log)
};

}  // namespace glm
