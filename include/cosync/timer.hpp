#pragma once

/// Timers: suspend the current coroutine until a duration has passed or a deadline is reached.

#include <cosync/cancellation.hpp>
#include <cosync/detail/deadline.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <optional>
#include <type_traits>

namespace cosync {

/// The clock every cosync timer uses (std::chrono::steady_clock).
using steady_clock = std::chrono::steady_clock;

/// Waits until a deadline on the executor that awaits it.
///
/// - Eager about the deadline (it is fixed when the awaiter is made), lazy about waiting: the
///   timer is armed when awaited. A deadline already in the past completes at once.
/// - Resumes on the awaiting coroutine's own executor, about a millisecond after the deadline at
///   worst under load.
/// - Cancellation: in a cancelled scope (cancellation.hpp) a sleep that has not ended throws
///   cosync::cancelled at once; the timer and the cancellation race for the right to resume it,
///   one CAS, so it is resumed exactly once. Destroying a suspended sleep disarms its timer.
/// - Must be awaited on an executor thread (cosync::usage_error otherwise).
///
///     co_await cosync::sleep_for(std::chrono::milliseconds{5});
class [[nodiscard]] sleep_awaiter {
 public:
  explicit sleep_awaiter(steady_clock::time_point deadline) noexcept { node_.deadline = deadline; }
  sleep_awaiter(const sleep_awaiter&) = delete;
  sleep_awaiter& operator=(const sleep_awaiter&) = delete;
  ~sleep_awaiter() {
    cancel_hook_.disarm();
    if (node_.armed()) {
      detail::cancel_timer(node_);
    }
  }

  bool await_ready() const noexcept { return node_.deadline <= steady_clock::now(); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> waiter) {
    detail::executor* here = detail::current_executor();
    if (here == nullptr) {
      throw usage_error("cosync: sleep_for/sleep_until must be awaited on an executor thread");
    }
    detail::cancel_scope* scope = detail::scope_of(waiter);
    if (scope != nullptr && scope->stop_requested()) {
      cancelled_ = true;
      return false;
    }
    node_.waiter = waiter;
    node_.self = this;
    if (scope != nullptr) {
      node_.on_fire = &fire;  // must win the race against a cancellation first
    }
    detail::arm_timer(*here, node_);
    cancel_hook_.arm(waiter, scope, this);
    return true;
  }

  void await_resume() {
    cancel_hook_.disarm();
    if (cancelled_) {
      if (node_.armed()) {
        detail::cancel_timer(node_);  // we are on the owner's thread again
      }
      throw cancelled{};
    }
  }

 private:
  struct node : detail::timer_node {
    sleep_awaiter* self = nullptr;
  };

  // Whoever takes the sleep first resumes it: the timer or the cancellation.
  bool take() noexcept { return !taken_.exchange(true, std::memory_order_acq_rel); }  // acq_rel: one winner

  static void fire(detail::timer_node& base) {
    node& n = static_cast<node&>(base);
    if (n.self->take()) {
      detail::post(*n.owner, n.waiter);  // on the owner's thread: straight to its ready queue
    }
  }

  struct resume_cancelled {
    sleep_awaiter* self;
    void operator()() const {
      if (self->take()) {
        self->cancelled_ = true;  // published to the resumed coroutine by post()
        detail::post(*self->node_.owner, self->node_.waiter);
      }
    }
  };

  node node_;
  std::atomic<bool> taken_{false};
  bool cancelled_ = false;
  detail::cancel_hook<resume_cancelled> cancel_hook_;
};

/// Suspends until `deadline`; at once if it has passed.
[[nodiscard]] inline sleep_awaiter sleep_until(steady_clock::time_point deadline) noexcept {
  return sleep_awaiter{deadline};
}

/// Suspends for `duration` (zero or negative: completes at once; huge values saturate).
template <class Rep, class Period>
[[nodiscard]] sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> duration) noexcept {
  return sleep_awaiter{detail::deadline_after(duration)};
}

namespace detail {

/// A deadline that cancels a scope: a timer on the calling executor whose firing requests stop.
/// Disarmed when destroyed (on the same executor: the coroutine owning it resumes there).
class deadline_timer {
 public:
  deadline_timer(cancel_scope& scope, steady_clock::time_point deadline) {
    node_.deadline = deadline;
    node_.scope = &scope;
    node_.on_fire = &fire;
    arm_timer(*current_executor(), node_);
  }
  deadline_timer(const deadline_timer&) = delete;
  deadline_timer& operator=(const deadline_timer&) = delete;
  ~deadline_timer() {
    if (node_.armed()) {
      cancel_timer(node_);
    }
  }

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

  node node_;
};

template <class T>
using moved_on_t = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

// Runs `t` under a scope cancelled at `deadline`; `quiet` says what a timeout becomes: a
// moved_on_t without a value, or cosync::timed_out.
template <class T, bool Quiet>
task<std::conditional_t<Quiet, moved_on_t<T>, T>> run_until(steady_clock::time_point deadline, task<T> t) {
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
      if constexpr (Quiet) {
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
  if constexpr (Quiet) {
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
  return detail::run_until<T, false>(deadline, std::move(t));
}

/// with_deadline(now + duration, t).
template <class T, class Rep, class Period>
[[nodiscard]] task<T> with_timeout(std::chrono::duration<Rep, Period> duration, task<T> t) {
  return detail::run_until<T, false>(detail::deadline_after(duration), std::move(t));
}

/// Like with_timeout, but a timeout ends quietly (Trio's move_on_after): std::optional<T>
/// without a value (for task<void>: false) instead of an exception.
template <class T, class Rep, class Period>
[[nodiscard]] task<detail::moved_on_t<T>> move_on_after(std::chrono::duration<Rep, Period> duration,
                                                        task<T> t) {
  return detail::run_until<T, true>(detail::deadline_after(duration), std::move(t));
}

}  // namespace cosync
