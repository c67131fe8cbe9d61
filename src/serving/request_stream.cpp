#include "serving/request_stream.h"

#include <algorithm>
#include <random>

#include "core/error.h"

namespace glm::serving {

void ActiveRequests::add(const std::string& rid) {
  std::lock_guard lk(mu_);
  rids_.push_back(rid);
}

void ActiveRequests::remove(const std::string& rid) {
  std::lock_guard lk(mu_);
  auto it = std::find(rids_.begin(), rids_.end(), rid);
  if (it != rids_.end()) rids_.erase(it);
}

std::vector<std::string> ActiveRequests::snapshot() const {
  std::lock_guard lk(mu_);
  return rids_;
}

RequestStream::RequestStream(Engine& engine, std::vector<GenerateRequest> requests, ActiveRequests* active)
    : engine_(engine), active_(active), shared_(std::make_shared<Shared>()) {
  rids_.reserve(requests.size());
  finished_.assign(requests.size(), false);
  for (size_t i = 0; i < requests.size(); ++i) {
    std::weak_ptr<Shared> weak = shared_;
    int index = static_cast<int>(i);
    std::string rid = requests[i].rid;
    try {
      engine_.submit(std::move(requests[i]), [weak, index](const GenerateOutput& out) {
        auto s = weak.lock();
        if (!s) return;  // the HTTP side is gone; the abort is already on its way
        {
          std::lock_guard lk(s->mu);
          s->events.push_back({index, out});
        }
        s->cv.notify_one();
      });
    } catch (...) {
      for (const auto& done : rids_) {
        engine_.abort(done);
        if (active_) active_->remove(done);
      }
      rids_.clear();
      throw;
    }
    if (active_) active_->add(rid);
    rids_.push_back(std::move(rid));
  }
}

RequestStream::~RequestStream() {
  if (!all_finished()) abort_all();
  if (active_)
    for (const auto& rid : rids_) active_->remove(rid);
}

void RequestStream::abort_all() {
  for (size_t i = 0; i < rids_.size(); ++i)
    if (!finished_[i]) engine_.abort(rids_[i]);
}

void RequestStream::watch_client(std::function<bool()> client_gone, std::function<void()> on_gone) {
  client_gone_ = std::move(client_gone);
  on_gone_ = std::move(on_gone);
  last_client_check_ = std::chrono::steady_clock::now();  // short requests never look
}

void RequestStream::check_client() {
  // Events come with every token: look at the connection a few times a second, not per event.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_client_check_ < kClientCheckInterval) return;
  last_client_check_ = now;
  if (all_finished() || !client_gone_()) return;
  client_left_ = true;
  abort_all();
  if (on_gone_) on_gone_();
}

bool RequestStream::all_finished() const { return num_finished_ == static_cast<int>(rids_.size()); }

bool RequestStream::next(IndexedOutput& out, std::chrono::milliseconds timeout) {
  if (client_gone_ && !client_left_) check_client();
  std::unique_lock lk(shared_->mu);
  if (!shared_->cv.wait_for(lk, timeout, [&] { return !shared_->events.empty(); })) return false;
  out = std::move(shared_->events.front());
  shared_->events.pop_front();
  lk.unlock();
  if (out.out.finished && out.index >= 0 && out.index < static_cast<int>(finished_.size()) && !finished_[out.index]) {
    finished_[out.index] = true;
    ++num_finished_;
  }
  return true;
}

std::string new_request_id(const std::string& prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = prefix;
  for (int i = 0; i < 2; ++i) {
    uint64_t v = rng();
    for (int k = 0; k < 16; ++k, v >>= 4) id.push_back(hex[v & 15]);
  }
  return id;
}

}  // namespace glm::serving
