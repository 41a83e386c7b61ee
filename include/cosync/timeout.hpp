#pragma once

/// Deadlines on any operation — a task, a channel send or receive, a lock, a select: with_deadline,
/// with_timeout (a timeout is an error: cosync::timed_out) and move_on_after / move_on_at (a
/// timeout is an outcome: an empty result). Each runs the operation under a cancel scope that a
/// timer cancels at the deadline (cancellation.hpp).

#include <cosync/cancellation.hpp>
#include <cosync/detail/awaitable_traits.hpp>
#include <cosync/detail/deadline.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/detail/scoped_run.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>
#include <cosync/timer.hpp>

#include <chrono>
#include <optional>
#include <type_traits>

namespace cosync {
namespace detail {

/// A deadline that cancels a scope: a timer on the calling executor whose firing requests stop.
/// Disarmed when destroyed (on the same executor: the coroutine owning it resumes there).
class deadline_timer {
 public:
  deadline_timer(cancel_scope& scope, steady_clock::time_point deadline) {
    node_.deadline = deadline;
    node_.scope = &scope;
    node_.on_fire = &fire;
    arm_timer(home_, node_);
  }
  deadline_timer(const deadline_timer&) = delete;
  deadline_timer& operator=(const deadline_timer&) = delete;
  ~deadline_timer() { disarm_timer(home_, node_); }

  [[nodiscard]] bool fired() const noexcept { return node_.fired; }

 private:
  struct node : timer_node {
    cancel_scope* scope = nullptr;
    bool fired = false;
  };

  static void fire(timer_node& base) {
    node& n = static_cast<node&>(base);
    n.fired = true;
    n.scope->request_stop();  // runs the cancellation hooks of everything waiting below
  }

  executor& home_ = *current_executor();
  node node_;
};

/// The deadline trigger of run_scoped: a deadline_timer with its deadline bound.
struct at_deadline {
  steady_clock::time_point deadline;
  deadline_timer operator()(cancel_scope& scope) const {
    if (current_executor() == nullptr) {
      throw usage_error(
          "cosync: with_timeout/with_deadline/move_on_after must be awaited on an executor thread");
    }
    return deadline_timer{scope, deadline};
  }
};

template <class A>
using timed_result_t = typename as_task_t<A>::value_type;

}  // namespace detail

/// Awaits `op` — a task or any other awaitable: a channel operation, a lock, a select — cancelling
/// it at `deadline`: its result, or cosync::timed_out if the deadline cancelled it first.
///
/// - Lazy: the deadline's timer is armed when the result is awaited, on the awaiting coroutine's
///   executor (cosync::usage_error off-executor), and disarmed when `op` ends.
/// - Resumes on the awaiting coroutine's home executor.
/// - No loss: an `op` that completes despite the cancellation (a value was handed over in the same
///   instant, or it ignored the cancellation) returns normally; a send cut short gives its value
///   back to the caller's variable, as a cancelled send does.
/// - Cancelled from above (a task group, an outer timeout), it throws cosync::cancelled.
///
///     auto reply = co_await cosync::with_deadline(start + 2s, fetch(url));
///     auto job   = co_await cosync::with_timeout(100ms, jobs.recv());
template <detail::awaitable A>
[[nodiscard]] task<detail::timed_result_t<A>> with_deadline(steady_clock::time_point deadline, A&& op) {
  return detail::run_scoped<detail::timed_result_t<A>, detail::on_trigger::raise>(
      detail::at_deadline{deadline}, detail::as_task(std::forward<A>(op)));
}

/// with_deadline(now + duration, op); any duration type (an int count of milliseconds, double
/// seconds...: saturates, never wraps).
template <class Rep, class Period, detail::awaitable A>
[[nodiscard]] task<detail::timed_result_t<A>> with_timeout(std::chrono::duration<Rep, Period> duration,
                                                           A&& op) {
  return with_deadline(detail::deadline_after(duration), std::forward<A>(op));
}

/// Like with_timeout, but a timeout ends quietly (Trio's move_on_after): an empty
/// std::optional (for a void operation: false) instead of an exception.
///
///     if (auto job = co_await cosync::move_on_after(100ms, jobs.recv())) { ... }
template <class Rep, class Period, detail::awaitable A>
[[nodiscard]] task<detail::moved_on_t<detail::timed_result_t<A>>> move_on_after(
    std::chrono::duration<Rep, Period> duration, A&& op) {
  return detail::run_scoped<detail::timed_result_t<A>, detail::on_trigger::move_on>(
      detail::at_deadline{detail::deadline_after(duration)}, detail::as_task(std::forward<A>(op)));
}

/// move_on_after, until a deadline.
template <detail::awaitable A>
[[nodiscard]] task<detail::moved_on_t<detail::timed_result_t<A>>> move_on_at(
    steady_clock::time_point deadline, A&& op) {
  return detail::run_scoped<detail::timed_result_t<A>, detail::on_trigger::move_on>(
      detail::at_deadline{deadline}, detail::as_task(std::forward<A>(op)));
}

}  // namespace cosync
