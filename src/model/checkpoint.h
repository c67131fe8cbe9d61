#pragma once
// A checkpoint directory: model.safetensors, or shards listed by model.safetensors.index.json.
// Every shard is mapped and its header validated at open; tensor data is only read when a kernel touches it.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/safetensors.h"

namespace glm {

class Checkpoint {
 public:
  // Throws GlmError naming the directory, the index, the shard and the tensor involved.
  explicit Checkpoint(const std::string& model_dir);

  const std::string& dir() const { return dir_; }
  const TensorView* find(const std::string& name) const;
  // The tensor, or GlmError(InvalidModel) "missing tensor <name>" naming the file it should be in.
  const TensorView& require(const std::string& name) const;
  const std::vector<std::unique_ptr<SafetensorsFile>>& shards() const { return shards_; }
  size_t total_bytes() const;

 private:
  std::string dir_;
  std::string index_path_;                             // empty for a single-file checkpoint
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, const TensorView*> tensors_;   // name -> view inside its shard
  std::map<std::string, std::string> index_map_;       // name -> shard file (from the index)
};

}  // namespace glm
