#pragma once
// Reads a list of integers saved with torch.save: a 1-D integer tensor (int64, int32, int16, int8, uint8;
// any storage offset, contiguous) or a Python list / tuple of ints. This is what SGLang's
// --speculative-token-map files hold (FR-Spec's hot token ids, read there with torch.load).
//
// The file is torch's zip format (torch >= 1.6): <name>/data.pkl is a pickle whose tensors refer to raw
// little-endian storages <name>/data/<key> by persistent id. The pickle is interpreted by a small
// machine that knows the opcodes torch.save emits (protocol 2) and builds only what such a file needs;
// it calls no code: the only globals it accepts are torch's tensor rebuild function, storage types and
// OrderedDict (torch.load(weights_only=True) allows no more). The legacy pre-1.6 format is not read.
// Errors (GlmError InvalidArgument) name the file and what was wrong.
#include <cstdint>
#include <string>
#include <vector>

namespace glm {

std::vector<int64_t> read_torch_int_list(const std::string& path);

}  // namespace glm
