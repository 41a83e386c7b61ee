#pragma once

// Parking a coroutine until a condition another thread makes true, without a lost wakeup.
// This file holds cosync's StoreLoad fence and the argument for it; the executor's sleep/wake
// protocol (src/wakeup.hpp) and spsc_channel's parked senders and receivers both rest on it.
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

#include <cosync/detail/continuation.hpp>
#include <cosync/detail/spin_wait.hpp>
#include <cosync/wait.hpp>

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

/// Room for one parked waiter (one side of an SPSC structure), with the protocol above. The spot's
/// word holds the waiter: taking it out with a CAS decides between the notifier and the waiter
/// withdrawing itself (after a cancellation, or when its select was won elsewhere); a waiter in a
/// select must also win its race (cosync::waiter::claim).
///
/// The notifier wakes the waiter only if the condition still holds when it looks (notify_if):
/// otherwise the waiter already consumed what this notifier published — on its lock-free path,
/// before it parked again for *later* data — and waking it would resume an operation with nothing
/// to take. So a woken waiter always finds its condition true and never has to re-park; and since
/// only the waiter's side can make the condition false again (one consumer, one producer), it is
/// still true when the waiter runs.
class parking_spot {
 public:
  /// Waiter, P1–P2: parks `w`. The caller then re-checks (P3) and, if the condition already
  /// holds, withdraws.
  void park(waiter& w) noexcept {
    word_.store(&w, std::memory_order_release);  // release: the notifier reads w after taking it
    store_load_fence();
  }

  /// Waiter (or its cancellation, any thread): takes `w` back. True if it did; false if a notifier
  /// took it first — then this waits until that notifier is done with `w` (a few instructions), so
  /// that `w` may be destroyed as soon as this returns.
  [[nodiscard]] bool withdraw(waiter& w) noexcept {
    void* expected = &w;
    // relaxed: on success nothing is handed over; on failure the acquire loads below order.
    if (word_.compare_exchange_strong(expected, nullptr, std::memory_order_relaxed)) {
      return true;
    }
    spin_wait spin;
    while (word_.load(std::memory_order_acquire) == busy()) {  // acquire: pairs with notify_if's release
      spin.pause();
    }
    return false;
  }

  /// Notifier, N2–N3, after making the condition true: completes the parked waiter, if any and if
  /// `still_ready()` holds, by waking it on its home executor.
  template <class Ready>
  void notify_if(Ready still_ready) {
    store_load_fence();
    void* parked = word_.load(std::memory_order_relaxed);
    if (parked == nullptr || parked == busy() || !still_ready()) {
      return;
    }
    // acquire: pairs with park()'s release, so w's fields are visible.
    if (!word_.compare_exchange_strong(parked, busy(), std::memory_order_acquire)) {
      return;  // withdrawn (or taken by another notifier: close) meanwhile
    }
    waiter& w = *static_cast<waiter*>(parked);
    const bool won = w.claim();
    const continuation next = waiter_access::continuation_of(w);
    word_.store(nullptr, std::memory_order_release);  // release: we are done reading w
    if (won) {
      next.resume();
    }
  }

  /// Teardown only (single-threaded): forgets a parked waiter and marks it orphaned, so that its
  /// case, destroyed after this spot, does not come back to it.
  void orphan() noexcept {
    if (void* parked = word_.exchange(nullptr, std::memory_order_relaxed); parked != nullptr) {
      waiter_access::orphan(*static_cast<waiter*>(parked));
    }
  }

  [[nodiscard]] bool occupied() const noexcept { return word_.load(std::memory_order_relaxed) != nullptr; }

 private:
  // The word's value while a notifier holds the waiter it took (never a waiter's address).
  void* busy() const noexcept { return const_cast<parking_spot*>(this); }

  std::atomic<void*> word_{nullptr};  // null, a parked waiter, or busy()
};

}  // namespace cosync::detail
