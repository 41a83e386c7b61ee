#pragma once

// Helpers for tests that await: whether an operation throws, and whether a wait is cancelled by
// its task group. (NOTE: GCC 12 evaluates a co_await that is an operand of an operator — as inside
// CHECK(...) — more than once: tests await one of these into a variable, then check it.)

#include <cosync/error.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timer.hpp>

#include <chrono>
#include <utility>

namespace cosync::test {

/// Whether awaiting `a` throws E.
template <class E, class A>
task<bool> throws(A a) {
  try {
    co_await std::move(a);
  } catch (const E&) {
    co_return true;
  }
  co_return false;
}

/// Awaits `a` as a child of a task group, cancels the group once the child has had `park_time` to
/// park, and returns whether the wait threw cosync::cancelled.
template <class A>
task<bool> cancelled_while_waiting(A a, std::chrono::milliseconds park_time = std::chrono::milliseconds{2}) {
  bool was_cancelled = false;
  auto child = [](A& awaitable, bool& seen) -> task<void> {
    try {
      (void)co_await std::move(awaitable);
    } catch (const cancelled&) {
      seen = true;
    }
  };
  co_await with_task_group([&](task_group& g) -> task<void> {
    g.spawn(child(a, was_cancelled));
    co_await sleep_for(park_time);
    g.cancel();
  });
  co_return was_cancelled;
}

}  // namespace cosync::test
