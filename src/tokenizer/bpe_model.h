#pragma once
// The BPE "model" of tokenizer.json: vocab (token -> id), ranked merges, and the merge loop of
// tokenizers' Word::merge_all (lowest rank first, leftmost among equal ranks). Options:
// ignore_merges (a word found whole in the vocab is one token), byte_fallback (<0xXX> tokens for
// characters not in the vocab), unk_token / fuse_unk, continuing_subword_prefix,
// end_of_word_suffix. Dropout is not supported (inference never uses it).
// Thread-safe: tokenize() may run concurrently; the word cache is behind a mutex.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace glm {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Open-addressing map from a pair of token ids to (merge rank, merged id).
class MergeTable {
 public:
  struct Merge {
    int32_t rank, new_id;
  };
  void reserve(size_t n);
  void insert(int32_t left, int32_t right, Merge m);  // the first insertion of a pair wins
  const Merge* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    uint64_t key = pack(left, right);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.merge;
      if (s.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  static uint64_t pack(int32_t l, int32_t r) { return (uint64_t(uint32_t(l)) << 32) | uint32_t(r); }
  static size_t hash(uint64_t k) { return size_t((k * 0x9E3779B97F4A7C15ull) >> 17); }
  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
};

class BpeModel {
 public:
  // `model` is the "model" object of tokenizer.json (type "BPE"); `context` names the file.
  static BpeModel from_json(const nlohmann::json& model, std::string_view context);

  // Appends the ids of one pre-tokenized word.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(int32_t id) const;  // nullptr for ids not in the vocab
  int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }
  size_t size() const { return vocab_.size(); }
  size_t merge_count() const { return merges_.size(); }

  BpeModel() = default;
  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&& other) noexcept;

 private:
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  int32_t char_id(std::string_view ch) const;  // vocab id of a one-character token, -1 if none

  TokenIdMap vocab_;
  std::vector<std::string> id_to_token_;  // dense by id; holes are empty and flagged in has_id_
  std::vector<bool> has_id_;
  std::vector<int32_t> small_char_id_;  // code point < 0x800 -> id of that one-character token, or -1
  MergeTable merges_;
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  std::string continuing_subword_prefix_, end_of_word_suffix_;
  std::vector<int32_t> byte_fallback_id_;  // byte -> id of "<0xXX>", -1 if absent

  // Word cache, as tokenizers keeps one: words under kCacheMaxWordBytes, up to kCacheCapacity
  // entries; when full it stops admitting (no eviction work on the hot path).
  static constexpr size_t kCacheCapacity = 1 << 16;
  static constexpr size_t kCacheMaxWordBytes = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace glm
