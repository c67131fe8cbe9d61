// The safetensors reader on hand-written files: layout as the format defines it
// (u64 LE header length, JSON header, data), every dtype we load, and rejection of inconsistent headers.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/safetensors.h"

namespace glm {
namespace {

std::string write_file(const std::string& header, const std::string& data) {
  static int n = 0;
  std::string path = (std::filesystem::temp_directory_path() /
                      ("glm_st_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".safetensors"))
                         .string();
  std::ofstream o(path, std::ios::binary);
  uint64_t len = header.size();
  o.write(reinterpret_cast<const char*>(&len), 8);
  o << header << data;
  return path;
}

std::string error_for(const std::string& header, const std::string& data) {
  std::string path = write_file(header, data);
  std::string msg;
  try {
    SafetensorsFile f(path);
  } catch (const GlmError& e) {
    msg = e.what();
  }
  std::filesystem::remove(path);
  EXPECT_FALSE(msg.empty()) << "accepted: " << header;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  return msg;
}

TEST(Safetensors, ReadsEveryDtypeInPlace) {
  nlohmann::json h = {{"__metadata__", {{"format", "pt"}}},
                      {"a.f8", {{"dtype", "F8_E4M3"}, {"shape", {3}}, {"data_offsets", {0, 3}}}},
                      {"b.bf16", {{"dtype", "BF16"}, {"shape", {1, 2}}, {"data_offsets", {3, 7}}}},  // odd offset
                      {"c.f32", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {7, 11}}}},
                      {"d.f16", {{"dtype", "F16"}, {"shape", {0, 4}}, {"data_offsets", {11, 11}}}}};
  const std::string data("\x38\xb8\x00" "\x80\x3f\x00\xc0" "\x00\x00\x80\x3f", 11);
  std::string path = write_file(h.dump(), data);
  SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), 4u);
  const TensorView* a = f.find("a.f8");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->dtype, DType::F8_E4M3);
  EXPECT_EQ(a->nbytes, 3u);
  EXPECT_EQ(a->data, f.mapping().data() + 8 + h.dump().size());  // used in place, no copy
  const TensorView* b = f.find("b.bf16");
  EXPECT_EQ(b->shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(b->data[1], 0x3f);
  EXPECT_EQ(f.find("d.f16")->numel(), 0);
  EXPECT_EQ(f.find("missing"), nullptr);
  std::filesystem::remove(path);
}

TEST(Safetensors, RejectsInconsistentHeaders) {
  auto one = [](const char* dtype, nlohmann::json shape, nlohmann::json off) {
    return nlohmann::json{{"t", {{"dtype", dtype}, {"shape", shape}, {"data_offsets", off}}}}.dump();
  };
  const std::string data(16, '\0');
  EXPECT_NE(error_for(one("BF16", {2, 2}, {0, 6}), data).find("'t'"), std::string::npos);    // bytes != shape
  EXPECT_NE(error_for(one("BF16", {2}, {8, 4}), data).find("reversed"), std::string::npos);
  EXPECT_NE(error_for(one("BF16", {16}, {0, 32}), data).find("truncated"), std::string::npos);
  EXPECT_NE(error_for(one("Q4_K", {2}, {0, 2}), data).find("unknown dtype"), std::string::npos);
  EXPECT_NE(error_for(one("F32", {-1}, {0, 4}), data).find("shape"), std::string::npos);
  EXPECT_NE(error_for(one("F32", {1}, {0}), data).find("data_offsets"), std::string::npos);
  EXPECT_NE(error_for("[1, 2]", data).find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_for("{\"t\": ", data).find("invalid JSON"), std::string::npos);
  nlohmann::json overlap = {{"x", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
                            {"y", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {4, 12}}}}};
  EXPECT_NE(error_for(overlap.dump(), data).find("overlap"), std::string::npos);
}

TEST(Safetensors, TooShortFiles) {
  std::string path = (std::filesystem::temp_directory_path() / "glm_st_short.safetensors").string();
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_THROW(SafetensorsFile{path}, GlmError);
  std::filesystem::remove(path);
  EXPECT_THROW(SafetensorsFile{"/nonexistent/x.safetensors"}, GlmError);
}

}  // namespace
}  // namespace glm
