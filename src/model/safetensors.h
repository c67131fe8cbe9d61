#pragma once
// One .safetensors file, memory-mapped and validated before any tensor is handed out:
//   [u64 little-endian header length N][N bytes of JSON header][data]
//   header: {"name": {"dtype": "BF16", "shape": [r, c], "data_offsets": [begin, end]}, ..., "__metadata__": {...}}
// Offsets are relative to the start of the data region; tensors must lie inside the file and not overlap.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace glm {

struct TensorView {
  std::string name;
  std::string file;              // path of the file holding it (for error messages)
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // inside the mapping; not necessarily aligned to the element size
  size_t nbytes = 0;

  int64_t numel() const;
  std::string shape_str() const;  // "[256, 64]"
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws GlmError(NotFound / InvalidModel) naming the file (and the tensor).
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const TensorView* find(const std::string& name) const;
  const MappedFile& mapping() const { return *file_; }

 private:
  std::unique_ptr<MappedFile> file_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace glm
