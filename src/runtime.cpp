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
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <cosync/join_handle.hpp>

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
  if (config.trace_events == 0 || config.trace_events > runtime::max_trace_events) {
    throw config_error("cosync: runtime_config.trace_events must be between 1 and " +
                       std::to_string(runtime::max_trace_events));
  }
  if (config.blocking_threads == 0 || config.blocking_threads > runtime::max_blocking_threads) {
    throw config_error("cosync: runtime_config.blocking_threads must be between 1 and " +
                       std::to_string(runtime::max_blocking_threads));
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

/// Where to write the trace: the configuration, else COSYNC_TRACE; empty: no trace.
std::string trace_path(const runtime_config& config) {
  if (!config.trace_path.empty()) {
    return config.trace_path;
  }
  const char* env = std::getenv("COSYNC_TRACE");
  return env != nullptr ? env : "";
}

/// Whether multishot I/O is wanted: the configuration, unless COSYNC_MULTISHOT=0 turns it off.
bool multishot_wanted(const runtime_config& config) {
  const char* env = std::getenv("COSYNC_MULTISHOT");
  return config.multishot_io && (env == nullptr || std::string_view{env} != "0");
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
        backends.push_back(make_uring_backend(multishot_wanted(config)));
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

// ---------------------------------------------------------------- roots

completion_task run_root(task<void> t) {
  try {
    co_await t;
  } catch (...) {
    report_detached_failure(std::current_exception());  // cancelled (by shutdown, say) is a normal end
  }
}

// Registers `root` with `rt`, makes it run under `scope` (its record's own if null) and queues it on
// executor `index`; at its end it destroys its own frame and leaves the registry.
root_record& start_root(runtime_state& rt, std::size_t index, completion_task& root, cancel_scope* scope) {
  root_record& record = rt.add_root(root.handle(), nullptr);
  if (scope != nullptr) {
    scope->link_to(record.scope);
  }
  root.set_scope(scope != nullptr ? scope : &record.scope);
  root.on_done(
      [](void* r, std::coroutine_handle<>) noexcept -> std::coroutine_handle<> {
        current_executor()->runtime().spawned_root_done(*static_cast<root_record*>(r));
        return std::noop_coroutine();
      },
      &record);
  post(rt.at(index), root.release());
  return record;
}

// Runs on one executor: the hooks of what is parked there directly under `scope`.
completion_task sweep_parked_hooks(const cancel_scope& scope) {
  current_executor()->cancel_parked(scope);
  co_return;
}

}  // namespace

// ---------------------------------------------------------------- runtime_state

runtime_state::runtime_state(const runtime_config& config,
                             std::vector<std::unique_ptr<detail::backend>> backends)
    : executors_{},
      backend_{backends.front()->kind()},
      shutdown_grace_{config.shutdown_grace},
      on_detached_failure_{config.on_detached_failure},
      blocking_{config.blocking_threads} {
  executors_.reserve(backends.size());
  for (std::size_t i = 0; i < backends.size(); ++i) {
    executors_.push_back(std::make_unique<executor>(*this, i, std::move(backends[i]), config.idle_spin));
  }
  for (auto& e : executors_) {
    e->connect(executors_.size(), config.mesh_ring_capacity);
  }
  if (std::string path = trace_path(config); !path.empty()) {
    trace_ = std::make_unique<trace_recorder>(std::move(path), executors_.size(), config.trace_events);
    for (auto& e : executors_) {
      e->record_trace(trace_->buffer(e->index()));
    }
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
  blocking_.stop();
  destroy_roots();
}

void runtime_state::start_threads(const runtime_config& config) {
  const std::vector<std::size_t> cpus = config.pin_threads ? allowed_cpus() : std::vector<std::size_t>{};
  if (config.pin_threads && cpus.empty()) {
    throw config_error("cosync: pin_threads was requested but the allowed CPU set cannot be read");
  }
  threads_.reserve(executors_.size());
  for (auto& e : executors_) {
    {
      const std::lock_guard lock{mutex_};
      ++running_loops_;
    }
    try {
      threads_.emplace_back([ex = e.get()] { ex->run(); });
    } catch (...) {
      loop_exited();
      throw;
    }
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

bool runtime_state::on_own_executor() const noexcept {
  const executor* here = current_executor();
  return here != nullptr && &here->runtime() == this;
}

root_record& runtime_state::add_root(std::coroutine_handle<> frame, sync_waiter* waiter) {
  const std::lock_guard lock{mutex_};
  if (stopped_) {
    throw usage_error("cosync: the runtime has been shut down; nothing more can be started on it");
  }
  if (cancelling_) {
    // A root that starts roots while shutdown cancels (an acceptor still spawning its workers)
    // unwinds instead: a root started now would be newer than one already cancelled, and could
    // outlive what that one owns.
    throw cancelled{};
  }
  const std::uint64_t seq = next_seq_++;
  root_record& root = roots_.try_emplace(seq, seq).first->second;
  root.frame = frame;
  root.waiter = waiter;
  return root;
}

void runtime_state::spawned_root_done(root_record& root) noexcept {
  // On the root's executor. Shutdown's teardown cannot have taken the record: it waits for
  // the threads to stop, and this thread is still running.
  root.frame.destroy();
  const std::lock_guard lock{mutex_};
  roots_.erase(root.seq);
  changed_.notify_all();
}

void runtime_state::finish_sync_root(sync_waiter& waiter) {
  auto& root = *static_cast<root_record*>(waiter.record);
  std::unique_lock lock{mutex_};
  const auto done = [&] {
    const std::lock_guard waiter_lock{waiter.mutex};
    return waiter.done;
  };
  if (!done()) {
    // Abandoned after a backend failure: a loop may still be finishing a batch that resumes this
    // root, so wait until none runs; then the frame stays registered for the teardown.
    changed_.wait(lock, [&] { return running_loops_ == 0; });
    if (!done()) {
      if (const auto it = roots_.find(root.seq); it != roots_.end()) {
        it->second.waiter = nullptr;  // the waiter (on the caller's stack) is going away
      }
      std::rethrow_exception(waiter.abandoned);
    }
  }
  // Done: the result is in the slot. Free the frame, unless the teardown already took it — then
  // wait for it to let go of the waiter (it destroys the frame and says so) before returning.
  if (const auto it = roots_.find(root.seq); it != roots_.end()) {
    const std::coroutine_handle<> frame = it->second.frame;
    roots_.erase(it);
    changed_.notify_all();
    lock.unlock();
    frame.destroy();
    return;
  }
  lock.unlock();
  std::unique_lock waiter_lock{waiter.mutex};
  waiter.changed.wait(waiter_lock, [&] { return static_cast<bool>(waiter.abandoned); });
}

void runtime_state::shutdown(std::chrono::steady_clock::time_point deadline) {
  if (on_own_executor()) {
    throw usage_error(
        "cosync: runtime::shutdown called on one of the runtime's own executors; it would wait for itself");
  }
  {
    const std::lock_guard lock{mutex_};
    if (shutdown_done_) {
      return;
    }
  }
  cancel_roots(deadline);
  stop_threads();
  if (trace_) {
    trace_->write();  // every executor has stopped: their buffers are still
  }
  blocking_.stop();
  destroy_roots();
  const std::lock_guard lock{mutex_};
  shutdown_done_ = true;
  if (failure_) {
    failure_reported_ = true;
    std::rethrow_exception(failure_);
  }
}

void runtime_state::cancel_roots(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock{mutex_};
  cancelling_ = true;
  while (!roots_.empty() && !failure_ && !stopped_) {
    root_record& newest = roots_.rbegin()->second;
    const std::uint64_t seq = newest.seq;
    if (!newest.cancelled) {
      newest.cancelled = true;
      // Runs the std::stop_callback hooks under the root (task groups', timeouts') on this thread,
      // and has each executor run the hooks of what is parked on it directly under the root's
      // scope: each withdraws its operation and posts the coroutine, which then throws cancelled
      // on its executor. (Hooks never take this lock, and a root ending meanwhile waits for it to
      // erase its record.)
      newest.scope.request_stop();
      sweep_parked(newest.scope);
    }
    const bool ended = changed_.wait_until(
        lock, deadline, [&] { return roots_.empty() || roots_.rbegin()->first != seq || failure_; });
    if (!ended) {
      return;  // the deadline: the teardown stops what is left where it is
    }
  }
}

void runtime_state::sweep_parked(const cancel_scope& scope) {
  for (auto& e : executors_) {
    completion_task sweeper = sweep_parked_hooks(scope);
    sweeper.on_done(
        [](void* state, std::coroutine_handle<> self) noexcept -> std::coroutine_handle<> {
          static_cast<runtime_state*>(state)->sweep_done(self);
          return std::noop_coroutine();
        },
        this);
    sweepers_.push_back(sweeper.handle());
    post(*e, sweeper.release());
  }
}

void runtime_state::sweep_done(std::coroutine_handle<> sweeper) noexcept {
  {
    const std::lock_guard lock{mutex_};
    std::erase(sweepers_, sweeper);
  }
  sweeper.destroy();
}

void runtime_state::destroy_roots() noexcept {
  // Every executor thread has been joined: nothing runs concurrently with this but sync_wait
  // callers, which only look at records under the lock.
  std::vector<decltype(roots_)::node_type> left;
  std::vector<std::coroutine_handle<>> sweepers;
  {
    const std::lock_guard lock{mutex_};
    stopped_ = true;
    sweepers.swap(sweepers_);  // posted at the deadline, never run
    while (!roots_.empty()) {
      left.push_back(roots_.extract(std::prev(roots_.end())));  // newest first
    }
  }
  set_tearing_down(true);
  for (auto& node : left) {
    root_record& root = node.mapped();
    root.frame.destroy();  // and everything it awaits, children before parents
    if (root.waiter != nullptr) {
      const std::lock_guard waiter_lock{root.waiter->mutex};
      root.waiter->abandoned = std::make_exception_ptr(
          usage_error("cosync: the runtime was shut down before this sync_wait completed"));
      root.waiter->changed.notify_all();
    }
  }
  for (const std::coroutine_handle<> sweeper : sweepers) {
    sweeper.destroy();
  }
  set_tearing_down(false);
}

void runtime_state::executor_failed(std::exception_ptr failure) noexcept {
  for (auto& e : executors_) {
    e->request_stop();
  }
  const std::lock_guard lock{mutex_};
  if (!failure_) {
    failure_ = std::move(failure);
  }
  for (auto& [seq, root] : roots_) {
    if (root.waiter != nullptr) {
      const std::lock_guard waiter_lock{root.waiter->mutex};
      if (!root.waiter->abandoned) {
        root.waiter->abandoned = failure_;
        failure_reported_ = true;
      }
      root.waiter->changed.notify_all();
    }
  }
  changed_.notify_all();
}

void runtime_state::loop_exited() noexcept {
  const std::lock_guard lock{mutex_};
  --running_loops_;
  changed_.notify_all();
}

bool runtime_state::failure_reported() noexcept {
  const std::lock_guard lock{mutex_};
  return failure_reported_;
}

[[noreturn]] void throw_sync_wait_on_executor() {
  throw usage_error(
      "cosync: sync_wait called on an executor thread; it would block the thread that has to run "
      "the work. co_await the operation instead.");
}

void start_sync_root(runtime& rt, completion_task& root, sync_waiter& waiter) {
  runtime_state& state = *rt.state_;
  root_record& record = state.add_root(root.handle(), &waiter);
  waiter.record = &record;
  root.set_scope(&record.scope);
  // Signals the waiting thread; after this neither the frame nor `waiter` is touched again by
  // this side, so the waiting thread may free both as soon as it sees `done`.
  root.on_done(
      [](void* p, std::coroutine_handle<>) noexcept -> std::coroutine_handle<> {
        auto& w = *static_cast<sync_waiter*>(p);
        const std::lock_guard lock{w.mutex};
        w.done = true;
        w.changed.notify_all();
        return std::noop_coroutine();
      },
      &waiter);
  post(state.at(0), root.release());
}

void finish_sync_root(runtime& rt, sync_waiter& waiter) {
  rt.state_->finish_sync_root(waiter);
}

void start_joinable_root(std::size_t executor, completion_task& root, join_state_base& state) {
  detail::executor* here = current_executor();
  if (here == nullptr) {
    throw usage_error("cosync::spawn must be called on an executor thread (use runtime::spawn elsewhere)");
  }
  runtime_state& rt = here->runtime();
  if (executor >= rt.size()) {
    throw usage_error("cosync::spawn_on: executor " + std::to_string(executor) + " of " +
                      std::to_string(rt.size()));
  }
  (void)start_root(rt, executor, root, &state.scope());
}

void report_detached_failure(std::exception_ptr failure) noexcept {
  try {
    std::rethrow_exception(std::move(failure));
  } catch (const cancelled&) {
    return;  // a normal end
  } catch (...) {
    if (const detail::executor* here = current_executor();
        here != nullptr && here->runtime().on_detached_failure()) {
      here->runtime().on_detached_failure()(std::current_exception());
      return;
    }
    try {
      throw;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cosync: a detached task failed: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "cosync: a detached task failed with an exception of unknown type\n");
    }
  }
}

}  // namespace detail

// ---------------------------------------------------------------- runtime

runtime::runtime(runtime_config config) {
  detail::validate(config);
  state_ = std::make_unique<detail::runtime_state>(config, detail::make_backends(config));
}

namespace detail {
namespace {

// The destructor's shutdown: a failure nobody was told of yet is printed, never thrown.
void shut_down_quietly(runtime_state& state, std::chrono::steady_clock::time_point deadline) noexcept {
  const bool told = state.failure_reported();  // a sync_wait already threw it
  try {
    state.shutdown(deadline);
  } catch (const std::exception& e) {
    if (!told) {
      std::fprintf(stderr, "cosync: runtime destroyed after a failure: %s\n", e.what());
    }
  }
}

// The threads that shut down runtimes destroyed on their own executor. Owned here rather than
// detached, so that they can be waited for: by join_background_shutdowns(), and at the latest when
// the process exits (before leak checkers look at the heap).
class background_shutdowns {
 public:
  background_shutdowns() = default;
  background_shutdowns(const background_shutdowns&) = delete;
  background_shutdowns& operator=(const background_shutdowns&) = delete;
  ~background_shutdowns() { join_all(); }

  template <class F>
  void start(F&& body) {
    const std::lock_guard lock{mutex_};
    // Joins those that have ended, so that the list stays as long as the shutdowns under way.
    std::erase_if(threads_, [](shutdown_thread& s) {
      if (!s.done->load(std::memory_order_acquire)) {
        return false;
      }
      s.thread.join();
      return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    threads_.push_back({std::thread{[body = std::forward<F>(body), done]() mutable {
                          body();
                          done->store(true, std::memory_order_release);  // pairs with the acquire above
                        }},
                        done});
  }

  void join_all() {
    std::vector<shutdown_thread> threads;
    {
      const std::lock_guard lock{mutex_};
      threads.swap(threads_);
    }
    for (shutdown_thread& s : threads) {
      if (s.thread.get_id() == std::this_thread::get_id()) {
        s.thread.detach();  // called from a background shutdown itself: it ends by itself
      } else {
        s.thread.join();
      }
    }
  }

 private:
  struct shutdown_thread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  std::mutex mutex_;
  std::vector<shutdown_thread> threads_;
};

background_shutdowns& shutdown_threads() {
  static background_shutdowns threads;
  return threads;
}

}  // namespace

void join_background_shutdowns() {
  shutdown_threads().join_all();
}

}  // namespace detail

runtime::~runtime() {
  if (!state_) {
    return;
  }
  const auto deadline = detail::deadline_after(state_->shutdown_grace());
  if (state_->on_own_executor()) {
    // It cannot join its own thread: a background thread shuts it down (this coroutine goes on
    // until it next suspends or ends, then its executor stops too).
    detail::shutdown_threads().start([state = std::move(state_), deadline]() mutable {
      detail::shut_down_quietly(*state, deadline);
      state.reset();
    });
    return;
  }
  detail::shut_down_quietly(*state_, deadline);
}

void runtime::shutdown(std::chrono::steady_clock::time_point deadline) {
  state_->shutdown(deadline);
}

std::size_t runtime::executors() const noexcept {
  return state_->size();
}

backend_kind runtime::backend() const noexcept {
  return state_->backend();
}

std::vector<executor_stats> runtime::stats() const {
  std::vector<executor_stats> all;
  all.reserve(state_->size());
  for (std::size_t i = 0; i < state_->size(); ++i) {
    all.push_back(state_->at(i).stats().snapshot());
    all.back().executor = i;
  }
  return all;
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
  detail::start_root(*state_, executor, root, nullptr);
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
