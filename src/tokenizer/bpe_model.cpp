#include "tokenizer/bpe_model.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace glm {

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = 0;
}

void MergeTable::insert(int32_t left, int32_t right, Merge m) {
  if (slots_.empty() || (size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    reserve(std::max<size_t>(size_ + 1, old.size()));
    for (const Slot& s : old)
      if (s.key != kEmpty) insert(int32_t(s.key >> 32), int32_t(uint32_t(s.key)), s.merge);
  }
  uint64_t key = pack(left, right);
  for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) return;
    if (s.key == kEmpty) {
      s = {key, m};
      ++size_;
      return;
    }
  }
}

BpeModel::BpeModel(BpeModel&& o) noexcept { *this = std::move(o); }

BpeModel& BpeModel::operator=(BpeModel&& o) noexcept {
  vocab_ = std::move(o.vocab_);
  id_to_token_ = std::move(o.id_to_token_);
  has_id_ = std::move(o.has_id_);
  small_char_id_ = std::move(o.small_char_id_);
  merges_ = std::move(o.merges_);
  unk_id_ = o.unk_id_;
  fuse_unk_ = o.fuse_unk_;
  byte_fallback_ = o.byte_fallback_;
  ignore_merges_ = o.ignore_merges_;
  continuing_subword_prefix_ = std::move(o.continuing_subword_prefix_);
  end_of_word_suffix_ = std::move(o.end_of_word_suffix_);
  byte_fallback_id_ = std::move(o.byte_fallback_id_);
  cache_ = std::move(o.cache_);
  return *this;
}

BpeModel BpeModel::from_json(const nlohmann::json& model, std::string_view context) {
  if (model.value("type", "BPE") != "BPE")
    fail(ErrorKind::InvalidModel, "{}: model type {:?} is not supported (only BPE)", context,
         model.value("type", ""));
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].get<double>() != 0.0)
    fail(ErrorKind::InvalidModel, "{}: BPE dropout is not supported", context);
  BpeModel m;
  auto opt_string = [&](const char* key) {
    return model.contains(key) && model[key].is_string() ? model[key].get<std::string>() : std::string();
  };
  m.continuing_subword_prefix_ = opt_string("continuing_subword_prefix");
  m.end_of_word_suffix_ = opt_string("end_of_word_suffix");
  m.fuse_unk_ = model.value("fuse_unk", false);
  m.byte_fallback_ = model.value("byte_fallback", false);
  m.ignore_merges_ = model.value("ignore_merges", false);

  const auto& vocab = model.at("vocab");
  m.vocab_.reserve(vocab.size());
  int32_t max_id = -1;
  for (const auto& [token, id_json] : vocab.items()) {
    int32_t id = id_json.get<int32_t>();
    if (id < 0) fail(ErrorKind::InvalidModel, "{}: vocab token {:?} has negative id {}", context, token, id);
    m.vocab_.emplace(token, id);
    max_id = std::max(max_id, id);
  }
  m.id_to_token_.resize(size_t(max_id + 1));
  m.has_id_.assign(size_t(max_id + 1), false);
  m.small_char_id_.assign(0x800, -1);
  for (const auto& [token, id] : m.vocab_) {
    m.id_to_token_[size_t(id)] = token;
    m.has_id_[size_t(id)] = true;
    size_t pos = 0;
    if (!token.empty() && utf8::sequence_length(uint8_t(token[0])) == token.size()) {
      uint32_t cp = utf8::next_code_point(token, pos);
      if (cp < 0x800) m.small_char_id_[cp] = id;
    }
  }

  std::string unk = opt_string("unk_token");
  if (!unk.empty()) {
    auto it = m.vocab_.find(unk);
    if (it == m.vocab_.end()) fail(ErrorKind::InvalidModel, "{}: unk_token {:?} is not in the vocab", context, unk);
    m.unk_id_ = it->second;
  }
  m.byte_fallback_id_.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    auto it = m.vocab_.find(fmt::format("<0x{:02X}>", b));
    if (it != m.vocab_.end()) m.byte_fallback_id_[size_t(b)] = it->second;
  }

  const auto& merges = model.at("merges");
  m.merges_.reserve(merges.size());
  size_t prefix_len = m.continuing_subword_prefix_.size();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& entry = merges[rank];
    std::string left, right;
    if (entry.is_string()) {  // legacy "a b"
      const std::string& s = entry.get_ref<const std::string&>();
      size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        fail(ErrorKind::InvalidModel, "{}: merge {} {:?} is not two tokens separated by one space", context, rank, s);
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2) {
      left = entry[0].get<std::string>();
      right = entry[1].get<std::string>();
    } else {
      fail(ErrorKind::InvalidModel, "{}: merge {} is neither \"a b\" nor [a, b]", context, rank);
    }
    auto l = m.vocab_.find(left), r = m.vocab_.find(right);
    if (l == m.vocab_.end() || r == m.vocab_.end())
      fail(ErrorKind::InvalidModel, "{}: merge {} ({:?} {:?}) uses a token not in the vocab", context, rank, left, right);
    std::string merged = left + (prefix_len && right.compare(0, prefix_len, m.continuing_subword_prefix_) == 0
                                     ? right.substr(prefix_len)
                                     : right);
    auto n = m.vocab_.find(merged);
    if (n == m.vocab_.end())
      fail(ErrorKind::InvalidModel, "{}: merge {} result {:?} is not in the vocab", context, rank, merged);
    m.merges_.insert(l->second, r->second, {int32_t(rank), n->second});
  }
  return m;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || size_t(id) >= id_to_token_.size() || !has_id_[size_t(id)]) return nullptr;
  return &id_to_token_[size_t(id)];
}

