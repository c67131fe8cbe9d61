#include "model/torch_file.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>

#include "core/error.h"

namespace glm {
namespace {

// What the pickle of a torch.save file can build (only the parts a list of ints needs are kept).
struct Value {
  enum class Kind { None, Bool, Int, Float, Str, Global, Tuple, List, Dict, Storage, Tensor, Mark };
  Value(Kind k = Kind::None) : kind(k) {}  // NOLINT: implicit, so that Value{Kind::List} reads as what it is
  Kind kind;
  int depth = 0;              // nesting of tuples / lists (bounded: copies and destructors recurse)
  int64_t i = 0;
  std::string s, s2;          // Str: s; Global: module s, name s2; Storage: dtype name s, key s2
  std::vector<Value> items;   // Tuple / List; Tensor: {storage, sizes tuple, strides tuple}
};

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "a bool";
    case Value::Kind::Int: return "an int";
    case Value::Kind::Float: return "a float";
    case Value::Kind::Str: return "a string";
    case Value::Kind::Global: return "a class";
    case Value::Kind::Tuple: return "a tuple";
    case Value::Kind::List: return "a list";
    case Value::Kind::Dict: return "a dict";
    case Value::Kind::Storage: return "a storage";
    case Value::Kind::Tensor: return "a tensor";
    case Value::Kind::Mark: return "a mark";
  }
  return "?";
}

// Bytes per element of torch's legacy storage type names (what torch.save writes for each dtype).
int storage_element_bytes(const std::string& type) {
  if (type == "LongStorage") return 8;
  if (type == "IntStorage") return 4;
  if (type == "ShortStorage") return 2;
  if (type == "CharStorage" || type == "ByteStorage") return 1;
  return 0;
}

class PickleMachine {
 public:
  PickleMachine(const std::string& path, std::string_view code) : path_(path), code_(code) {}

