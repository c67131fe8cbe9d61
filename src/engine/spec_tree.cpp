#include "engine/spec_tree.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace glm {

void top_k_logprobs(const float* logits, int64_t n, int k, std::vector<int32_t>& ids, std::vector<float>& logp) {
  k = int(std::min<int64_t>(k, n));
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, logits[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(logits[i]) - double(mx));
  const double log_norm = double(mx) + std::log(sum);
  std::vector<int32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  // Ties to the lower id, like the chain's argmax (the first maximum): top-1 is the chain's draft.
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  ids.assign(order.begin(), order.begin() + k);
  logp.resize(size_t(k));
  for (int i = 0; i < k; ++i) logp[size_t(i)] = float(double(logits[ids[size_t(i)]]) - log_norm);
}

std::vector<int> expand_beams(std::vector<DraftCandidate>& cands, std::span<const int> beams,
                              std::span<const int32_t> ids, std::span<const float> logp, int k) {
  const int first = int(cands.size());
  for (size_t b = 0; b < beams.size(); ++b)
    for (int c = 0; c < k; ++c) {
      const size_t i = b * size_t(k) + size_t(c);
      cands.push_back({ids[i], beams[b], cands[size_t(beams[b])].score + logp[i]});
    }
  std::vector<int> next(cands.size() - size_t(first));
  std::iota(next.begin(), next.end(), first);
  const size_t keep = std::min(next.size(), size_t(k));
  std::partial_sort(next.begin(), next.begin() + std::ptrdiff_t(keep), next.end(), [&](int a, int b) {
    return cands[size_t(a)].score > cands[size_t(b)].score || (cands[size_t(a)].score == cands[size_t(b)].score && a < b);
  });
  next.resize(keep);
  return next;
}

DraftTree select_tree(std::span<const DraftCandidate> cands, int n_keep) {
  std::vector<int> order(cands.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t keep = std::min(order.size(), size_t(std::max(n_keep, 0)));
  auto better = [&](int a, int b) {
    return cands[size_t(a)].score > cands[size_t(b)].score || (cands[size_t(a)].score == cands[size_t(b)].score && a < b);
  };
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(keep), order.end(), better);
  order.resize(keep);
  std::sort(order.begin(), order.end());  // creation order: parents before children
  std::vector<int> node_of(cands.size(), -1);
  DraftTree t;
  t.kids.resize(keep + 1);
  for (size_t i = 0; i < keep; ++i) {
    const DraftCandidate& c = cands[size_t(order[i])];
    node_of[size_t(order[i])] = int(i);
    const int parent = c.parent < 0 ? -1 : node_of[size_t(c.parent)];
    if (c.parent >= 0 && parent < 0)  // cannot happen: a parent outscores its children, ties go to it
      fail(ErrorKind::Internal, "speculative tree: candidate {} kept without its parent {}", order[i], c.parent);
    t.token.push_back(c.token);
    t.parent.push_back(parent);
    t.depth.push_back(parent < 0 ? 1 : t.depth[size_t(parent)] + 1);
    t.kids[size_t(parent + 1)].push_back(int(i));
  }
  // Best child first: the sampled verification tries the draft's favourite first.
  for (auto& k : t.kids)
    std::stable_sort(k.begin(), k.end(), [&](int a, int b) { return better(order[size_t(a)], order[size_t(b)]); });
  t.home.assign(keep, -1);
  for (size_t i = 0; i < keep; ++i) {
    if (!t.kids[i + 1].empty()) continue;  // not a leaf
    std::vector<int> path;
    for (int x = int(i); x >= 0; x = t.parent[size_t(x)]) path.push_back(x);
    std::reverse(path.begin(), path.end());
    for (int x : path)
      if (t.home[size_t(x)] < 0) t.home[size_t(x)] = int(t.paths.size());
    t.paths.push_back(std::move(path));
  }
  return t;
}

