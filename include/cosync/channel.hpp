#pragma once

/// cosync::channel<T>: an awaitable bounded multi-producer multi-consumer channel with close,
/// backpressure, FIFO service of blocked parties, and a rendezvous mode (capacity 0).
///
/// The engine (a lock-free fast path, and Go's hchan under one lock for everything else) is in
/// detail/channel_core.hpp; its parked cases follow the waiting core (cosync/wait.hpp). Parked
/// coroutines are resumed on their home executors, through the mesh when the waking operation ran
/// elsewhere.

#include <cosync/detail/channel_core.hpp>
#include <cosync/detail/give_back.hpp>
#include <cosync/detail/send_all.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>
#include <cosync/try_status.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

namespace cosync {

/// An awaitable MPMC channel of `T` (see the file comment).
///
///     cosync::channel<int> ch{16};
///     co_await ch.send(1);                          // any number of senders
///     while (auto v = co_await ch.recv()) use(*v);  // any number of receivers
template <class T>
class channel {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "cosync::channel<T>: T's move constructor must be noexcept");
  using core = detail::channel_core<T>;

 public:
  /// The largest capacity accepted.
  static constexpr std::size_t max_capacity() noexcept { return core::max_capacity; }

  /// A channel buffering up to `capacity` values; 0 makes a rendezvous channel, where a send
  /// completes only when a receiver takes the value. Above max_capacity(): cosync::capacity_error.
  explicit channel(std::size_t capacity) : core_{capacity} {}
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  /// Values still buffered are destroyed. No coroutine may be parked in the channel (a contract
  /// violation, asserted in debug builds): close it and let every party finish first. (At a
  /// runtime's teardown, parties still parked are let go.)
  ~channel() = default;

  /// A send (cosync/wait.hpp's case interface): owns its value, moves it into the channel only if
  /// it completes; a select case. Awaited as send_awaiter.
  class send_op : public detail::owned_value<T> {
    friend channel;
    template <select_case>
    friend class waitable;
    send_op(core& ch, T&& value, T* source) noexcept
        : detail::owned_value<T>{std::move(value), source}, core_{&ch} {}
    send_op(core& ch, const T& value) : detail::owned_value<T>{value}, core_{&ch} {}

   public:
    /// Movable until awaited, so that a waitable or a select can hold it; the value moves along.
    send_op(send_op&& other) noexcept
        : detail::owned_value<T>{std::move(other)}, core_{other.core_}, node_{} {
      node_.outcome = other.node_.outcome;
    }
    send_op& operator=(send_op&&) = delete;
    ~send_op() { this->give_back_unless_sent(node_.outcome == detail::send_outcome::sent); }

    /// The value, if it was not sent (a stored send that failed or lost its select); moving it
    /// out is how a caller takes it back.
    [[nodiscard]] T* unsent() noexcept {
      return node_.outcome == detail::send_outcome::sent ? nullptr : &this->value_;
    }

   private:
    friend struct cosync::case_access;
    static constexpr const char* wait_name = "channel send";  // in a trace
    static constexpr bool withdraw_from_any_thread = true;

    bool try_complete() noexcept {
      if (core_->try_push(this->value_)) {
        node_.outcome = detail::send_outcome::sent;
        return true;
      }
      return false;
    }
    void* lock_key() const noexcept { return core_; }
    void lock() { core_->lock(); }
    void unlock() noexcept { core_->unlock(); }
    bool try_complete_locked(wake_list& wake) {
      switch (core_->give_locked(this->value_, wake)) {
        case try_status::ok:
          node_.outcome = detail::send_outcome::sent;
          return true;
        case try_status::closed:
          node_.outcome = detail::send_outcome::closed;
          return true;
        default:
          return false;
      }
    }
    void park(waiter& w) noexcept { core_->park_send(node_, this->value_, w); }
    bool withdraw() { return core_->withdraw_send(node_); }
    void result() const {
      if (node_.outcome == detail::send_outcome::closed) {
        throw channel_closed{};
      }
    }

    core* core_;
    detail::send_node<T> node_;
  };

  /// A receive (cosync/wait.hpp's case interface): consumes only if it completes; a select case
  /// whose result is std::optional<T> (empty once the channel is closed and drained). Awaited as
  /// recv_awaiter.
  class recv_op {
    friend channel;
    template <select_case>
    friend class waitable;
    explicit recv_op(core& ch) noexcept : core_{&ch} {}

   public:
    /// Movable until awaited, so that a waitable or a select can hold it.
    recv_op(recv_op&& other) noexcept : core_{other.core_} { node_.value = std::move(other.node_.value); }
    recv_op& operator=(recv_op&&) = delete;
    ~recv_op() = default;

   private:
    friend struct cosync::case_access;
    static constexpr const char* wait_name = "channel recv";  // in a trace
    static constexpr bool withdraw_from_any_thread = true;

    bool try_complete() noexcept { return core_->try_pop(node_.value); }
    void* lock_key() const noexcept { return core_; }
    void lock() { core_->lock(); }
    void unlock() noexcept { core_->unlock(); }
    bool try_complete_locked(wake_list& wake) {
      return core_->take_locked(node_.value, wake) != try_status::empty;
    }
    void park(waiter& w) noexcept { core_->park_recv(node_, w); }
    bool withdraw() { return core_->withdraw_recv(node_); }
    std::optional<T> result() { return std::move(node_.value); }

    core* core_;
    detail::recv_node<T> node_;
  };

