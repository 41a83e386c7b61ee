// The runtime: configuration checks, backend selection with the io_uring → epoll fallback,
// executor threads, detached coroutines and an orderly shutdown.

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "runtime_state.hpp"

namespace cosync {
namespace detail {
namespace {

constexpr std::size_t max_ring_capacity = std::size_t{1} << 20;

void validate(const runtime_config& config) {
  if (config.executors == 0) {
    throw config_error("cosync: runtime_config.executors must be at least 1");
  }
  if (config.executors > runtime::max_executors) {
    throw config_error("cosync: runtime_config.executors is " + std::to_string(config.executors) +
                       "; the most a runtime supports is " + std::to_string(runtime::max_executors));
  }
  if (config.mesh_ring_capacity == 0 || config.mesh_ring_capacity > max_ring_capacity) {
    throw config_error("cosync: runtime_config.mesh_ring_capacity must be between 1 and " +
                       std::to_string(max_ring_capacity));
  }
}

/// The backend asked for: the configuration, or COSYNC_BACKEND when the configuration says auto.
backend_kind requested_backend(const runtime_config& config) {
  if (config.backend != backend_kind::automatic) {
    return config.backend;
  }
  const char* env = std::getenv("COSYNC_BACKEND");
  const std::string_view value = env != nullptr ? env : "";
  if (value.empty() || value == "auto") {
    return backend_kind::automatic;
  }
  if (value == "epoll") {
    return backend_kind::epoll;
  }
  if (value == "io_uring" || value == "uring") {
    return backend_kind::io_uring;
  }
  throw config_error("cosync: COSYNC_BACKEND=" + std::string{value} + " is not one of auto, io_uring, epoll");
}

/// Why io_uring is refused, in words a user can act on.
std::string uring_refusal(const uring_setup_failed& failure) {
  std::string why = failure.what();
  std::ifstream sysctl{"/proc/sys/kernel/io_uring_disabled"};
  if (int disabled = 0; sysctl >> disabled && disabled != 0) {
    why += "; kernel.io_uring_disabled=" + std::to_string(disabled);
  } else if (failure.error() == EPERM || failure.error() == EACCES) {
    why += "; a seccomp profile (e.g. Docker's default) or a security module blocks it";
  }
  return why;
}

void say_once(const std::string& line) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true)) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

std::vector<std::unique_ptr<backend>> make_backends(const runtime_config& config) {
  const backend_kind wanted = requested_backend(config);
  std::vector<std::unique_ptr<backend>> backends;
  backends.reserve(config.executors);
  if (wanted != backend_kind::epoll) {
    try {
      for (std::size_t i = 0; i < config.executors; ++i) {
        backends.push_back(make_uring_backend());
      }
      return backends;
    } catch (const uring_setup_failed& failure) {
      if (wanted == backend_kind::io_uring) {
        throw backend_error("cosync: the io_uring backend was requested but cannot be set up (" +
                            uring_refusal(failure) + ")");
      }
      if (!uring_unavailable(failure.error())) {
        throw backend_error(std::string{"cosync: io_uring setup failed: "} + failure.what());
      }
      say_once("cosync: io_uring unavailable (" + uring_refusal(failure) + "); using the epoll backend");
      backends.clear();
    }
  }
  for (std::size_t i = 0; i < config.executors; ++i) {
    backends.push_back(make_epoll_backend());
  }
  return backends;
}

/// The CPUs this process may run on, in order.
std::vector<std::size_t> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<std::size_t> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (std::size_t cpu = 0; cpu < static_cast<std::size_t>(CPU_SETSIZE); ++cpu) {
      if (CPU_ISSET(cpu, &set)) {
        cpus.push_back(cpu);
      }
    }
  }
  return cpus;
}

// ---------------------------------------------------------------- detached coroutines

completion_task run_root(task<void> t) {
  try {
    co_await t;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cosync: a spawned task ended with an exception: %s\n", e.what());
    std::terminate();
  } catch (...) {
    std::fprintf(stderr, "cosync: a spawned task ended with an exception of unknown type\n");
    std::terminate();
  }
}

}  // namespace

// ---------------------------------------------------------------- runtime_state

runtime_state::runtime_state(const runtime_config& config,
                             std::vector<std::unique_ptr<detail::backend>> backends)
    : backend_{backends.front()->kind()} {
  executors_.reserve(backends.size());
  for (std::size_t i = 0; i < backends.size(); ++i) {
    executors_.push_back(std::make_unique<executor>(*this, i, std::move(backends[i]), config.idle_spin));
  }
  for (auto& e : executors_) {
    e->connect(executors_.size(), config.mesh_ring_capacity);
  }
  try {
    start_threads(config);
  } catch (...) {
    stop_threads();
    throw;
  }
}

