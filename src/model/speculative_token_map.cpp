#include "model/speculative_token_map.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/torch_file.h"

namespace glm {
namespace {

std::vector<int64_t> read_json_ids(const std::string& path) {
  std::ifstream f(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::InvalidArgument, "{}: neither a torch.save file nor JSON ({})", path, e.what());
  }
  if (!j.is_array()) fail(ErrorKind::InvalidArgument, "{}: the JSON is not an array of token ids", path);
  std::vector<int64_t> ids;
  ids.reserve(j.size());
  for (const auto& x : j) {
    if (!x.is_number_integer()) fail(ErrorKind::InvalidArgument, "{}: {} is not a token id", path, x.dump());
    ids.push_back(x.get<int64_t>());
  }
  return ids;
}

}  // namespace

std::vector<int32_t> load_speculative_token_map(const std::string& path, int64_t vocab_size) {
  char magic[4] = {};
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail(ErrorKind::InvalidArgument, "--speculative-token-map: cannot open {}", path);
    f.read(magic, 4);
  }
  const bool zip = magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
  const std::vector<int64_t> raw = zip ? read_torch_int_list(path) : read_json_ids(path);
  std::vector<int32_t> ids;
  ids.reserve(raw.size());
  for (int64_t id : raw) {
    if (id < 0 || id >= vocab_size)
      fail(ErrorKind::InvalidArgument, "{}: token id {} is outside the model's vocabulary [0, {})", path, id, vocab_size);
    ids.push_back(int32_t(id));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.empty()) fail(ErrorKind::InvalidArgument, "{}: the token map is empty", path);
  return ids;
}

}  // namespace glm
