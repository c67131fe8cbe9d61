// torch.save files as SGLang's --speculative-token-map reads them (torch.load), against what torch itself
// loaded from the same files (data/make_torch_files.py -> torch_files.json: the ids, or null where the file
// is not a list of token ids and must be refused).
#include "model/torch_file.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/speculative_token_map.h"

namespace glm {
namespace {

const std::string kDir = std::string(GLM_SOURCE_DIR) + "/tests/unit/model/data/torch_files/";

nlohmann::json oracle() {
  std::ifstream f(kDir + "torch_files.json");
  return nlohmann::json::parse(f)["cases"];
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  const auto path = std::filesystem::temp_directory_path() / ("glm_torch_file_test_" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(TorchFile, ReadsWhatTorchLoads) {
  int read = 0, refused = 0;
  const nlohmann::json cases = oracle();
  for (const auto& [name, want] : cases.items()) {
    const std::string path = kDir + name + ".pt";
    if (want.is_null()) {
      try {
        read_torch_int_list(path);
        ADD_FAILURE() << name << ": read, but torch.load gives no list of ints";
      } catch (const GlmError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << name << ": " << e.what();
        ++refused;
      }
      continue;
    }
    EXPECT_EQ(read_torch_int_list(path), want.get<std::vector<int64_t>>()) << name;
    ++read;
  }
  EXPECT_GE(read, 10);
  EXPECT_GE(refused, 4);
}

TEST(TorchFile, RefusesWhatIsNotATorchFileWithTheFileName) {
  const std::string good = read_all(kDir + "int64_tensor.pt");
  ASSERT_GT(good.size(), 1000u);
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"empty", ""}, {"text", "[1, 2, 3]"}, {"truncated", good.substr(0, good.size() / 2)},
           {"garbled", [&] { std::string g = good; for (size_t i = 100; i < 600; ++i) g[i] = char(g[i] ^ 0x5a); return g; }()}}) {
    const std::string path = write_temp(name, bytes);
    try {
      read_torch_int_list(path);
      ADD_FAILURE() << name << ": accepted";
    } catch (const GlmError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    std::filesystem::remove(path);
  }
}

TEST(SpeculativeTokenMap, SortedUniqueAndInsideTheVocabulary) {
  const auto want = oracle()["int64_tensor"].get<std::vector<int64_t>>();
  const std::vector<int32_t> ids = load_speculative_token_map(kDir + "int64_tensor.pt", 1552);
  std::vector<int32_t> sorted(want.begin(), want.end());
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(ids, sorted);
  // The same ids as a JSON list, with a duplicate: the same map.
  nlohmann::json j(want);
  j.push_back(want.front());
  const std::string json_path = write_temp("map.json", j.dump());
  EXPECT_EQ(load_speculative_token_map(json_path, 1552), sorted);
  // Ids the model does not have, an empty map, a JSON object: refused, naming the file.
  EXPECT_THROW(load_speculative_token_map(kDir + "python_list.pt", 1552), GlmError);  // 70000 and -2
  EXPECT_THROW(load_speculative_token_map(kDir + "empty_tensor.pt", 1552), GlmError);
  const std::string obj = write_temp("obj.json", R"({"ids": [1]})");
  EXPECT_THROW(load_speculative_token_map(obj, 1552), GlmError);
  EXPECT_THROW(load_speculative_token_map(kDir + "no-such-file.pt", 1552), GlmError);
  std::filesystem::remove(json_path);
  std::filesystem::remove(obj);
}

}  // namespace
}  // namespace glm
