#pragma once

// The engine of cosync::broadcast (cosync/broadcast.hpp): the ring of the last `capacity`
// values, the parked subscribers and the hand-over to them, under one lock.

#include <cosync/broadcast_result.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/detail/waiter_queue.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace cosync {
namespace detail {

/// A parked recv: its queue node and what a completer hands to it.
template <class T>
struct broadcast_node : queued_waiter {
  broadcast_result<T> result;
  std::exception_ptr error;  // copying the value for it failed: the recv rethrows, consuming nothing
  bool delivered = false;    // a send completed it with the next value: the cursor moves on resume
};

// The shared state (see the file comment).
//
// Sequence numbers: the n-th value ever sent has number n and lives in slots_[n % capacity] until
// value n + capacity overwrites it; tail_ is the number of the next value to send, so the values
// kept are [max(tail_ - capacity, 0), tail_). A subscriber's cursor is the number of the next value
// it wants; it is behind (lagged) when tail_ - cursor > capacity. Parked subscribers all have
// cursor == tail_ (they park only then, and every send takes all of them out), so a send gives
// each the value it stored.
//
// Memory ordering: everything is under mutex_. tail_ and closed_ are atomics only so that a recv
// can see "nothing new" without the lock (a hint: the decision is always re-made under the lock).
//   (B1) send / close: store tail_ / closed_ under the lock, release; pairs with (B2).
//   (B2) a recv's lock-free check: load acquire. A recv ordered after a send by any other
//        synchronisation sees it, so try_recv never misses a value its caller knows was sent.
template <class T>
class broadcast_core {
 public:
  static constexpr std::size_t max_capacity = std::size_t{1} << 30;

  explicit broadcast_core(std::size_t capacity) : slots_(checked(capacity)) {}
  broadcast_core(const broadcast_core&) = delete;
  broadcast_core& operator=(const broadcast_core&) = delete;

  // The last owner (a broadcast or a subscriber) is going: nobody is parked — except at a
  // runtime's teardown, where parked cases are let go (`queued` tells their awaiters).
  ~broadcast_core() {
    if (tearing_down()) {
      while (parked_.pop_front() != nullptr) {
      }
      return;
    }
    COSYNC_ASSERT(parked_.empty(), "cosync::broadcast destroyed with subscribers parked in recv");
  }

  void lock() { mutex_.lock(); }
  void unlock() noexcept { mutex_.unlock(); }

  // Stores the value (overwriting the oldest) and completes every parked subscriber with a copy.
  // cosync::channel_closed once closed (`value` untouched). Returns the subscriber count.
  std::size_t send(T& value) {
    wake_list wake;  // outlives the lock: the subscribers wake after it is released
    const std::lock_guard lock{mutex_};
    if (closed_.load(std::memory_order_relaxed)) {  // relaxed: written under this lock
      throw channel_closed{};
    }
    const std::uint64_t seq = tail_.load(std::memory_order_relaxed);  // relaxed: written under this lock
    std::optional<T>& slot = slots_[seq % slots_.size()];
    slot.emplace(std::move(value));                     // noexcept (static_assert)
    tail_.store(seq + 1, std::memory_order_release);    // (B1) pairs with (B2)
    while (queued_waiter* q = parked_.claim_front()) {  // rule 1: out, claimed
      auto* node = static_cast<broadcast_node<T>*>(q);
      try {
        node->result = broadcast_result<T>::of(*slot);
        node->delivered = true;
      } catch (...) {
        node->error = std::current_exception();
      }
      wake.push(*node->who);
    }
    return subscribers_;
  }

  // Idempotent; completes every parked subscriber with "closed" (they have received everything).
  void close() {
    wake_list wake;
    const std::lock_guard lock{mutex_};
    if (closed_.load(std::memory_order_relaxed)) {  // relaxed: written under this lock
      return;
    }
    closed_.store(true, std::memory_order_release);  // (B1) pairs with (B2)
    while (queued_waiter* q = parked_.claim_front()) {
      static_cast<broadcast_node<T>*>(q)->result = broadcast_result<T>::end();
      wake.push(*q->who);
    }
  }

  // A new subscriber's cursor: the next value sent.
  std::uint64_t subscribe() {
    const std::lock_guard lock{mutex_};
    ++subscribers_;
    return tail_.load(std::memory_order_relaxed);  // relaxed: written under this lock
  }
  void unsubscribe() {
    const std::lock_guard lock{mutex_};
    --subscribers_;
  }

  // Under the lock, the subscriber's own coroutine: the next outcome for `cursor` into `out`
  // (moving the cursor on), or false when there is nothing new. A copy that throws propagates
  // with nothing consumed.
  bool take_locked(std::uint64_t& cursor, broadcast_result<T>& out) {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);  // relaxed: under the lock
    const std::uint64_t capacity = slots_.size();
    if (tail - cursor > capacity) {
      const std::uint64_t oldest = tail - capacity;
      out = broadcast_result<T>::lagged_by(oldest - cursor);
      cursor = oldest;
      return true;
    }
    if (cursor != tail) {
      out = broadcast_result<T>::of(*slots_[cursor % capacity]);
      ++cursor;
      return true;
    }
    if (closed_.load(std::memory_order_relaxed)) {  // relaxed: under the lock
      out = broadcast_result<T>::end();
      return true;
    }
    return false;
  }

  // Any thread, no lock: (B2) true if a recv at `cursor` certainly has nothing to do now.
  [[nodiscard]] bool nothing_new(std::uint64_t cursor) const noexcept {
    // acquire: (B2) pairs with (B1).
    return tail_.load(std::memory_order_acquire) == cursor && !closed_.load(std::memory_order_acquire);
  }

  void park(broadcast_node<T>& node, waiter& w) noexcept { parked_.push_back(node, w); }

  // Any thread: takes a parked recv back; true if it was still queued.
  bool withdraw(broadcast_node<T>& node) {
    if (tearing_down() && !node.queued) {  // the state may be gone: it let its cases go
      return false;
    }
    const std::lock_guard lock{mutex_};
    return parked_.erase(node);
  }

  [[nodiscard]] bool is_closed() const noexcept {
    return closed_.load(std::memory_order_acquire);  // acquire: (B2)
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }
  [[nodiscard]] std::size_t subscriber_count() {
    const std::lock_guard lock{mutex_};
    return subscribers_;
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0 || capacity > max_capacity) {
      throw capacity_error("cosync::broadcast: capacity " + std::to_string(capacity) +
                           " is 0 or exceeds max_capacity() " + std::to_string(max_capacity));
    }
    return capacity;
  }

  std::vector<std::optional<T>> slots_;  // the ring (its size is the capacity); under mutex_
  std::atomic<std::uint64_t> tail_{0};   // written under mutex_
  std::atomic<bool> closed_{false};      // written under mutex_
  std::mutex mutex_;
  // ---- guarded by mutex_ ----
  std::size_t subscribers_ = 0;
  waiter_queue parked_;  // subscribers waiting for the next value, oldest first
};

}  // namespace detail
}  // namespace cosync