runtime_state::~runtime_state() {
  stop_threads();
  destroy_roots();
}

void runtime_state::start_threads(const runtime_config& config) {
  const std::vector<std::size_t> cpus = config.pin_threads ? allowed_cpus() : std::vector<std::size_t>{};
  if (config.pin_threads && cpus.empty()) {
    throw config_error("cosync: pin_threads was requested but the allowed CPU set cannot be read");
  }
  threads_.reserve(executors_.size());
  for (auto& e : executors_) {
    threads_.emplace_back([ex = e.get()] { ex->run(); });
    if (config.pin_threads) {
      cpu_set_t set;
      CPU_ZERO(&set);
      const std::size_t cpu = cpus[e->index() % cpus.size()];
      CPU_SET(cpu, &set);
      if (const int rc = pthread_setaffinity_np(threads_.back().native_handle(), sizeof set, &set); rc != 0) {
        throw config_error("cosync: cannot pin executor " + std::to_string(e->index()) + " to CPU " +
                           std::to_string(cpu) + ": " + std::strerror(rc));
      }
    }
  }
}

void runtime_state::stop_threads() noexcept {
  for (auto& e : executors_) {
    e->request_stop();
  }
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
}

void runtime_state::destroy_roots() noexcept {
  // Every executor thread has been joined: nothing runs concurrently with this.
  set_tearing_down(true);
  for (void* root : roots_) {
    std::coroutine_handle<>::from_address(root).destroy();  // and everything it awaits
  }
  roots_.clear();
  set_tearing_down(false);
}

void runtime_state::register_root(std::coroutine_handle<> root) {
  const std::lock_guard lock{roots_mutex_};
  roots_.insert(root.address());
}

void runtime_state::unregister_root(std::coroutine_handle<> root) noexcept {
  const std::lock_guard lock{roots_mutex_};
  roots_.erase(root.address());
}

[[noreturn]] void throw_sync_wait_on_executor() {
  throw usage_error(
      "cosync: sync_wait called on an executor thread; it would block the thread that has to run "
      "the work. co_await the operation instead.");
}

}  // namespace detail

// ---------------------------------------------------------------- runtime

runtime::runtime(runtime_config config) {
  detail::validate(config);
  state_ = std::make_unique<detail::runtime_state>(config, detail::make_backends(config));
}

runtime::~runtime() = default;

std::size_t runtime::executors() const noexcept {
  return state_->size();
}

backend_kind runtime::backend() const noexcept {
  return state_->backend();
}

detail::executor& runtime::executor_at(std::size_t index) noexcept {
  return state_->at(index);
}

void runtime::spawn(task<void> t, std::size_t executor) {
  if (executor >= state_->size()) {
    throw usage_error("cosync: spawn on executor " + std::to_string(executor) + " of a runtime with " +
                      std::to_string(state_->size()));
  }
  if (!t.valid()) {
    throw usage_error("cosync: spawn of an empty task");
  }
  detail::completion_task root = detail::run_root(std::move(t));
  // At its end a spawned task leaves the registry and destroys its own frame.
  root.on_done(
      [](void* state, std::coroutine_handle<> self) noexcept -> std::coroutine_handle<> {
        static_cast<detail::runtime_state*>(state)->unregister_root(self);
        self.destroy();
        return std::noop_coroutine();
      },
      state_.get());
  state_->register_root(root.handle());
  const std::coroutine_handle<> started = root.release();
  detail::post(state_->at(executor), started);
}

std::size_t this_executor() {
  if (const detail::executor* e = detail::current_executor()) {
    return e->index();
  }
  throw usage_error("cosync: this_executor() called off a cosync executor thread");
}

bool switch_awaiter::await_ready() const {
  detail::executor* here = detail::current_executor();
  if (here == nullptr) {
    throw usage_error("cosync: switch_to must be awaited on an executor thread");
  }
  if (target_ >= here->runtime().size()) {
    throw usage_error("cosync: switch_to(" + std::to_string(target_) + ") on a runtime with " +
                      std::to_string(here->runtime().size()) + " executors");
  }
  return here->index() == target_;
}

void switch_awaiter::await_suspend(std::coroutine_handle<> waiter) const {
  detail::post(detail::current_executor()->runtime().at(target_), waiter);
}

void yield_awaiter::await_suspend(std::coroutine_handle<> waiter) const {
  detail::executor* here = detail::current_executor();
  if (here == nullptr) {
    throw usage_error("cosync: yield must be awaited on an executor thread");
  }
  detail::post(*here, waiter);
}

}  // namespace cosync
