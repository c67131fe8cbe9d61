#pragma once
// Drives a list of requests against a server like sglang.bench_serving: request i is released at
// the i-th arrival of a Poisson process of `request_rate` requests/s (exponential gaps from `seed`;
// rate inf = all at once), and at most `max_concurrency` requests are in flight (0 = no limit, in
// practice kMaxInFlight, one thread each; a released request waits for a free slot). Each in-flight request runs on its own thread (`send`
// must be thread-safe); a progress bar goes to stderr (one redrawn line on a terminal, a line per
// 10 % otherwise). Returns the records in request order and the wall time from the first release
// to the last completion.
#include <functional>
#include <vector>

#include "loadgen/request_record.h"

namespace glm::loadgen {

inline constexpr int kMaxInFlight = 2048;

struct LoadOptions {
  double request_rate = 0;  // <= 0 or inf: no pacing
  int max_concurrency = 0;  // <= 0: unlimited
  unsigned seed = 1;
  bool progress = true;
};

// Arrival offsets (seconds from the start) of n requests; all 0 without pacing.
std::vector<double> poisson_arrivals(int n, double request_rate, unsigned seed);

using SendFn = std::function<RequestRecord(const PromptSpec&)>;

std::vector<RequestRecord> run_load(const std::vector<PromptSpec>& prompts, const LoadOptions& opt, const SendFn& send,
                                    double& duration_s);

}  // namespace glm::loadgen
