#include "model/tp_link.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "core/error.h"
#include "core/log.h"
#include "core/proc_status.h"
#include "core/thread_pool.h"
#include "model/glm4_moe.h"
#include "model/nextn.h"

namespace glm {

namespace {

enum class Op : uint8_t {
  Load = 1, CreatePool = 2, DropPool = 3, Forward = 4, Shutdown = 5, DraftForward = 6, DraftVocabulary = 7
};

// Flat little-endian encoding of the messages (all ranks run the same binary).
class Writer {
 public:
  explicit Writer(Op op) { put<uint8_t>(uint8_t(op)); }
  template <class T> void put(T v) {
    const size_t o = buf_.size();
    buf_.resize(o + sizeof(T));
    std::memcpy(buf_.data() + o, &v, sizeof(T));
  }
  template <class T> void put_array(const T* p, int64_t n) {
    put<int64_t>(n);
    const size_t o = buf_.size();
    buf_.resize(o + size_t(n) * sizeof(T));
    if (n) std::memcpy(buf_.data() + o, p, size_t(n) * sizeof(T));
  }
  void put_string(const std::string& s) { put_array(s.data(), int64_t(s.size())); }
  std::vector<uint8_t>& bytes() { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& b) : b_(b) {}
  template <class T> T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <class T> std::vector<T> get_array() {
    const int64_t n = get<int64_t>();
    if (n < 0) fail(ErrorKind::Internal, "tensor-parallel message: negative length");
    need(size_t(n) * sizeof(T));
    std::vector<T> v(static_cast<size_t>(n));
    if (n) std::memcpy(v.data(), b_.data() + pos_, size_t(n) * sizeof(T));
    pos_ += size_t(n) * sizeof(T);
    return v;
  }
  std::string get_string() {
    auto v = get_array<char>();
    return std::string(v.begin(), v.end());
  }

 private:
  void need(size_t n) const {
    if (pos_ + n > b_.size()) fail(ErrorKind::Internal, "tensor-parallel message truncated");
  }
  const std::vector<uint8_t>& b_;
  size_t pos_ = 0;
};

struct LeaderState {
  int64_t next_pool = 0;
  bool shut_down = false;
};
LeaderState& leader() {
  static LeaderState s;
  return s;
}

// A broadcast that fails leaves the ranks out of step for good: stop them all.
void send(Writer& w) {
  try {
    dist::world().broadcast(w.bytes());
  } catch (const std::exception& e) {
    dist::world().abort(fmt::format("rank 0: sending to the other ranks failed: {}", e.what()));
  }
}

// The part Forward and DraftForward share: pool id, pending page copies, per sequence start_pos,
// all_logits, new tokens and page table. Returns the batch's token count.
int64_t put_batch(Writer& w, int64_t pool_id, const std::vector<std::pair<int32_t, int32_t>>& copies,
                  std::span<const SequenceInput> batch) {
  w.put<int64_t>(pool_id);
  w.put<int64_t>(int64_t(copies.size()));
  for (auto [dst, src] : copies) {
    w.put<int32_t>(dst);
    w.put<int32_t>(src);
  }
  w.put<int64_t>(int64_t(batch.size()));
  int64_t T = 0;
  for (const SequenceInput& in : batch) {
    w.put<int64_t>(in.start_pos);
    w.put<uint8_t>(in.all_logits);
    w.put_array(in.tokens.data(), int64_t(in.tokens.size()));
    const auto& pages = in.kv->pages();
    w.put_array(pages.data(), int64_t(pages.size()));
    T += int64_t(in.tokens.size());
  }
  return T;
}

}  // namespace

namespace tp_leader {

bool active() { return dist::world().size() > 1 && dist::world().rank() == 0 && !leader().shut_down; }

void send_load(const std::string& model_dir, const LoadOptions& opt, int threads) {
  if (!active()) return;
  Writer w(Op::Load);
  w.put_string(model_dir);
  w.put<int64_t>(opt.max_batch_tokens);
  w.put<uint8_t>(uint8_t(opt.nextn));
  w.put<uint8_t>(opt.expand_weights_to_f32);
  w.put<int32_t>(opt.tp_size);
  w.put<int32_t>(opt.ep_size);
  w.put<int32_t>(threads);
  send(w);
}

int64_t create_pool(int64_t n_pages, int64_t page_size, KvDType dtype, bool draft_layer) {
  if (!active()) return -1;
  const int64_t id = leader().next_pool++;
  Writer w(Op::CreatePool);
  w.put<int64_t>(id);
  w.put<int64_t>(n_pages);
  w.put<int64_t>(page_size);
  w.put<uint8_t>(uint8_t(dtype));
  w.put<uint8_t>(draft_layer);
  send(w);
  return id;
}

void drop_pool(int64_t id) {
  if (!active()) return;
  Writer w(Op::DropPool);
  w.put<int64_t>(id);
  send(w);
}

void send_forward(int64_t pool_id, const std::vector<std::pair<int32_t, int32_t>>& copies,
                  std::span<const SequenceInput> batch) {
  if (!active()) return;
  Writer w(Op::Forward);
  put_batch(w, pool_id, copies, batch);
  send(w);
}

void send_draft_forward(int64_t pool_id, const std::vector<std::pair<int32_t, int32_t>>& copies,
                        std::span<const SequenceInput> batch, const float* prev_hidden, int64_t hidden_size) {
  if (!active()) return;
  Writer w(Op::DraftForward);
  const int64_t T = put_batch(w, pool_id, copies, batch);
  w.put<int64_t>(hidden_size);
  w.put_array(prev_hidden, T * hidden_size);
  send(w);
}

void send_draft_vocabulary(std::span<const int32_t> token_ids) {
  if (!active()) return;
  Writer w(Op::DraftVocabulary);
  w.put_array(token_ids.data(), int64_t(token_ids.size()));
  send(w);
}

void shutdown(int code) {
  if (!active()) return;
  Writer w(Op::Shutdown);
  w.put<int32_t>(code);
  send(w);
  leader().shut_down = true;
}

}  // namespace tp_leader

namespace {
int follower_loop(dist::Communicator& comm);
}  // namespace

int run_tp_follower(dist::Communicator& comm) {
  try {
    return follower_loop(comm);
  } catch (const std::exception& e) {  // a failed receive or a malformed message: the ranks are out of step
    comm.abort(fmt::format("rank {}: {}", comm.rank(), e.what()));
  }
  __builtin_unreachable();  // abort() does not return
}

namespace {

// A follower's copy of one forward's batch (Forward, DraftForward): sequences rebuilt from rank 0's page
// tables and start positions, so rank 0's truncations and page reuse need no message of their own.
struct FollowerBatch {
  std::vector<KvSequence> seqs;
  std::vector<std::vector<int32_t>> tokens;
  std::vector<SequenceInput> inputs;
  int64_t n_tokens = 0;

