#pragma once

/// cosync::spsc_channel<T>: an awaitable bounded channel for exactly one sending coroutine and one
/// receiving coroutine at a time, built directly on spsc_ring. For pipelines whose stages are
/// single producer / single consumer; the MPMC cosync::channel<T> serves every other shape.
///
/// Roles: at most one coroutine (or thread, for the try_ forms) sends at a time and at most one
/// receives at a time, as for spsc_ring; close() and the observers may be called from anywhere.
///
/// Parking: a send that finds the ring full, or a receive that finds it empty, parks its
/// coroutine in the channel (one spot per side) and is resumed — on its home executor — by the
/// operation that unblocks it. Both operations are select cases (cosync/wait.hpp). Nothing polls, nothing
/// sleeps. The fast path (space or data there, nobody parked) takes no lock and makes no system call: one
/// ring operation and the parking protocol's check of the other side (<cosync/detail/parking.hpp>).

#include <cosync/config.hpp>
#include <cosync/detail/give_back.hpp>
#include <cosync/detail/parking.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/detail/send_all.hpp>
#include <cosync/error.hpp>
#include <cosync/spsc_ring.hpp>
#include <cosync/task.hpp>
#include <cosync/try_status.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

namespace cosync {

/// An awaitable SPSC channel of `T` (see the file comment for the rules).
///
///     cosync::spsc_channel<int> ch{64};
///     co_await ch.send(42);                      // producer coroutine
///     while (auto v = co_await ch.recv()) use(*v);  // consumer: nullopt once closed and drained
template <class T>
class spsc_channel {
 public:
  /// The largest capacity accepted (spsc_ring's).
  static constexpr std::size_t max_capacity() noexcept { return spsc_ring<T>::max_capacity(); }

  /// A channel buffering `capacity` values (rounded up to a power of two). 0 or above
  /// max_capacity() throws cosync::capacity_error: an SPSC channel always buffers (use
  /// cosync::channel for rendezvous).
  explicit spsc_channel(std::size_t capacity) : ring_{capacity} {}
  spsc_channel(const spsc_channel&) = delete;
  spsc_channel& operator=(const spsc_channel&) = delete;

  /// Values still buffered are destroyed. No coroutine may be parked in the channel (a contract
  /// violation, asserted in debug builds): close it and let both sides finish first.
  /// At a runtime's teardown (runtime::shutdown past its deadline) a parked party is let go
  /// instead: its awaiter, destroyed later, is told to leave the channel alone.
  ~spsc_channel() {
    if (detail::tearing_down()) {
      sender_.orphan();
      receiver_.orphan();
      return;
    }
    COSYNC_ASSERT(!sender_.occupied() && !receiver_.occupied(),
                  "spsc_channel destroyed while a coroutine is parked in it");
  }

  /// A send (cosync/wait.hpp's case interface): owns its value, moves it into the ring only if
  /// it completes; a select case. Awaited as send_awaiter.
  class send_op : public detail::owned_value<T> {
   public:
    /// A send of `value`, moved in from `*source` (where an unsent value may go back); made by
    /// send().
    send_op(spsc_channel& ch, T&& value, T* source) noexcept
        : detail::owned_value<T>{std::move(value), source}, channel_{&ch} {}
    /// A send of a copy of `value`; made by send().
    send_op(spsc_channel& ch, const T& value) : detail::owned_value<T>{value}, channel_{&ch} {}
    /// Movable until awaited, so that a waitable or a select can hold it; the value moves along.
    send_op(send_op&& other) noexcept
        : detail::owned_value<T>{std::move(other)}, channel_{other.channel_}, status_{other.status_} {}
    send_op& operator=(send_op&&) = delete;
    ~send_op() { this->give_back_unless_sent(status_ == try_status::ok); }

    /// The value, if it was not sent (a stored send that failed).
    [[nodiscard]] T* unsent() noexcept { return status_ == try_status::ok ? nullptr : &this->value_; }

   private:
    friend struct cosync::case_access;
    static constexpr const char* wait_name = "spsc_channel send";  // in a trace
    static constexpr bool withdraw_from_any_thread = true;         // the spot's CAS decides

    bool try_complete() {
      return (status_ = channel_->try_send_impl(std::move(this->value_))) != try_status::full;
    }
    bool park(waiter& w) {
      return channel_->park(channel_->sender_, w_ = &w,
                            [ch = channel_] { return ch->has_room() || ch->is_closed(); });
    }
    bool withdraw() noexcept { return channel_->withdraw(channel_->sender_, w_); }
    void result() {
      if (status_ == try_status::full) {
        // Woken by the receive that made room (or by close): room stays (only this side fills
        // it), so this attempt completes (parking.hpp).
        (void)try_complete();
        COSYNC_ASSERT(status_ != try_status::full, "spsc_channel: a woken send found no room");
      }
      if (status_ == try_status::closed) {
        throw channel_closed{};
      }
    }

    spsc_channel* channel_;
    try_status status_ = try_status::full;
    waiter* w_ = nullptr;  // set once parked
  };

