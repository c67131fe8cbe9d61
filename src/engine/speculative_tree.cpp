// Tree drafting and verification of SpeculativeDecoder (topk > 1; the algorithm and why it is exact:
// engine/spec_tree.h, the round's place in an iteration: engine/speculative.h).
#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "engine/draft_output.h"
#include "engine/speculative.h"

namespace glm {

int64_t SpeculativeDecoder::extra_pages(int64_t page_size) const {
  if (!cfg_.tree()) return 0;
  // At most max(2 * topk beams while a step's beams hand over to the next, num_draft_tokens - 1 paths)
  // forks live at once, each owning the pages of positions [page start of n, n + num_steps].
  const int64_t forks = std::max<int64_t>(2 * cfg_.topk, cfg_.num_draft_tokens - 1);
  return forks * (1 + (cfg_.num_steps + page_size - 1) / page_size);
}

void SpeculativeDecoder::release_trees(KvPagePool& pool) {
  for (TreeRound& t : trees_) {
    for (KvSequence& kv : t.beam_kv) release_tail(kv, t.n, pool);
    for (KvSequence& kv : t.path_kv) release_tail(kv, t.n, pool);
  }
  trees_.clear();
}

int SpeculativeDecoder::append_inputs(RequestState& r, std::vector<SequenceInput>& out) {
  const int64_t start = r.prompt_len() + int64_t(r.output.size()) - 1;
  if (r.spec.tree < 0) {
    out.push_back({std::span<const int32_t>(r.spec.verify), start, &r.kv, true});
    return 1;
  }
  TreeRound& t = trees_[size_t(r.spec.tree)];
  for (size_t p = 0; p < t.path_tokens.size(); ++p)
    out.push_back({std::span<const int32_t>(t.path_tokens[p]), start, &t.path_kv[p], true});
  return int(t.path_tokens.size());
}

int64_t SpeculativeDecoder::plan_tree(std::span<RequestState* const> reqs, int64_t slack, KvPagePool& pool) {
  trees_.clear();
  trees_.reserve(reqs.size());  // inputs point into the rounds: no reallocation after this
  int max_depth = 0;
  for (RequestState* r : reqs) {
    SpecState& s = r->spec;
    s.tree = -1;
    s.win_row = 0;
    if (s.depth < 1) continue;
    if (s.top_ids.empty()) fail(ErrorKind::Internal, "speculative tree: {} has no first-step candidates", r->req.rid);
    s.tree = int(trees_.size());
    TreeRound& t = trees_.emplace_back();
    t.r = r;
    t.n = r->kv.length();
    t.depth = s.depth;
    for (size_t i = 0; i < s.top_ids.size(); ++i) {
      t.cands.push_back({s.top_ids[i], -1, s.top_logp[i]});
      t.beams.push_back(int(i));
      t.beam_hidden.insert(t.beam_hidden.end(), s.hidden.begin(), s.hidden.end());
    }
    max_depth = std::max(max_depth, t.depth);
  }
  for (int j = 2; j <= max_depth; ++j) draft_beams(j, pool);

  int64_t extra = 0;
  for (TreeRound& t : trees_) {
    RequestState& r = *t.r;
    for (KvSequence& kv : t.beam_kv) release_tail(kv, t.n, pool);
    t.beam_kv.clear();
    t.tree = select_tree(t.cands, cfg_.num_draft_tokens - 1);
    // The chain reservation (depth + 1 tokens) always fits the first path; more paths take the slack.
    size_t kept = 0;
    int64_t tokens = 0;
    for (const auto& path : t.tree.paths) {
      const int64_t n = int64_t(path.size()) + 1;
      if (kept > 0 && tokens + n > t.depth + 1 + slack) break;
      tokens += n;
      ++kept;
    }
    keep_paths(t.tree, kept);
    const int64_t over = std::max<int64_t>(0, tokens - (t.depth + 1));
    slack -= over;
    extra += over;
    int64_t row = 0;
    for (const auto& path : t.tree.paths) {
      std::vector<int32_t> toks{r.output.back()};
      for (int x : path) toks.push_back(t.tree.token[size_t(x)]);
      t.path_row.push_back(row);
      row += int64_t(toks.size());
      t.path_tokens.push_back(std::move(toks));
      t.path_kv.push_back(fork_tail(r.kv, t.n, t.n, pool));
    }
  }
  return extra;
}

// Step j (>= 2): every beam of depth j - 1 runs the draft at position n + j - 2 (its token, its parent's
// hidden state); each yields its top-k children, the k best of the k*k become the next beams.
void SpeculativeDecoder::draft_beams(int j, KvPagePool& pool) {
  const int64_t H = target_.config().hidden_size;
  const int K = cfg_.topk;
  inputs_.clear();
  hidden_.clear();
  beam_slots_.clear();
  for (size_t ti = 0; ti < trees_.size(); ++ti) {
    TreeRound& t = trees_[ti];
    if (t.depth < j) continue;
    if (j == 2)
      for (size_t b = 0; b < t.beams.size(); ++b) t.beam_kv.push_back(fork_tail(t.r->kv, t.n, t.n, pool));
    t.ids.assign(t.beams.size() * size_t(K), 0);
    t.logp.assign(t.beams.size() * size_t(K), 0.0f);
    t.next_hidden.assign(t.beams.size() * size_t(H), 0.0f);
    for (size_t b = 0; b < t.beams.size(); ++b) {
      beam_slots_.push_back({ti, b});
      inputs_.push_back({std::span<const int32_t>(&t.cands[size_t(t.beams[b])].token, 1), t.n + j - 2,
                         &t.beam_kv[b], false});
    }
  }
  // Forwards of at most the workspace's tokens (one per beam).
  const size_t cap = size_t(std::max<int64_t>(1, target_.max_batch_tokens()));
  std::vector<int32_t> ids;
  std::vector<float> logp;
  for (size_t g = 0; g < inputs_.size(); g += cap) {
    const size_t m = std::min(cap, inputs_.size() - g);
    hidden_.clear();
    for (size_t i = g; i < g + m; ++i) {
      const TreeRound& t = trees_[beam_slots_[i].first];
      const float* h = t.beam_hidden.data() + beam_slots_[i].second * size_t(H);
      hidden_.insert(hidden_.end(), h, h + H);
    }
    const auto t0 = std::chrono::steady_clock::now();
    ForwardResult res = draft_.forward(std::span<const SequenceInput>(inputs_.data() + g, m), hidden_.data(), pool);
    policy_.record_draft(int64_t(m), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    for (size_t i = 0; i < m; ++i) {
      auto [ti, b] = beam_slots_[g + i];
      TreeRound& t = trees_[ti];
      draft_top_k(res, int64_t(i), K, ids, logp);
      std::copy(ids.begin(), ids.end(), t.ids.begin() + std::ptrdiff_t(b * size_t(K)));
      std::copy(logp.begin(), logp.end(), t.logp.begin() + std::ptrdiff_t(b * size_t(K)));
      std::copy_n(res.hidden + int64_t(i) * H, H, t.next_hidden.begin() + std::ptrdiff_t(b * size_t(H)));
    }
  }
  for (TreeRound& t : trees_) {
    if (t.depth < j) continue;
    std::vector<int> next = expand_beams(t.cands, t.beams, t.ids, t.logp, K);
    if (j < t.depth) {
      // The next beams continue their parents: a parent's fork passes to its first kept child, further
      // children get copies of it; parents without kept children give their pages back.
      std::vector<KvSequence> kv;
      std::vector<float> hidden;
      std::vector<int> owner(t.beams.size(), -1);
      for (int c : next) {
        const size_t b = size_t(std::find(t.beams.begin(), t.beams.end(), t.cands[size_t(c)].parent) - t.beams.begin());
        if (owner[b] < 0) {
          owner[b] = int(kv.size());
          kv.push_back(std::move(t.beam_kv[b]));
        } else {
          KvSequence copy = fork_tail(kv[size_t(owner[b])], t.n, t.n + j - 1, pool);
          kv.push_back(std::move(copy));
        }
        hidden.insert(hidden.end(), t.next_hidden.begin() + std::ptrdiff_t(b * size_t(H)),
                      t.next_hidden.begin() + std::ptrdiff_t((b + 1) * size_t(H)));
      }
      for (size_t b = 0; b < t.beams.size(); ++b)
        if (owner[b] < 0) release_tail(t.beam_kv[b], t.n, pool);
      t.beam_kv = std::move(kv);
      t.beam_hidden = std::move(hidden);
    }
    t.beams = std::move(next);
  }
}

int SpeculativeDecoder::verify_tree(RequestState& r, const float* rows, std::span<float> scratch,
                                    const std::function<bool(sampling::SampleResult&)>& push) {
  const int64_t V = target_.config().vocab_size;
  TreeRound& t = trees_[size_t(r.spec.tree)];
  const DraftTree& tr = t.tree;
  int cur = -1, accepted = 0, produced = 0;
  for (;;) {
    // Every path through cur computed the same row for it (same tokens at the same positions): use
    // the first one's.
    const int64_t row = cur < 0 ? 0 : t.path_row[size_t(tr.home[size_t(cur)])] + tr.depth[size_t(cur)];
    std::copy_n(rows + row * V, V, scratch.begin());
    kid_tokens_.clear();
    for (int c : tr.children(cur)) kid_tokens_.push_back(tr.token[size_t(c)]);
    sampling::DraftCheck check;
    check.tokens = kid_tokens_;
    check.threshold_single = cfg_.accept_threshold_single;
    check.threshold_acc = cfg_.accept_threshold_acc;
    // r.output holds the accepted path so far: penalties and processors see plain decoding's history.
    sampling::SampleResult s =
        r.sampler->sample(scratch, r.req.input_ids, r.output, r.req.return_logprob, r.req.top_logprobs_num, check);
    ++produced;
    int next = -1;
    if (s.draft_accepted)
      for (int c : tr.children(cur))
        if (tr.token[size_t(c)] == s.token_id) next = c;
    if (next >= 0) {
      ++accepted;
      cur = next;
    }
    if (!push(s) || next < 0) break;
  }
  const size_t win = cur < 0 ? 0 : size_t(tr.home[size_t(cur)]);
  r.spec.win_row = t.path_row[win];
  adopt_tail(r.kv, t.path_kv[win], t.n, *pool_);
  for (KvSequence& kv : t.path_kv) release_tail(kv, t.n, *pool_);
  r.spec.tree = -1;
  t.r = nullptr;
  ++r.spec.verify_ct;
  r.spec.accepted += accepted;
  r.spec.drafted += tr.size();
  ++rounds_;
  round_tokens_ += produced;
  return accepted;
}

}  // namespace glm
