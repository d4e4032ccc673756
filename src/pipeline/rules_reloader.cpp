#include "pipeline/rules_reloader.hpp"

#include <utility>

namespace bulwark::pipeline {

rules_reloader::rules_reloader(rule_generation first, compile_fn compile)
    : compile_(std::move(compile)) {
  if (first.id == 0) first.id = 1;
  published_.store(first.id, std::memory_order_release);
  current_ = std::make_shared<const rule_generation>(std::move(first));
  thread_ = std::thread([this] { loop(); });
}

rules_reloader::~rules_reloader() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void rules_reloader::request(std::string_view trigger) {
  {
    std::lock_guard lock(mu_);
    // The first request since the last compile started names the next one.
    if (first_trigger_.empty()) first_trigger_.assign(trigger.empty() ? "unnamed" : trigger);
    ++requested_;
  }
  wake_.notify_all();
}

std::shared_ptr<const rule_generation> rules_reloader::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::vector<reload_outcome> rules_reloader::take_outcomes() {
  std::lock_guard lock(mu_);
  return std::exchange(outcomes_, {});
}

std::uint64_t rules_reloader::dropped_outcomes() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

bool rules_reloader::busy() const {
  std::lock_guard lock(mu_);
  return compiling_ || requested_ != served_;
}

void rules_reloader::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || requested_ != served_; });
    if (stopping_) return;
    // Everything asked for up to now is answered by this compile: it reads
    // the files after the last of those requests arrived.
    const std::uint64_t answering = requested_;
    const std::uint64_t folded = requested_ - served_;
    std::string trigger = std::exchange(first_trigger_, {});
    std::uint64_t next_id = current_->id + 1;
    compiling_ = true;
    lock.unlock();

    auto built = compile_();
    reload_outcome out;
    out.trigger = std::move(trigger);
    out.requests = folded;
    out.at = std::chrono::system_clock::now();

    lock.lock();
    compiling_ = false;
    served_ = answering;
    if (auto* g = std::get_if<rule_generation>(&built)) {
      g->id = next_id;
      out.ok = true;
      out.generation = next_id;
      out.rules = g->rules ? g->rules->size() : 0;
      out.inputs_json = g->inputs_json;
      current_ = std::make_shared<const rule_generation>(std::move(*g));
      // Published after current_ holds it: a worker that sees the new id
      // and then takes the lock finds the new generation.
      published_.store(next_id, std::memory_order_release);
    } else {
      out.ok = false;
      out.generation = current_->id;
      out.rules = current_->rules ? current_->rules->size() : 0;
      out.error = std::get<std::string>(std::move(built));
      out.inputs_json = current_->inputs_json;
    }
    if (outcomes_.size() >= max_pending_outcomes) {
      outcomes_.erase(outcomes_.begin());
      ++dropped_;
    }
    outcomes_.push_back(std::move(out));
  }
}

} // namespace bulwark::pipeline