  /// A receive (cosync/wait.hpp's case interface): takes a value only if it completes; a select
  /// case whose result is std::optional<T>. Awaited as recv_awaiter.
  class recv_op {
   public:
    /// A receive from `ch`; made by recv().
    explicit recv_op(spsc_channel& ch) noexcept : channel_{&ch} {}
    /// Movable until awaited, so that a waitable or a select can hold it.
    recv_op(recv_op&& other) noexcept
        : channel_{other.channel_}, value_{std::move(other.value_)}, done_{other.done_} {}
    recv_op& operator=(recv_op&&) = delete;
    ~recv_op() = default;

   private:
    friend struct cosync::case_access;
    static constexpr const char* wait_name = "spsc_channel recv";  // in a trace
    static constexpr bool withdraw_from_any_thread = true;

    // True when done: a value was taken, or the channel is closed and drained.
    bool try_complete() { return done_ = channel_->take(value_) != try_status::empty; }
    bool park(waiter& w) {
      return channel_->park(channel_->receiver_, w_ = &w,
                            [ch = channel_] { return !ch->ring_.empty_approx() || ch->is_closed(); });
    }
    bool withdraw() noexcept { return channel_->withdraw(channel_->receiver_, w_); }
    std::optional<T> result() {
      if (!done_) {
        // Woken by the send that brought data (or by close): the data stays (only this side
        // takes it), so this attempt completes (parking.hpp).
        (void)try_complete();
        COSYNC_ASSERT(done_, "spsc_channel: a woken receive found nothing");
      }
      return std::move(value_);
    }

    spsc_channel* channel_;
    std::optional<T> value_;
    bool done_ = false;
    waiter* w_ = nullptr;  // set once parked
  };

  /// Awaits room, then sends; made by send().
  ///
  /// - Owns its value (moved or copied in once, by send()), so it may be stored and awaited later.
  /// - Lazy; completes without suspending when there is room.
  /// - Resumes on the sending coroutine's home executor, woken by the receive that made room.
  /// - Throws cosync::channel_closed if the channel is closed or becomes closed while waiting.
  /// - Cancellation (cancellation.hpp): waiting in a cancelled scope throws cosync::cancelled; a
  ///   send already woken by a receive completes.
  /// - A value not sent goes back to the object it was moved from when the send is awaited in the
  ///   expression that made it (as channel<T>'s); a stored send keeps it (unsent()).
  /// - A select case; must be awaited (or selected) on an executor thread (cosync::usage_error
  ///   otherwise).
  ///
  ///     co_await ch.send(std::move(job));
  using send_awaiter = waitable<send_op>;

  /// Awaits a value: std::optional<T> holding it, or std::nullopt once the channel is closed and
  /// every value sent before the close has been received.
  ///
  /// - Lazy; completes without suspending when a value is buffered or the channel is drained.
  /// - Resumes on the receiving coroutine's home executor, woken by the send that brought data.
  /// - Never throws for a closed channel: closing is how the sender says "no more". Once a
  ///   receive has returned std::nullopt, every later one does too.
  /// - Cancellation: waiting in a cancelled scope throws cosync::cancelled having taken nothing;
  ///   a receive already woken by a send takes its value.
  /// - A select case; must be awaited (or selected) on an executor thread.
  ///
  ///     while (auto item = co_await ch.recv()) process(*item);
  using recv_awaiter = waitable<recv_op>;

  // ---------------------------------------------------------------- sending side

  ///@{
  /// Makes a send of `value`, moved in (and given back to `value` if not sent) or copied in;
  /// co_await it to send (see send_awaiter). The producer's side.
  send_awaiter send(T&& value) noexcept { return send_awaiter{*this, std::move(value), &value}; }
  send_awaiter send(const T& value) requires std::is_copy_constructible_v<T> {
    return send_awaiter{*this, value};
  }
  ///@}

  ///@{
  /// Sends without suspending: ok, full or closed. `value` is moved from only on ok.
  [[nodiscard]] try_status try_send(T&& value) { return try_send_impl(std::move(value)); }
  [[nodiscard]] try_status try_send(const T& value) { return try_send_impl(value); }
  ///@}

  /// Sends without suspending as many of `values` as fit, in order, moving each; returns how many.
  /// Stops at the first that does not fit, or at a close. Wakes a parked receiver once.
  std::size_t try_send_n(std::span<T> values) {
    std::size_t n = 0;
    if (!is_closed()) {
      while (n < values.size() && ring_.try_push(std::move(values[n]))) {
        ++n;
      }
    }
    if (n > 0) {
      receiver_.notify_if([this] { return !ring_.empty_approx(); });
    }
    return n;
  }

  /// Sends every element of `values`, in order, moving each out as it goes; suspends while the
  /// channel is full. Throws cosync::channel_closed on a close (the rest stay with the caller).
  task<void> send_n(std::span<T> values) { return detail::send_all(*this, values); }

  // ---------------------------------------------------------------- receiving side