int32_t BpeModel::char_id(std::string_view ch) const {
  size_t pos = 0;
  uint32_t cp = utf8::next_code_point(ch, pos);
  if (cp < 0x800) return small_char_id_[cp];
  auto it = vocab_.find(ch);
  return it == vocab_.end() ? -1 : it->second;
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    auto it = vocab_.find(word);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  bool cacheable = word.size() < kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t first = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + first, out.end()));
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  // A doubly linked list of symbols over a vector (tokenizers' Word): merged-away symbols get
  // len 0; the heap holds candidate merges ordered by (rank, position).
  struct Symbol {
    int32_t id, prev, next, len;
  };
  struct Candidate {
    int32_t rank, pos, new_id;
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  thread_local std::string piece;
  symbols.clear();
  heap.clear();

  auto add = [&](int32_t id, int32_t len) {
    int32_t index = int32_t(symbols.size());
    symbols.push_back({id, index - 1, index + 1, len});
  };
  int32_t unk_len = 0;  // byte length of a pending unk token (0: none); grows when fuse_unk
  bool affixes = !continuing_subword_prefix_.empty() || !end_of_word_suffix_.empty();
  size_t pos = 0;
  while (pos < word.size()) {
    size_t start = pos;
    size_t len = std::min(utf8::sequence_length(uint8_t(word[pos])), word.size() - pos);
    pos += len;
    std::string_view ch = word.substr(start, len);
    int32_t id;
    if (!affixes) {
      id = char_id(ch);
    } else {
      piece.clear();
      if (start != 0) piece += continuing_subword_prefix_;
      piece += ch;
      if (pos == word.size()) piece += end_of_word_suffix_;
      auto it = vocab_.find(piece);
      id = it == vocab_.end() ? -1 : it->second;
    }
    if (id >= 0) {
      if (unk_len) {
        add(*unk_id_, unk_len);
        unk_len = 0;
      }
      add(id, int32_t(len));
      continue;
    }
    if (byte_fallback_) {
      std::string_view bytes = affixes ? std::string_view(piece) : ch;
      bool all = std::all_of(bytes.begin(), bytes.end(), [&](char b) { return byte_fallback_id_[uint8_t(b)] >= 0; });
      if (all) {
        // tokenizers adds the byte tokens without flushing a pending unk first.
        for (char b : bytes) add(byte_fallback_id_[uint8_t(b)], 1);
        continue;
      }
    }
    if (unk_id_) {
      if (unk_len && fuse_unk_) {
        unk_len += int32_t(len);
      } else {
        if (unk_len) add(*unk_id_, unk_len);
        unk_len = int32_t(len);
      }
    }
    // Without an unk token the character is dropped, as in tokenizers.
  }
  if (unk_len) add(*unk_id_, unk_len);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  for (int32_t i = 0; i + 1 < int32_t(symbols.size()); ++i)
    if (const auto* m = merges_.find(symbols[i].id, symbols[i + 1].id)) heap.push_back({m->rank, i, m->new_id});
  std::make_heap(heap.begin(), heap.end());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    Candidate top = heap.back();
    heap.pop_back();
    Symbol& cur = symbols[top.pos];
    if (cur.len == 0 || cur.next == -1) continue;
    int32_t next_pos = cur.next;
    Symbol right = symbols[next_pos];
    const auto* m = merges_.find(cur.id, right.id);
    if (!m || m->new_id != top.new_id) continue;  // stale candidate
    cur.id = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    symbols[next_pos].len = 0;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (cur.prev >= 0)
      if (const auto* pm = merges_.find(symbols[cur.prev].id, cur.id)) {
        heap.push_back({pm->rank, cur.prev, pm->new_id});
        std::push_heap(heap.begin(), heap.end());
      }
    if (cur.next >= 0)
      if (const auto* nm = merges_.find(cur.id, symbols[cur.next].id)) {
        heap.push_back({nm->rank, top.pos, nm->new_id});
        std::push_heap(heap.begin(), heap.end());
      }
  }
  for (const Symbol& s : symbols)
    if (s.len != 0) out.push_back(s.id);
}

}  // namespace glm
