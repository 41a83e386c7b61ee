#pragma once

/// Timers: suspend the current coroutine until a duration has passed or a deadline is reached.

#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>

#include <chrono>
#include <coroutine>

namespace cosync {

/// The clock every cosync timer uses (std::chrono::steady_clock).
using steady_clock = std::chrono::steady_clock;

/// Waits until a deadline on the executor that awaits it.
///
/// - Eager about the deadline (it is fixed when the awaiter is made), lazy about waiting: the
///   timer is armed when awaited. A deadline already in the past completes at once.
/// - Resumes on the awaiting coroutine's own executor, about a millisecond after the deadline at
///   worst under load.
/// - Cancellation: destroying a suspended sleep disarms its timer (O(log n)); task-group
///   cancellation will reach it through the same hook.
/// - Must be awaited on an executor thread (cosync::usage_error otherwise).
///
///     co_await cosync::sleep_for(std::chrono::milliseconds{5});
class [[nodiscard]] sleep_awaiter {
 public:
  explicit sleep_awaiter(steady_clock::time_point deadline) noexcept { node_.deadline = deadline; }
  sleep_awaiter(const sleep_awaiter&) = delete;
  sleep_awaiter& operator=(const sleep_awaiter&) = delete;
  ~sleep_awaiter() { detail::cancel_timer(node_); }

  bool await_ready() const noexcept { return node_.deadline <= steady_clock::now(); }

  void await_suspend(std::coroutine_handle<> waiter) {
    detail::executor* here = detail::current_executor();
    if (here == nullptr) {
      throw usage_error("cosync: sleep_for/sleep_until must be awaited on an executor thread");
    }
    node_.waiter = waiter;
    detail::arm_timer(*here, node_);
  }

  void await_resume() const noexcept {}

 private:
  detail::timer_node node_;
};

/// Suspends until `deadline`; at once if it has passed.
[[nodiscard]] inline sleep_awaiter sleep_until(steady_clock::time_point deadline) noexcept {
  return sleep_awaiter{deadline};
}

namespace detail {

/// Now + `duration`, saturating at the clock's end; now for zero or negative durations.
template <class Rep, class Period>
[[nodiscard]] steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> duration) noexcept {
  const steady_clock::time_point now = steady_clock::now();
  if (duration <= duration.zero()) {
    return now;
  }
  const auto room = steady_clock::time_point::max() - now;
  if (duration >= std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(room)) {
    return steady_clock::time_point::max();
  }
  return now + std::chrono::ceil<steady_clock::duration>(duration);
}

}  // namespace detail

/// Suspends for `duration` (zero or negative: completes at once; huge values saturate).
template <class Rep, class Period>
[[nodiscard]] sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> duration) noexcept {
  return sleep_awaiter{detail::deadline_after(duration)};
}

}  // namespace cosync
