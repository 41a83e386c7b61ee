#pragma once

// The engine of cosync::oneshot (cosync/oneshot.hpp): one state word, one value slot, one parking
// spot. Lock-free.

#include <cosync/config.hpp>
#include <cosync/detail/parking.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/try_status.hpp>

#include <atomic>
#include <cstdint>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace cosync::detail {

// The state of a oneshot: one word, one value slot, one parking spot.
//
// Roles: one sending side (send, close), one receiving side (take: recv / try_recv), close() and
// ready() from anywhere; the sides may be on different threads.
//
//   state_:  empty --S1--> writing --S2--> full --R2--> taken
//              \--C1--> closed
//
// Memory ordering
//   (S1) send: CAS empty → writing, relaxed. It only decides between send, a second send and
//        close (all RMWs on state_: its modification order is the decision); nothing is handed
//        over yet, and the slot is written by the winner alone.
//   (S2) send: store full, release — publishes the value in slot_; pairs with (R1).
//   (R1) take: load acquire — sees the value once it sees full.
//   (R2) take: store taken, relaxed — nobody reads data through it: a late send only learns
//        "already sent", and the destructor is ordered after everyone by the owner (the
//        shared_ptr's count, or the object's lifetime).
//   (C1) close: CAS empty → closed, relaxed — a verdict, no data.
//   Wakeups: after S2 or C1 the notifier calls parking_spot::notify_if (its fence N2), and a
//   parking receiver re-checks state_ after parking_spot::park (its fence P2): parking.hpp's
//   argument applies with "the condition" = state_ is full, closed or taken. That condition never
//   becomes false again (only the receiver leaves full, and taken is still "done"), so the
//   notifier wakes unconditionally.
template <class T>
class oneshot_core {
 public:
  enum : std::uint8_t { empty, writing, full, closed, taken };

  oneshot_core() noexcept = default;
  oneshot_core(const oneshot_core&) = delete;
  oneshot_core& operator=(const oneshot_core&) = delete;

  // At a runtime's teardown a parked receiver is let go (its case sees the orphaned waiter);
  // otherwise nobody may be parked.
  ~oneshot_core() {
    if (state_.load(std::memory_order_relaxed) == full) {  // relaxed: the owner is alone now
      slot_.value.~T();
    }
    if (tearing_down()) {
      receiver_.orphan();
      return;
    }
    COSYNC_ASSERT(!receiver_.occupied(), "cosync::oneshot destroyed while a coroutine is parked in its recv");
  }

  // S1–S2: ok; closed (value untouched); or full (already sent; value untouched).
  try_status send(T& value) {
    std::uint8_t expected = empty;
    // (S1) relaxed: see the preamble.
    if (!state_.compare_exchange_strong(expected, writing, std::memory_order_relaxed)) {
      return expected == closed ? try_status::closed : try_status::full;
    }
    ::new (static_cast<void*>(&slot_.value)) T(std::move(value));  // noexcept (static_assert)
    state_.store(full, std::memory_order_release);                 // (S2) pairs with (R1)
    receiver_.notify_if([] { return true; });
    return try_status::ok;
  }

  // C1: closes unless a value was sent; wakes a parked receiver (it gets nothing).
  void close() {
    std::uint8_t expected = empty;
    // (C1) relaxed: see the preamble.
    if (state_.compare_exchange_strong(expected, closed, std::memory_order_relaxed)) {
      receiver_.notify_if([] { return true; });
    }
  }

  // R1–R2, the receiving side only: ok (the value moved to `out`), closed (nothing will come:
  // closed, or already taken), or empty (not yet).
  try_status take(std::optional<T>& out) noexcept {
    switch (state_.load(std::memory_order_acquire)) {  // (R1) pairs with (S2)
      case full:
        out.emplace(std::move(slot_.value));
        slot_.value.~T();
        state_.store(taken, std::memory_order_relaxed);  // (R2) relaxed: see the preamble
        return try_status::ok;
      case closed:
      case taken:
        return try_status::closed;
      default:
        return try_status::empty;
    }
  }

  // Whether a take would complete now (the parking condition).
  [[nodiscard]] bool ready() const noexcept {
    const std::uint8_t s = state_.load(std::memory_order_acquire);  // acquire: as (R1)
    return s == full || s == closed || s == taken;
  }

  [[nodiscard]] bool is_closed() const noexcept {
    return state_.load(std::memory_order_acquire) == closed;  // acquire: as (R1); a verdict only
  }

  parking_spot& receiver() noexcept { return receiver_; }

 private:
  union slot {
    slot() noexcept {}
    ~slot() {}
    T value;  // alive while state_ is full
  };

  std::atomic<std::uint8_t> state_{empty};
  slot slot_;
  parking_spot receiver_;  // the receive waiting for the value
};

}  // namespace cosync::detail
