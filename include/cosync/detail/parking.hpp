#pragma once

// Parking a coroutine until a condition another thread makes true, without a lost wakeup.
// This file holds cosync's StoreLoad fence and the argument for it; the executor's sleep/wake
// protocol (src/wakeup.hpp) and the channels' parked senders and receivers both rest on it.
//
// The race: a waiter checks its condition (data in a ring, space in a ring), finds it false, and
// suspends. The other side makes the condition true just after the check and sees nobody to wake:
// the waiter sleeps forever (a lost wakeup). Release/acquire cannot prevent this, because each
// side *stores* one thing and then *loads* the other's — a StoreLoad pattern (Dekker's).
//
// The protocol:
//   waiter                                   notifier
//   P1 publish "I am parked" (store)         N1 make the condition true (store)
//   P2 store_load_fence()                    N2 store_load_fence()
//   P3 re-check the condition (load)         N3 if a waiter is parked (load): take it, wake it
//   P4 still false: stay suspended
//
// Why no wakeup is lost: the two seq_cst fences are totally ordered. If P2 comes first, the
// notifier's load N3 (after N2) sees the waiter parked and wakes it. If N2 comes first, the
// waiter's re-check P3 (after P2) sees the condition and does not stay suspended. When both see
// each other, exactly one of them takes the parked waiter: the waiter by un-parking itself, the
// notifier by taking it, each with a compare-exchange on the same word.
//
// NOTE: GCC 12 warns that ThreadSanitizer does not model atomic_thread_fence (-Wtsan). The fence
// only decides whether a wakeup is sent (liveness); every datum handed over is still ordered by
// its structure's own release/acquire pairs, which TSan does check.

#include <cosync/detail/scheduler.hpp>

#include <atomic>
#include <coroutine>

namespace cosync::detail {

/// P2 / N2 above: orders this thread's earlier stores before its later loads.
inline void store_load_fence() noexcept {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"                 // GCC: an option it does not know
#pragma GCC diagnostic ignored "-Wunknown-warning-option"  // Clang: likewise
#pragma GCC diagnostic ignored "-Wtsan"
  std::atomic_thread_fence(std::memory_order_seq_cst);
#pragma GCC diagnostic pop
}

/// Room for one parked coroutine (one side of an SPSC structure), with the protocol above.
///
/// The notifier wakes the waiter only if the condition still holds when it looks (notify_if):
/// otherwise the waiter already consumed what this notifier published — on its lock-free path,
/// before it parked again for *later* data — and waking it would resume an operation with nothing
/// to take. So a woken waiter always finds its condition true and never has to re-park; and since
/// only the waiter's side can make the condition false again (one consumer, one producer), it is
/// still true when the waiter runs.
class parking_spot {
 public:
  /// Waiter, P1–P2: parks `waiter`, to be resumed on `home`. `waiter` is the awaiter's own copy of
  /// the handle: orphan() clears it at teardown. The caller then re-checks (P3) and, if the
  /// condition already holds, calls unpark_self().
  void park(std::coroutine_handle<>& waiter, executor& home) noexcept {
    home_ = &home;
    owner_ = &waiter;
    parked_.store(waiter.address(), std::memory_order_release);  // publishes home_ too
    store_load_fence();
  }

  /// Waiter: takes itself back. True if it did (it must not suspend); false if a notifier took
  /// it first (it will be resumed, so it must suspend).
  [[nodiscard]] bool unpark_self(std::coroutine_handle<> waiter) noexcept {
    void* expected = waiter.address();
    return parked_.compare_exchange_strong(expected, nullptr, std::memory_order_relaxed);
  }

  /// Notifier, N2–N3, after making the condition true: wakes the parked waiter, if any and if
  /// `still_ready()` holds, on its own executor.
  template <class Ready>
  void notify_if(Ready still_ready) {
    store_load_fence();
    if (parked_.load(std::memory_order_relaxed) == nullptr || !still_ready()) {
      return;
    }
    if (void* waiter = parked_.exchange(nullptr, std::memory_order_acquire); waiter != nullptr) {
      post(*home_, std::coroutine_handle<>::from_address(waiter));
    }
  }

  /// Teardown only (single-threaded): forgets a parked waiter and clears its awaiter's handle, so
  /// that the awaiter, destroyed after this spot, does not come back to it.
  void orphan() noexcept {
    if (parked_.exchange(nullptr, std::memory_order_relaxed) != nullptr) {
      *owner_ = {};
    }
  }

  [[nodiscard]] bool occupied() const noexcept { return parked_.load(std::memory_order_relaxed) != nullptr; }

 private:
  std::atomic<void*> parked_{nullptr};
  executor* home_ = nullptr;                  // written before parked_ (release), read after taking it
  std::coroutine_handle<>* owner_ = nullptr;  // the parked awaiter's handle (for orphan())
};

}  // namespace cosync::detail
