#pragma once

/// cosync::event: a flag coroutines wait for (asyncio.Event, Trio's Event, a manual-reset event).
///
///     cosync::event ready;
///     // a coroutine:                       // another (any thread):
///     co_await ready.wait();                ready.set();

#include <cosync/detail/parked_list.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <atomic>

namespace cosync {

/// A flag that is set or not; `wait()` completes once it is set. Manual reset: it stays set —
/// every wait completes at once — until reset().
///
/// - set(), reset(), is_set(): any thread, never wait. set() wakes every parked wait (each on its
///   own home executor); one that is not set completes nothing.
/// - Must outlive the coroutines parked in it (asserted in debug builds).
class event {
 public:
  /// The case wait() awaits (a select case): completes once the flag is set.
  using wait_op = detail::ready_op<event>;

  /// Not set, unless `initially_set`.
  explicit event(bool initially_set = false) noexcept : set_{initially_set} {}
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// Sets the flag and wakes every coroutine waiting for it. Idempotent.
  void set() {
    if (is_set()) {
      return;
    }
    wake_list wake;  // wakes once the lock is released
    const std::lock_guard lock{parked_};
    set_.store(true, std::memory_order_release);  // release: pairs with ready()'s acquire
    parked_.claim_all(wake);
  }

  /// Clears the flag: later waits park until the next set().
  void reset() noexcept {
    set_.store(false, std::memory_order_relaxed);  // relaxed: publishes nothing
  }

  /// Whether the flag is set now (any thread; acquire: it sees what the setter wrote before set()).
  [[nodiscard]] bool is_set() const noexcept { return ready(); }

  /// Waits until the flag is set.
  ///
  /// - Lazy; completes at once if it is set.
  /// - Resumes on the awaiting coroutine's home executor.
  /// - Cancellable: a cancelled wait throws cosync::cancelled. A select case
  ///   (`co_await cosync::select(e.wait(), ch.recv())`).
  ///
  ///     co_await started.wait();
  [[nodiscard]] waitable<wait_op> wait() noexcept { return waitable<wait_op>{*this}; }

 private:
  friend wait_op;

  [[nodiscard]] bool ready() const noexcept {
    return set_.load(std::memory_order_acquire);  // acquire: sees what the setter wrote before set()
  }

  std::atomic<bool> set_;  // written under parked_'s lock by set()
  detail::parked_list parked_;
};

}  // namespace cosync
