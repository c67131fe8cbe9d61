#include "loadgen/random_dataset.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <span>

#include "core/error.h"

namespace glm::loadgen {

std::vector<PromptSpec> make_random_dataset(const RandomDatasetOptions& opt, const Tokenizer& tok) {
  if (opt.num_prompts < 0) fail(ErrorKind::InvalidArgument, "--num-prompts must be >= 0");
  if (opt.input_len < 1 || opt.output_len < 1)
    fail(ErrorKind::InvalidArgument, "--random-input-len and --random-output-len must be >= 1");
  if (!(opt.range_ratio >= 0.0 && opt.range_ratio <= 1.0))
    fail(ErrorKind::InvalidArgument, "--random-range-ratio must be in [0, 1]");
  std::vector<int32_t> ordinary;
  for (int32_t id = 0; id < tok.vocab_size(); ++id)
    // decode() drops ids missing from the vocab (holes), so they come out empty.
    if (!tok.is_added_token(id) && !tok.decode(std::span<const int32_t>(&id, 1), false).empty())
      ordinary.push_back(id);
  if (ordinary.empty()) fail(ErrorKind::InvalidArgument, "the tokenizer has no ordinary tokens");

  std::mt19937_64 rng(opt.seed);
  auto lengths = [&](int len) {
    const int lo = std::max(1, int(std::floor(double(len) * opt.range_ratio)));
    std::uniform_int_distribution<int> d(std::min(lo, len), len);
    std::vector<int> v(size_t(opt.num_prompts));
    for (int& x : v) x = d(rng);
    return v;
  };
  const std::vector<int> in = lengths(opt.input_len), out = lengths(opt.output_len);
  std::uniform_int_distribution<size_t> pick(0, ordinary.size() - 1);
  std::vector<PromptSpec> prompts(size_t(opt.num_prompts));
  for (size_t i = 0; i < prompts.size(); ++i) {
    PromptSpec& p = prompts[i];
    p.ids.resize(size_t(in[i]));
    for (int32_t& id : p.ids) id = ordinary[pick(rng)];
    p.prompt_len = in[i];
    p.output_len = out[i];
    p.use_ids = !opt.as_text;
    if (opt.as_text) p.text = tok.decode(p.ids, /*skip_special_tokens=*/false);
  }
  return prompts;
}

}  // namespace glm::loadgen
