#pragma once
// A read-only memory mapping of a whole file. Weights are used in place from these mappings:
// nothing is copied, and pages are only touched when a kernel reads them.
#include <cstddef>
#include <cstdint>
#include <string>

namespace glm {

class MappedFile {
 public:
  // Throws GlmError(NotFound / InvalidModel) naming the path on failure.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Ask the kernel for transparent huge pages on this mapping (weights stream faster from
  // huge pages: ~30% on decode, see docs/PERFORMANCE.md). Best effort.
  void advise_hugepages() const;
  // Start reading [offset, offset+len) into the page cache in the background (MADV_WILLNEED).
  void prefetch(size_t offset, size_t len) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace glm
