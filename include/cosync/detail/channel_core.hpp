#pragma once

// The engine under cosync::channel<T> (docs/design/channel.md has the full argument).
//
// - The fast path is lock-free: while nobody is parked and the channel is open, a send or a
//   receive claims a slot of a bounded MPMC array with one CAS (channel_buffer.hpp) — no lock, no
//   fence, no syscall.
// - Everything else runs under one lock, Go's hchan on coroutines: FIFO queues of parked senders
//   and receivers; a send hands its value straight to the oldest parked receiver, else buffers
//   it, else parks; a receive takes the oldest buffered value and moves the oldest parked
//   sender's value into the freed slot (a parked sender is never overtaken), else takes straight
//   from a parked sender (rendezvous), else parks. Close wakes everyone.
// The lock holder freezes the array's positions first (a flag in the very words the fast path
// CASes), and leaves the fast path switched off while anyone is parked or the channel is closed,
// so the two layers never race on a decision. Parked cases are completed by the waiting core's
// rules (cosync/wait.hpp): taken out of their queue under the lock, then claimed.

#include <cosync/config.hpp>
#include <cosync/detail/channel_buffer.hpp>
#include <cosync/detail/waiter_queue.hpp>
#include <cosync/error.hpp>
#include <cosync/try_status.hpp>
#include <cosync/wait.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace cosync::detail {

/// How a send ended (written by whoever completes it).
enum class send_outcome : unsigned char { pending, sent, closed };

/// A parked send: its queue node and the value it offers (pointed at when it parks).
template <class T>
struct send_node : queued_waiter {
  T* value;
  send_outcome outcome = send_outcome::pending;
};

/// A parked receive: its queue node and where a value handed to it goes.
template <class T>
struct recv_node : queued_waiter {
  std::optional<T> value;
};

template <class T>
class channel_core {
 public:
  static constexpr std::size_t max_capacity = std::size_t{1} << 30;

  explicit channel_core(std::size_t capacity) : capacity_{checked(capacity)}, buffer_{capacity} {}
  channel_core(const channel_core&) = delete;
  channel_core& operator=(const channel_core&) = delete;

  // No case may be parked (asserted), except at a runtime's teardown, which destroys suspended
  // coroutines in whatever state they are: cases still queued are let go, and their awaiters,
  // destroyed later, see that (`queued`) and leave the channel alone.
  ~channel_core() {
    if (tearing_down()) {
      while (senders_.pop_front() != nullptr || receivers_.pop_front() != nullptr) {
      }
      return;
    }
    COSYNC_ASSERT(senders_.empty() && receivers_.empty(),
                  "cosync::channel destroyed with coroutines parked in it");
  }

  // ------------------------------------------------ lock-free: any thread

  [[nodiscard]] bool try_push(T& value) noexcept {
    return buffer_.try_push(value) == channel_buffer<T>::fast::ok;
  }
  [[nodiscard]] bool try_pop(std::optional<T>& out) noexcept {
    return buffer_.try_pop(out) == channel_buffer<T>::fast::ok;
  }

  try_status try_send(T& value) {
    switch (buffer_.try_push(value)) {
      case channel_buffer<T>::fast::ok:
        return try_status::ok;
      case channel_buffer<T>::fast::full:
        return try_status::full;
      default:
        break;
    }
    return with_lock([&](wake_list& wake) { return give_locked(value, wake); });
  }

  try_status try_recv(std::optional<T>& value) {
    switch (buffer_.try_pop(value)) {
      case channel_buffer<T>::fast::ok:
        return try_status::ok;
      case channel_buffer<T>::fast::empty:
        return try_status::empty;
      default:
        break;
    }
    return with_lock([&](wake_list& wake) { return take_locked(value, wake); });
  }

  // Lock-free while nobody is parked; then one value per lock, so that the caller's code never
  // runs under it.
  std::size_t try_send_n(std::span<T> values) {
    std::size_t n = 0;
    for (; n < values.size(); ++n) {
      const auto fast = buffer_.try_push(values[n]);
      if (fast == channel_buffer<T>::fast::full) {
        return n;
      }
      if (fast == channel_buffer<T>::fast::slow) {
        break;
      }
    }
    for (; n < values.size(); ++n) {
      if (with_lock([&](wake_list& wake) { return give_locked(values[n], wake); }) != try_status::ok) {
        break;
      }
    }
    return n;
  }

  template <class Out>
  std::size_t try_recv_n(Out out, std::size_t max) {
    std::optional<T> value;
    std::size_t n = 0;
    for (; n < max; ++n, ++out) {
      const auto fast = buffer_.try_pop(value);
      if (fast == channel_buffer<T>::fast::empty) {
        return n;
      }
      if (fast == channel_buffer<T>::fast::slow) {
        break;
      }
      *out = std::move(*value);
    }
    for (; n < max; ++n, ++out) {
      if (with_lock([&](wake_list& wake) { return take_locked(value, wake); }) != try_status::ok) {
        break;
      }
      *out = std::move(*value);  // the caller's code, outside the lock
    }
    return n;
  }

