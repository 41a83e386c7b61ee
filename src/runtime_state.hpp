#pragma once

// What a runtime owns: its executors and their threads, and the registry of detached coroutines
// (spawned tasks) that its destructor must destroy if they are still suspended at shutdown.

#include <cosync/runtime.hpp>

#include <coroutine>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "executor.hpp"

namespace cosync::detail {

class runtime_state {
 public:
  runtime_state(const runtime_config& config, std::vector<std::unique_ptr<detail::backend>> backends);
  ~runtime_state();
  runtime_state(const runtime_state&) = delete;
  runtime_state& operator=(const runtime_state&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return executors_.size(); }
  [[nodiscard]] executor& at(std::size_t i) const noexcept { return *executors_[i]; }
  [[nodiscard]] backend_kind backend() const noexcept { return backend_; }

  /// The registry of spawned (detached) coroutines still running.
  void register_root(std::coroutine_handle<> root);
  void unregister_root(std::coroutine_handle<> root) noexcept;

 private:
  void start_threads(const runtime_config& config);
  void stop_threads() noexcept;
  void destroy_roots() noexcept;

  backend_kind backend_;
  std::vector<std::unique_ptr<executor>> executors_;
  std::vector<std::thread> threads_;

  std::mutex roots_mutex_;
  std::unordered_set<void*> roots_;  // coroutine frame addresses
};

}  // namespace cosync::detail
