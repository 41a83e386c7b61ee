#pragma once

/// cosync::runtime: N executor threads, each with its own ready queue, timer heap and I/O backend
/// (io_uring, or epoll where io_uring is not allowed), joined by a mesh of spsc_rings.
/// Also the bridges from plain threads: sync_wait() and run().

#include <cosync/detail/awaitable_traits.hpp>
#include <cosync/detail/completion_task.hpp>
#include <cosync/detail/deadline.hpp>
#include <cosync/detail/result_slot.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/runtime_stats.hpp>
#include <cosync/task.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace cosync {

/// Which I/O backend the executors use.
enum class backend_kind {
  automatic,  ///< io_uring; epoll if the kernel or a seccomp policy refuses it (says so once)
  io_uring,   ///< io_uring or a cosync::backend_error
  epoll,      ///< epoll + eventfd
};

namespace detail {
inline constexpr std::size_t executor_limit = 256;
}

/// How to build a runtime. The environment variable COSYNC_BACKEND=epoll (or io_uring) overrides
/// `backend` when it is `automatic`.
struct runtime_config {
  /// Executor threads: 1 .. runtime::max_executors. Default: the hardware's thread count (at most
  /// runtime::max_executors).
  std::size_t executors =
      std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, detail::executor_limit);
  /// Pin executor i to the i-th CPU this process may run on (round-robin).
  bool pin_threads = false;
  /// The I/O backend (see backend_kind); runtime::backend() tells which one runs.
  backend_kind backend = backend_kind::automatic;
  /// On io_uring: a listener keeps one multishot accept in flight and a stream one multishot
  /// receive into provided buffers (cosync/net.hpp), where the kernel has them (5.19 and 6.0).
  /// false: one request per accept and read, as on older kernels — to compare, or to work around a
  /// kernel bug. The environment variable COSYNC_MULTISHOT=0 does the same.
  bool multishot_io = true;
  /// Slots in each ring of the mesh (one ring per ordered pair of executors); a power of two is
  /// used. A full ring never drops or blocks: the excess waits in the sender's overflow list.
  std::size_t mesh_ring_capacity = 1024;
  /// How long an executor that has run out of work keeps polling its rings before it blocks in
  /// the backend. Blocking and being woken costs a system call on each side and a scheduler
  /// round trip, so a short spin keeps back-and-forth traffic off that path; 0 blocks at once. An executor
  /// with no work at all spins once, then uses no CPU.
  std::chrono::nanoseconds idle_spin = std::chrono::microseconds{25};
  /// How long the destructor's shutdown lets cancelled coroutines unwind before it destroys what
  /// is still suspended (see runtime::shutdown).
  std::chrono::nanoseconds shutdown_grace = std::chrono::seconds{2};
  /// Called with the exception of a *detached* task that failed — one started by runtime::spawn,
  /// or by cosync::spawn whose join_handle was dropped without awaiting it — so that no failure is
  /// silently lost. Runs on the thread where the failure became detached (the task's executor, or
  /// the one dropping the handle); must not throw. Empty (the default): the failure is printed to
  /// stderr. cosync::cancelled is a normal end, never reported.
  std::function<void(std::exception_ptr)> on_detached_failure{};
  /// The most threads cosync::spawn_blocking may use at once (started on demand, kept until the
  /// runtime ends): 1 .. runtime::max_blocking_threads. Calls beyond it queue, in order.
  std::size_t blocking_threads = 32;
  /// Records a timeline of every executor — each coroutine run, where coroutines park, what wakes
  /// them, cancellations, hops between executors — and writes it when the runtime shuts down to
  /// this file, as Chrome/Perfetto trace-event JSON (docs/guide/09_observability.md). Empty: the
  /// file the environment variable COSYNC_TRACE names, if set; else no trace, at no cost.
  std::string trace_path{};
  /// How many of its newest events each executor keeps for the trace: 1 .. runtime::max_trace_events.
  std::size_t trace_events = std::size_t{1} << 16;
};

class runtime;

namespace detail {
class runtime_state;
struct sync_waiter;
/// Makes `root` a root of `rt` run for `waiter` (it gets a cancel scope; the runtime owns its
/// frame from now on) and starts it on executor 0. cosync::usage_error once `rt` is shut down.
void start_sync_root(runtime& rt, completion_task& root, sync_waiter& waiter);
/// Once `waiter` is done or abandoned: gives the root back to the runtime (freeing its frame if it
/// finished). Returns if the result may be read, else rethrows why the runtime abandoned it.
void finish_sync_root(runtime& rt, sync_waiter& waiter);
}  // namespace detail

