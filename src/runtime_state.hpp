#pragma once

// What a runtime owns: its executors and their threads, and the registry of detached coroutines
// (spawned tasks) that its destructor must destroy if they are still suspended at shutdown.

#include <cosync/runtime.hpp>

#include <coroutine>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "executor.hpp"

namespace cosync::detail {

/// A detached coroutine's entry in its runtime's registry (intrusive, doubly linked).
struct root_link {
  root_link* prev = this;
  root_link* next = this;
  std::coroutine_handle<> handle;
};

class runtime_state {
 public:
  runtime_state(const runtime_config& config, std::vector<std::unique_ptr<detail::backend>> backends);
  ~runtime_state();
  runtime_state(const runtime_state&) = delete;
  runtime_state& operator=(const runtime_state&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return executors_.size(); }
  [[nodiscard]] executor& at(std::size_t i) const noexcept { return *executors_[i]; }
  [[nodiscard]] backend_kind backend() const noexcept { return backend_; }

  void register_root(root_link& link);
  void unregister_root(root_link& link) noexcept;

 private:
  void start_threads(const runtime_config& config);
  void stop_threads() noexcept;
  void destroy_roots() noexcept;

  backend_kind backend_;
  std::vector<std::unique_ptr<executor>> executors_;
  std::vector<std::thread> threads_;

  std::mutex roots_mutex_;
  root_link roots_;  // sentinel of a circular list
};

}  // namespace cosync::detail