  Value run() {
    while (pos_ < code_.size()) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                        // PROTO
        case 0x95: bytes(8); break;                      // FRAME (protocol 4)
        case '(': push(Value{Value::Kind::Mark}); break;  // MARK
        case 'N': push(Value{}); break;
        case 0x88: push(make_int(Value::Kind::Bool, 1)); break;
        case 0x89: push(make_int(Value::Kind::Bool, 0)); break;
        case 'K': push(make_int(Value::Kind::Int, byte())); break;                       // BININT1
        case 'M': push(make_int(Value::Kind::Int, int64_t(le(2)))); break;               // BININT2
        case 'J': push(make_int(Value::Kind::Int, int64_t(int32_t(uint32_t(le(4)))))); break;  // BININT
        case 0x8a: push(make_int(Value::Kind::Int, long1(byte()))); break;              // LONG1
        case 'G': bytes(8); push(Value{Value::Kind::Float}); break;                     // BINFLOAT
        case 'X': case 'T': push(make_str(bytes(le(4)))); break;   // BINUNICODE, BINSTRING
        case 0x8c: case 'U': push(make_str(bytes(byte()))); break;  // SHORT_BINUNICODE, SHORT_BINSTRING
        case 'c': {                                                  // GLOBAL "module\nname\n"
          Value g{Value::Kind::Global};
          g.s = line();
          g.s2 = line();
          push(std::move(g));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          Value name = pop(), module = pop();
          Value g{Value::Kind::Global};
          g.s = module.s;
          g.s2 = name.s;
          push(std::move(g));
          break;
        }
        case 'q': memo_[byte()] = top(); break;          // BINPUT
        case 'r': memo_[le(4)] = top(); break;           // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;   // MEMOIZE
        case 'h': push(memo_at(byte())); break;          // BINGET
        case 'j': push(memo_at(le(4))); break;           // LONG_BINGET
        case ')': push(Value{Value::Kind::Tuple}); break;
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          Value t{Value::Kind::Tuple};
          t.items.resize(size_t(op - 0x84));
          for (size_t k = t.items.size(); k-- > 0;) t.items[k] = pop();
          push(std::move(t));
          break;
        }
        case 't': {
          Value t{Value::Kind::Tuple};
          t.items = pop_to_mark();
          push(std::move(t));
          break;
        }
        case ']': push(Value{Value::Kind::List}); break;
        case 'l': {  // LIST (from mark)
          Value l{Value::Kind::List};
          l.items = pop_to_mark();
          push(std::move(l));
          break;
        }
        case 'a': case 'e': {  // APPEND, APPENDS
          std::vector<Value> vs;
          if (op == 'a') vs.push_back(pop());
          else vs = pop_to_mark();
          Value l = pop();
          if (l.kind != Value::Kind::List)
            fail(ErrorKind::InvalidArgument, "{}: malformed pickle (append without a list)", path_);
          for (auto& v : vs) {
            deepen(l, v);
            l.items.push_back(std::move(v));
          }
          stack_.push_back(std::move(l));
          break;
        }
        case '}': push(Value{Value::Kind::Dict}); break;
        case 's': pop(); pop(); break;      // SETITEM: dict contents are not needed
        case 'u': pop_to_mark(); break;     // SETITEMS
        case 'b': pop(); break;             // BUILD: object state is not needed
        case 'Q': push(storage(pop())); break;  // BINPERSID
        case 'R': {                             // REDUCE
          Value args = pop(), fn = pop();
          push(reduce(fn, args));
          break;
        }
        case '.': {
          Value v = pop();
          return v;
        }
        default:
          fail(ErrorKind::InvalidArgument, "{}: unsupported pickle opcode 0x{:02x} at byte {} (not a torch.save file of "
               "a tensor or list of ints?)", path_, int(op), pos_ - 1);
      }
    }
    fail(ErrorKind::InvalidArgument, "{}: the pickle ends without STOP", path_);
  }

 private:
  [[noreturn]] void truncated() { fail(ErrorKind::InvalidArgument, "{}: truncated pickle", path_); }
  uint8_t byte() {
    if (pos_ >= code_.size()) truncated();
    return uint8_t(code_[pos_++]);
  }
  std::string_view bytes(uint64_t n) {
    if (n > code_.size() - pos_) truncated();
    std::string_view v = code_.substr(pos_, size_t(n));
    pos_ += size_t(n);
    return v;
  }
  uint64_t le(int n) {
    std::string_view b = bytes(uint64_t(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | uint8_t(b[size_t(k)]);
    return v;
  }
  int64_t long1(int n) {
    if (n == 0) return 0;
    if (n > 8) fail(ErrorKind::InvalidArgument, "{}: an integer of {} bytes does not fit in 64 bits", path_, n);
    uint64_t v = le(n);
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    return int64_t(v);
  }
  std::string line() {
    const size_t end = code_.find('\n', pos_);
    if (end == std::string_view::npos) truncated();
    std::string s(code_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  static Value make_int(Value::Kind k, int64_t v) {
    Value x{k};
    x.i = v;
    return x;
  }
  static Value make_str(std::string_view s) {
    Value x{Value::Kind::Str};
    x.s = std::string(s);
    return x;
  }
  // A container's depth from its items (each new item once: appends add to it).
  void deepen(Value& c, const Value& item) {
    c.depth = std::max(c.depth, item.depth + 1);
    if (c.depth > kMaxDepth) fail(ErrorKind::InvalidArgument, "{}: the pickle nests deeper than {}", path_, kMaxDepth);
  }
  void push(Value v) {
    if (v.depth == 0)
      for (const Value& x : v.items) deepen(v, x);
    stack_.push_back(std::move(v));
  }
  static constexpr int kMaxDepth = 100;
  Value pop() {
    if (stack_.empty() || stack_.back().kind == Value::Kind::Mark)
      fail(ErrorKind::InvalidArgument, "{}: malformed pickle (stack underflow)", path_);
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const Value& top() {
    if (stack_.empty()) fail(ErrorKind::InvalidArgument, "{}: malformed pickle (memo of an empty stack)", path_);
    return stack_.back();
  }
  std::vector<Value> pop_to_mark() {
    size_t m = stack_.size();
    while (m > 0 && stack_[m - 1].kind != Value::Kind::Mark) --m;
    if (m == 0) fail(ErrorKind::InvalidArgument, "{}: malformed pickle (no mark)", path_);
    std::vector<Value> items(std::make_move_iterator(stack_.begin() + std::ptrdiff_t(m)),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(m - 1);
    return items;
  }
  Value memo_at(uint64_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail(ErrorKind::InvalidArgument, "{}: malformed pickle (memo {} unset)", path_, k);
    return it->second;
  }
  // ('storage', <torch.XStorage>, key, location, numel)
  Value storage(const Value& pid) {
    const auto& t = pid.items;
    if (pid.kind != Value::Kind::Tuple || t.size() < 5 || t[0].s != "storage" || t[1].kind != Value::Kind::Global ||
        t[2].kind != Value::Kind::Str || t[4].kind != Value::Kind::Int)
      fail(ErrorKind::InvalidArgument, "{}: unsupported persistent id in the pickle", path_);
    if (storage_element_bytes(t[1].s2) == 0)
      fail(ErrorKind::InvalidArgument, "{}: holds a torch.{} tensor; token ids must be an integer tensor", path_, t[1].s2);
    Value s{Value::Kind::Storage};
    s.s = t[1].s2;
    s.s2 = t[2].s;
    s.i = t[4].i;
    return s;
  }
  Value reduce(const Value& fn, const Value& args) {
    if (fn.kind != Value::Kind::Global) fail(ErrorKind::InvalidArgument, "{}: malformed pickle (call of {})", path_, kind_name(fn.kind));
    if (fn.s == "collections" && fn.s2 == "OrderedDict") return Value{Value::Kind::Dict};
    if (fn.s == "torch._utils" && fn.s2 == "_rebuild_tensor_v2") {
      const auto& a = args.items;
      if (a.size() < 4 || a[0].kind != Value::Kind::Storage || a[1].kind != Value::Kind::Int ||
          a[2].kind != Value::Kind::Tuple || a[3].kind != Value::Kind::Tuple)
        fail(ErrorKind::InvalidArgument, "{}: malformed tensor in the pickle", path_);
      Value t{Value::Kind::Tensor};
      t.i = a[1].i;  // storage offset
      t.items = {a[0], a[2], a[3]};
      return t;
    }
    fail(ErrorKind::InvalidArgument, "{}: the pickle calls {}.{}, which a token map never needs (refused)", path_, fn.s,
         fn.s2);
  }

  const std::string& path_;
  std::string_view code_;
  size_t pos_ = 0;
  std::vector<Value> stack_;
  std::map<uint64_t, Value> memo_;
};

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

std::string read_entry(zip_t* z, zip_int64_t index, const std::string& path, const char* name) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, zip_uint64_t(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    fail(ErrorKind::InvalidArgument, "{}: cannot stat {} in the archive", path, name);
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen_index(z, zip_uint64_t(index), 0), zip_fclose);
  if (!f) fail(ErrorKind::InvalidArgument, "{}: cannot open {} in the archive: {}", path, name, zip_strerror(z));
  std::string out(size_t(st.size), '\0');
  if (zip_fread(f.get(), out.data(), st.size) != zip_int64_t(st.size))
    fail(ErrorKind::InvalidArgument, "{}: cannot read {} in the archive (corrupt?)", path, name);
  return out;
}

}  // namespace

std::vector<int64_t> read_torch_int_list(const std::string& path) {
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> z(zip_open(path.c_str(), ZIP_RDONLY, &err));
  if (!z) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    fail(ErrorKind::InvalidArgument, "{}: not a torch.save file ({})", path, why);
  }
  // Entries are "<archive name>/data.pkl" and "<archive name>/data/<key>"; the archive name varies.
  const zip_int64_t n = zip_get_num_entries(z.get(), 0);
  zip_int64_t pkl = -1;
  std::string prefix;
  for (zip_int64_t k = 0; k < n; ++k) {
    const char* raw = zip_get_name(z.get(), zip_uint64_t(k), 0);
    const std::string name = raw ? raw : "";
    if (name == "data.pkl" || (name.size() > 9 && name.compare(name.size() - 9, 9, "/data.pkl") == 0)) {
      pkl = k;
      prefix = name.substr(0, name.size() - 8);
      break;
    }
  }
  if (pkl < 0) fail(ErrorKind::InvalidArgument, "{}: no data.pkl in the archive (not a torch.save file)", path);
  const zip_int64_t order = zip_name_locate(z.get(), (prefix + "byteorder").c_str(), 0);
  if (order >= 0 && read_entry(z.get(), order, path, "byteorder") != "little")
    fail(ErrorKind::InvalidArgument, "{}: saved on a big-endian machine (not supported)", path);
  const std::string code = read_entry(z.get(), pkl, path, "data.pkl");
  const Value v = PickleMachine(path, code).run();

  std::vector<int64_t> out;
  if (v.kind == Value::Kind::List || v.kind == Value::Kind::Tuple) {
    for (const Value& x : v.items) {
      if (x.kind != Value::Kind::Int)
        fail(ErrorKind::InvalidArgument, "{}: the list holds {}, not only ints", path, kind_name(x.kind));
      out.push_back(x.i);
    }
    return out;
  }
  if (v.kind != Value::Kind::Tensor)
    fail(ErrorKind::InvalidArgument, "{}: holds {}, not a tensor or list of ints", path, kind_name(v.kind));
  const Value& storage = v.items[0];
  const auto& sizes = v.items[1].items;
  const auto& strides = v.items[2].items;
  if (sizes.size() != 1 || strides.size() != 1 || sizes[0].kind != Value::Kind::Int)
    fail(ErrorKind::InvalidArgument, "{}: holds a {}-D tensor; token ids must be 1-D", path, sizes.size());
  const int64_t count = sizes[0].i, offset = v.i;
  if (count > 1 && strides[0].i != 1)
    fail(ErrorKind::InvalidArgument, "{}: holds a strided tensor view (stride {}); save a contiguous one", path,
         strides[0].i);
  const int elem = storage_element_bytes(storage.s);
  const std::string entry = prefix + "data/" + storage.s2;
  const zip_int64_t idx = zip_name_locate(z.get(), entry.c_str(), 0);
  if (idx < 0) fail(ErrorKind::InvalidArgument, "{}: storage {} is missing from the archive", path, entry);
  const std::string data = read_entry(z.get(), idx, path, entry.c_str());
  if (count < 0 || offset < 0 || uint64_t(offset + count) * uint64_t(elem) > data.size())
    fail(ErrorKind::InvalidArgument, "{}: the tensor ({} elements at offset {}) overruns its storage ({} bytes)", path,
         count, offset, data.size());
  out.resize(size_t(count));
  const char* p = data.data() + offset * elem;
  for (int64_t k = 0; k < count; ++k, p += elem) {
    switch (elem) {  // little-endian storages (torch's byteorder entry; x86 and ARM hosts)
      case 8: { int64_t x; std::memcpy(&x, p, 8); out[size_t(k)] = x; break; }
      case 4: { int32_t x; std::memcpy(&x, p, 4); out[size_t(k)] = x; break; }
      case 2: { int16_t x; std::memcpy(&x, p, 2); out[size_t(k)] = x; break; }
      default: out[size_t(k)] = storage.s == "ByteStorage" ? int64_t(uint8_t(*p)) : int64_t(int8_t(*p)); break;
    }
  }
  return out;
}

}  // namespace glm
