#pragma once

// The lock-free buffer under cosync::channel<T>: a bounded multi-producer multi-consumer array
// whose head and tail words also carry a `slow` flag that sends the fast path to the channel's
// lock.
//
// Slots follow Dmitry Vyukov's bounded MPMC queue: each slot has a stamp saying which position
// may use it next, so a producer and a consumer claim a position with one CAS and hand the value
// over through the stamp. Positions use the lap encoding of crossbeam's array channel (an index
// below `capacity` plus a lap counter in the bits above `one_lap`), so any capacity works without
// a division.
//
// The `slow` bit lives in the same word as the position a fast operation CASes, so setting it
// (freeze) makes every later claim fail: from then on the positions move only under the
// channel's lock. Operations that claimed a slot before the freeze ("committed") still finish
// writing or reading it; the lock holder sees their claims in the frozen positions and waits for
// their stamp — a few instructions on another thread that takes no lock — before it uses the
// slot. That is what makes the channel's parking decisions exact without a fence on the fast
// path.

#include <cosync/config.hpp>
#include <cosync/detail/spin_wait.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

namespace cosync::detail {

template <class T>
class channel_buffer {
 public:
  enum class fast { ok, full, empty, slow };

  /// `capacity` == 0 makes a buffer that holds nothing and is permanently slow.
  explicit channel_buffer(std::size_t capacity)
      : capacity_{capacity},
        one_lap_{std::bit_ceil(capacity + 1)},
        slots_{capacity == 0 ? nullptr : std::make_unique<slot[]>(capacity)} {
    for (std::size_t i = 0; i < capacity; ++i) {
      slots_[i].stamp.store(i, std::memory_order_relaxed);
    }
    if (capacity == 0) {
      head_.value.store(slow, std::memory_order_relaxed);
      tail_.value.store(slow, std::memory_order_relaxed);
    }
  }
  channel_buffer(const channel_buffer&) = delete;
  channel_buffer& operator=(const channel_buffer&) = delete;

  ~channel_buffer() {
    word h = head_.value.load(std::memory_order_relaxed) & position_mask;
    const word t = tail_.value.load(std::memory_order_relaxed) & position_mask;
    for (; h != t; h = next(h)) {
      slot_at(h).value()->~T();
    }
  }

  // ------------------------------------------------ fast path: any thread, no lock

  /// Moves `value` into the buffer (ok), or says why not: full (and not slow), or slow (the
  /// channel's lock must decide: someone is parked, the channel is closed, or a lock holder is at
  /// work). `value` is moved from only on ok.
  fast try_push(T& value) noexcept {
    spin_wait spin;
    // relaxed: the position only names a slot; the CAS below validates it, and the slot's
    // contents travel through its stamp.
    word t = tail_.value.load(std::memory_order_relaxed);
    for (;;) {
      if ((t & slow) != 0) {
        return fast::slow;
      }
      slot& s = slot_at(t);
      // acquire: pairs with the consumer's release of this slot, so its read of the old value
      // happens before we overwrite it.
      const word stamp = s.stamp.load(std::memory_order_acquire);
      if (stamp == t) {
        // relaxed: claiming only needs the CAS's atomicity on this word; the slow bit is in the
        // same word, so a freeze ordered before this CAS makes it fail.
        if (tail_.value.compare_exchange_weak(t, next(t), std::memory_order_relaxed)) {
          ::new (static_cast<void*>(s.storage)) T(std::move(value));
          // release: publishes the value to the consumer that acquires this stamp.
          s.stamp.store(t + 1, std::memory_order_release);
          return fast::ok;
        }
        continue;  // lost the slot to another producer (or a freeze): t was reloaded
      }
      if (wrap(stamp + one_lap_) == t + 1) {  // the slot still holds the previous lap's value
        // relaxed: only decides whether to report full; a stale head says full a moment late.
        const word h = head_.value.load(std::memory_order_relaxed) & position_mask;
        if (wrap(h + one_lap_) == t) {
          return fast::full;
        }
      }
      spin.pause();  // a consumer is moving the old value out, or another producer took t
      t = tail_.value.load(std::memory_order_relaxed);
    }
  }

  /// Moves the oldest value into `out` (ok), or says why not: empty (and not slow), or slow.
  fast try_pop(std::optional<T>& out) noexcept {
    spin_wait spin;
    word h = head_.value.load(std::memory_order_relaxed);  // relaxed: as in try_push
    for (;;) {
      if ((h & slow) != 0) {
        return fast::slow;
      }
      slot& s = slot_at(h);
      // acquire: pairs with the producer's release, so the value is visible before we read it.
      const word stamp = s.stamp.load(std::memory_order_acquire);
      if (stamp == h + 1) {
        // relaxed: as in try_push.
        if (head_.value.compare_exchange_weak(h, next(h), std::memory_order_relaxed)) {
          T* value = s.value();
          out.emplace(std::move(*value));
          value->~T();
          // release: our read of the value happens before the next lap's producer writes.
          s.stamp.store(wrap(h + one_lap_), std::memory_order_release);
          return fast::ok;
        }
        continue;
      }
      if (stamp == h) {  // not written in this lap yet
        // relaxed: a stale tail says empty a moment late, or sends us to the lock.
        const word t = tail_.value.load(std::memory_order_relaxed);
        if ((t & position_mask) == h) {
          return (t & slow) != 0 ? fast::slow : fast::empty;
        }
      }
      spin.pause();  // a producer is writing the slot, or another consumer took h
      h = head_.value.load(std::memory_order_relaxed);
    }
  }