void keep_paths(DraftTree& t, size_t n_paths) {
  if (n_paths >= t.paths.size()) return;
  t.paths.resize(n_paths);
  std::vector<char> alive(size_t(t.size()), 0);
  t.home.assign(size_t(t.size()), -1);
  for (size_t p = 0; p < t.paths.size(); ++p)
    for (int x : t.paths[p]) {
      alive[size_t(x)] = 1;
      if (t.home[size_t(x)] < 0) t.home[size_t(x)] = int(p);
    }
  for (auto& k : t.kids) k.erase(std::remove_if(k.begin(), k.end(), [&](int x) { return !alive[size_t(x)]; }), k.end());
}

KvSequence fork_tail(const KvSequence& src, int64_t n, int64_t length, KvPagePool& pool) {
  const int64_t ps = pool.page_size(), full = n / ps, need = (length + ps - 1) / ps;
  const auto& pages = src.pages();
  if (length < n || int64_t(pages.size()) < need)
    fail(ErrorKind::Internal, "speculative tree: fork of [0, {}) at {} from a sequence with {} pages", length, n,
         pages.size());
  std::vector<int32_t> mine(pages.begin(), pages.begin() + full);
  for (int64_t i = full; i < need; ++i) {
    const int32_t page = pool.allocate();
    pool.copy_rows(page, pages[size_t(i)], std::min(ps, length - i * ps));
    mine.push_back(page);
  }
  KvSequence fork;
  fork.assign(std::move(mine), length);
  return fork;
}

void release_tail(KvSequence& fork, int64_t n, KvPagePool& pool) {
  const auto& pages = fork.pages();
  for (size_t i = size_t(n / pool.page_size()); i < pages.size(); ++i) pool.release(pages[i]);
  fork.assign({}, 0);
}

void adopt_tail(KvSequence& base, KvSequence& fork, int64_t n, KvPagePool& pool) {
  const size_t full = size_t(n / pool.page_size());
  std::vector<int32_t> pages = base.pages();
  for (size_t i = full; i < pages.size(); ++i) pool.release(pages[i]);
  pages.resize(std::min(full, pages.size()));
  pages.insert(pages.end(), fork.pages().begin() + std::ptrdiff_t(std::min(full, fork.pages().size())), fork.pages().end());
  base.assign(std::move(pages), fork.length());
  fork.assign({}, 0);
}

}  // namespace glm

namespace glm {

int TreeGuard::batch_class(int batch) {
  int c = 0;
  while (batch > 1) {
    batch >>= 1;
    ++c;
  }
  return c;
}

bool TreeGuard::plain_better(int batch) const {
  const size_t c = size_t(batch_class(batch));
  if (c >= classes_.size()) return false;
  const auto& [tree, plain] = classes_[c];
  return tree.samples >= 3 && plain.samples >= 3 && plain.sec_per_token < tree.sec_per_token;
}

bool TreeGuard::choose(int batch) {
  const size_t c = size_t(batch_class(batch));
  if (c >= classes_.size()) classes_.resize(c + 1);
  const auto& [tree, plain] = classes_[c];
  if (tree.samples < 3) return true;
  if (plain.samples < 3) return false;
  const bool best_tree = !plain_better(batch);
  if (++since_probe_ >= 16) {
    since_probe_ = 0;
    return !best_tree;
  }
  return best_tree;
}

void TreeGuard::record(bool tree, int batch, int64_t tokens, double seconds) {
  if (tokens <= 0 || !(seconds > 0)) return;
  const size_t c = size_t(batch_class(batch));
  if (c >= classes_.size()) classes_.resize(c + 1);
  Mode& m = tree ? classes_[c].first : classes_[c].second;
  const double v = seconds / double(tokens);
  // Robust EMA: one preempted iteration moves the estimate at most 2x.
  m.sec_per_token = m.samples == 0 ? v : 0.8 * m.sec_per_token + 0.2 * std::clamp(v, m.sec_per_token / 2, m.sec_per_token * 2);
  ++m.samples;
}

}  // namespace glm
