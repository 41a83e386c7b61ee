#pragma once

/// Unix signals as awaitable events: wait for SIGINT or SIGTERM in a coroutine, or let one cancel
/// an operation — the clean Ctrl-C of a server or a pipeline.
///
///     int sig = co_await cosync::signal(SIGINT, SIGTERM);        // the next one delivered
///
///     auto done = co_await cosync::stop_on_signal(serve(listener), SIGINT, SIGTERM);
///     if (!done) std::puts("interrupted: shut down cleanly");
///
/// How: while anything listens for a signal, cosync's handler (installed with sigaction, the
/// previous disposition saved) counts each delivery and writes to an eventfd; one watcher thread
/// per process, asleep on that eventfd, completes the waits and cancellations, each resumed on its
/// own executor. When the last listener of a signal goes, its previous disposition is restored
/// (Ctrl-C kills an uninterested program again). Deliveries of one signal that arrive before a
/// waiter looks coalesce, as the kernel's do. (Not signalfd: it needs the signal blocked in every
/// thread of the process, including threads cosync does not own — one that forgot would be
/// killed by it.)
///
/// Signals that report a fault of the running thread (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
/// SIGSYS) and the uncatchable SIGKILL and SIGSTOP are refused: cosync::usage_error.

#include <cosync/cancellation.hpp>
#include <cosync/detail/awaitable_traits.hpp>
#include <cosync/detail/scoped_run.hpp>
#include <cosync/detail/waiter_queue.hpp>
#include <cosync/task.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace cosync {
namespace detail {

/// One interest in a set of signals (src/signal.cpp): it keeps their handlers installed while it
/// lives, and remembers how many deliveries of each it has seen.
class signal_hub;

class signal_listener : public queued_waiter {
 public:
  /// Installs the handlers (first listener of a signal); usage_error for a refused signal.
  explicit signal_listener(std::span<const int> signals);
  explicit signal_listener(std::initializer_list<int> signals)
      : signal_listener(std::span<const int>{signals.begin(), signals.size()}) {}
  ~signal_listener();
  signal_listener(const signal_listener&) = delete;
  signal_listener& operator=(const signal_listener&) = delete;

  /// A signal delivered since this listener last looked (the first of its set that was), now
  /// seen; 0 if none. Lock-free; one caller at a time.
  [[nodiscard]] int take() noexcept;
  /// Whether take() would find one, without taking it.
  [[nodiscard]] bool pending() const noexcept;

  int result = 0;  // what a completed wait returns

 private:
  struct seen_count {
    int signal;
    std::uint64_t seen;
  };
  std::vector<seen_count> seen_;
};

/// The watcher's lock: every parked signal wait is registered under it.
void lock_signals();
void unlock_signals() noexcept;
void* signal_lock_key() noexcept;
/// Under the lock: parks `listener` (its waiter `w`); the watcher completes it.
void park_signal_wait(signal_listener& listener, waiter& w) noexcept;
/// Any thread: takes a parked wait back; true if it was still parked.
bool withdraw_signal_wait(signal_listener& listener) noexcept;

/// A cancellation trigger for run_scoped: requests stop on `scope` at the first delivery of one
/// of `signals` after it is made.
class signal_trigger {
 public:
  signal_trigger(cancel_scope& scope, std::span<const int> signals);
  ~signal_trigger();
  signal_trigger(const signal_trigger&) = delete;
  signal_trigger& operator=(const signal_trigger&) = delete;

  [[nodiscard]] bool fired() const noexcept {
    return fired_.load(std::memory_order_acquire);  // acquire: pairs with the watcher's release
  }

 private:
  friend class signal_hub;

  signal_listener listener_;
  cancel_scope* scope_;
  std::atomic<bool> fired_{false};
  // ---- the watcher's, under its lock ----
  bool firing_ = false;  // the watcher is requesting stop (outside its lock): wait before leaving
  signal_trigger* next_ = nullptr;
};

}  // namespace detail

/// The case of a signal wait (cosync/wait.hpp): completes with the number of a signal delivered
/// since its listener last looked. Made by signal_set::wait() and cosync::signal().
class signal_wait_op {
 public:
  /// Its withdraw() is exact from any thread (the watcher's lock decides): a cancelled wait needs no
  /// race word.
  static constexpr bool withdraw_from_any_thread = true;

