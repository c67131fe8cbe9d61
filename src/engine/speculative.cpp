#include "engine/speculative.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "engine/draft_output.h"

namespace glm {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

SpeculativeDecoder::SpeculativeDecoder(Glm4MoeModel& target, SpecConfig cfg)
    : target_(target), draft_(target, target.max_batch_tokens()), cfg_(cfg), policy_(cfg.num_steps) {
  if (cfg_.num_steps < 1) fail(ErrorKind::InvalidArgument, "speculative decoding needs num_steps >= 1");
  if (cfg_.topk < 1) fail(ErrorKind::InvalidArgument, "speculative decoding needs topk >= 1");
  if (cfg_.tree() && (cfg_.num_draft_tokens < 2 || cfg_.adaptive))
    fail(ErrorKind::InvalidArgument, "speculative tree (topk {}): needs num_draft_tokens >= 2 ({}) and a fixed depth",
         cfg_.topk, cfg_.num_draft_tokens);
  if (!cfg_.token_map.empty()) {
    if (int64_t(cfg_.token_map.size()) < cfg_.topk)
      fail(ErrorKind::InvalidArgument, "speculative token map: {} ids, fewer than --speculative-eagle-topk {}",
           cfg_.token_map.size(), cfg_.topk);
    draft_.restrict_vocabulary(cfg_.token_map);
    spdlog::info("speculative decoding: the draft proposes {} of {} tokens (token map: its lm_head rows only)",
                 cfg_.token_map.size(), target.config().vocab_size);
  }
}

void SpeculativeDecoder::calibrate(KvPagePool& pool) {
  const int64_t K = cfg_.num_steps, H = target_.config().hidden_size;
  // Token counts timed: 1..K+1 (one request's verify) and B(K+1) for B = 2, 4, 8 (a batch's, as one
  // sequence: close enough for a prior that measured iterations replace); the draft at 1, 2, 4, 8 tokens.
  const int64_t cap = std::min(target_.max_batch_tokens(), pool.free_pages() * pool.page_size());
  std::vector<int64_t> target_n, draft_n;
  for (int64_t n = 1; n <= K + 1; ++n) target_n.push_back(n);
  for (int64_t b = 2; b <= 8; b *= 2) target_n.push_back(b * (K + 1));
  for (int64_t b = 1; b <= 8; b *= 2) draft_n.push_back(b);
  std::erase_if(target_n, [&](int64_t n) { return n > cap; });
  std::erase_if(draft_n, [&](int64_t n) { return n > cap; });
  if (target_n.size() < size_t(K + 1)) return;
  std::vector<int32_t> toks(size_t(target_n.back()), 0);
  std::vector<double> target_best(target_n.size(), 1e30), draft_best(draft_n.size(), 1e30);
  std::vector<float> hidden(size_t(draft_n.back() * H), 0.0f);
  KvSequence seq;
  for (int rep = 0; rep < 3; ++rep) {
    for (size_t i = 0; i < target_n.size(); ++i) {
      SequenceInput in{std::span<const int32_t>(toks.data(), size_t(target_n[i])), 0, &seq, true};
      const auto t0 = std::chrono::steady_clock::now();
      ForwardResult r = target_.forward(std::span<const SequenceInput>(&in, 1), pool);
      target_best[i] = std::min(target_best[i], seconds_since(t0));
      for (int64_t t = 0; t < draft_n.back(); ++t) std::copy_n(r.hidden, H, hidden.begin() + t * H);
    }
    for (size_t i = 0; i < draft_n.size(); ++i) {
      SequenceInput in{std::span<const int32_t>(toks.data(), size_t(draft_n[i])), 0, &seq, false};
      const auto t0 = std::chrono::steady_clock::now();
      draft_.forward(std::span<const SequenceInput>(&in, 1), hidden.data(), pool);
      draft_best[i] = std::min(draft_best[i], seconds_since(t0));
    }
  }
  seq.release(pool);
  for (size_t i = 0; i < target_n.size(); ++i) policy_.record_target(target_n[i], target_best[i]);
  for (size_t i = 0; i < draft_n.size(); ++i) policy_.record_draft(draft_n[i], draft_best[i]);
  std::string verify;
  for (size_t i = 0; i < target_n.size(); ++i)
    verify += fmt::format("{}{}: {:.2f}", i ? ", " : "", target_n[i], target_best[i] / target_best[0]);
  spdlog::info("speculative decoding: forward cost by tokens (x a one-token decode step) {}; draft step {:.3f}",
               verify, draft_best[0] / target_best[0]);
}

int SpeculativeDecoder::depth_for_round(int batch, bool cheap_probe) {
  if (spdlog::should_log(spdlog::level::debug) && ++decisions_ % 32 == 0)
    spdlog::debug("speculative depth policy: {}", policy_.describe(batch));
  if (!cfg_.depth_schedule.empty())
    return std::min(cfg_.num_steps, cfg_.depth_schedule[size_t(scheduled_++ % cfg_.depth_schedule.size())]);
  if (cfg_.tree()) {
    if (!cfg_.guard) return cfg_.num_steps;
    if (tree_guard_.plain_better(batch) && !warned_) {
      warned_ = true;
      spdlog::warn("speculative decoding: the tree (topk {}, {} draft tokens) is measured slower than plain decoding "
                   "here; decoding plainly where it is, re-measuring the tree now and then",
                   cfg_.topk, cfg_.num_draft_tokens);
    }
    return tree_guard_.choose(batch) ? cfg_.num_steps : 0;
  }
  if (!cfg_.adaptive && !cfg_.guard) return cfg_.num_steps;
  const int chosen = policy_.choose(batch, cheap_probe);
  if (cfg_.adaptive) return chosen;
  const int K = cfg_.num_steps;
  if (policy_.gain(K, batch) >= 1.0) return K;
  if (!warned_) {
    warned_ = true;
    spdlog::warn("speculative decoding: {} draft steps are estimated slower than plain decoding here (verify of {} "
                 "tokens and {} drafts cost {:.2f} decode rounds, expected {:.2f} tokens per round); choosing the depth "
                 "per round from measured costs and acceptance instead (--speculative-num-steps auto does this silently)",
                 K, K + 1, K, policy_.cost_ratio(K, batch), policy_.expected_tokens(K));
  }
  return chosen;
}

int64_t SpeculativeDecoder::plan(std::span<RequestState* const> reqs, int64_t budget, int64_t context_length,
                                 KvPagePool& pool) {
  release_trees(pool);  // forks of an iteration that failed before verify
  pool_ = &pool;
  plan_tokens_ = round_tokens_;
  if (reqs.empty()) return 0;
  // A probe from plain decoding waits for a request whose draft is (nearly) current: freshly prefilled,
  // or probed the round before. Catching up a long deferred history would cost more than the probe tells,
  // and on a model where drafting never pays that catch-up would be all that speculation costs.
  const int64_t H = target_.config().hidden_size;
  auto current = [&](const RequestState* r) {
    return (r->spec.next_draft >= 0 || !r->spec.pending.empty()) && int64_t(r->spec.pending.size()) / H <= kProbeMaxCatchUp;
  };
  int depth = depth_for_round(int(reqs.size()), std::any_of(reqs.begin(), reqs.end(), current));
  while (depth > 0 && int64_t(reqs.size()) * (depth + 1) > budget) --depth;
  round_depth_ = depth;
  // Of the current requests one (the least behind) drafts in a probe, so that it costs one request's
  // worth, or all of them when the policy needs the depth's cost. An iteration where not every request
  // drafted is not recorded.
  probers_.clear();
  if (depth > 0 && cfg_.depth_schedule.empty() && policy_.probe_from_plain()) {
    for (RequestState* r : reqs)
      if (current(r)) probers_.push_back(r);
    if (!policy_.probe_measures_cost() && probers_.size() > 1)
      probers_.assign(1, *std::min_element(probers_.begin(), probers_.end(), [](RequestState* a, RequestState* b) {
        return a->spec.pending.size() < b->spec.pending.size();
      }));
    if (probers_.empty()) depth = round_depth_ = 0;
    probe_ = !probers_.empty() && probers_.size() < reqs.size();
  } else {
    probe_ = false;
  }
  const bool probing = !probers_.empty();
  int64_t used = 0;
  int max_depth = 0;
  catch_up_.clear();
  for (RequestState* r : reqs) {
    SpecState& s = r->spec;
    s.verify.clear();
    if (used + 1 > budget) {  // no room this iteration: the scheduler skips it
      s.depth = -1;
      continue;
    }
    const int64_t len = int64_t(r->output.size());
    const bool left_out = probing && std::find(probers_.begin(), probers_.end(), r) == probers_.end();
    int64_t d = (s.next_draft < 0 && s.pending.empty()) || left_out ? 0 : depth;
    // Never draft past the last token the request may produce: the verify's K/V stays inside the pages
    // reserved at admission (prompt + max_new_tokens) and the context.
    d = std::min<int64_t>(d, r->req.sampling.max_new_tokens - len - 1);
    d = std::min<int64_t>(d, context_length - (r->prompt_len() + len) - 1);
    d = std::max<int64_t>(0, std::min<int64_t>(d, budget - used - 1));
    s.depth = int(d);
    used += d + 1;
    max_depth = std::max(max_depth, int(d));
    if (d >= 1 && !s.pending.empty()) catch_up_.push_back({r, r->kv.length(), 0, 0, false});
  }
  // Drafting resumes after plain rounds: extend the draft over the deferred positions first (one forward).
  // Its time is a switching cost, left out of the iteration the policy times (spec_depth.h).
  catch_up_seconds_ = 0;
  if (!catch_up_.empty()) {
    int64_t positions = 0;
    for (const Extend& e : catch_up_) positions += int64_t(e.r->spec.pending.size()) / H;
    const auto t0 = std::chrono::steady_clock::now();
    extend(catch_up_, nullptr, pool);
    catch_up_seconds_ = seconds_since(t0);
    spdlog::debug("speculative: drafting resumes at depth {} for {} of {} requests after a catch-up over {} positions "
                  "({:.3g} ms)", round_depth_, catch_up_.size(), reqs.size(), positions, catch_up_seconds_ * 1e3);
  }
  for (RequestState* r : reqs) {
    SpecState& s = r->spec;
    if (s.depth < 0) continue;
    s.verify.push_back(r->output.back());
    if (s.depth >= 1) s.verify.push_back(s.next_draft);
  }
  if (cfg_.tree()) return used + plan_tree(reqs, budget - used, pool);
  // Chain: draft j at position n_pos + j - 2 reads d_{j-1} and the draft's previous hidden state.
  for (int j = 2; j <= max_depth; ++j) {
    chain_.clear();
    inputs_.clear();
    hidden_.clear();
    for (RequestState* r : reqs) {
      if (r->spec.depth < j) continue;
      chain_.push_back(r);
      SequenceInput in;
      in.tokens = std::span<const int32_t>(&r->spec.verify[size_t(j - 1)], 1);
      in.start_pos = r->prompt_len() + int64_t(r->output.size()) - 1 + (j - 2);
      in.kv = &r->kv;
      inputs_.push_back(in);
      hidden_.insert(hidden_.end(), r->spec.hidden.begin(), r->spec.hidden.end());
    }
    ForwardResult res = draft_.forward(std::span<const SequenceInput>(inputs_), hidden_.data(), pool);
    for (size_t i = 0; i < chain_.size(); ++i) {
      RequestState& r = *chain_[i];
      r.spec.verify.push_back(draft_argmax(res, int64_t(i)));
      std::copy_n(res.hidden + int64_t(i) * H, H, r.spec.hidden.begin());
    }
  }
  return used;
}

int SpeculativeDecoder::verify(RequestState& r, const float* rows, std::span<float> scratch,
                               const std::function<bool(sampling::SampleResult&)>& push) {
  if (r.spec.tree >= 0) return verify_tree(r, rows, scratch, push);
  const int64_t V = target_.config().vocab_size;
  const int k = r.spec.depth;
  int accepted = 0, produced = 0;
  for (int i = 0; i <= k; ++i) {
    std::copy_n(rows + int64_t(i) * V, V, scratch.begin());
    sampling::DraftCheck check;
    if (i < k) {
      check.token = r.spec.verify[size_t(i) + 1];
      check.threshold_single = cfg_.accept_threshold_single;
      check.threshold_acc = cfg_.accept_threshold_acc;
    }
    // r.output already holds d1..di: penalties and processors see exactly plain decoding's history.
    sampling::SampleResult s =
        r.sampler->sample(scratch, r.req.input_ids, r.output, r.req.return_logprob, r.req.top_logprobs_num, check);
    const bool hit = i < k && s.draft_accepted;
    ++produced;
    if (hit) ++accepted;
    if (!push(s) || !hit) break;
  }
  ++r.spec.verify_ct;
  r.spec.accepted += accepted;
  r.spec.drafted += k;
  ++rounds_;
  round_tokens_ += produced;
  if (k > 0) policy_.record_round(k, accepted);
  return accepted;
}

void SpeculativeDecoder::add_extend(RequestState& r, int64_t start, int64_t n, int64_t hidden_row, bool verified) {
  if (n > 0) extends_.push_back({&r, start, n, hidden_row, verified});
}

void SpeculativeDecoder::run_extend(const ForwardResult& target, KvPagePool& pool) {
  if (extends_.empty()) return;
  const int64_t H = target_.config().hidden_size;
  if (cfg_.defer_plain_extends) {
    // Requests that did not draft this round keep their hidden states for a catch-up when they next
    // draft, instead of a draft forward now (a plain round then costs what plain decoding costs).
    size_t kept = 0;
    for (const Extend& e : extends_) {
      RequestState& r = *e.r;
      if (!e.verified || r.spec.depth != 0) {
        extends_[kept++] = e;
        continue;
      }
      r.spec.pending.insert(r.spec.pending.end(), target.hidden + e.hidden_row * H,
                            target.hidden + (e.hidden_row + e.n) * H);
      r.spec.next_draft = -1;
    }
    extends_.resize(kept);
  }
  if (!extends_.empty()) extend(extends_, &target, pool);
  extends_.clear();
}

void SpeculativeDecoder::extend(std::span<const Extend> items, const ForwardResult* target, KvPagePool& pool) {
  // Deferred positions can make the items larger than one forward: run them in groups that fit.
  const int64_t cap = target_.max_batch_tokens();
  size_t i = 0;
  while (i < items.size()) {
    size_t j = i;
    int64_t tokens = 0;
    while (j < items.size()) {
      const int64_t n = items[j].start + items[j].n - items[j].r->spec.draft_valid;
      if (j > i && tokens + n > cap) break;
      tokens += n;
      ++j;
    }
    extend_group(items.subspan(i, j - i), target, pool);
    i = j;
  }
}

void SpeculativeDecoder::extend_group(std::span<const Extend> items, const ForwardResult* target, KvPagePool& pool) {
  const int64_t H = target_.config().hidden_size;
  tokens_.clear();
  hidden_.clear();
  for (const Extend& e : items) {
    const SpecState& s = e.r->spec;
    if (s.draft_valid + int64_t(s.pending.size()) / H != e.start)
      fail(ErrorKind::Internal, "speculative: draft K/V of {} covers {} + {} positions, extend starts at {}",
           e.r->req.rid, s.draft_valid, int64_t(s.pending.size()) / H, e.start);
    // Position p pairs the target's hidden state h_p with token p + 1.
    for (int64_t q = s.draft_valid + 1; q <= e.start + e.n; ++q) tokens_.push_back(e.r->token_at(q));
    hidden_.insert(hidden_.end(), s.pending.begin(), s.pending.end());
    if (e.n > 0) hidden_.insert(hidden_.end(), target->hidden + e.hidden_row * H, target->hidden + (e.hidden_row + e.n) * H);
  }
  inputs_.clear();
  size_t off = 0;
  for (const Extend& e : items) {
    const int64_t n = e.start + e.n - e.r->spec.draft_valid;
    SequenceInput in;
    in.tokens = std::span<const int32_t>(tokens_.data() + off, size_t(n));
    in.start_pos = e.r->spec.draft_valid;
    in.kv = &e.r->kv;
    inputs_.push_back(in);
    off += size_t(n);
  }
  ForwardResult res = draft_.forward(std::span<const SequenceInput>(inputs_), hidden_.data(), pool);
  int64_t row = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const Extend& e = items[i];
    RequestState& r = *e.r;
    row += int64_t(inputs_[i].tokens.size());
    r.spec.draft_valid = e.start + e.n;
    r.spec.pending.clear();
    const bool frontier = !r.in_prefill() && e.start + e.n == r.prompt_len() + int64_t(r.output.size()) - 1;
    if (!frontier) {
      r.spec.next_draft = -1;
      continue;
    }
    if (cfg_.tree()) {  // the root's children of the next tree; the best is the chain's d1
      draft_top_k(res, int64_t(i), cfg_.topk, r.spec.top_ids, r.spec.top_logp);
      r.spec.next_draft = r.spec.top_ids[0];
    } else {
      r.spec.next_draft = draft_argmax(res, int64_t(i));
    }
    r.spec.hidden.assign(res.hidden + (row - 1) * H, res.hidden + row * H);
  }
}

}  // namespace glm