  /// Awaits room (or a receiver, at capacity 0), then sends; made by send().
  ///
  /// - Owns the value it sends (moved or copied in once, by send()), so it may be stored and
  ///   awaited later, or held in a stored select, without pointing at a temporary.
  /// - Lazy; completes without suspending when a receiver is parked or there is room.
  /// - Resumes on the sending coroutine's home executor. Blocked senders are served in the order
  ///   they blocked.
  /// - Throws cosync::channel_closed if the channel is closed or is closed while waiting.
  /// - Cancellation (cancellation.hpp): a send that must wait in a cancelled scope, or is waiting
  ///   when its scope is cancelled, throws cosync::cancelled; one that already completed is not
  ///   undone. withdraw() does the same by hand.
  /// - A value that was not sent (closed, cancelled, a select case that lost) is never dropped:
  ///   awaited in the expression that made it (`co_await ch.send(std::move(v))`, or a select
  ///   awaited where it is made), the send gives it back to the object it was moved from when it
  ///   goes away; a stored send keeps it, for unsent().
  ///
  ///     co_await ch.send(std::move(job));
  using send_awaiter = waitable<send_op>;

  /// Awaits a value: std::optional<T> holding it, or std::nullopt once the channel is closed and
  /// drained; made by recv().
  ///
  /// - Lazy; completes without suspending when a value is buffered, a sender is parked, or the
  ///   channel is closed and drained.
  /// - Resumes on the receiving coroutine's home executor. Blocked receivers are served in the
  ///   order they blocked.
  /// - Cancellation: a receive that must wait in a cancelled scope, or is waiting when its scope
  ///   is cancelled, throws cosync::cancelled having consumed nothing — unless a value had already
  ///   been handed to it, which it returns: a value handed to a receiver is never lost.
  ///
  ///     while (auto item = co_await ch.recv()) process(*item);
  using recv_awaiter = waitable<recv_op>;

  // ---------------------------------------------------------------- sending

  ///@{
  /// Makes a send of `value`, moved in (and given back to `value` if not sent) or copied in;
  /// co_await it to send (see send_awaiter).
  send_awaiter send(T&& value) noexcept { return send_awaiter{core_, std::move(value), &value}; }
  send_awaiter send(const T& value) requires std::is_copy_constructible_v<T> {
    return send_awaiter{core_, value};
  }
  ///@}

  ///@{
  /// Sends without suspending: ok, full or closed. `value` is moved from only on ok.
  [[nodiscard]] try_status try_send(T&& value) { return core_.try_send(value); }
  [[nodiscard]] try_status try_send(const T& value) requires std::is_copy_constructible_v<T> {
    T copy{value};
    return core_.try_send(copy);
  }
  ///@}

  /// Sends without suspending as many of `values` as fit, in order; returns how many (each sent
  /// value was moved from; the rest are untouched). Stops at the first that does not fit, or at a
  /// close. Lock-free while nobody is parked; otherwise one lock acquisition per value.
  std::size_t try_send_n(std::span<T> values) { return core_.try_send_n(values); }

  /// Sends every element of `values`, in order, moving each out as it goes; suspends while the
  /// channel is full. Batches as many as fit per try_send_n.
  ///
  /// - Lazy (a task); resumes on the sending coroutine's home executor.
  /// - Throws cosync::channel_closed on a close; the element that failed and those after it are
  ///   not moved from: they stay with the caller.
  ///
  ///     co_await ch.send_n(std::span{batch});
  task<void> send_n(std::span<T> values) { return detail::send_all(*this, values); }

  // ---------------------------------------------------------------- receiving

  /// Makes a receive; co_await it for the next value, or std::nullopt once the channel is closed
  /// and drained (see recv_awaiter).
  recv_awaiter recv() noexcept { return recv_awaiter{core_}; }

  /// Receives without suspending: ok (into `out`), empty, or closed (closed and drained).
  [[nodiscard]] try_status try_recv(T& out) {
    std::optional<T> value;
    const try_status status = core_.try_recv(value);
    if (status == try_status::ok) {
      out = std::move(*value);
    }
    return status;
  }

  /// Receives without suspending: the value, or std::nullopt (is_closed() tells "closed and
  /// drained" from "empty").
  [[nodiscard]] std::optional<T> try_recv() {
    std::optional<T> value;
    (void)core_.try_recv(value);
    return value;
  }

  /// Moves up to `max` values, oldest first, to `out`; returns how many. Lock-free while nobody
  /// is parked; otherwise the lock is taken for each value (parked senders refilling the buffer as
  /// it empties), and released before the value is written to `out`. If writing to `out` throws,
  /// the exception propagates: the values written before stay written, the one being written had
  /// left the channel and is destroyed, and nobody is left waiting (a sender it made room for is
  /// woken).
  template <class Out>
  std::size_t try_recv_n(Out out, std::size_t max) {
    return core_.try_recv_n(std::move(out), max);
  }
  /// try_recv_n into the front of `out`.
  std::size_t try_recv_n(std::span<T> out) { return core_.try_recv_n(out.begin(), out.size()); }

  // ---------------------------------------------------------------- both / anyone

  /// Closes the channel: sends fail with channel_closed from now on, receives drain the buffer and
  /// then return std::nullopt. Every parked sender (throws, value kept) and receiver (nullopt) is
  /// woken. Idempotent; safe from any thread or coroutine.
  void close() { core_.close(); }

  /// True once close() has been called (values still buffered may be waiting to be received).
  [[nodiscard]] bool is_closed() const noexcept { return core_.is_closed(); }
  /// How many values the buffer holds at most (0: a rendezvous channel).
  [[nodiscard]] std::size_t capacity() const noexcept { return core_.capacity(); }
  /// How many values are buffered: a snapshot, stale as soon as another party acts.
  [[nodiscard]] std::size_t size_approx() const noexcept { return core_.size_approx(); }

 private:
  core core_;
};

}  // namespace cosync
