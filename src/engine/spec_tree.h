#pragma once
// Tree drafting for speculative decoding (--speculative-eagle-topk K > 1; engine/speculative.h drives it).
// SGLang's semantics (spec §6): step 1 takes the top-K tokens of the draft-extend's distribution as the
// root's children; each further step runs the draft on the K current beams (one batched forward), takes
// the top-K of each beam's distribution and keeps the K best of the K*K expansions by cumulative draft
// log-probability as the next beams; every expansion stays a candidate. The tree verified is the
// N - 1 best candidates by cumulative score (N = num_draft_tokens, the root is the N-th node); a parent
// always scores at least as high as its children and is created earlier (ties keep the earlier one), so
// the selection is a tree.
//
// Verification without a tree attention mask: each root-to-leaf path is verified as its own sequence in
// the one batched target forward, at its true positions, through a forked KvSequence (fork_tail): the
// request's full pages shared, its partly filled last page copied (only the occupied rows). The target
// then runs the plain causal kernel, so every row of a path is bitwise the row plain decoding computes at
// that token (batch invariance), and greedy tree decoding equals plain decoding exactly. A prefix common
// to several paths is computed once per path: the duplicated tokens cost attention and expert FLOPs, but
// MoE groups the batch's tokens by expert, so they add no expert weight reads (the cost that dominates a
// decode step). The winning path's private pages become the request's (adopt_tail): no K/V is moved.
#include <cstdint>
#include <span>
#include <vector>

#include "model/kv_cache.h"

namespace glm {

// A drafted candidate: its token, its parent (an index into the candidate list; -1 = the root) and its
// cumulative draft log-probability.
struct DraftCandidate {
  int32_t token = 0;
  int parent = -1;
  float score = 0.0f;
};

// The k most probable ids of a logits row and their log-softmax values, best first, ties to the lower id.
void top_k_logprobs(const float* logits, int64_t n, int k, std::vector<int32_t>& ids, std::vector<float>& logp);

// One beam step: beam b (a candidate index) expands into its k children ids[b*k ..], logp[b*k ..]
// (top_k_logprobs of its draft row); the k*k children are appended to `cands`. Returns the k best new
// candidates (score desc, ties to the earlier one), the next beams.
std::vector<int> expand_beams(std::vector<DraftCandidate>& cands, std::span<const int> beams,
                              std::span<const int32_t> ids, std::span<const float> logp, int k);

// The tree verified in one round, nodes 0..size()-1 in creation order.
struct DraftTree {
  std::vector<int32_t> token;
  std::vector<int> parent;  // -1: a child of the root
  std::vector<int> depth;   // 1 for the root's children
  std::vector<std::vector<int>> kids;  // children of node x at kids[x + 1] (kids[0]: the root's), best first
  std::vector<std::vector<int>> paths;  // root-exclusive node lists of every root-to-leaf path
  std::vector<int> home;    // the first path through each node (its logits row)
  int size() const { return int(token.size()); }
  const std::vector<int>& children(int node) const { return kids[size_t(node + 1)]; }
};

// Keeps only the first n_paths paths (a smaller tree that fits the batch): nodes on no kept path leave
// the children lists, home is recomputed.
void keep_paths(DraftTree& t, size_t n_paths);

// SGLang's build_eagle_tree selection: the n_keep best candidates by score (ties to the earlier one).
DraftTree select_tree(std::span<const DraftCandidate> cands, int n_keep);

// A sequence over src's positions [0, length), length >= n: src's pages wholly below n shared, the pages
// from the one holding n on copied into pages of its own (only their occupied rows, every layer, the
// draft's included). Forks of forks share the same pages below n, never a fork's own pages.
KvSequence fork_tail(const KvSequence& src, int64_t n, int64_t length, KvPagePool& pool);
// Returns the fork's own pages (index >= n / page_size) to the pool and empties it.
void release_tail(KvSequence& fork, int64_t n, KvPagePool& pool);
// base takes fork's own pages (and length) in place of its pages from index n / page_size, which go back
// to the pool; fork is left empty.
void adopt_tail(KvSequence& base, KvSequence& fork, int64_t n, KvPagePool& pool);

}  // namespace glm

namespace glm {

// The guard of an explicit tree configuration (speculative.h): per batch-size class (1, 2-3, 4-7, ...) it
// keeps the measured seconds per produced token of tree rounds and of plain rounds (decode-only
// iterations, EMA) and picks the cheaper one; each mode is tried 3 times per class first, and the mode
// not chosen is re-measured every 16th iteration, so a change in traffic or acceptance is seen.
class TreeGuard {
 public:
  // Whether the next iteration drafts the tree (else plain decoding) for `batch` requests.
  bool choose(int batch);
  // A decode-only iteration of `batch` requests, tree or plain, produced `tokens` in `seconds`.
  void record(bool tree, int batch, int64_t tokens, double seconds);
  // Both modes measured for this class and plain decoding cheaper.
  bool plain_better(int batch) const;

 private:
  struct Mode {
    double sec_per_token = 0;
    int samples = 0;
  };
  static int batch_class(int batch);
  std::vector<std::pair<Mode, Mode>> classes_;  // (tree, plain) by class
  int since_probe_ = 0;
};

}  // namespace glm