  // Reads what put_batch wrote, applies the page copies to the pool and returns it.
  KvPagePool& read(Reader& r, std::map<int64_t, std::unique_ptr<KvPagePool>>& pools) {
    const int64_t id = r.get<int64_t>();
    auto it = pools.find(id);
    if (it == pools.end()) fail(ErrorKind::Internal, "forward on unknown KV pool {}", id);
    KvPagePool& kv = *it->second;
    const int64_t n_copies = r.get<int64_t>();
    for (int64_t i = 0; i < n_copies; ++i) {
      const int32_t dst = r.get<int32_t>(), src = r.get<int32_t>();
      kv.copy_page(dst, src);
    }
    const int64_t n = r.get<int64_t>();
    seqs.assign(size_t(n), KvSequence());
    tokens.resize(size_t(n));
    inputs.clear();
    n_tokens = 0;
    for (int64_t s = 0; s < n; ++s) {
      const int64_t start = r.get<int64_t>();
      const bool all_logits = r.get<uint8_t>() != 0;
      tokens[size_t(s)] = r.get_array<int32_t>();
      seqs[size_t(s)].assign(r.get_array<int32_t>(), start);
      inputs.push_back({tokens[size_t(s)], start, &seqs[size_t(s)], all_logits});
      n_tokens += int64_t(tokens[size_t(s)].size());
    }
    return kv;
  }
};

int64_t env_count(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? std::atoll(v) : -1;
}

int follower_loop(dist::Communicator& comm) {
  const int rank = comm.rank();
  // Test hooks (tests/python/test_tensor_parallel.py): this follower throws in its N-th forward / draft
  // forward, to check that a failure in the middle of serving stops every rank with the reason instead
  // of hanging them.
  const int64_t fail_at_forward = env_count(fmt::format("GLMSERVE_TEST_TP_FAIL_FORWARD_RANK{}", rank));
  const int64_t fail_at_draft = env_count(fmt::format("GLMSERVE_TEST_TP_FAIL_DRAFT_RANK{}", rank));
  int64_t forwards = 0, drafts = 0;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<Glm4MoeModel> model;
  std::unique_ptr<NextNDraft> draft;  // made on the first DraftForward (rank 0's is its SpeculativeDecoder's)
  std::map<int64_t, std::unique_ptr<KvPagePool>> pools;
  std::vector<uint8_t> msg;
  FollowerBatch batch;
  for (;;) {
    comm.receive_broadcast_idle(msg);
    Reader r(msg);
    const Op op = Op(r.get<uint8_t>());
    switch (op) {
      case Op::Load: {
        pools.clear();
        draft.reset();
        model.reset();
        const std::string dir = r.get_string();
        LoadOptions opt;
        opt.max_batch_tokens = r.get<int64_t>();
        opt.nextn = NextNLoad(r.get<uint8_t>());
        opt.expand_weights_to_f32 = r.get<uint8_t>() != 0;
        opt.tp_size = r.get<int32_t>();
        opt.ep_size = r.get<int32_t>();
        const int threads = r.get<int32_t>();
        if (!pool || pool->size() != threads) {
          pool.reset();
          pool = std::make_unique<ThreadPool>(threads);
        }
        // Collective: returns null here when some rank failed (rank 0 reports who and why).
        model = Glm4MoeModel::load_tp_follower(dir, *pool, opt);
        break;
      }
      case Op::CreatePool: {
        const int64_t id = r.get<int64_t>(), n_pages = r.get<int64_t>(), page_size = r.get<int64_t>();
        const KvDType dtype = KvDType(r.get<uint8_t>());
        const bool draft_layer = r.get<uint8_t>() != 0;
        if (!model) comm.abort(fmt::format("rank {}: KV pool requested before a model was loaded", rank));
        try {
          pools[id] = model->make_kv_pool(n_pages, page_size, dtype, draft_layer);
        } catch (const std::exception& e) {
          comm.abort(fmt::format("rank {}: cannot allocate the KV pool ({} pages): {}", rank, n_pages, e.what()));
        }
        break;
      }
      case Op::DropPool:
        pools.erase(r.get<int64_t>());
        break;
      case Op::Forward: {
        try {
          if (!model) fail(ErrorKind::Internal, "forward before a model was loaded");
          KvPagePool& kv = batch.read(r, pools);
          if (++forwards == fail_at_forward)
            fail(ErrorKind::Internal, "injected failure in forward {} (GLMSERVE_TEST_TP_FAIL_FORWARD_RANK{})", forwards,
                 rank);
          model->forward(batch.inputs, kv);
        } catch (const std::exception& e) {
          comm.abort(fmt::format("rank {}: forward failed: {}", rank, e.what()));
        }
        break;
      }
      case Op::DraftForward: {
        try {
          if (!model) fail(ErrorKind::Internal, "draft forward before a model was loaded");
          KvPagePool& kv = batch.read(r, pools);
          const int64_t H = r.get<int64_t>();
          const std::vector<float> hidden = r.get_array<float>();
          if (H != model->config().hidden_size || int64_t(hidden.size()) != batch.n_tokens * H)
            fail(ErrorKind::Internal, "draft forward: {} hidden floats for {} tokens of width {}", hidden.size(),
                 batch.n_tokens, H);
          if (!draft) draft = std::make_unique<NextNDraft>(*model, model->max_batch_tokens());
          if (++drafts == fail_at_draft)
            fail(ErrorKind::Internal, "injected failure in draft forward {} (GLMSERVE_TEST_TP_FAIL_DRAFT_RANK{})",
                 drafts, rank);
          draft->forward(batch.inputs, hidden.data(), kv);
        } catch (const std::exception& e) {
          comm.abort(fmt::format("rank {}: draft forward failed: {}", rank, e.what()));
        }
        break;
      }
      case Op::DraftVocabulary: {
        try {
          if (!model) fail(ErrorKind::Internal, "draft vocabulary before a model was loaded");
          if (!draft) draft = std::make_unique<NextNDraft>(*model, model->max_batch_tokens());
          draft->restrict_vocabulary(r.get_array<int32_t>());
        } catch (const std::exception& e) {
          comm.abort(fmt::format("rank {}: draft token map failed: {}", rank, e.what()));
        }
        break;
      }
      case Op::Shutdown:
        spdlog::info("rank {}: shutting down ({}, model loaded)", rank, resident_memory_text());
        return r.get<int32_t>();
      default:
        comm.abort(fmt::format("rank {}: unknown tensor-parallel message {}", rank, int(op)));
    }
  }
}

}  // namespace

}  // namespace glm
