#pragma once
// In-test stand-ins for the engine and the text modules, so the HTTP layer can be tested alone.
// FakeEngine "generates" a scripted reply one byte-token per step on its own thread (like the
// real scheduler, sinks run off the HTTP threads); FakeText tokenizes bytes (id = byte value)
// and renders chats as "<role>content" lines.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "engine/engine.h"
#include "serving/text_backend.h"

namespace glm::serving::testing {

class FakeEngine : public Engine {
 public:
  std::string reply = "Hello world";
  std::chrono::milliseconds step{1};
  int32_t eos_id = 3;

  FakeEngine() : worker_([this] { loop(); }) {}
  ~FakeEngine() override {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  void submit(GenerateRequest r, Sink sink) override {
    if (r.input_ids.size() > 100000) fail(ErrorKind::InvalidArgument, "too long");
    std::lock_guard lk(mu_);
    submitted.push_back(r);
    jobs_.push_back({std::move(r), std::move(sink), 0});
    cv_.notify_all();
  }
  void abort(const std::string& rid) override {
    std::lock_guard lk(mu_);
    aborted.insert(rid);
  }
  EngineStats stats() const override {
    EngineStats s;
    s.kv_capacity_tokens = 1000;
    s.kv_free_tokens = 900;
    return s;
  }
  bool flush_cache() override { return true; }
  void pause_generation(PauseMode) override {}
  void continue_generation() override {}
  nlohmann::json server_info() const override { return {{"max_total_num_tokens", 1000}}; }

  bool was_aborted(const std::string& rid) {
    std::lock_guard lk(mu_);
    return aborted.count(rid) > 0;
  }
  std::vector<GenerateRequest> submitted_requests() {
    std::lock_guard lk(mu_);
    return submitted;
  }

 private:
  struct Job {
    GenerateRequest req;
    Sink sink;
    size_t pos;
  };
  void loop() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      if (jobs_.empty()) {
        cv_.wait(lk);
        continue;
      }
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      bool abort = aborted.count(job.req.rid) > 0;
      int max_new = job.req.sampling.max_new_tokens;
      lk.unlock();
      GenerateOutput out;
      out.rid = job.req.rid;
      out.prompt_tokens = static_cast<int>(job.req.input_ids.size());
      out.completion_tokens = static_cast<int>(job.pos) + 1;
      if (abort) {
        out.finished = true;
        out.finish_reason = FinishReason::Abort;
        out.completion_tokens = static_cast<int>(job.pos);
        job.sink(out);
      } else {
        bool has_text = job.pos < reply.size();
        if (has_text) {
          char c = reply[job.pos];
          out.new_token_ids = {static_cast<unsigned char>(c)};
          out.new_text = std::string(1, c);
          if (job.req.return_logprob) out.logprobs.push_back({static_cast<unsigned char>(c), -0.5f, {{65, -1.0f}}});
        }
        bool at_limit = static_cast<int>(job.pos) + 1 >= max_new;
        if (!has_text || at_limit) {
          out.finished = true;
          out.finish_reason = has_text && at_limit ? FinishReason::Length : FinishReason::Stop;
          if (out.finish_reason == FinishReason::Stop) {
            out.new_token_ids = {eos_id};
            out.matched_stop = eos_id;
          }
        }
        job.sink(out);
        if (!out.finished) {
          std::this_thread::sleep_for(step);
          ++job.pos;
          lk.lock();
          jobs_.push_back(std::move(job));
          continue;
        }
      }
      lk.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::vector<GenerateRequest> submitted;
  std::set<std::string> aborted;
  std::thread worker_;
};

// Splits "<think>R</think>N" the simple way (enough to exercise the plumbing).
class FakeReasoning : public ReasoningStream {
 public:
  explicit FakeReasoning(bool force) : in_reasoning_(force) {}
  std::pair<std::string, std::string> feed(std::string_view chunk) override {
    buf_ += chunk;
    if (!stripped_) {  // the first <think> opens reasoning wherever it is
      if (std::string_view("<think>").substr(0, buf_.size()) == buf_) return {};
      stripped_ = true;
      auto open = buf_.find("<think>");
      if (open != std::string::npos) {
        buf_.erase(open, 7);
        in_reasoning_ = true;
      }
    }
    std::string r, n;
    for (;;) {
      const std::string tag = in_reasoning_ ? "</think>" : "<think>";
      auto pos = buf_.find(tag);
      if (pos != std::string::npos) {
        (in_reasoning_ ? r : n) += buf_.substr(0, pos);
        buf_ = buf_.substr(pos + tag.size());
        in_reasoning_ = !in_reasoning_;
        continue;
      }
      size_t keep = 0;  // hold a possible tag start
      for (size_t k = 1; k < tag.size() && k <= buf_.size(); ++k)
        if (buf_.compare(buf_.size() - k, k, tag, 0, k) == 0) keep = k;
      (in_reasoning_ ? r : n) += buf_.substr(0, buf_.size() - keep);
      buf_ = buf_.substr(buf_.size() - keep);
      return {r, n};
    }
  }
  std::pair<std::string, std::string> finish() override {
    std::string rest;
    rest.swap(buf_);
    return in_reasoning_ ? std::pair{rest, std::string()} : std::pair{std::string(), rest};
  }

 private:
  bool in_reasoning_;
  bool stripped_ = false;
  std::string buf_;
};

class FakeText : public TextBackend {
 public:
  std::vector<int32_t> encode(std::string_view text, bool) const override {
    std::vector<int32_t> ids;
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids, bool) const override {
    std::string s;
    for (int32_t id : ids) s.push_back(static_cast<char>(id));
    return s;
  }
  std::string token_text(int32_t id) const override { return std::string(1, static_cast<char>(id)); }
  int vocab_size() const override { return 256; }
  std::string render_chat(const Json& messages, const Json& tools, const Json& kwargs, bool) const override {
    std::string s;
    if (tools.is_array()) s += "<tools>" + tools.dump() + "\n";
    for (const auto& m : messages) s += "<" + m["role"].get<std::string>() + ">" + m["content"].dump() + "\n";
    if (kwargs.contains("enable_thinking") && kwargs["enable_thinking"] == false) s += "<nothink>";
    return s + "<assistant>";
  }
  bool has_tool_parser(const std::string& n) const override { return n == "glm45"; }
  bool has_reasoning_parser(const std::string& n) const override { return n == "glm45"; }
  ToolParseResult parse_tool_calls(const std::string&, std::string_view text, const Json&) const override {
    return {std::string(text), {}};
  }
  bool has_tool_call(const std::string&, std::string_view) const override { return false; }
  std::pair<std::string, std::string> separate_reasoning(const std::string&, std::string_view text,
                                                         bool force) const override {
    FakeReasoning r(force);
    auto [a, b] = r.feed(text);
    auto [c, d] = r.finish();
    return {a + c, b + d};
  }
  std::unique_ptr<ReasoningStream> reasoning_stream(const std::string&, bool force, bool) const override {
    return std::make_unique<FakeReasoning>(force);
  }
  std::unique_ptr<ToolCallStream> tool_call_stream(const std::string&, const Json&) const override {
    return nullptr;
  }
};

}  // namespace glm::serving::testing
