#pragma once

// Running an operation under a cancel scope of its own — the machinery of with_timeout and its
// siblings (cosync/timeout.hpp), cosync::cancel_scope, shield and with_stop_token
// (cosync/cancel_scope.hpp). The operation becomes a task (any awaitable: a task, a channel
// operation, a lock, a select) whose scope is a child of the awaiter's, cancelled also by a
// *trigger* — a deadline timer, a stop token — that knows afterwards whether it fired.

#include <cosync/cancellation.hpp>
#include <cosync/detail/awaitable_traits.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>

#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace cosync::detail {

/// The awaitable as a task (a task is passed through). Awaited as an rvalue: a send whose wait is
/// cut short gives its value back to the caller's variable, which outlives the await.
template <class A>
task<await_result_t<A>> as_task(A awaitable) {
  co_return co_await std::move(awaitable);
}
template <class T>
task<T> as_task(task<T> t) noexcept {
  return t;
}

template <class A>
using as_task_t = decltype(as_task(std::declval<A>()));

/// What an operation cut short by its trigger becomes.
enum class on_trigger {
  raise,    // cosync::timed_out
  move_on,  // an empty result: std::nullopt (false for void)
  rethrow,  // cosync::cancelled, as any cancellation
};

template <class T>
using moved_on_t = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

template <class T, on_trigger Cut>
using scoped_result_t = std::conditional_t<Cut == on_trigger::move_on, moved_on_t<T>, T>;

/// A trigger that cancels when a std::stop_token is stopped (at once if it already is).
class stop_token_trigger {
 public:
  stop_token_trigger(cancel_scope& scope, std::stop_token token)
      : token_{std::move(token)}, link_{token_, forward{&scope}} {}
  [[nodiscard]] bool fired() const noexcept { return token_.stop_requested(); }

 private:
  struct forward {
    cancel_scope* scope;
    void operator()() const noexcept { scope->request_stop(); }
  };
  std::stop_token token_;
  std::stop_callback<forward> link_;
};

/// Runs `t` under a new scope: a child of the awaiter's (unless `shielded`: then of none), also
/// cancelled by the trigger `make_trigger(scope)` builds. A cancellation that reached `t` from
/// the trigger (and not from above) ends as `Cut` says. A `t` that completes despite the
/// cancellation returns its result: nothing it produced is dropped.
template <class T, on_trigger Cut, class MakeTrigger>
task<scoped_result_t<T, Cut>> run_scoped(MakeTrigger make_trigger, task<T> t, bool shielded = false) {
  cancel_scope* const parent = shielded ? nullptr : co_await this_scope{};
  cancel_scope scope{parent};
  auto trigger = make_trigger(scope);
  set_scope(t, &scope);
  try {
    if constexpr (std::is_void_v<T>) {
      co_await t;
      if constexpr (Cut == on_trigger::move_on) {
        co_return true;
      } else {
        co_return;
      }
    } else {
      co_return co_await t;
    }
  } catch (const cancelled&) {
    if (Cut == on_trigger::rethrow || !trigger.fired() || (parent != nullptr && parent->stop_requested())) {
      throw;  // cancelled from above (the trigger may have fired too): not ours to translate
    }
  }
  // Only reached when the trigger cancelled `t`.
  if constexpr (Cut == on_trigger::move_on) {
    co_return moved_on_t<T>{};
  } else {
    throw timed_out{};
  }
}

/// No trigger: only the scope's parent (or, shielded, nothing) cancels.
struct no_trigger {
  explicit no_trigger(cancel_scope& /*scope*/) noexcept {}
  [[nodiscard]] static bool fired() noexcept { return false; }
};

}  // namespace cosync::detail
