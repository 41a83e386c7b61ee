#pragma once

/// cosync::channel<T>: an awaitable bounded multi-producer multi-consumer channel with close,
/// backpressure, FIFO service of blocked parties, and a rendezvous mode (capacity 0).
///
/// Two layers (docs/design/channel.md has the full argument):
/// - The fast path is lock-free: while nobody is parked and the channel is open, a send or a
///   receive claims a slot of a bounded MPMC array with one CAS (detail/channel_buffer.hpp) — no
///   lock, no fence, no syscall.
/// - Everything else runs under one lock, Go's hchan on coroutines: FIFO queues of parked senders
///   and receivers; a send hands its value straight to the oldest parked receiver, else buffers
///   it, else parks; a receive takes the oldest buffered value and moves the oldest parked
///   sender's value into the freed slot (a parked sender is never overtaken), else takes straight
///   from a parked sender (rendezvous), else parks. Close wakes everyone.
/// The lock holder freezes the array's positions first (a flag in the very words the fast path
/// CASes), and leaves the fast path switched off while anyone is parked or the channel is
/// closed, so the two layers never race on a decision. Parked coroutines are resumed on their own
/// executors, through the mesh when the waking operation ran elsewhere.

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/channel_buffer.hpp>
#include <cosync/detail/give_back.hpp>
#include <cosync/detail/parked_queue.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>
#include <cosync/try_status.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <iterator>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
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

 public:
  /// The largest capacity accepted.
  static constexpr std::size_t max_capacity = std::size_t{1} << 30;

  /// A channel buffering up to `capacity` values; 0 makes a rendezvous channel, where a send
  /// completes only when a receiver takes the value. Above max_capacity: std::length_error.
  explicit channel(std::size_t capacity) : capacity_{checked(capacity)}, buffer_{capacity} {}
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  /// Values still buffered are destroyed. No coroutine may be parked in the channel (a contract
  /// violation, asserted in debug builds): close it and let every party finish first. The one
  /// exception is a runtime's teardown (runtime::shutdown past its deadline), which destroys
  /// suspended coroutines in whatever state they are: parties still queued are let go, and their
  /// awaiters, destroyed later, see that and leave the channel alone.
  ~channel() {
    if (detail::tearing_down()) {
      while (senders_.pop_front() != nullptr || receivers_.pop_front() != nullptr) {
      }
      return;
    }
    COSYNC_ASSERT(senders_.empty() && receivers_.empty(),
                  "cosync::channel destroyed with coroutines parked in it");
  }

  // ---------------------------------------------------------------- sending

  /// Sends without suspending: ok, full or closed. `value` is moved from only on ok.
  [[nodiscard]] try_status try_send(T&& value) { return try_send_impl(value); }
  [[nodiscard]] try_status try_send(const T& value) requires std::is_copy_constructible_v<T> {
    T copy{value};
    return try_send_impl(copy);
  }

  /// Awaits room (or a receiver, at capacity 0), then sends; made by send().
  ///
  /// - Owns the value it sends (moved or copied in once, by send()), so it may be stored and
  ///   awaited later, or held in a stored select, without pointing at a temporary.
  /// - Lazy; completes without suspending when a receiver is parked or there is room.
  /// - Resumes on the sending coroutine's own executor. Blocked senders are served in the order
  ///   they blocked.
  /// - Throws cosync::channel_closed if the channel is closed or is closed while waiting.
  /// - Cancellation (a task group's or timeout's scope, cancellation.hpp): a send that must wait
  ///   in a cancelled scope, or is waiting when its scope is cancelled, throws cosync::cancelled;
  ///   one that already completed is not undone. cancel() is the same hook, by hand: true if it
  ///   withdrew the parked send, false if it had already completed.
  /// - A value that was not sent (closed, cancelled, a select case that lost) is never dropped:
  ///   awaited in the expression that made it (`co_await ch.send(std::move(v))`, or a select
  ///   awaited where it is made), the send gives it back to the object it was moved from when the
  ///   awaiter goes away; a stored awaiter keeps it, for unsent().
  ///
  ///     co_await ch.send(std::move(job));
  class [[nodiscard]] send_awaiter : private detail::parked_party,
                                     public detail::owned_value<send_awaiter, T> {
    using owned = detail::owned_value<send_awaiter, T>;

   public:
    send_awaiter(channel& ch, T&& value, T* source) noexcept
        : owned{std::move(value), source}, channel_{&ch} {}
    send_awaiter(channel& ch, const T& value) : owned{value}, channel_{&ch} {}
    /// Movable until first awaited (so that select() can hold it), never while parked.
    send_awaiter(send_awaiter&& other) noexcept
        : owned{std::move(other)}, channel_{other.channel_}, outcome_{other.outcome_} {
      COSYNC_ASSERT(!other.parked_, "cosync::channel: a parked send moved");
    }
    send_awaiter& operator=(send_awaiter&&) = delete;
    /// A send destroyed while parked (its coroutine destroyed at shutdown) leaves the queue. An
    /// unsent value goes back to its source if the send was awaited where it was made.
    ~send_awaiter() {
      if (parked_) {
        cancel_hook_.disarm();
        (void)cancel();
      }
      this->give_back_unless_sent(outcome_ == outcome::sent);
    }

    /// The fast path: sends at once if the lock-free buffer has room and nobody is parked.
    bool await_ready() noexcept {
      if (channel_->buffer_.try_push(this->value_) == detail::channel_buffer<T>::fast::ok) {
        outcome_ = outcome::sent;
        return true;
      }
      return false;
    }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      this->record(h);
      detail::cancel_scope* scope = detail::scope_of(h);
      if (!channel_->start_send(*this, scope)) {
        return false;
      }
      cancel_hook_.arm(h, scope, this);
      return true;
    }

    void await_resume() {
      if (parked_) {
        parked_ = false;  // whoever resumed us took us out of the queue: no cancel() on destruction
        cancel_hook_.disarm();
      }
      if (outcome_ == outcome::closed) {
        throw channel_closed{};
      }
      if (outcome_ == outcome::cancelled) {
        throw cancelled{};
      }
    }

    bool cancel() {
      // At teardown the channel may be gone: it let go of its parties, so `queued` tells.
      if (detail::tearing_down() && !this->queued) {
        return false;
      }
      return channel_->withdraw(channel_->senders_, *this);
    }

    /// The value, if it was not sent (a stored send that failed or lost its select); moving it
    /// out is how a caller takes it back.
    [[nodiscard]] T* unsent() noexcept { return outcome_ == outcome::sent ? nullptr : &this->value_; }

    // The select-case protocol (cosync/select.hpp): a send case moves its value only if it wins.
    bool select_ready() noexcept { return await_ready(); }
    void* select_lock_key() const noexcept { return channel_; }
    void select_lock() { channel_->lock_and_freeze(); }
    void select_unlock() noexcept { channel_->thaw_and_unlock(); }
    bool select_complete_locked(detail::wake_list& wake) {
      switch (channel_->give_locked(this->value_, wake)) {
        case try_status::ok:
          outcome_ = outcome::sent;
          return true;
        case try_status::closed:
          outcome_ = outcome::closed;
          return true;
        default:
          return false;
      }
    }
    void select_park_locked(const detail::parked_party& as) noexcept {
      this->adopt(as);
      channel_->senders_.push_back(*this);
      parked_ = true;
    }
    void select_withdraw() {
      (void)cancel();
      parked_ = false;
    }
    /// The select is awaited where it was made: a losing send gives its value back.
    void select_give_back() noexcept { this->allow_give_back(); }

   private:
    friend channel;
    enum class outcome { pending, sent, closed, cancelled };

    // Runs on the cancelling thread: if the send is still parked, it leaves the queue (its value
    // untouched) and its coroutine is resumed to throw cosync::cancelled.
    struct withdraw_on_cancel {
      send_awaiter* self;
      void operator()() const {
        if (self->cancel()) {
          self->outcome_ = outcome::cancelled;
          detail::resume_on_home(self->waiter, self->home);
        }
      }
    };

    channel* channel_;
    outcome outcome_ = outcome::pending;
    detail::cancel_hook<withdraw_on_cancel> cancel_hook_;
    bool parked_ = false;  // it was queued at some point (it may have left the queue since)
  };

  send_awaiter send(T&& value) noexcept { return send_awaiter{*this, std::move(value), &value}; }
  send_awaiter send(const T& value) requires std::is_copy_constructible_v<T> {
    return send_awaiter{*this, value};
  }

  /// Sends without suspending as many of `count` values from `first` as fit, in order; returns
  /// how many (each sent value was moved from; the rest are untouched). Stops at the first that
  /// does not fit, or at a close. Lock-free while nobody is parked; otherwise one acquisition of
  /// the lock for the rest of the batch.
  template <std::input_iterator It>
  std::size_t try_send_n(It first, std::size_t count) {
    static_assert(std::is_same_v<std::iter_reference_t<It>, T&>,
                  "cosync::channel::try_send_n moves from *first: pass an iterator to non-const T");
    std::size_t n = 0;
    for (; n < count; ++n, ++first) {
      const auto fast = buffer_.try_push(*first);
      if (fast == detail::channel_buffer<T>::fast::full) {
        return n;
      }
      if (fast == detail::channel_buffer<T>::fast::slow) {
        break;
      }
    }
    // The slow path: one value per lock, so that the caller's iterator never runs under it.
    for (; n < count; ++n, ++first) {
      T& value = *first;
      if (with_lock([&](detail::wake_list& wake) { return give_locked(value, wake); }) != try_status::ok) {
        break;
      }
    }
    return n;
  }

  /// Sends every element of `values`, in order, moving each out as it goes; suspends while the
  /// channel is full. Batches as many as fit per try_send_n.
  ///
  /// - Lazy (a task); resumes on the sending coroutine's own executor.
  /// - Throws cosync::channel_closed on a close; the element that failed and those after it are
  ///   not moved from: they stay with the caller.
  ///
  ///     co_await ch.send_n(std::span{batch});
  task<void> send_n(std::span<T> values) {
    while (!values.empty()) {
      values = values.subspan(try_send_n(values.begin(), values.size()));
      if (!values.empty()) {
        co_await send(std::move(values.front()));  // parks for room (or throws channel_closed)
        values = values.subspan(1);
      }
    }
  }

  // ---------------------------------------------------------------- receiving

  /// Receives without suspending: ok (into `out`), empty, or closed (closed and drained).
  [[nodiscard]] try_status try_recv(T& out) {
    std::optional<T> value;
    const try_status status = try_recv_impl(value);
    if (status == try_status::ok) {
      out = std::move(*value);
    }
    return status;
  }

  /// Receives without suspending: the value, or std::nullopt (is_closed() tells "closed and
  /// drained" from "empty").
  [[nodiscard]] std::optional<T> try_recv() {
    std::optional<T> value;
    (void)try_recv_impl(value);
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
    std::optional<T> value;
    std::size_t n = 0;
    for (; n < max; ++n, ++out) {
      const auto fast = buffer_.try_pop(value);
      if (fast == detail::channel_buffer<T>::fast::empty) {
        return n;
      }
      if (fast == detail::channel_buffer<T>::fast::slow) {
        break;
      }
      *out = std::move(*value);
    }
    for (; n < max; ++n, ++out) {
      if (with_lock([&](detail::wake_list& wake) { return take_locked(value, wake); }) != try_status::ok) {
        break;
      }
      *out = std::move(*value);  // the caller's code, outside the lock
    }
    return n;
  }

  /// Awaits a value: std::optional<T> holding it, or std::nullopt once the channel is closed and
  /// drained; made by recv().
  ///
  /// - Lazy; completes without suspending when a value is buffered, a sender is parked, or the
  ///   channel is closed and drained.
  /// - Resumes on the receiving coroutine's own executor. Blocked receivers are served in the
  ///   order they blocked.
  /// - Cancellation: a receive that must wait in a cancelled scope, or is waiting when its scope
  ///   is cancelled, throws cosync::cancelled having consumed nothing — unless a value had already
  ///   been handed to it, which it returns: a value handed to a receiver is never lost. cancel()
  ///   is the same hook, by hand (true: withdrawn; false: it completed).
  ///
  ///     while (auto item = co_await ch.recv()) process(*item);
  class [[nodiscard]] recv_awaiter : private detail::parked_party {
   public:
    explicit recv_awaiter(channel& ch) noexcept : channel_{&ch} {}
    /// Movable until first awaited (so that select() can hold it), never while parked.
    recv_awaiter(recv_awaiter&& other) noexcept : channel_{other.channel_}, value_{std::move(other.value_)} {
      COSYNC_ASSERT(!other.parked_, "cosync::channel: a parked receive moved");
    }
    recv_awaiter& operator=(recv_awaiter&&) = delete;
    /// A receive destroyed while parked (its coroutine destroyed at shutdown) leaves the queue.
    ~recv_awaiter() {
      if (parked_) {
        cancel_hook_.disarm();
        (void)cancel();
      }
    }

    /// The fast path: receives at once if the lock-free buffer has a value and nobody is parked.
    bool await_ready() noexcept {
      return channel_->buffer_.try_pop(value_) == detail::channel_buffer<T>::fast::ok;
    }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      this->record(h);
      detail::cancel_scope* scope = detail::scope_of(h);
      if (!channel_->start_recv(*this, scope)) {
        return false;
      }
      cancel_hook_.arm(h, scope, this);
      return true;
    }

    std::optional<T> await_resume() {
      if (parked_) {
        parked_ = false;  // as in send_awaiter
        cancel_hook_.disarm();
      }
      if (cancelled_) {
        throw cancelled{};
      }
      return std::move(value_);
    }

    bool cancel() {
      if (detail::tearing_down() && !this->queued) {  // as in send_awaiter::cancel
        return false;
      }
      return channel_->withdraw(channel_->receivers_, *this);
    }

    // The select-case protocol (cosync/select.hpp): a receive case consumes only if it wins; on a
    // closed and drained channel it wins with std::nullopt.
    bool select_ready() noexcept { return await_ready(); }
    void* select_lock_key() const noexcept { return channel_; }
    void select_lock() { channel_->lock_and_freeze(); }
    void select_unlock() noexcept { channel_->thaw_and_unlock(); }
    bool select_complete_locked(detail::wake_list& wake) {
      return channel_->take_locked(value_, wake) != try_status::empty;
    }
    void select_park_locked(const detail::parked_party& as) noexcept {
      this->adopt(as);
      channel_->receivers_.push_back(*this);
      parked_ = true;
    }
    void select_withdraw() {
      (void)cancel();
      parked_ = false;
    }

   private:
    friend channel;

    // As in send_awaiter: only a receive still parked is withdrawn; one already handed a value
    // keeps it and returns it.
    struct withdraw_on_cancel {
      recv_awaiter* self;
      void operator()() const {
        if (self->cancel()) {
          self->cancelled_ = true;
          detail::resume_on_home(self->waiter, self->home);
        }
      }
    };

    channel* channel_;
    std::optional<T> value_;
    bool cancelled_ = false;
    detail::cancel_hook<withdraw_on_cancel> cancel_hook_;
    bool parked_ = false;  // as in send_awaiter
  };

  recv_awaiter recv() noexcept { return recv_awaiter{*this}; }

  // ---------------------------------------------------------------- both / anyone

  /// Closes the channel: sends fail with channel_closed from now on, receives drain the buffer and
  /// then return std::nullopt. Every parked sender (throws, value kept) and receiver (nullopt) is
  /// woken. Idempotent; safe from any thread or coroutine.
  void close() {
    with_lock([&](detail::wake_list& wake) {
      if (closed_.load(std::memory_order_relaxed)) {
        return;
      }
      // release: pairs with is_closed()'s acquire, for callers that look before they leap.
      closed_.store(true, std::memory_order_release);
      while (detail::parked_party* p = senders_.claim_front()) {
        as_sender(p).outcome_ = send_awaiter::outcome::closed;
        wake.push(*p);
      }
      // Parked receivers exist only while the buffer is empty: they all get nullopt.
      while (detail::parked_party* p = receivers_.claim_front()) {
        wake.push(*p);
      }
    });
  }

  [[nodiscard]] bool is_closed() const noexcept {
    return closed_.load(std::memory_order_acquire);  // acquire: as in close()
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t size_approx() const noexcept { return buffer_.size_approx(); }

 private:
  /// Takes the channel's lock and freezes the buffer. thaw_and_unlock() switches the fast path
  /// back on unless someone is parked (or, for senders, the channel is closed) and unlocks.
  void lock_and_freeze() {
    mutex_.lock();
    buffer_.freeze();
  }
  void thaw_and_unlock() noexcept {
    const bool parked = !senders_.empty() || !receivers_.empty();
    buffer_.thaw(parked, parked || closed_.load(std::memory_order_relaxed));
    mutex_.unlock();
  }

  /// lock_and_freeze() for the lifetime of a scope.
  class locked_scope {
   public:
    explicit locked_scope(channel& ch) : channel_{ch} { ch.lock_and_freeze(); }
    locked_scope(const locked_scope&) = delete;
    locked_scope& operator=(const locked_scope&) = delete;
    ~locked_scope() { channel_.thaw_and_unlock(); }

   private:
    channel& channel_;
  };

  // Runs `op(wake)` inside a locked_scope, then resumes whoever it unblocked — after unlocking,
  // since a party parked off any executor resumes inline; also when `op` throws (the wake list
  // resumes from its destructor, which runs after the lock's). Returns what `op` returns.
  template <class Op>
  auto with_lock(Op op) {
    detail::wake_list wake;
    const locked_scope lock{*this};
    return op(wake);
  }

  static std::size_t checked(std::size_t capacity) {
    if (capacity > max_capacity) {
      throw std::length_error("cosync::channel: capacity " + std::to_string(capacity) +
                              " exceeds max_capacity " + std::to_string(max_capacity));
    }
    return capacity;
  }

  static send_awaiter& as_sender(detail::parked_party* p) noexcept { return static_cast<send_awaiter&>(*p); }
  static recv_awaiter& as_receiver(detail::parked_party* p) noexcept {
    return static_cast<recv_awaiter&>(*p);
  }

  // The *_locked functions run inside with_lock() and collect the coroutines to resume in `wake`.

  // A send: to a parked receiver, else into the buffer; ok, full (nothing done) or closed.
  try_status give_locked(T& value, detail::wake_list& wake) {
    if (closed_.load(std::memory_order_relaxed)) {
      return try_status::closed;
    }
    if (detail::parked_party* p = receivers_.claim_front()) {  // only while the buffer is empty
      as_receiver(p).value_.emplace(std::move(value));
      wake.push(*p);
      return try_status::ok;
    }
    if (senders_.has_live() || !buffer_.has_room_frozen()) {  // parked senders go first
      return try_status::full;
    }
    buffer_.push_frozen(std::move(value));
    return try_status::ok;
  }

  // A receive: the oldest buffered value (refilled from the oldest parked sender), else straight
  // from a parked sender (rendezvous); ok, empty, or closed (closed and drained).
  try_status take_locked(std::optional<T>& out, detail::wake_list& wake) {
    if (buffer_.has_value_frozen()) {
      buffer_.pop_frozen(out);
      if (detail::parked_party* p = senders_.claim_front()) {
        buffer_.push_frozen(std::move(complete_send(p, wake)));
      }
      return try_status::ok;
    }
    if (detail::parked_party* p = senders_.claim_front()) {  // capacity 0
      out.emplace(std::move(complete_send(p, wake)));
      return try_status::ok;
    }
    return closed_.load(std::memory_order_relaxed) ? try_status::closed : try_status::empty;
  }

  // Marks a claimed parked sender sent and schedules its resumption; returns its value to move.
  static T& complete_send(detail::parked_party* p, detail::wake_list& wake) {
    send_awaiter& s = as_sender(p);
    s.outcome_ = send_awaiter::outcome::sent;
    wake.push(*p);
    return s.value_;
  }

  try_status try_send_impl(T& value) {
    switch (buffer_.try_push(value)) {
      case detail::channel_buffer<T>::fast::ok:
        return try_status::ok;
      case detail::channel_buffer<T>::fast::full:
        return try_status::full;
      default:
        break;
    }
    return with_lock([&](detail::wake_list& wake) { return give_locked(value, wake); });
  }

  try_status try_recv_impl(std::optional<T>& value) {
    switch (buffer_.try_pop(value)) {
      case detail::channel_buffer<T>::fast::ok:
        return try_status::ok;
      case detail::channel_buffer<T>::fast::empty:
        return try_status::empty;
      default:
        break;
    }
    return with_lock([&](detail::wake_list& wake) { return take_locked(value, wake); });
  }

  // Whether an operation that would have to wait may not, its scope being cancelled.
  static bool may_not_wait(detail::cancel_scope* scope) noexcept {
    return scope != nullptr && scope->stop_requested();
  }

  // The slow path of an awaited send; returns whether to suspend. An operation that can complete
  // now does, cancelled scope or not: only waiting is refused (cosync::cancelled, value kept).
  bool start_send(send_awaiter& s, detail::cancel_scope* scope) {
    return with_lock([&](detail::wake_list& wake) {
      switch (give_locked(s.value_, wake)) {
        case try_status::ok:
          s.outcome_ = send_awaiter::outcome::sent;
          return false;
        case try_status::closed:
          s.outcome_ = send_awaiter::outcome::closed;
          return false;
        default:
          if (may_not_wait(scope)) {
            s.outcome_ = send_awaiter::outcome::cancelled;
            return false;
          }
          senders_.push_back(s);
          s.parked_ = true;
          return true;
      }
    });
  }

  bool start_recv(recv_awaiter& r, detail::cancel_scope* scope) {
    return with_lock([&](detail::wake_list& wake) {
      if (take_locked(r.value_, wake) != try_status::empty) {
        return false;
      }
      if (may_not_wait(scope)) {
        r.cancelled_ = true;  // nothing consumed
        return false;
      }
      receivers_.push_back(r);
      r.parked_ = true;
      return true;
    });
  }

  bool withdraw(detail::parked_queue& queue, detail::parked_party& p) {
    const locked_scope lock{*this};
    return queue.erase(p);
  }

  const std::size_t capacity_;
  detail::channel_buffer<T> buffer_;
  std::atomic<bool> closed_{false};  // written under mutex_
  std::mutex mutex_;
  // ---- guarded by mutex_ ----
  detail::parked_queue senders_;    // parked, oldest first
  detail::parked_queue receivers_;  // parked, oldest first
};

}  // namespace cosync
