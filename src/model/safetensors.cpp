#include "model/safetensors.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace glm {

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorView::shape_str() const { return fmt::format("[{}]", fmt::join(shape, ", ")); }

namespace {

// A header larger than this is not a plausible checkpoint (the 355B model's largest is a few MB).
constexpr uint64_t kMaxHeaderBytes = 256ull << 20;

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_unique<MappedFile>(path)) {
  // Decode streams every active weight once per step: TLB misses on 4 KiB pages cost ~25 % of the read
  // bandwidth here. MADV_HUGEPAGE lets page faults read the file into PMD-sized folios and map them with one
  // entry (and khugepaged collapse what is already cached); see docs/PERFORMANCE.md "Weights in memory".
  file_->advise_hugepages();
  const size_t size = file_->size();
  if (size < 8) fail(ErrorKind::InvalidModel, "{}: truncated safetensors file ({} bytes, no header length)", path, size);
  uint64_t header_len = 0;
  std::memcpy(&header_len, file_->data(), 8);  // little-endian on every supported host
  if (header_len > kMaxHeaderBytes || header_len > size - 8)
    fail(ErrorKind::InvalidModel, "{}: corrupt safetensors header length {} (file has {} bytes)", path, header_len,
         size);
  const char* hdr = reinterpret_cast<const char*>(file_->data() + 8);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(hdr, hdr + header_len);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::InvalidModel, "{}: corrupt safetensors header (invalid JSON): {}", path, e.what());
  }
  if (!j.is_object()) fail(ErrorKind::InvalidModel, "{}: corrupt safetensors header (not a JSON object)", path);

  const uint8_t* data = file_->data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  struct Span { uint64_t begin, end; const std::string* name; };
  std::vector<Span> spans;
  for (const auto& [name, e] : j.items()) {
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& why) {
      fail(ErrorKind::InvalidModel, "{}: tensor '{}': {}", path, name, why);
    };
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      bad("header entry needs dtype, shape and data_offsets");
    if (!e["dtype"].is_string()) bad("dtype is not a string");
    auto dt = dtype_from_name(e["dtype"].get<std::string>());
    if (!dt) bad(fmt::format("unknown dtype '{}'", e["dtype"].get<std::string>()));
    TensorView t;
    t.name = name;
    t.file = path;
    t.dtype = *dt;
    if (!e["shape"].is_array()) bad("shape is not a list");
    uint64_t numel = 1;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (1ull << 40)) bad(fmt::format("bad shape {}", e["shape"].dump()));
      t.shape.push_back(int64_t(d.get<uint64_t>()));
      numel *= d.get<uint64_t>();
      if (numel > (1ull << 42)) bad(fmt::format("implausible shape {}", e["shape"].dump()));
    }
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad(fmt::format("data_offsets must be [begin, end], got {}", off.dump()));
    uint64_t b = off[0].get<uint64_t>(), en = off[1].get<uint64_t>();
    if (b > en) bad(fmt::format("data_offsets [{}, {}] are reversed", b, en));
    if (en > data_size)
      bad(fmt::format("data [{}, {}) lies beyond the end of the file (data region is {} bytes): truncated shard?", b,
                      en, data_size));
    if (en - b != numel * dtype_size(t.dtype))
      bad(fmt::format("{} bytes for shape {} of {} (expected {})", en - b, t.shape_str(), dtype_name(t.dtype),
                      numel * dtype_size(t.dtype)));
    t.data = data + b;
    t.nbytes = size_t(en - b);
    auto [it, inserted] = tensors_.emplace(name, std::move(t));
    spans.push_back({b, en, &it->first});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].begin < spans[i - 1].end && spans[i].end > spans[i].begin)
      fail(ErrorKind::InvalidModel, "{}: tensors '{}' and '{}' overlap in the data region", path, *spans[i - 1].name,
           *spans[i].name);
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace glm
