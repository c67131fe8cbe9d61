#pragma once
// FR-Spec's hot-token map (SGLang --speculative-token-map): the token ids the draft may propose. The
// draft's lm_head then scores only these rows (NextNDraft::restrict_vocabulary), which on a CPU is most
// of a draft step's cost; the target still verifies against the full vocabulary, so outputs keep their
// distribution (only the acceptance rate can change).
// Files: what SGLang reads with torch.load (a 1-D integer tensor or a list of ints, torch.save's zip
// format: model/torch_file.h), or a JSON array of ints (tools/make_token_map.py writes either).
// The result is sorted and without duplicates, every id in [0, vocab_size). Errors (GlmError
// InvalidArgument) name the file.
#include <cstdint>
#include <string>
#include <vector>

namespace glm {

std::vector<int32_t> load_speculative_token_map(const std::string& path, int64_t vocab_size);

}  // namespace glm
