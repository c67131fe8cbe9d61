#include "model/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"

namespace glm {

namespace fs = std::filesystem;

Checkpoint::Checkpoint(const std::string& model_dir) : dir_(model_dir) {
  if (!fs::is_directory(model_dir)) fail(ErrorKind::NotFound, "{}: model directory not found", model_dir);
  const std::string index = model_dir + "/model.safetensors.index.json";
  std::vector<std::string> files;
  if (fs::exists(index)) {
    index_path_ = index;
    std::ifstream f(index);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorKind::InvalidModel, "{}: invalid JSON: {}", index, e.what());
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail(ErrorKind::InvalidModel, "{}: no weight_map object", index);
    for (const auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) fail(ErrorKind::InvalidModel, "{}: weight_map['{}'] is not a file name", index, name);
      std::string fname = file.get<std::string>();
      if (fname.find('/') != std::string::npos || fname.find("..") != std::string::npos)
        fail(ErrorKind::InvalidModel, "{}: weight_map['{}'] = '{}' is not a file in the model directory", index, name,
             fname);
      index_map_[name] = fname;
      if (std::find(files.begin(), files.end(), fname) == files.end()) files.push_back(fname);
    }
    for (const auto& fname : files)
      if (!fs::exists(model_dir + "/" + fname)) {
        std::string example;
        for (const auto& [n, fn] : index_map_)
          if (fn == fname) { example = n; break; }
        fail(ErrorKind::InvalidModel, "{}/{}: missing shard (listed in {} for tensor '{}' and others)", model_dir,
             fname, index, example);
      }
    std::sort(files.begin(), files.end());
  } else if (fs::exists(model_dir + "/model.safetensors")) {
    files.push_back("model.safetensors");
  } else {
    fail(ErrorKind::NotFound, "{}: no model.safetensors or model.safetensors.index.json", model_dir);
  }

  for (size_t i = 0; i < files.size(); ++i) {
    shards_.push_back(std::make_unique<SafetensorsFile>(model_dir + "/" + files[i]));
    spdlog::info("checkpoint: shard {}/{} {} ({} tensors, {:.1f} MiB)", i + 1, files.size(), files[i],
                 shards_.back()->tensors().size(), double(shards_.back()->mapping().size()) / (1 << 20));
    for (const auto& [name, view] : shards_.back()->tensors()) {
      if (!index_map_.empty()) {
        auto it = index_map_.find(name);
        if (it == index_map_.end() || it->second != files[i]) continue;  // the index decides where a name lives
      }
      if (!tensors_.emplace(name, &view).second)
        fail(ErrorKind::InvalidModel, "{}: tensor '{}' appears in more than one shard", view.file, name);
    }
  }
  for (const auto& [name, fname] : index_map_)
    if (!tensors_.count(name))
      fail(ErrorKind::InvalidModel, "{}/{}: missing tensor '{}' (listed in {})", model_dir, fname, name, index_path_);
}

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

const TensorView& Checkpoint::require(const std::string& name) const {
  if (const TensorView* t = find(name)) return *t;
  std::string where = shards_.size() == 1 ? shards_[0]->path() : index_path_;
  fail(ErrorKind::InvalidModel, "{}: missing tensor '{}'", where, name);
}

size_t Checkpoint::total_bytes() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->mapping().size();
  return n;
}

}  // namespace glm