  /// A wait on a signal_set's listener (which outlives it); made by signal_set::wait().
  explicit signal_wait_op(detail::signal_listener& listener) noexcept : listener_{&listener} {}
  /// A wait that owns its listener; made by cosync::signal().
  explicit signal_wait_op(std::unique_ptr<detail::signal_listener> owned) noexcept
      : owned_{std::move(owned)}, listener_{owned_.get()} {}
  /// Movable until awaited, so that a waitable or a select can hold it (an owned listener moves
  /// with it).
  signal_wait_op(signal_wait_op&& other) noexcept
      : owned_{std::move(other.owned_)}, listener_{other.listener_} {}
  signal_wait_op& operator=(signal_wait_op&&) = delete;
  ~signal_wait_op() = default;

 private:
  friend struct case_access;
  static constexpr const char* wait_name = "signal";  // in a trace

  bool try_complete() noexcept { return (listener_->result = listener_->take()) != 0; }
  static void* lock_key() noexcept { return detail::signal_lock_key(); }
  static void lock() { detail::lock_signals(); }
  static void unlock() noexcept { detail::unlock_signals(); }
  bool try_complete_locked(wake_list& /*wake*/) noexcept { return try_complete(); }
  void park(waiter& w) noexcept { detail::park_signal_wait(*listener_, w); }
  bool withdraw() noexcept { return detail::withdraw_signal_wait(*listener_); }
  [[nodiscard]] int result() const noexcept { return listener_->result; }

  std::unique_ptr<detail::signal_listener> owned_;
  detail::signal_listener* listener_;
};

/// A standing interest in some signals: every delivery after it was made is seen by a later
/// wait(), none is missed between two waits (deliveries of one signal coalesce until then).
///
/// - wait(): lazy; completes at once if a signal is pending; resumes on the awaiting coroutine's
///   home executor with the signal's number. Cancellable (cosync::cancelled, nothing consumed); a
///   select case. One wait at a time per set.
/// - Handlers stay installed while the set lives; its destructor restores a signal's previous
///   disposition if nothing else listens to it. Must outlive a wait in progress.
///
///     cosync::signal_set hangups{SIGHUP};
///     for (;;) { co_await hangups.wait(); reload_config(); }
class signal_set {
 public:
  /// Starts listening for `signals`, installing their handlers (cosync::usage_error for a refused
  /// signal): deliveries from now on are seen.
  explicit signal_set(std::initializer_list<int> signals)
      : listener_{std::make_unique<detail::signal_listener>(signals)} {}

  /// `co_await s.wait()`: the number of a signal delivered since the last wait, waiting for one if
  /// none is pending (see the class comment).
  [[nodiscard]] waitable<signal_wait_op> wait() noexcept { return waitable<signal_wait_op>{*listener_}; }
  /// A pending signal's number (now seen), or 0; never waits.
  [[nodiscard]] int try_wait() noexcept { return listener_->take(); }

 private:
  std::unique_ptr<detail::signal_listener> listener_;
};

/// Waits for the next delivery of any of `signals` after this call; returns its number. As
/// signal_set::wait() (cancellable, a select case, resumes on its home executor), for a one-off
/// wait.
template <class... Signals>
requires(std::is_convertible_v<Signals, int>&&...)
    [[nodiscard]] waitable<signal_wait_op> signal(int first, Signals... more) {
  const std::array<int, 1 + sizeof...(more)> list{first, static_cast<int>(more)...};
  return waitable<signal_wait_op>{std::make_unique<detail::signal_listener>(std::span<const int>{list})};
}

/// Runs `op` (a task or any awaitable), cancelling it when one of the signals is delivered: its
/// result as std::optional (for void: bool), empty if a signal cut it short. The handlers are
/// installed for the duration. Cancelled from above, it throws cosync::cancelled; a result `op`
/// produced anyway is returned. Resumes on the awaiting coroutine's home executor.
///
///     if (!co_await cosync::stop_on_signal(run_pipeline(), SIGINT, SIGTERM)) report_partial();
template <detail::awaitable A, class... Signals>
requires(std::is_convertible_v<Signals, int>&&...)
    [[nodiscard]] task<detail::moved_on_t<typename detail::as_task_t<A>::value_type>> stop_on_signal(
        A&& op, int first, Signals... more) {
  using T = typename detail::as_task_t<A>::value_type;
  return detail::run_scoped<T, detail::on_trigger::move_on>(
      [list = std::array<int, 1 + sizeof...(more)>{first, static_cast<int>(more)...}](
          detail::cancel_scope& scope) {
        return detail::signal_trigger{scope, list};
      },
      detail::as_task(std::forward<A>(op)));
}

}  // namespace cosync
