#pragma once
// Tensor parallelism, control path: rank 0 runs the program (HTTP server, scheduler, generate, bench)
// and every other rank runs run_tp_follower(), which executes what rank 0 broadcasts, in order:
//   Load       model_dir + LoadOptions + thread count: load this rank's shard (then all ranks exchange
//              their load status, so a rank that failed is named on rank 0 and nobody waits forever);
//   CreatePool / DropPool: a KvPagePool with rank 0's id, size, KV dtype and whether it has the MTP
//              draft's layer L (each rank holds its KV heads);
//   Forward    pool id, the page copies the prefix cache made on rank 0 since the last forward, and per
//              sequence: start_pos, all_logits, the new tokens and the page table (after rank 0 reserved
//              pages), so every rank writes the same pages and the KV caches stay in step;
//   DraftForward  the same for one forward of the MTP draft (NextNDraft::forward: speculative decoding's
//              chained draft steps, draft-extend, catch-up, calibration), plus the draft's prev_hidden
//              rows (T x H floats). Rank 0 sends those rows rather than have followers keep target and
//              draft hidden states per request: the hidden rows a draft forward consumes come from the
//              last target forward, from older ones (deferred extends) or from the draft itself, and
//              mirroring that bookkeeping on followers would duplicate the scheduler's state. The cost is
//              one broadcast of T x H floats, less than one of the draft layer's three T x H all-reduces;
//              speculation's KV truncation needs no message (every forward carries start_pos and the
//              page table, so a follower's sequence is rebuilt from rank 0's each time);
//   DraftVocabulary  the MTP draft's FR-Spec token map (NextNDraft::restrict_vocabulary): every rank keeps
//              the map's rows of its own vocabulary shard of the lm_head;
//   Shutdown   exit code: followers leave their loop.
// The data path (all-reduce of partial sums, gather of logits) runs inside Glm4MoeModel::forward on
// every rank. Any exception after a message was sent (or on a follower) ends the whole job through
// Communicator::abort: a collective that one rank never joins would hang the others.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "dist/communicator.h"
#include "kernels/kv_format.h"
#include "model/forward_batch.h"

namespace glm {

struct LoadOptions;

// Rank 0's side; every call is a no-op in a single-rank world. One thread at a time.
namespace tp_leader {

bool active();  // world size > 1 and this is rank 0
void send_load(const std::string& model_dir, const LoadOptions& opt, int threads);
// Registers a new pool with the followers (draft_layer: one more layer for the MTP draft); returns its id.
int64_t create_pool(int64_t n_pages, int64_t page_size, KvDType dtype, bool draft_layer);
void drop_pool(int64_t id);
void send_forward(int64_t pool_id, const std::vector<std::pair<int32_t, int32_t>>& copies,
                  std::span<const SequenceInput> batch);
// prev_hidden: (T, H) rows, T = the batch's tokens (NextNDraft::forward's input).
void send_draft_forward(int64_t pool_id, const std::vector<std::pair<int32_t, int32_t>>& copies,
                        std::span<const SequenceInput> batch, const float* prev_hidden, int64_t hidden_size);
void send_draft_vocabulary(std::span<const int32_t> token_ids);
// Followers leave their loop and exit with `code`; idempotent (later calls do nothing).
void shutdown(int code);

}  // namespace tp_leader

// The loop of ranks 1..N-1; returns the process exit status rank 0 sent with Shutdown.
int run_tp_follower(dist::Communicator& comm);

}  // namespace glm