  [[nodiscard]] std::size_t size_approx() const noexcept {
    const word h = head_.value.load(std::memory_order_relaxed) & position_mask;
    const word t = tail_.value.load(std::memory_order_relaxed) & position_mask;
    return std::min(count(h, t), capacity_);
  }

  // ------------------------------------------------ frozen: the channel's lock holder only

  /// Stops the fast path: after this, the positions change only through the *_frozen calls.
  void freeze() noexcept {
    frozen_head_ = freeze_word(head_.value);
    frozen_tail_ = freeze_word(tail_.value);
  }

  /// Publishes the positions; each side stays slow if asked (someone parked, closed).
  void thaw(bool head_slow, bool tail_slow) noexcept {
    const bool keep = capacity_ == 0;
    thaw_word(head_.value, frozen_head_ | (head_slow || keep ? slow : 0));
    thaw_word(tail_.value, frozen_tail_ | (tail_slow || keep ? slow : 0));
  }

  [[nodiscard]] std::size_t size_frozen() const noexcept { return count(frozen_head_, frozen_tail_); }
  [[nodiscard]] bool has_room_frozen() const noexcept { return size_frozen() < capacity_; }
  [[nodiscard]] bool has_value_frozen() const noexcept { return frozen_head_ != frozen_tail_; }

  /// Requires has_room_frozen().
  void push_frozen(T&& value) noexcept {
    slot& s = slot_at(frozen_tail_);
    spin_wait spin;
    while (s.stamp.load(std::memory_order_acquire) != frozen_tail_) {  // acquire: as in try_push
      spin.pause();  // a consumer that claimed it before the freeze is still reading it
    }
    ::new (static_cast<void*>(s.storage)) T(std::move(value));
    s.stamp.store(frozen_tail_ + 1, std::memory_order_release);  // release: as in try_push
    frozen_tail_ = next(frozen_tail_);
  }

  /// Requires has_value_frozen().
  void pop_frozen(std::optional<T>& out) noexcept {
    slot& s = slot_at(frozen_head_);
    spin_wait spin;
    while (s.stamp.load(std::memory_order_acquire) != frozen_head_ + 1) {  // acquire: as in try_pop
      spin.pause();  // a producer that claimed it before the freeze is still writing it
    }
    T* value = s.value();
    out.emplace(std::move(*value));
    value->~T();
    s.stamp.store(wrap(frozen_head_ + one_lap_), std::memory_order_release);  // release: as in try_pop
    frozen_head_ = next(frozen_head_);
  }

 private:
  using word = std::uint64_t;
  static constexpr word slow = word{1} << 63;
  static constexpr word position_mask = slow - 1;

  struct slot {
    std::atomic<word> stamp;
    alignas(T) std::byte storage[sizeof(T)];

    T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  // Sets `slow` in `w` and returns its position. Only the lock holder clears `slow`, so a word
  // already slow needs no read-modify-write (the common case while parties are parked).
  static word freeze_word(std::atomic<word>& w) noexcept {
    // relaxed (load and RMW): only the RMW's place in the word's modification order matters — a
    // claim after it fails. Slot contents are read and written through stamps.
    word value = w.load(std::memory_order_relaxed);
    if ((value & slow) == 0) {
      value = w.fetch_or(slow, std::memory_order_relaxed);
    }
    return value & position_mask;
  }

  // Stores `value` unless the word already holds it (positions unmoved, still slow).
  static void thaw_word(std::atomic<word>& w, word value) noexcept {
    // relaxed: fast operations read nothing the lock holder wrote except slots, whose stamps
    // carry it. Nobody else writes a slow word, so the load sees the lock holder's last store.
    if (w.load(std::memory_order_relaxed) != value) {
      w.store(value, std::memory_order_relaxed);
    }
  }

  [[nodiscard]] static word wrap(word position) noexcept { return position & position_mask; }
  [[nodiscard]] word index(word position) const noexcept { return position & (one_lap_ - 1); }
  [[nodiscard]] slot& slot_at(word position) const noexcept { return slots_[index(position)]; }

  [[nodiscard]] word next(word position) const noexcept {
    return index(position) + 1 < capacity_ ? position + 1 : wrap((position & ~(one_lap_ - 1)) + one_lap_);
  }

  [[nodiscard]] std::size_t count(word h, word t) const noexcept {
    const word lap_mask = ~(one_lap_ - 1);
    if ((h & lap_mask) == (t & lap_mask)) {
      return index(t) - index(h);
    }
    return capacity_ - index(h) + index(t);
  }

  const std::size_t capacity_;
  const word one_lap_;  // a power of two above capacity_: index bits below it, lap bits above
  std::unique_ptr<slot[]> slots_;
  cache_padded<std::atomic<word>> head_{};  // next position to read | slow
  cache_padded<std::atomic<word>> tail_{};  // next position to write | slow
  // The positions while frozen: written and read only by the channel's lock holder.
  word frozen_head_ = 0;
  word frozen_tail_ = 0;
};

}  // namespace cosync::detail
