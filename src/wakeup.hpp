#pragma once

// The sleep/wake protocol between an executor about to block in its backend and any thread that
// hands it work: the parking protocol of <cosync/detail/parking.hpp> (where the StoreLoad fence
// and its argument live), with "the executor is asleep" as the parked state:
//
//   sleeper (the executor's thread)          waker (any thread)
//   P1 sleeping_ = true                      N1 publish the item (ring tail_ / inbox head_)
//   P2 store_load_fence()                    N2 store_load_fence()
//   P3 re-check rings and inbox              N3 if sleeping_: wake (eventfd write)
//   P4 nothing found: block in the backend
//
// A wake that finds the sleeper already awake only leaves the eventfd readable, which makes the
// next block return at once: a spurious wakeup, harmless. The waker clears sleeping_ with an
// exchange, so a burst of producers writes the eventfd once.

#include <cosync/detail/parking.hpp>

#include <atomic>

namespace cosync::detail {

class sleep_gate {
 public:
  /// Sleeper, P1–P2: announce the intent to block. The caller then re-checks its queues (P3).
  void announce_sleep() noexcept {
    sleeping_.store(true, std::memory_order_relaxed);
    store_load_fence();
  }

  /// Sleeper: awake again (work found in P3, or the backend returned).
  /// True if a waker cleared the flag first: a wakeup was sent (stats count them).
  [[nodiscard]] bool end_sleep() noexcept { return !sleeping_.exchange(false, std::memory_order_relaxed); }

  /// Waker, N2–N3, after publishing work: whether it must wake the sleeper.
  [[nodiscard]] bool must_wake() noexcept {
    store_load_fence();
    return sleeping_.load(std::memory_order_relaxed) && sleeping_.exchange(false, std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> sleeping_{false};
};

}  // namespace cosync::detail
