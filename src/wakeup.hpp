#pragma once

// The sleep/wake protocol between an executor about to block in its backend and any thread that
// hands it work. This file holds cosync's only StoreLoad fence; the argument for it is here.
//
// The race: the executor checks its inbound rings and inbox, finds nothing, and blocks. A
// producer publishes an item just after the check and sees no reason to wake it: the item waits
// until some unrelated event (a lost wakeup). Release/acquire cannot prevent this, because each
// side *stores* one thing and then *loads* the other's (a StoreLoad pattern, Dekker's).
//
// The protocol:
//   sleeper (the executor's thread)          waker (any thread)
//   S1 sleeping_ = true                      W1 publish the item (ring tail_ / inbox head_)
//   S2 seq_cst fence                         W2 seq_cst fence
//   S3 re-check rings and inbox              W3 if sleeping_: wake (eventfd write)
//   S4 nothing found: block in the backend
//
// Why no wakeup is lost: the two seq_cst fences are totally ordered. If S2 comes first, the
// waker's load W3 (after W2) sees S1's `true` and wakes the sleeper. If W2 comes first, the
// sleeper's re-check S3 (after S2) sees W1's item and does not block. Either way the item is
// seen. A wake that finds the sleeper already awake only leaves the eventfd readable, which
// makes the next block return at once: a spurious wakeup, harmless.
//
// The waker clears sleeping_ with an exchange, so a burst of producers writes the eventfd once.
//
// NOTE: GCC 12 warns that ThreadSanitizer does not model atomic_thread_fence (-Wtsan). The fence
// only decides whether a wakeup is sent (liveness); every datum handed over is still ordered by
// the ring's or inbox's own release/acquire pairs, which TSan does check.

#include <atomic>

namespace cosync::detail {

class sleep_gate {
 public:
  /// Sleeper, S1–S2: announce the intent to block. The caller then re-checks its queues (S3).
  void announce_sleep() noexcept {
    sleeping_.store(true, std::memory_order_relaxed);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wtsan"
    std::atomic_thread_fence(std::memory_order_seq_cst);  // S2
#pragma GCC diagnostic pop
  }

  /// Sleeper: awake again (work found in S3, or the backend returned).
  void end_sleep() noexcept {
    sleeping_.store(false, std::memory_order_relaxed);
  }

  /// Waker, W2–W3, after publishing work: whether it must wake the sleeper.
  [[nodiscard]] bool must_wake() noexcept {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wtsan"
    std::atomic_thread_fence(std::memory_order_seq_cst);  // W2
#pragma GCC diagnostic pop
    return sleeping_.load(std::memory_order_relaxed) && sleeping_.exchange(false, std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> sleeping_{false};
};

}  // namespace cosync::detail
