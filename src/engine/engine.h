#pragma once
// The boundary between the serving layer and everything that runs the model.
// serving/ talks only to this interface: submit a request with a sink, abort it, read stats.
// The implementation (scheduler.h) runs a loop on its own thread: admits requests, batches
// prefill and decode, samples, detokenizes, checks stop conditions and calls the sinks.
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/request.h"

namespace glm {

struct EngineStats {
  int num_running = 0, num_waiting = 0;
  int64_t kv_capacity_tokens = 0;       // total token slots of the KV pool
  int64_t kv_free_tokens = 0;           // free now (pool returns to capacity when idle and cache flushed)
  int64_t kv_cached_tokens = 0;         // held by the prefix cache, evictable
  double gen_throughput_tok_s = 0;      // recent decode tokens/s
  int64_t total_prompt_tokens = 0, total_generated_tokens = 0, total_cached_tokens = 0, total_requests = 0;
  double spec_accept_length = 0;        // average tokens per speculative round (0 when off)
};

// SGLang's /pause_generation modes: abort every request then pause; keep them where they are (in_place); or
// retract them to the queue. glmserve keeps a retracted request's KV cache (it resumes where it stopped,
// as in place: the same tokens, without recomputing).
enum class PauseMode { Abort, InPlace, Retract };

class Engine {
 public:
  // Called on the engine thread; must return quickly (hand the data to the connection and return).
  using Sink = std::function<void(const GenerateOutput&)>;

  virtual ~Engine() = default;
  // Queues a request. Throws GlmError(InvalidArgument) at once for a request that can never run
  // (prompt + max_new_tokens beyond the context length or the whole KV pool, bad processor, ...).
  virtual void submit(GenerateRequest request, Sink sink) = 0;
  // Aborts a queued or running request: its sink gets a final event with FinishReason::Abort and
  // its KV pages are freed. Unknown rids are ignored.
  virtual void abort(const std::string& rid) = 0;
  virtual EngineStats stats() const = 0;
  // Drops every prefix-cache entry not in use (SGLang /flush_cache). Returns false if busy.
  virtual bool flush_cache() = 0;
  virtual nlohmann::json server_info() const = 0;  // scheduler settings for /get_server_info
  // Stops scheduling (requests submitted meanwhile wait) and returns once no forward is running; with
  // PauseMode::Abort every queued and running request ends first (FinishReason::Abort).
  virtual void pause_generation(PauseMode mode) = 0;
  virtual void continue_generation() = 0;
};

}  // namespace glm
