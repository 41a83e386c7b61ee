#pragma once

/// Timers: suspend the current coroutine until a duration has passed or a deadline is reached —
/// on its own (sleep_for, sleep_until) or as a select case (after, at). Deadlines that cancel an
/// operation (with_timeout and friends) are in cosync/timeout.hpp.

#include <cosync/config.hpp>
#include <cosync/detail/deadline.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <chrono>

namespace cosync {

/// The clock every cosync timer uses (std::chrono::steady_clock).
using steady_clock = std::chrono::steady_clock;

/// A timer (cosync/wait.hpp's case interface): completes once its deadline has passed. A fixed
/// deadline (sleep_until, sleep_for, at), or a duration measured from the moment it parks (after:
/// a select that completes at once never reads the clock).
///
/// - Armed on the executor that parks it (O(log n)); withdrawing disarms it (O(log n)), so no
///   timer outlives its wait.
/// - Needs an executor thread to park on (cosync::usage_error otherwise).
class timer_op {
 public:
  /// A timer for a fixed `deadline` (sleep_until, sleep_for, at).
  explicit timer_op(steady_clock::time_point deadline) noexcept {
    node_.deadline = deadline;
    node_.on_fire = &fire;
  }
  /// A timer `after` from the moment it parks (cosync::after).
  explicit timer_op(steady_clock::duration after) noexcept {
    node_.deadline = steady_clock::time_point{after};  // relative until it parks (on_fire unset)
  }
  /// Movable until it parks (so that select() can hold it).
  timer_op(timer_op&& other) noexcept {
    COSYNC_ASSERT(!other.node_.armed(), "cosync: a timer moved while armed");
    node_.deadline = other.node_.deadline;
    node_.on_fire = other.node_.on_fire;
  }
  timer_op& operator=(timer_op&&) = delete;
  ~timer_op() { withdraw(); }

 private:
  friend struct case_access;
  static constexpr const char* wait_name = "sleep";  // in a trace

  // A relative timer (after) keeps its duration in the deadline's place until it parks: a
  // sleeping coroutine's frame holds one of these, so every byte counts.
  [[nodiscard]] bool relative() const noexcept { return node_.on_fire == nullptr; }

  bool try_complete() const noexcept {
    return relative() ? node_.deadline.time_since_epoch() <= steady_clock::duration::zero()
                      : node_.deadline <= steady_clock::now();
  }
  void park(waiter& w) {
    detail::executor* home = detail::current_executor();
    if (home == nullptr) {
      throw usage_error(
          "cosync: a timer (sleep_for, sleep_until, after, at) must be awaited on an executor thread");
    }
    if (relative()) {
      node_.deadline = detail::deadline_after(node_.deadline.time_since_epoch());
      node_.on_fire = &fire;
    }
    node_.parked = &w;
    detail::arm_timer(*home, node_);
  }
  // On the home's thread only (the waiting core withdraws a timer after its wait resumes, while
  // its waiter, which knows the home, is alive).
  void withdraw() noexcept {
    if (node_.armed()) {
      detail::disarm_timer(*detail::waiter_access::continuation_of(*node_.parked).home, node_);
    }
  }
  void result() const noexcept {}

  struct node : detail::timer_node {
    waiter* parked = nullptr;
  };

  // On the home's thread, when the deadline passes: completes the wait unless a competing case
  // or a cancellation already won it.
  static void fire(detail::timer_node& base) {
    waiter& w = *static_cast<node&>(base).parked;
    if (w.claim()) {
      w.wake();
    }
  }

  node node_{};
};

/// Waits until a deadline on the executor that awaits it (made by sleep_for and sleep_until).
///
/// - Eager about the deadline (fixed when the awaiter is made), lazy about waiting: the timer is
///   armed when awaited. A deadline already in the past completes at once.
/// - Resumes on the awaiting coroutine's home executor, about a millisecond after the deadline
///   at worst under load.
/// - Cancellation: in a cancelled scope (cancellation.hpp) a sleep that has not ended throws
///   cosync::cancelled at once; the timer and the cancellation race for the right to resume it
///   (the waiting core's claim), so it is resumed exactly once. Destroying a suspended sleep
///   disarms its timer.
/// - Must be awaited on an executor thread (cosync::usage_error otherwise).
///
///     co_await cosync::sleep_for(std::chrono::milliseconds{5});
using sleep_awaiter = waitable<timer_op>;

/// Suspends until `deadline`; at once if it has passed.
[[nodiscard]] inline sleep_awaiter sleep_until(steady_clock::time_point deadline) noexcept {
  return sleep_awaiter{deadline};
}

/// Suspends for `duration` (zero or negative: completes at once; huge values saturate).
template <class Rep, class Period>
[[nodiscard]] sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> duration) noexcept {
  return sleep_awaiter{detail::deadline_after(duration)};
}

/// A select case that wins after `duration` without any other case completing, measured from the
/// moment the select parks.
template <class Rep, class Period>
[[nodiscard]] timer_op after(std::chrono::duration<Rep, Period> duration) noexcept {
  const steady_clock::duration ticks = detail::clamp_duration(duration);
  if (ticks == steady_clock::duration::max()) {
    return timer_op{steady_clock::time_point::max()};
  }
  return timer_op{ticks};
}

/// A select case that wins at `deadline` unless another case completes first.
[[nodiscard]] inline timer_op at(steady_clock::time_point deadline) noexcept {
  return timer_op{deadline};
}

}  // namespace cosync