/// Owns the executor threads. Constructing it starts them; destroying it shuts it down (see
/// shutdown()) with the configured grace period, so nothing leaks.
///
///     cosync::runtime rt{{.executors = 2}};
///     int v = cosync::sync_wait(rt, compute());
class runtime {
 public:
  /// The most executors one runtime may have (runtime_config::executors).
  static constexpr std::size_t max_executors = detail::executor_limit;
  /// The largest runtime_config::blocking_threads accepted.
  static constexpr std::size_t max_blocking_threads = 4096;
  /// The largest runtime_config::trace_events accepted (events kept per executor).
  static constexpr std::size_t max_trace_events = std::size_t{1} << 26;

  /// Throws cosync::config_error for a bad configuration and cosync::backend_error when a forced
  /// backend cannot be set up.
  explicit runtime(runtime_config config = {});
  /// shutdown() with runtime_config::shutdown_grace; a backend failure nobody was told of is
  /// printed. Destroyed from one of its own executors (a coroutine that owns its runtime), the
  /// runtime is shut down by a background thread once that coroutine has moved on.
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// How many executor threads it runs (indices 0 .. executors() - 1).
  [[nodiscard]] std::size_t executors() const noexcept;

  /// The backend the executors actually run (never `automatic`).
  [[nodiscard]] backend_kind backend() const noexcept;

  /// A snapshot of every executor's counters, in index order (cosync/runtime_stats.hpp): which
  /// executor is busy, how often it slept, whether a mesh ring overflowed. Any thread, any time
  /// while the runtime exists (after shutdown: the totals).
  [[nodiscard]] std::vector<executor_stats> stats() const;

  /// Shutdown is cancellation (docs/design/shutdown.md). Every root — each spawned task and each
  /// sync_wait in progress — is cancelled, newest first, and allowed to unwind on the running
  /// executors through its own destructors and catch blocks (a cancelled wait throws
  /// cosync::cancelled; channels close, task groups join), each before the next older one is
  /// cancelled, so that a root which owns what later roots use (a channel its workers wait on)
  /// outlives them. At `deadline` whatever has not finished (a root that ignores cancellation) is
  /// stopped where it is: the executors stop, and the frames still suspended are destroyed,
  /// newest root first, children before parents. Idempotent. Throws cosync::usage_error on one
  /// of this runtime's own executors (it would wait for itself), and rethrows the first failure
  /// of an executor's backend (cosync::backend_error) if there was one. While it cancels, spawn()
  /// and sync_wait() throw cosync::cancelled (a root still starting others unwinds instead);
  /// afterwards, cosync::usage_error.
  void shutdown(std::chrono::steady_clock::time_point deadline);
  /// shutdown(now + grace); any duration type (saturates, never wraps).
  template <class Rep, class Period>
  void shutdown(std::chrono::duration<Rep, Period> grace) {
    shutdown(detail::deadline_after(grace));
  }

  /// Starts `t` on executor `executor` and lets it run detached, as a root of this runtime
  /// (shutdown() cancels it; a cosync::cancelled escaping it is a normal end). Any other exception
  /// escaping it goes to runtime_config::on_detached_failure (default: printed to stderr).
  /// cosync::usage_error once the runtime is shut down. From a coroutine, cosync::spawn
  /// (cosync/join_handle.hpp) gives a handle to await the result.
  void spawn(task<void> t, std::size_t executor = 0);

 private:
  friend void detail::start_sync_root(runtime& rt, detail::completion_task& root,
                                      detail::sync_waiter& waiter);
  friend void detail::finish_sync_root(runtime& rt, detail::sync_waiter& waiter);

  std::unique_ptr<detail::runtime_state> state_;
};

/// The index of the executor running the calling coroutine; cosync::usage_error off-executor.
[[nodiscard]] std::size_t this_executor();

/// Whether the calling thread is one of a runtime's executors.
[[nodiscard]] inline bool on_executor() noexcept {
  return detail::current_executor() != nullptr;
}