  /// Makes a receive; co_await it for the next value, or std::nullopt once the channel is closed
  /// and drained (see recv_awaiter). The consumer's side.
  recv_awaiter recv() noexcept { return recv_awaiter{*this}; }

  /// Receives without suspending into `out`: ok, empty, or closed (closed and drained).
  [[nodiscard]] try_status try_recv(T& out) {
    std::optional<T> value;
    const try_status status = take(value);
    if (status == try_status::ok) {
      out = std::move(*value);
    }
    return status;
  }

  /// Receives without suspending: the value, or std::nullopt when there is none now (is_closed()
  /// then tells "closed and drained" from "empty").
  [[nodiscard]] std::optional<T> try_recv() {
    std::optional<T> value;
    (void)take(value);
    return value;
  }

  /// Moves up to `max` values, oldest first, to `out`; returns how many.
  template <class Out>
  std::size_t try_recv_n(Out out, std::size_t max) {
    std::optional<T> value;
    std::size_t n = 0;
    for (; n < max && take(value) == try_status::ok; ++n, ++out) {
      *out = std::move(*value);
    }
    return n;
  }
  /// try_recv_n into the front of `out`.
  std::size_t try_recv_n(std::span<T> out) { return try_recv_n(out.begin(), out.size()); }

  // ---------------------------------------------------------------- both / anyone

  /// Closes the channel: later sends throw (try_send says closed), receives drain what is
  /// buffered and then return std::nullopt. Wakes a parked sender and a parked receiver.
  /// Idempotent; safe from any thread or coroutine.
  ///
  /// Every value the sending side sent before it closes is delivered. A close() from elsewhere
  /// that races with a send may leave that one value undelivered in the channel (destroyed with
  /// it, never duplicated): "closed and drained" is final for receivers, so a value that lands
  /// after a receiver saw it is never received. To say "no more values", close from the sending
  /// side.
  void close() {
    closed_.store(true, std::memory_order_release);  // (C) pairs with the acquire in is_closed
    sender_.notify_if([] { return true; });
    receiver_.notify_if([] { return true; });
  }

  /// True once close() has been called (values still buffered may be waiting to be received). Any
  /// thread.
  [[nodiscard]] bool is_closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  /// How many values it buffers: the constructor's capacity rounded up to a power of two.
  [[nodiscard]] std::size_t capacity() const noexcept { return ring_.capacity(); }
  /// How many values are buffered (spsc_ring::size_approx: exact with the other side idle, else a
  /// snapshot).
  [[nodiscard]] std::size_t size_approx() const noexcept { return ring_.size_approx(); }

 private:
  // Takes the oldest value into `out` (ok), waking a sender parked for room; else empty, or
  // closed once the channel is closed and drained. `closed_` is read before the ring: a close
  // that was already visible then is ordered after every send the closing side made before it,
  // so an empty ring means drained — and stays so for receivers (drained_).
  try_status take(std::optional<T>& out) {
    if (drained_.load(std::memory_order_relaxed)) {  // relaxed: written and read by the receiving side
      return try_status::closed;
    }
    const bool was_closed = is_closed();
    out = ring_.try_pop();
    if (out) {
      sender_.notify_if([this] { return has_room(); });
      return try_status::ok;
    }
    if (was_closed) {
      drained_.store(true, std::memory_order_relaxed);
      return try_status::closed;
    }
    return try_status::empty;
  }

  template <class V>
  try_status try_send_impl(V&& value) {
    if (is_closed()) {
      return try_status::closed;
    }
    if (!ring_.try_push(std::forward<V>(value))) {
      return try_status::full;
    }
    receiver_.notify_if([this] { return !ring_.empty_approx(); });
    return try_status::ok;
  }

  [[nodiscard]] bool has_room() const noexcept { return ring_.size_approx() < ring_.capacity(); }

  // A case parks `w` in `spot`, then re-checks (parking.hpp, P3): if its condition already holds,
  // it withdraws and completes without waiting — unless its select was won meanwhile (claim).
  template <class Ready>
  static bool park(detail::parking_spot& spot, waiter* w, Ready ready) {
    if (detail::current_executor() == nullptr) {
      throw usage_error(
          "cosync::spsc_channel: send/recv must be awaited on an executor thread (try_ forms elsewhere)");
    }
    spot.park(*w);
    return !(ready() && spot.withdraw(*w) && w->claim());
  }

  // At teardown the channel may be gone: it orphaned its waiters first.
  static bool withdraw(detail::parking_spot& spot, waiter* w) noexcept {
    if (w == nullptr || (detail::tearing_down() && detail::waiter_access::orphaned(*w))) {
      return false;
    }
    return spot.withdraw(*w);
  }

  spsc_ring<T> ring_;
  detail::parking_spot sender_;    // a send waiting for room
  detail::parking_spot receiver_;  // a receive waiting for data
  std::atomic<bool> closed_{false};
  std::atomic<bool> drained_{false};  // a receiver saw "closed and drained"
};

}  // namespace cosync
