#pragma once
// Reads the transformers reference outputs written next to the fixtures
// (tests/fixtures/references/<model>.reference.safetensors, float32 / int32 tensors) with our own
// safetensors reader, and gives small helpers shared by the model tests.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "model/safetensors.h"

namespace glm::test {

inline std::string fixtures_dir() {
  if (const char* e = std::getenv("GLM_FIXTURES")) return e;
  return GLM_FIXTURES_DIR;
}
inline std::string model_dir(const std::string& name) { return fixtures_dir() + "/" + name; }
inline bool fixture_exists(const std::string& name) {
  return std::filesystem::exists(model_dir(name) + "/config.json") &&
         std::filesystem::exists(fixtures_dir() + "/references/" + name + ".reference.safetensors");
}

class ReferenceData {
 public:
  explicit ReferenceData(const std::string& model)
      : file_(fixtures_dir() + "/references/" + model + ".reference.safetensors") {}

  bool has(const std::string& name) const { return file_.find(name) != nullptr; }
  const TensorView& view(const std::string& name) const {
    const TensorView* t = file_.find(name);
    if (!t) throw std::runtime_error("reference tensor missing: " + name);
    return *t;
  }
  std::vector<float> floats(const std::string& name) const {
    const TensorView& t = view(name);
    if (t.dtype != DType::F32) throw std::runtime_error("reference tensor not F32: " + name);
    std::vector<float> v(size_t(t.numel()));
    std::memcpy(v.data(), t.data, t.nbytes);
    return v;
  }
  std::vector<int32_t> ints(const std::string& name) const {
    const TensorView& t = view(name);
    if (t.dtype != DType::I32) throw std::runtime_error("reference tensor not I32: " + name);
    std::vector<int32_t> v(size_t(t.numel()));
    std::memcpy(v.data(), t.data, t.nbytes);
    return v;
  }
  int n_prompts() const {
    int n = 0;
    while (has(fmt::format("p{}.input_ids", n))) ++n;
    return n;
  }

 private:
  SafetensorsFile file_;
};

inline float max_abs_diff(const float* a, const float* b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}
inline float max_abs(const float* a, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i]));
  return m;
}
inline int32_t argmax(const float* v, size_t n) { return int32_t(std::max_element(v, v + n) - v); }
// top-1 minus top-2
inline float top2_margin(const float* v, size_t n) {
  float a = -INFINITY, b = -INFINITY;
  for (size_t i = 0; i < n; ++i) {
    if (v[i] > a) { b = a; a = v[i]; }
    else if (v[i] > b) b = v[i];
  }
  return a - b;
}

}  // namespace glm::test
