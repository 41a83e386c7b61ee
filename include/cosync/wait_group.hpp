#pragma once

/// cosync::wait_group: waits for a collection of work to finish (Go's sync.WaitGroup).
///
///     cosync::wait_group wg;
///     for (auto& job : jobs) {
///       wg.add(1);
///       rt.spawn(run(job, wg));      // each ends with wg.done()
///     }
///     co_await wg.wait();             // every job has called done()

#include <cosync/detail/parked_list.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <atomic>
#include <cstdint>
#include <string>

namespace cosync {

/// A counter of outstanding work; `wait()` completes once it is zero.
///
/// - add(), done(), count(): any thread, never wait. The call that brings the count to zero wakes
///   every parked wait (each on its own home executor).
/// - As in Go, add work before waiting for it (a wait that finds zero completes at once), and
///   never take the count below zero (cosync::usage_error, the count unchanged).
/// - Must outlive the coroutines parked in it (asserted in debug builds).
class wait_group {
 public:
  /// The case wait() awaits (a select case): completes once the count is zero.
  using wait_op = detail::ready_op<wait_group>;

  wait_group() = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  /// Adds `n` (negative: subtracts) to the count; at zero, wakes every wait.
  void add(std::int64_t n) {
    std::int64_t now = count_.load(std::memory_order_relaxed);
    do {
      if (now + n < 0) {
        throw usage_error("cosync::wait_group: count below zero (" + std::to_string(now) + " + " +
                          std::to_string(n) + ")");
      }
      // acq_rel: release publishes this party's work to the waiter that sees zero (through the
      // release sequence of every add); acquire, so that the waker sees it too.
    } while (
        !count_.compare_exchange_weak(now, now + n, std::memory_order_acq_rel, std::memory_order_relaxed));
    if (now + n == 0 && n != 0) {
      wake_waiters();
    }
  }

  /// add(-1): one piece of work has finished.
  void done() { add(-1); }

  /// The current count (a snapshot).
  [[nodiscard]] std::int64_t count() const noexcept {
    return count_.load(std::memory_order_relaxed);  // relaxed: an observation
  }

  /// Waits until the count is zero.
  ///
  /// - Lazy; completes at once if it is zero.
  /// - Resumes on the awaiting coroutine's home executor.
  /// - Cancellable: a cancelled wait throws cosync::cancelled (the count is untouched). A select
  ///   case.
  ///
  ///     co_await wg.wait();
  [[nodiscard]] waitable<wait_op> wait() noexcept { return waitable<wait_op>{*this}; }

 private:
  friend wait_op;

  [[nodiscard]] bool ready() const noexcept {
    return count_.load(std::memory_order_acquire) == 0;  // acquire: pairs with add()'s release
  }

  void wake_waiters() {
    wake_list wake;  // wakes once the lock is released
    const std::lock_guard lock{parked_};
    if (ready()) {  // not if work was added again meanwhile: those waits wait for the next zero
      parked_.claim_all(wake);
    }
  }

  std::atomic<std::int64_t> count_{0};
  detail::parked_list parked_;
};

}  // namespace cosync
