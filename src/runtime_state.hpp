#pragma once

// What a runtime owns: its executors and their threads, and the registry of its roots — the
// coroutines started from outside any coroutine (spawned tasks, sync_waits) — which shutdown
// cancels newest first and, past its deadline, destroys (docs/design/shutdown.md).

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/runtime.hpp>

#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "blocking_pool.hpp"
#include "executor.hpp"
#include "trace.hpp"

namespace cosync::detail {

/// Allocates whole cache lines, aligned: what every executor reads on every hop (the executor
/// table) shares its line with nothing another thread writes. (Measured: a table sharing a line
/// with its heap neighbours cost the mesh bounce 40% of its throughput.)
template <class T>
struct line_allocator {
  using value_type = T;
  line_allocator() noexcept = default;
  template <class U>
  explicit line_allocator(const line_allocator<U>& /*other*/) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new (bytes(n), std::align_val_t{cache_line_size}));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    ::operator delete (p, bytes(n), std::align_val_t{cache_line_size});
  }
  friend bool operator==(const line_allocator&, const line_allocator&) noexcept { return true; }

 private:
  static std::size_t bytes(std::size_t n) noexcept {
    return (n * sizeof(T) + cache_line_size - 1) / cache_line_size * cache_line_size;
  }
};

/// One root: its frame (owned by the registry), the cancel scope it runs under, and — for a
/// sync_wait — the thread waiting for it.
struct root_record {
  explicit root_record(std::uint64_t order) noexcept : seq{order} {}

  const std::uint64_t seq;  // registration order: a root started by another comes after it
  cancel_scope scope{cancel_scope::root_t{}};
  std::coroutine_handle<> frame;
  sync_waiter* waiter = nullptr;
  bool cancelled = false;  // shutdown has requested stop on `scope`
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
  [[nodiscard]] std::chrono::nanoseconds shutdown_grace() const noexcept { return shutdown_grace_; }
  [[nodiscard]] blocking_pool& blocking() noexcept { return blocking_; }
  [[nodiscard]] const std::function<void(std::exception_ptr)>& on_detached_failure() const noexcept {
    return on_detached_failure_;
  }

  /// Registers a root whose frame has not run yet; cosync::usage_error once shut down.
  root_record& add_root(std::coroutine_handle<> frame, sync_waiter* waiter);
  /// A spawned root has finished (on its executor, suspended at its end): frees it.
  void spawned_root_done(root_record& root) noexcept;
  /// sync_wait's half of detail::finish_sync_root.
  void finish_sync_root(sync_waiter& waiter);

  /// runtime::shutdown.
  void shutdown(std::chrono::steady_clock::time_point deadline);
  /// Whether the calling thread is one of this runtime's executors.
  [[nodiscard]] bool on_own_executor() const noexcept;

  /// An executor's loop ended with an exception (its backend failed): stops every executor and
  /// tells every sync_wait; shutdown() and sync_wait() rethrow it. From that executor's thread.
  void executor_failed(std::exception_ptr failure) noexcept;
  /// An executor's loop has returned (it runs no coroutine any more).
  void loop_exited() noexcept;
  /// Whether a failure was already thrown to somebody (a sync_wait, shutdown()).
  [[nodiscard]] bool failure_reported() noexcept;

 private:
  void start_threads(const runtime_config& config);
  void stop_threads() noexcept;
  void cancel_roots(std::chrono::steady_clock::time_point deadline);
  // Has every executor run the hooks of what is parked on it under `scope` (cancel_parked). Under
  // mutex_.
  void sweep_parked(const cancel_scope& scope);
  void sweep_done(std::coroutine_handle<> sweeper) noexcept;
  void destroy_roots() noexcept;

  // Read by every switch_to and cross-executor post, from every thread: alone on its line, and
  // so is the table it points to.
  alignas(cache_line_size)
      std::vector<std::unique_ptr<executor>, line_allocator<std::unique_ptr<executor>>> executors_;
  alignas(cache_line_size) backend_kind backend_;
  std::chrono::nanoseconds shutdown_grace_;
  std::function<void(std::exception_ptr)> on_detached_failure_;
  blocking_pool blocking_;                 // stopped before the teardown destroys what still waits for it
  std::unique_ptr<trace_recorder> trace_;  // null unless a trace is recorded
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  std::condition_variable changed_;  // a root ended, a loop exited, an executor failed
  // ---- guarded by mutex_ ----
  std::map<std::uint64_t, root_record> roots_;  // oldest first
  std::uint64_t next_seq_ = 0;
  bool cancelling_ = false;     // shutdown is cancelling the roots: no new roots (cancelled)
  bool stopped_ = false;        // shutdown's teardown has begun: no new roots (usage_error)
  bool shutdown_done_ = false;  // shutdown() has run (it is idempotent)
  std::size_t running_loops_ = 0;
  std::exception_ptr failure_;
  bool failure_reported_ = false;
  std::vector<std::coroutine_handle<>> sweepers_;  // posted by sweep_parked, not yet finished
};

/// Waits until every runtime destroyed on its own executor (shut down by a background thread) is
/// gone. Also done at process exit.
void join_background_shutdowns();

}  // namespace cosync::detail
