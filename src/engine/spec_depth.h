#pragma once
// How deep to draft in the next speculative round (engine/speculative.h), from what speculation costs
// and what it buys on this machine and this traffic:
//   cost(k)   = verify(B*(k+1) target tokens) + k draft forwards of B tokens   (B = requests decoding)
//   tokens(k) = B * (1 + sum_{j=1..k} prod_{i<=j} alpha_i)      alpha_i = P(draft i accepted | 1..i-1 were)
// and picks the k in [0, max_depth] with the most tokens per second; k = 0 is plain decoding at plain
// decoding's cost (the draft-extend is deferred: the target's hidden states are kept and the draft
// catches up in one forward when drafting resumes).
// Costs are seconds per forward by token count, measured at start-up for 1..max_depth+1 tokens and then
// updated online (EMA) from every decode-only forward; counts in between are interpolated linearly and
// beyond the largest measured count extrapolated with its per-token cost (an over-estimate for MoE,
// where more tokens share experts). Whole decode iterations are timed too (sampling, bookkeeping and
// the catch-up extend included): per batch-size class (1, 2-3, 4-7, ...) and depth, the ratio of the
// measured iteration time to the forward-only model scales that depth's cost, so fixed per-round
// overheads (large on small models) count. alpha_i are decayed counts with a 1/2 prior; depths never tried are
// assumed to accept like the deepest one measured. Timings enter through an EMA that clamps each sample
// to [1/2, 2] x the current value (one preempted iteration cannot swing a decision), and a depth timed
// fewer than 4 times borrows the overhead of the most-timed depth. Exploration: every 16th round drafts
// one step deeper than the best depth (alternating with one step shallower when the best is > 0), so a rejected depth gets re-measured when the traffic changes; while the best is
// plain decoding the interval doubles after each probe (up to 128 rounds) and the probe drafts for one
// request only (probe_from_plain()), bounding the probes' cost.
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace glm {

class SpecDepthPolicy {
 public:
  explicit SpecDepthPolicy(int max_depth) : max_depth_(max_depth), tries_(size_t(max_depth) + 1, 0.0),
                                            hits_(size_t(max_depth) + 1, 0.0) {}

  int max_depth() const { return max_depth_; }
  // A forward of the target over n tokens took `seconds` (start-up calibration and decode-only rounds).
  void record_target(int64_t n_tokens, double seconds);
  // A draft forward over n tokens took `seconds`.
  void record_draft(int64_t n_tokens, double seconds);
  // One request's round: `depth` drafts were verified and the first `accepted` of them accepted.
  void record_round(int depth, int accepted);
  // A whole decode-only iteration at `depth` for `batch` requests took `seconds`.
  void record_iteration(int depth, int batch, double seconds);

  // The depth maximising expected tokens per second for `batch` requests decoding together.
  int best_depth(int batch) const;
  // best_depth, plus the periodic exploration round (call once per round).
  int choose(int batch);
  // The last choose() was a probe while plain decoding is best: draft for a single request.
  bool probe_from_plain() const { return probe_from_plain_; }
  double expected_tokens(int depth) const;  // per request, including the bonus token
  double round_cost(int depth, int batch) const;
  double alpha(int j) const;                // acceptance probability of draft j (1-based)

 private:
  static double cost_at(const std::map<int64_t, double>& table, int64_t n);
  double model_cost(int depth, int batch) const;
  static int batch_class(int batch);

  int max_depth_;
  std::map<int64_t, double> target_s_, draft_s_;  // EMA seconds by token count
  std::vector<double> tries_, hits_;               // decayed counts by draft index (1-based)
  struct Overhead {
    double factor = 1.0;  // measured / modelled iteration cost (robust EMA)
    int64_t samples = 0;
  };
  std::map<std::pair<int, int>, Overhead> overhead_;  // by (batch class, depth)
  int since_probe_ = 0, probe_every_ = 16;
  bool probe_from_plain_ = false, shallow_probe_ = false;
};

}  // namespace glm
