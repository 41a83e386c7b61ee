#pragma once

/// Deadlines on an operation: with_deadline, with_timeout (a timeout is an error:
/// cosync::timed_out) and move_on_after (a timeout is an outcome: an empty result). Each runs the
/// operation under a cancel scope that a timer cancels at the deadline (cancellation.hpp).

#include <cosync/cancellation.hpp>
#include <cosync/detail/deadline.hpp>
#include <cosync/detail/scheduler.hpp>
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

/// What a deadline that cancels the operation becomes.
enum class on_timeout { raise, move_on };

template <class T>
using moved_on_t = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

template <class T, on_timeout Timeout>
using run_until_t = std::conditional_t<Timeout == on_timeout::move_on, moved_on_t<T>, T>;

// Runs `t` under a scope cancelled at `deadline`.
template <class T, on_timeout Timeout>
task<run_until_t<T, Timeout>> run_until(steady_clock::time_point deadline, task<T> t) {
  constexpr bool quiet = Timeout == on_timeout::move_on;
  if (current_executor() == nullptr) {
    throw usage_error(
        "cosync: with_timeout/with_deadline/move_on_after must be awaited on an executor thread");
  }
  cancel_scope* const parent = co_await this_scope{};
  cancel_scope scope{parent};
  deadline_timer timer{scope, deadline};
  set_scope(t, &scope);
  try {
    if constexpr (std::is_void_v<T>) {
      co_await t;
      if constexpr (quiet) {
        co_return true;
      } else {
        co_return;
      }
    } else {
      co_return co_await t;
    }
  } catch (const cancelled&) {
    if (!timer.fired() || (parent != nullptr && parent->stop_requested())) {
      throw;  // cancelled from above (the deadline may have passed too): not ours to translate
    }
  }
  // Only reached when the deadline cancelled `t`.
  if constexpr (quiet) {
    co_return moved_on_t<T>{};
  } else {
    throw timed_out{};
  }
}

}  // namespace detail

/// Awaits `t`, cancelling it at `deadline`: its result, or cosync::timed_out if the deadline
/// cancelled it first. A `t` that completes despite the cancellation (it ignored it, or its
/// value was already handed over) returns normally: nothing it produced is dropped.
///
///     auto reply = co_await cosync::with_deadline(start + 2s, fetch(url));
template <class T>
[[nodiscard]] task<T> with_deadline(steady_clock::time_point deadline, task<T> t) {
  return detail::run_until<T, detail::on_timeout::raise>(deadline, std::move(t));
}

/// with_deadline(now + duration, t).
template <class T, class Rep, class Period>
[[nodiscard]] task<T> with_timeout(std::chrono::duration<Rep, Period> duration, task<T> t) {
  return detail::run_until<T, detail::on_timeout::raise>(detail::deadline_after(duration), std::move(t));
}

/// Like with_timeout, but a timeout ends quietly (Trio's move_on_after): std::optional<T>
/// without a value (for task<void>: false) instead of an exception.
template <class T, class Rep, class Period>
[[nodiscard]] task<detail::moved_on_t<T>> move_on_after(std::chrono::duration<Rep, Period> duration,
                                                        task<T> t) {
  return detail::run_until<T, detail::on_timeout::move_on>(detail::deadline_after(duration), std::move(t));
}

}  // namespace cosync
