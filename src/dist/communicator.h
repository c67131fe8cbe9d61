#pragma once
// The collectives tensor parallelism needs, over MPI (Open MPI) or, in a plain process, over one rank.
// One process-wide communicator (world()): the MPI one when the binary was started by mpirun (see
// init_world), else a single-rank one whose collectives are copies. Calls are made by one thread at a
// time (MPI_THREAD_SERIALIZED): on rank 0 the loader, the scheduler thread and main take turns.
//
// Determinism: all_reduce_sum adds the ranks' contributions in rank order 0, 1, ..., N-1 on every rank
// (an all-gather, then a local sum), so every rank gets the same bits whatever algorithm MPI picks.
// The MoE router downstream takes a discrete top-k of these values: ranks that disagreed in the last bit
// could route a token to different experts and the shards would no longer add up.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace glm::dist {

// Time spent inside collectives since start (figures for docs/PERFORMANCE.md, debug logs).
struct CollectiveStats {
  int64_t all_reduce_calls = 0, all_reduce_floats = 0;
  double all_reduce_s = 0;
  int64_t gather_calls = 0;
  double gather_s = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_mpi() const { return mpi_; }

  // data (n floats) becomes the sum over ranks, in rank order, identical on every rank.
  virtual void all_reduce_sum(float* data, int64_t n) = 0;
  // Rank r contributes counts[r] floats; rank 0 receives them concatenated in rank order into out.
  // out is only written on rank 0 (may be null elsewhere).
  virtual void gather_to_root(const float* mine, const std::vector<int64_t>& counts, float* out) = 0;
  // Rank 0's bytes reach every rank (others' contents are replaced).
  virtual void broadcast(std::vector<uint8_t>& bytes) = 0;
  // Like broadcast on the receiving ranks, but waits by polling with short sleeps: an idle follower
  // does not spin a core while rank 0 has nothing to send.
  virtual void receive_broadcast_idle(std::vector<uint8_t>& bytes) = 0;
  // Every rank's string, in rank order, on every rank.
  virtual std::vector<std::string> all_gather_strings(const std::string& mine) = 0;
  // Ends every rank of the job now (MPI_Abort) after logging msg; a single rank exits.
  [[noreturn]] virtual void abort(const std::string& msg, int code = 1) = 0;

  const CollectiveStats& stats() const { return stats_; }

 protected:
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
  CollectiveStats stats_;
};

// True when this process was started by an MPI launcher (mpirun / mpiexec / srun with PMIx).
bool launched_by_mpi();
// Initialises MPI (MPI_THREAD_SERIALIZED) when launched_by_mpi(), else keeps the single-rank world.
// Call once from main before anything else uses world(). Throws GlmError when MPI cannot give the
// thread level needed.
void init_world(int* argc, char*** argv);
// MPI_Finalize when MPI was initialised (idempotent).
void finalize_world();
Communicator& world();

}  // namespace glm::dist
