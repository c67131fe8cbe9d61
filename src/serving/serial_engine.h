#pragma once
// SerialEngine: a minimal glm::Engine so that `glmserve serve` answers end to end before the real
// scheduler (src/engine) lands. One loop thread; every iteration runs one forward over all active
// requests (a prefill chunk or one decode token each, up to the model's max_batch_tokens), samples
// with glm::sampling::Sampler, detokenizes incrementally and checks EOS / stop ids / stop strings /
// max_new_tokens. No prefix cache, no speculative decoding, no preemption: a request that does not
// fit the KV pool is refused at submit. Replace by pointing make_glm_engine() at the scheduler.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "engine/engine.h"
#include "model/glm4_moe.h"
#include "tokenizer/tokenizer.h"

namespace glm::serving {

class SerialEngine : public Engine {
 public:
  // kv_tokens: KV pool capacity in tokens (all requests together).
  SerialEngine(std::unique_ptr<Glm4MoeModel> model, Tokenizer tokenizer, int64_t kv_tokens, int64_t max_batch_tokens);
  ~SerialEngine() override;

  void submit(GenerateRequest request, Sink sink) override;
  void abort(const std::string& rid) override;
  EngineStats stats() const override;
  bool flush_cache() override { return true; }  // nothing cached
  nlohmann::json server_info() const override;

 private:
  struct Active;
  void loop();
  // One forward over the active requests; returns false when there was nothing to do.
  bool step();
  void finish(Active& a, FinishReason reason, GenerateOutput& out);

  std::unique_ptr<Glm4MoeModel> model_;
  Tokenizer tokenizer_;
  std::unique_ptr<KvPagePool> kv_pool_;
  int64_t kv_capacity_tokens_, page_size_ = 16, max_batch_tokens_;
  std::vector<int32_t> eos_ids_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Active>> waiting_;
  std::set<std::string> aborted_;
  int64_t reserved_tokens_ = 0;  // admitted requests' prompt + max_new_tokens
  bool stop_ = false;
  int num_running_ = 0;
  int64_t total_prompt_ = 0, total_generated_ = 0, total_requests_ = 0;

  std::vector<std::unique_ptr<Active>> active_;  // loop thread only
  std::thread worker_;
};

}  // namespace glm::serving
