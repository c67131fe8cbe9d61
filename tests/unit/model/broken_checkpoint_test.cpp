// Broken copies of the fixture checkpoints (made in a temp dir): every problem is a GlmError that names
// the file and the tensor, never a crash.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model_fixture.h"

namespace glm::test {
namespace {

namespace fs = std::filesystem;

struct RawTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::vector<RawTensor> read_all(const std::string& path) {
  SafetensorsFile f(path);
  std::vector<RawTensor> out;
  for (const auto& [name, t] : f.tensors())
    out.push_back({name, std::string(dtype_name(t.dtype)), t.shape,
                   std::string(reinterpret_cast<const char*>(t.data), t.nbytes)});
  return out;
}

void write_all(const std::string& path, const std::vector<RawTensor>& ts) {
  nlohmann::json h = nlohmann::json::object();
  uint64_t off = 0;
  for (const auto& t : ts) {
    h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {off, off + t.bytes.size()}}};
    off += t.bytes.size();
  }
  std::string hs = h.dump();
  while (hs.size() % 8) hs += ' ';
  std::ofstream o(path, std::ios::binary | std::ios::trunc);
  uint64_t n = hs.size();
  o.write(reinterpret_cast<const char*>(&n), 8);
  o << hs;
  for (const auto& t : ts) o << t.bytes;
}

