#include "engine/prompt_logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace glm {

void append_prompt_logprobs(const float* rows, int64_t n_rows, int64_t vocab, int64_t first_pos,
                            std::span<const int32_t> prompt, int64_t start_len, int top_n,
                            std::vector<TokenLogprob>& out) {
  const int64_t len = int64_t(prompt.size());
  const int64_t first_scored = std::max<int64_t>(start_len, 1);  // position 0 has nothing before it
  std::vector<int32_t> ids;
  for (int64_t j = 0; j < n_rows; ++j) {
    const int64_t p = first_pos + j + 1;  // the prompt position this row scores
    if (p < first_scored) continue;
    if (p >= len) break;
    const float* row = rows + j * vocab;
    // log-sum-exp in double: a vocabulary of 150k float terms loses digits in float.
    const float mx = *std::max_element(row, row + vocab);
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) - double(mx));
    const double log_norm = double(mx) + std::log(sum);
    TokenLogprob t;
    t.token_id = prompt[size_t(p)];
    t.logprob = float(double(row[t.token_id]) - log_norm);
    if (top_n > 0) {
      const int k = int(std::min<int64_t>(top_n, vocab));
      ids.resize(size_t(vocab));
      std::iota(ids.begin(), ids.end(), 0);
      std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [row](int32_t a, int32_t b) {
        return row[a] > row[b] || (row[a] == row[b] && a < b);
      });
      for (int i = 0; i < k; ++i) t.top.emplace_back(ids[size_t(i)], float(double(row[ids[size_t(i)]]) - log_norm));
    }
    out.push_back(std::move(t));
  }
}

}  // namespace glm
