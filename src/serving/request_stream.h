#pragma once
// Hands engine events to the HTTP worker that owns the request. The engine thread calls the
// sink (which must return at once: it only moves the event into a queue); the worker thread
// blocks in next(). One RequestStream covers the n engine requests of one HTTP request
// (n > 1, or a batch of prompts); events carry the choice index.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace glm::serving {

struct IndexedOutput {
  int index = 0;
  GenerateOutput out;
};

// Request ids in flight, for /abort_request {"abort_all": true}.
class ActiveRequests {
 public:
  void add(const std::string& rid);
  void remove(const std::string& rid);
  std::vector<std::string> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> rids_;
};

class RequestStream {
 public:
  // Submits every request (index = position). If one is refused (GlmError from submit), the
  // ones already queued are aborted and the error propagates.
  RequestStream(Engine& engine, std::vector<GenerateRequest> requests, ActiveRequests* active = nullptr);
  ~RequestStream();  // aborts whatever has not finished
  RequestStream(const RequestStream&) = delete;
  RequestStream& operator=(const RequestStream&) = delete;

  // Waits up to `timeout` for the next event; false on timeout. A timeout also asks the client
  // watcher (if any): once it reports the client gone, every unfinished request is aborted (their
  // abort events then end the wait loop).
  bool next(IndexedOutput& out, std::chrono::milliseconds timeout);
  // For responses written only at the end: `client_gone` is polled while waiting; `on_gone` runs once.
  void watch_client(std::function<bool()> client_gone, std::function<void()> on_gone = {});
  bool client_left() const { return client_left_; }  // the watch saw the client go and aborted
  bool all_finished() const;
  void abort_all();
  const std::vector<std::string>& rids() const { return rids_; }
  size_t size() const { return rids_.size(); }

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<IndexedOutput> events;
  };
  Engine& engine_;
  ActiveRequests* active_;
  std::shared_ptr<Shared> shared_;
  std::vector<std::string> rids_;
  std::vector<bool> finished_;
  int num_finished_ = 0;
  static constexpr auto kClientCheckInterval = std::chrono::milliseconds(200);
  void check_client();
  std::function<bool()> client_gone_;
  std::function<void()> on_gone_;
  bool client_left_ = false;
  std::chrono::steady_clock::time_point last_client_check_{};
};

// A fresh request id: prefix + 32 hex digits (SGLang uses uuid4().hex).
std::string new_request_id(const std::string& prefix = "");

}  // namespace glm::serving