class BrokenCheckpoint : public ::testing::Test {
 protected:
  void copy_fixture(const std::string& name) {
    if (!fixture_exists(name)) GTEST_SKIP() << "fixture " << name << " not generated";
    dir_ = fs::temp_directory_path() / ("glm_broken_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& e : fs::directory_iterator(model_dir(name))) fs::copy(e.path(), dir_ / e.path().filename());
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // The shard holding `tensor` according to the index.
  std::string shard_of(const std::string& tensor) {
    std::ifstream f(dir_ / "model.safetensors.index.json");
    return nlohmann::json::parse(f)["weight_map"][tensor].get<std::string>();
  }
  // Loads and returns the error message (fails the test when loading succeeds).
  std::string load_error(ErrorKind* kind = nullptr) {
    try {
      Glm4MoeModel::load(dir_.string(), test_pool());
    } catch (const GlmError& e) {
      if (kind) *kind = e.kind();
      return e.what();
    }
    ADD_FAILURE() << "loading the broken checkpoint succeeded";
    return "";
  }
  void edit(const std::string& shard, const std::function<void(std::vector<RawTensor>&)>& fn) {
    auto ts = read_all((dir_ / shard).string());
    fn(ts);
    write_all((dir_ / shard).string(), ts);
  }
  fs::path dir_;
};

const std::string kQ = "model.layers.1.self_attn.q_proj.weight";

TEST_F(BrokenCheckpoint, TruncatedShard) {
  copy_fixture("glm45-tiny");
  std::string shard = shard_of(kQ);
  fs::resize_file(dir_ / shard, fs::file_size(dir_ / shard) - 1000);
  std::string msg = load_error();
  EXPECT_NE(msg.find(shard), std::string::npos) << msg;
  EXPECT_NE(msg.find("tensor '"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, CorruptHeader) {
  copy_fixture("glm45-tiny");
  std::string shard = shard_of(kQ);
  {
    std::fstream f(dir_ / shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.write("{\"x\": [1, 2,,", 13);
  }
  std::string msg = load_error();
  EXPECT_NE(msg.find(shard), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt safetensors header"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, HeaderLengthBeyondFile) {
  copy_fixture("glm45-tiny");
  std::string shard = shard_of(kQ);
  {
    std::fstream f(dir_ / shard, std::ios::in | std::ios::out | std::ios::binary);
    uint64_t huge = uint64_t(1) << 40;
    f.write(reinterpret_cast<const char*>(&huge), 8);
  }
  std::string msg = load_error();
  EXPECT_NE(msg.find(shard), std::string::npos) << msg;
  EXPECT_NE(msg.find("header length"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, OverlappingTensors) {
  copy_fixture("glm-odd-tiny");
  const std::string path = (dir_ / "model.safetensors").string();
  auto ts = read_all(path);
  write_all(path, ts);
  // point the second tensor's data at the first one's bytes
  std::ifstream in(path, std::ios::binary);
  uint64_t n;
  in.read(reinterpret_cast<char*>(&n), 8);
  std::string hs(n, ' ');
  in.read(hs.data(), std::streamsize(n));
  std::string rest((std::istreambuf_iterator<char>(in)), {});
  in.close();
  auto h = nlohmann::json::parse(hs);
  std::string a = ts[0].name, b = ts[1].name;
  if (ts[0].bytes.size() < ts[1].bytes.size()) std::swap(a, b);  // b must fit inside a
  uint64_t a0 = h[a]["data_offsets"][0];
  h[b]["data_offsets"] = {a0, a0 + (h[b]["data_offsets"][1].get<uint64_t>() - h[b]["data_offsets"][0].get<uint64_t>())};
  std::string hs2 = h.dump();
  while (hs2.size() % 8) hs2 += ' ';
  std::ofstream o(path, std::ios::binary | std::ios::trunc);
  uint64_t n2 = hs2.size();
  o.write(reinterpret_cast<const char*>(&n2), 8);
  o << hs2 << rest;
  o.close();
  std::string msg = load_error();
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overlap"), std::string::npos) << msg;
  EXPECT_NE(msg.find(b), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, MissingTensorInShard) {
  copy_fixture("glm45-tiny");
  std::string shard = shard_of(kQ);
  edit(shard, [](auto& ts) { std::erase_if(ts, [](const RawTensor& t) { return t.name == kQ; }); });
  std::string msg = load_error();
  EXPECT_NE(msg.find(shard), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing tensor '" + kQ + "'"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, MissingTensorSingleFile) {
  copy_fixture("glm-odd-tiny");
  const std::string name = "model.layers.2.mlp.experts.3.down_proj.weight";
  edit("model.safetensors", [&](auto& ts) { std::erase_if(ts, [&](const RawTensor& t) { return t.name == name; }); });
  std::string msg = load_error();
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing tensor '" + name + "'"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, WrongShape) {
  copy_fixture("glm45-tiny");
  std::string shard = shard_of(kQ);
  edit(shard, [](auto& ts) {
    for (auto& t : ts)
      if (t.name == kQ) std::swap(t.shape[0], t.shape[1]);  // same bytes, transposed shape
  });
  std::string msg = load_error();
  EXPECT_NE(msg.find(shard), std::string::npos) << msg;
  EXPECT_NE(msg.find(kQ), std::string::npos) << msg;
  EXPECT_NE(msg.find("shape"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, WrongDtype) {
  copy_fixture("glm45-tiny");
  std::string shard = shard_of(kQ);
  edit(shard, [](auto& ts) {
    for (auto& t : ts)
      if (t.name == kQ) t.dtype = "I16";  // same element size as BF16
  });
  std::string msg = load_error();
  EXPECT_NE(msg.find(shard), std::string::npos) << msg;
  EXPECT_NE(msg.find(kQ), std::string::npos) << msg;
  EXPECT_NE(msg.find("dtype I16"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, SizeDisagreesWithShape) {
  copy_fixture("glm45-tiny");
  std::string shard = shard_of(kQ);
  edit(shard, [](auto& ts) {
    for (auto& t : ts)
      if (t.name == kQ) t.dtype = "F32";  // twice the bytes the data range holds
  });
  std::string msg = load_error();
  EXPECT_NE(msg.find(shard), std::string::npos) << msg;
  EXPECT_NE(msg.find(kQ), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, MissingShard) {
  copy_fixture("glm45-tiny");
  std::string shard = shard_of(kQ);
  fs::remove(dir_ / shard);
  std::string msg = load_error();
  EXPECT_NE(msg.find(shard), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing shard"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, MissingFp8Scale) {
  copy_fixture("glm45air-tiny-fp8");
  const std::string scale = "model.layers.1.self_attn.o_proj.weight_scale_inv";
  std::string shard = shard_of(scale);
  edit(shard, [&](auto& ts) { std::erase_if(ts, [&](const RawTensor& t) { return t.name == scale; }); });
  // keep the index consistent so that the weight binder is what notices
  std::ifstream f(dir_ / "model.safetensors.index.json");
  auto idx = nlohmann::json::parse(f);
  f.close();
  idx["weight_map"].erase(scale);
  std::ofstream(dir_ / "model.safetensors.index.json") << idx.dump();
  std::string msg = load_error();
  EXPECT_NE(msg.find(scale), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, UnknownArchitecture) {
  copy_fixture("glm45-tiny");
  std::ifstream f(dir_ / "config.json");
  auto cfg = nlohmann::json::parse(f);
  f.close();
  cfg["architectures"] = {"LlamaForCausalLM"};
  cfg["model_type"] = "llama";
  std::ofstream(dir_ / "config.json") << cfg.dump();
  ErrorKind kind{};
  std::string msg = load_error(&kind);
  EXPECT_EQ(kind, ErrorKind::InvalidModel);
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("LlamaForCausalLM"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, MissingDirectory) {
  ErrorKind kind{};
  try {
    Glm4MoeModel::load("/nonexistent/glm-model", test_pool());
    FAIL();
  } catch (const GlmError& e) {
    kind = e.kind();
    EXPECT_NE(std::string(e.what()).find("/nonexistent/glm-model"), std::string::npos);
  }
  EXPECT_EQ(kind, ErrorKind::NotFound);
}

}  // namespace
}  // namespace glm::test
