// world(), the single-rank communicator and the MPI one (Open MPI's C API).
#include "dist/communicator.h"

// The C API only: mpi.h would otherwise pull in the deprecated C++ bindings (libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "core/log.h"

namespace glm::dist {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

class LocalCommunicator final : public Communicator {
 public:
  void all_reduce_sum(float*, int64_t) override {}
  void gather_to_root(const float* mine, const std::vector<int64_t>& counts, float* out) override {
    if (out != mine) std::memcpy(out, mine, size_t(counts.at(0)) * sizeof(float));
  }
  void broadcast(std::vector<uint8_t>&) override {}
  void receive_broadcast_idle(std::vector<uint8_t>&) override {
    fail(ErrorKind::Internal, "receive_broadcast_idle on a single-rank world");
  }
  std::vector<std::string> all_gather_strings(const std::string& mine) override { return {mine}; }
  [[noreturn]] void abort(const std::string& msg, int code) override {
    spdlog::critical("{}", msg);
    std::fflush(nullptr);
    std::_Exit(code);
  }
};

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail(ErrorKind::Internal, "{} failed: {}", what, std::string(text, size_t(len)));
}

// Largest element count one MPI call takes (int counts), kept well below INT_MAX.
constexpr int64_t kChunk = int64_t(1) << 24;

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    mpi_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // Errors come back as return codes (checked) instead of MPI's default abort without context.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }

  void all_reduce_sum(float* data, int64_t n) override {
    const auto t0 = Clock::now();
    // Gather everyone's part in pieces of at most 4 MiB per rank, then sum in rank order.
    const int64_t piece = std::min<int64_t>(n, int64_t(1) << 20);
    if (int64_t(gathered_.size()) < piece * size_) gathered_.resize(size_t(piece * size_));
    for (int64_t off = 0; off < n; off += piece) {
      const int64_t m = std::min(piece, n - off);
      check(MPI_Allgather(data + off, int(m), MPI_FLOAT, gathered_.data(), int(m), MPI_FLOAT, MPI_COMM_WORLD),
            "MPI_Allgather (all-reduce)");
      float* out = data + off;
      std::memcpy(out, gathered_.data(), size_t(m) * sizeof(float));
      for (int r = 1; r < size_; ++r) {
        const float* part = gathered_.data() + int64_t(r) * m;
        for (int64_t i = 0; i < m; ++i) out[i] += part[i];
      }
    }
    stats_.all_reduce_calls++;
    stats_.all_reduce_floats += n;
    stats_.all_reduce_s += since(t0);
  }

  void gather_to_root(const float* mine, const std::vector<int64_t>& counts, float* out) override {
    const auto t0 = Clock::now();
    std::vector<int> cnt(static_cast<size_t>(size_)), displ(static_cast<size_t>(size_));
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      if (counts.at(size_t(r)) > kChunk * 64 || total > kChunk * 64)
        fail(ErrorKind::Internal, "gather_to_root: {} floats is too large for one MPI call", counts[size_t(r)]);
      cnt[size_t(r)] = int(counts[size_t(r)]);
      displ[size_t(r)] = int(total);
      total += counts[size_t(r)];
    }
    check(MPI_Gatherv(mine, cnt[size_t(rank_)], MPI_FLOAT, out, cnt.data(), displ.data(), MPI_FLOAT, 0,
                      MPI_COMM_WORLD),
          "MPI_Gatherv");
    stats_.gather_calls++;
    stats_.gather_s += since(t0);
  }

  void broadcast(std::vector<uint8_t>& bytes) override {
    int64_t n = int64_t(bytes.size());
    // The header is a non-blocking broadcast on every rank: idle followers poll for it
    // (receive_broadcast_idle), and MPI matches a collective only with the same kind of call.
    MPI_Request req;
    check(MPI_Ibcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD, &req), "MPI_Ibcast (size)");
    check(MPI_Wait(&req, MPI_STATUS_IGNORE), "MPI_Wait (size)");
    receive_body(bytes, n);
  }

  void receive_broadcast_idle(std::vector<uint8_t>& bytes) override {
    int64_t n = 0;
    MPI_Request req;
    check(MPI_Ibcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD, &req), "MPI_Ibcast");
    // Busy-poll briefly (back-to-back decode steps arrive within microseconds), then sleep between
    // polls, up to 1 ms: an idle server's followers cost ~nothing, a new request waits <= 1 ms more.
    const auto t0 = Clock::now();
    int sleep_us = 0;
    for (;;) {
      int done = 0;
      check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (done) break;
      if (since(t0) < 0.002) continue;
      sleep_us = std::min(1000, sleep_us + 50);
      std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
    }
    receive_body(bytes, n);
  }

  std::vector<std::string> all_gather_strings(const std::string& mine) override {
    std::vector<int> lens(static_cast<size_t>(size_)), displ(static_cast<size_t>(size_));
    int len = int(mine.size());
    check(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather (lengths)");
    int total = 0;
    for (int r = 0; r < size_; ++r) {
      displ[size_t(r)] = total;
      total += lens[size_t(r)];
    }
    std::string all(size_t(total), '\0');
    check(MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displ.data(), MPI_CHAR, MPI_COMM_WORLD),
          "MPI_Allgatherv (strings)");
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r) out.push_back(all.substr(size_t(displ[size_t(r)]), size_t(lens[size_t(r)])));
    return out;
  }

  [[noreturn]] void abort(const std::string& msg, int code) override {
    spdlog::critical("rank {}/{}: {} (stopping every rank)", rank_, size_, msg);
    std::fflush(nullptr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  void receive_body(std::vector<uint8_t>& bytes, int64_t n) {
    if (rank_ != 0) bytes.resize(size_t(n));
    for (int64_t off = 0; off < n; off += kChunk)
      check(MPI_Bcast(bytes.data() + off, int(std::min(kChunk, n - off)), MPI_BYTE, 0, MPI_COMM_WORLD),
            "MPI_Bcast (body)");
  }

  std::vector<float> gathered_;
};

std::unique_ptr<Communicator>& world_ptr() {
  static std::unique_ptr<Communicator> w = std::make_unique<LocalCommunicator>();
  return w;
}
bool mpi_started = false;

}  // namespace

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

void init_world(int* argc, char*** argv) {
  if (mpi_started || !launched_by_mpi()) return;
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  mpi_started = true;
  if (provided < MPI_THREAD_SERIALIZED)
    fail(ErrorKind::Internal, "MPI provides thread level {} but glmserve needs MPI_THREAD_SERIALIZED", provided);
  world_ptr() = std::make_unique<MpiCommunicator>();
}

void finalize_world() {
  if (!mpi_started) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Communicator& world() { return *world_ptr(); }

}  // namespace glm::dist
