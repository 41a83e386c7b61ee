#pragma once

/// cosync::spsc_channel<T>: an awaitable bounded channel for exactly one sending coroutine and one
/// receiving coroutine at a time, built directly on spsc_ring. For pipelines whose stages are
/// single producer / single consumer; the MPMC cosync::channel<T> serves every other shape.
///
/// Roles: at most one coroutine (or thread, for the try_ forms) sends at a time and at most one
/// receives at a time, as for spsc_ring; close() and the observers may be called from anywhere.
///
/// Parking: a send that finds the ring full, or a receive that finds it empty, parks its
/// coroutine in the channel (one spot per side) and is resumed — on its own executor — by the
/// operation that unblocks it. Nothing polls, nothing sleeps. The fast path (space or data there,
/// nobody parked) takes no lock and makes no system call: one ring operation and the parking
/// protocol's check of the other side (<cosync/detail/parking.hpp>).

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/give_back.hpp>
#include <cosync/detail/parking.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/spsc_ring.hpp>
#include <cosync/try_status.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <optional>
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
  /// A channel buffering `capacity` values (rounded up to a power of two). 0 throws
  /// std::invalid_argument: an SPSC channel always buffers (use cosync::channel for rendezvous).
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

  // ---------------------------------------------------------------- sending side

  /// Sends without suspending: ok, full or closed. `value` is moved from only on ok.
  [[nodiscard]] try_status try_send(T&& value) { return try_send_impl(std::move(value)); }
  [[nodiscard]] try_status try_send(const T& value) { return try_send_impl(value); }

  /// Awaits room, then sends; made by send().
  ///
  /// - Owns its value (moved or copied in once, by send()), so it may be stored and awaited later.
  /// - Lazy; completes without suspending when there is room.
  /// - Resumes on the sending coroutine's own executor, woken by the receive that made room.
  /// - Throws cosync::channel_closed if the channel is closed or becomes closed while waiting.
  /// - Cancellation (cancellation.hpp): waiting in a cancelled scope throws cosync::cancelled; a
  ///   send already woken by a receive completes.
  /// - A value not sent goes back to the object it was moved from when the send is awaited in the
  ///   expression that made it (as channel<T>::send_awaiter); a stored send keeps it (unsent()).
  /// - Must be awaited on an executor thread (cosync::usage_error otherwise).
  ///
  ///     co_await ch.send(std::move(job));
  class [[nodiscard]] send_awaiter : public detail::owned_value<send_awaiter, T> {
    using owned = detail::owned_value<send_awaiter, T>;

   public:
    send_awaiter(spsc_channel& channel, T&& value, T* source) noexcept
        : owned{std::move(value), source}, channel_{channel} {}
    send_awaiter(spsc_channel& channel, const T& value) : owned{value}, channel_{channel} {}
    send_awaiter(const send_awaiter&) = delete;
    send_awaiter& operator=(const send_awaiter&) = delete;
    /// A send destroyed while parked (its coroutine destroyed at shutdown) leaves the spot; an
    /// unsent value goes back to its source if the send was awaited where it was made.
    ~send_awaiter() {
      cancel_hook_.disarm();
      if (waiter_) {
        (void)channel_.sender_.unpark_self(waiter_);
      }
      this->give_back_unless_sent(status_ == try_status::ok);
    }

    bool await_ready() { return attempt(); }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
      detail::executor* home = detail::current_executor();
      if (home == nullptr) {
        throw usage_error(
            "cosync::spsc_channel: send must be awaited on an executor thread (try_send elsewhere)");
      }
      detail::cancel_scope* scope = detail::scope_of(waiter);
      if (scope != nullptr && scope->stop_requested()) {
        cancelled_ = true;  // may not wait: the value is not sent
        return false;
      }
      waiter_ = waiter;
      home_ = home;
      channel_.sender_.park(waiter_, *home);
      // Room appeared, or the channel closed, between the attempt and the park: do not sleep.
      if (channel_.has_room() || channel_.is_closed()) {
        if (channel_.sender_.unpark_self(waiter)) {
          return false;
        }
      }
      cancel_hook_.arm(waiter, scope, this);
      return true;
    }

    void await_resume() {
      cancel_hook_.disarm();
      if (cancelled_) {
        throw cancelled{};
      }
      if (status_ == try_status::full) {
        // Woken by the receive that made room (or by close), or un-parked having seen either:
        // room stays (only this side fills it), so this attempt completes (parking.hpp).
        (void)attempt();
        COSYNC_ASSERT(status_ != try_status::full, "spsc_channel: a woken send found no room");
      }
      if (status_ == try_status::closed) {
        throw channel_closed{};
      }
    }

    /// The value, if it was not sent (a stored send that failed).
    [[nodiscard]] T* unsent() noexcept { return status_ == try_status::ok ? nullptr : &this->value_; }

   private:
    bool attempt() { return (status_ = channel_.try_send_impl(std::move(this->value_))) != try_status::full; }

    // The scope's cancellation (any thread): takes the send back from its spot if no receive has
    // woken it yet, and resumes it to throw cosync::cancelled (the value not sent).
    struct cancel_if_parked {
      send_awaiter* self;
      void operator()() const {
        if (self->channel_.sender_.unpark_self(self->waiter_)) {
          self->cancelled_ = true;
          detail::post(*self->home_, self->waiter_);
        }
      }
    };

    spsc_channel& channel_;
    try_status status_ = try_status::full;
    std::coroutine_handle<> waiter_;  // set once parked (cleared by the spot's orphan())
    detail::executor* home_ = nullptr;
    bool cancelled_ = false;
    detail::cancel_hook<cancel_if_parked> cancel_hook_;
  };

  send_awaiter send(T&& value) noexcept { return send_awaiter{*this, std::move(value), &value}; }
  send_awaiter send(const T& value) requires std::is_copy_constructible_v<T> {
    return send_awaiter{*this, value};
  }

  // ---------------------------------------------------------------- receiving side

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

  /// Awaits a value: std::optional<T> holding it, or std::nullopt once the channel is closed and
  /// every value sent before the close has been received.
  ///
  /// - Lazy; completes without suspending when a value is buffered or the channel is drained.
  /// - Resumes on the receiving coroutine's own executor, woken by the send that brought data.
  /// - Never throws for a closed channel: closing is how the sender says "no more". Once a
  ///   receive has returned std::nullopt, every later one does too.
  /// - Cancellation: waiting in a cancelled scope throws cosync::cancelled having taken nothing;
  ///   a receive already woken by a send takes its value.
  /// - Must be awaited on an executor thread (cosync::usage_error otherwise).
  ///
  ///     while (auto item = co_await ch.recv()) process(*item);
  class [[nodiscard]] recv_awaiter {
   public:
    explicit recv_awaiter(spsc_channel& channel) noexcept : channel_{channel} {}
    recv_awaiter(const recv_awaiter&) = delete;
    recv_awaiter& operator=(const recv_awaiter&) = delete;
    /// A receive destroyed while parked (its coroutine destroyed at shutdown) leaves the spot.
    ~recv_awaiter() {
      cancel_hook_.disarm();
      if (waiter_) {
        (void)channel_.receiver_.unpark_self(waiter_);
      }
    }

    bool await_ready() { return attempt(); }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
      detail::executor* home = detail::current_executor();
      if (home == nullptr) {
        throw usage_error(
            "cosync::spsc_channel: recv must be awaited on an executor thread (try_recv elsewhere)");
      }
      detail::cancel_scope* scope = detail::scope_of(waiter);
      if (scope != nullptr && scope->stop_requested()) {
        cancelled_ = true;  // may not wait: nothing taken
        return false;
      }
      waiter_ = waiter;
      home_ = home;
      channel_.receiver_.park(waiter_, *home);
      // Data arrived, or the channel closed, between the attempt and the park: do not sleep.
      if (!channel_.ring_.empty_approx() || channel_.is_closed()) {
        if (channel_.receiver_.unpark_self(waiter)) {
          return false;
        }
      }
      cancel_hook_.arm(waiter, scope, this);
      return true;
    }

    std::optional<T> await_resume() {
      cancel_hook_.disarm();
      if (cancelled_) {
        throw cancelled{};
      }
      if (!done_) {
        // Woken by the send that brought data (or by close), or un-parked having seen either:
        // the data stays (only this side takes it), so this attempt completes (parking.hpp).
        (void)attempt();
        COSYNC_ASSERT(done_, "spsc_channel: a woken receive found nothing");
      }
      return std::move(value_);
    }

   private:
    // True when done: a value was taken, or the channel is closed and drained.
    bool attempt() {
      done_ = channel_.take(value_) != try_status::empty;
      return done_;
    }

    // As in send_awaiter: a receive woken by a send is not cancelled (it takes its value).
    struct cancel_if_parked {
      recv_awaiter* self;
      void operator()() const {
        if (self->channel_.receiver_.unpark_self(self->waiter_)) {
          self->cancelled_ = true;
          detail::post(*self->home_, self->waiter_);
        }
      }
    };

    spsc_channel& channel_;
    std::optional<T> value_;
    bool done_ = false;
    std::coroutine_handle<> waiter_;  // set once parked (cleared by the spot's orphan())
    detail::executor* home_ = nullptr;
    bool cancelled_ = false;
    detail::cancel_hook<cancel_if_parked> cancel_hook_;
  };

  recv_awaiter recv() noexcept { return recv_awaiter{*this}; }

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

  [[nodiscard]] bool is_closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  [[nodiscard]] std::size_t capacity() const noexcept { return ring_.capacity(); }
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

  spsc_ring<T> ring_;
  detail::parking_spot sender_;    // a send waiting for room
  detail::parking_spot receiver_;  // a receive waiting for data
  std::atomic<bool> closed_{false};
  std::atomic<bool> drained_{false};  // a receiver saw "closed and drained"
};

}  // namespace cosync