/// Moves the awaiting coroutine to executor `index` of its runtime.
///
/// - Lazy; completes at once when already there.
/// - Resumes on executor `index` (the one exception to "resumes where it was": that is its job),
///   reached through the mesh ring from the current executor.
/// - Not cancellable: it completes as soon as the target executor runs it.
/// - cosync::usage_error off-executor or for an index out of range.
///
///     co_await cosync::switch_to(1);  // now on executor 1
class [[nodiscard]] switch_awaiter {
 public:
  /// A move to executor `target`; made by switch_to().
  explicit switch_awaiter(std::size_t target) noexcept : target_{target} {}
  switch_awaiter(const switch_awaiter&) = delete;
  switch_awaiter& operator=(const switch_awaiter&) = delete;

  ///@{
  /// Awaiter protocol (called by `co_await`, not by users): checks the index (usage_error), completes
  /// at once on the target, else posts the coroutine to the target executor.
  bool await_ready() const;
  void await_suspend(std::coroutine_handle<> waiter) const;
  void await_resume() const noexcept {}
  ///@}

 private:
  std::size_t target_;
};

/// `co_await cosync::switch_to(i)`: continues on executor `i` (see switch_awaiter).
[[nodiscard]] inline switch_awaiter switch_to(std::size_t executor) noexcept {
  return switch_awaiter{executor};
}

/// Lets every other ready coroutine of this executor run, then continues.
///
/// - Lazy; always suspends; resumes on the same executor after the coroutines already queued.
/// - Not cancellable. cosync::usage_error off-executor.
///
///     for (auto& item : items) { process(item); co_await cosync::yield(); }
class [[nodiscard]] yield_awaiter {
 public:
  ///@{
  /// Awaiter protocol (called by `co_await`, not by users): always suspends, queueing the coroutine
  /// behind those already ready on its executor (usage_error off-executor).
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> waiter) const;
  void await_resume() const noexcept {}
  ///@}
};

/// `co_await cosync::yield()`: lets the executor's other ready coroutines run first (see
/// yield_awaiter).
[[nodiscard]] inline yield_awaiter yield() noexcept {
  return {};
}

namespace detail {

/// Where sync_wait's caller waits: for its root to finish, or for the runtime to give up on it.
struct sync_waiter {
  std::mutex mutex;
  std::condition_variable changed;
  bool done = false;             // the root finished: its result is in the slot
  std::exception_ptr abandoned;  // the runtime stopped first (shutdown, a backend failure)
  void* record = nullptr;        // the runtime's record of the root (src/runtime.cpp)
};

template <class T>
struct sync_wait_state : sync_waiter {
  result_slot<T> slot;
};

template <class A, class T>
completion_task run_sync_wait(A awaitable, sync_wait_state<T>& state) {
  try {
    if constexpr (std::is_void_v<await_result_t<A>>) {
      co_await std::move(awaitable);
      state.slot.set(std::monostate{});
    } else {
      state.slot.set(co_await std::move(awaitable));
    }
  } catch (...) {
    state.slot.set_error(std::current_exception());
  }
}

[[noreturn]] void throw_sync_wait_on_executor();

}  // namespace detail

/// Runs `awaitable` on executor 0 of `rt` and blocks the calling thread (which must not be an
/// executor: cosync::usage_error) until it completes; returns its result or rethrows its
/// exception.
///
///     int v = cosync::sync_wait(rt, compute());
template <class A>
decltype(auto) sync_wait(runtime& rt, A&& awaitable) {
  using result = detail::await_result_t<std::remove_cvref_t<A>>;
  using value = detail::when_all_value_t<std::remove_cvref_t<A>>;
  if (on_executor()) {
    detail::throw_sync_wait_on_executor();
  }
  detail::sync_wait_state<value> state;
  detail::completion_task root =
      detail::run_sync_wait(std::remove_cvref_t<A>{std::forward<A>(awaitable)}, state);
  detail::start_sync_root(rt, root, state);
  {
    std::unique_lock lock{state.mutex};
    state.changed.wait(lock, [&] { return state.done || state.abandoned; });
  }
  detail::finish_sync_root(rt, state);
  if (state.slot.error()) {
    std::rethrow_exception(state.slot.error());
  }
  if constexpr (std::is_void_v<result>) {
    return;
  } else {
    return static_cast<result>(state.slot.take());
  }
}

/// The one-line main: builds a runtime from `config`, runs `awaitable` to completion on it, and
/// returns its result (or rethrows), stopping the runtime on the way out.
///
///     int main() { return cosync::run(async_main()); }
template <class A>
decltype(auto) run(A&& awaitable, runtime_config config = {}) {
  runtime rt{config};
  return sync_wait(rt, std::forward<A>(awaitable));
}

}  // namespace cosync