  /// Idempotent; wakes every parked sender (closed) and receiver (nothing).
  void close() {
    with_lock([&](wake_list& wake) {
      if (closed_.load(std::memory_order_relaxed)) {
        return;
      }
      // release: pairs with is_closed()'s acquire, for callers that look before they leap.
      closed_.store(true, std::memory_order_release);
      while (queued_waiter* node = senders_.claim_front()) {
        static_cast<send_node<T>*>(node)->outcome = send_outcome::closed;
        wake.push(*node->who);
      }
      // Parked receivers exist only while the buffer is empty: they all get nothing.
      while (queued_waiter* node = receivers_.claim_front()) {
        wake.push(*node->who);
      }
    });
  }

  [[nodiscard]] bool is_closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t size_approx() const noexcept { return buffer_.size_approx(); }

  // ------------------------------------------------ the lock: a case's lock()/unlock()

  /// Takes the lock and freezes the buffer; unlock() switches the fast path back on unless
  /// someone is parked (or, for senders, the channel is closed) and releases it.
  void lock() {
    mutex_.lock();
    buffer_.freeze();
  }
  void unlock() noexcept {
    const bool parked = !senders_.empty() || !receivers_.empty();
    buffer_.thaw(parked, parked || closed_.load(std::memory_order_relaxed));
    mutex_.unlock();
  }

  // ------------------------------------------------ under the lock

  /// A send: to a parked receiver, else into the buffer; ok, full (nothing done) or closed.
  try_status give_locked(T& value, wake_list& wake) {
    if (closed_.load(std::memory_order_relaxed)) {
      return try_status::closed;
    }
    if (queued_waiter* node = receivers_.claim_front()) {  // only while the buffer is empty
      static_cast<recv_node<T>*>(node)->value.emplace(std::move(value));
      wake.push(*node->who);
      return try_status::ok;
    }
    if (senders_.has_live() || !buffer_.has_room_frozen()) {  // parked senders go first
      return try_status::full;
    }
    buffer_.push_frozen(std::move(value));
    return try_status::ok;
  }

  /// A receive: the oldest buffered value (refilled from the oldest parked sender), else straight
  /// from a parked sender (rendezvous); ok, empty, or closed (closed and drained).
  try_status take_locked(std::optional<T>& out, wake_list& wake) {
    if (buffer_.has_value_frozen()) {
      buffer_.pop_frozen(out);
      if (queued_waiter* node = senders_.claim_front()) {
        buffer_.push_frozen(std::move(complete_send(node, wake)));
      }
      return try_status::ok;
    }
    if (queued_waiter* node = senders_.claim_front()) {  // capacity 0
      out.emplace(std::move(complete_send(node, wake)));
      return try_status::ok;
    }
    return closed_.load(std::memory_order_relaxed) ? try_status::closed : try_status::empty;
  }

  void park_send(send_node<T>& node, T& value, waiter& w) noexcept {
    node.value = &value;
    senders_.push_back(node, w);
  }
  void park_recv(recv_node<T>& node, waiter& w) noexcept { receivers_.push_back(node, w); }

  // ------------------------------------------------ any thread

  /// Takes a parked case out of its queue: true if it was still there.
  bool withdraw_send(send_node<T>& node) { return withdraw(senders_, node); }
  bool withdraw_recv(recv_node<T>& node) { return withdraw(receivers_, node); }

 private:
  // Runs `op(wake)` under the lock, then wakes whoever it unblocked — after unlocking, also when
  // `op` throws (the wake list is destroyed after the guard). Returns what `op` returns.
  template <class Op>
  auto with_lock(Op op) {
    wake_list wake;
    const std::lock_guard lock{*this};
    return op(wake);
  }

  bool withdraw(waiter_queue& queue, queued_waiter& node) {
    // At teardown the channel may be gone: it let go of its cases, so `queued` tells.
    if (tearing_down() && !node.queued) {
      return false;
    }
    const std::lock_guard lock{*this};
    return queue.erase(node);
  }

  // Marks a claimed parked sender sent and schedules its wake; returns its value to move.
  static T& complete_send(queued_waiter* node, wake_list& wake) {
    auto* send = static_cast<send_node<T>*>(node);
    send->outcome = send_outcome::sent;
    wake.push(*node->who);
    return *send->value;
  }

  static std::size_t checked(std::size_t capacity) {
    if (capacity > max_capacity) {
      throw capacity_error("cosync::channel: capacity " + std::to_string(capacity) +
                           " exceeds max_capacity() " + std::to_string(max_capacity));
    }
    return capacity;
  }

  const std::size_t capacity_;
  channel_buffer<T> buffer_;
  std::atomic<bool> closed_{false};  // written under mutex_
  std::mutex mutex_;
  // ---- guarded by mutex_ ----
  waiter_queue senders_;    // parked, oldest first
  waiter_queue receivers_;  // parked, oldest first
};

}  // namespace cosync::detail
