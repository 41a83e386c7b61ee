#pragma once

/// cosync::channel<T>: an awaitable bounded multi-producer multi-consumer channel with close,
/// backpressure, FIFO service of blocked parties, and a rendezvous mode (capacity 0).
///
/// Algorithm (Go's hchan, on coroutines): a ring buffer of `capacity` values, a FIFO list of
/// parked senders and one of parked receivers, all guarded by one lock. A send hands its value
/// straight to the oldest parked receiver if there is one, else buffers it, else parks; a receive
/// takes the oldest buffered value and moves the oldest parked sender's value into the freed slot
/// (so a parked sender is never overtaken by a newcomer), else takes straight from a parked
/// sender (rendezvous), else parks. Close wakes everyone. Parked coroutines are resumed on their
/// own executors, through the mesh when the waking operation ran elsewhere.
///
/// NOTE: this first version takes the lock on every operation, the fast path included. A
/// lock-free fast path (space or data available, nobody parked) is the next step; the semantics
/// and tests here are the contract it must keep.

#include <cosync/config.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>
#include <cosync/try_status.hpp>

#include <coroutine>
#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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
  explicit channel(std::size_t capacity) : capacity_{checked(capacity)}, buffer_(capacity) {}
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  /// Values still buffered are destroyed. No coroutine may be parked in the channel (a contract
  /// violation, asserted in debug builds): close it and let every party finish first.
  ~channel() {
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

  /// A coroutine to resume, and the executor to resume it on.
  struct waiter_ref {
    std::coroutine_handle<> handle;
    detail::executor* home;
  };

  /// What a parked send and a parked receive share: whom to resume, where, and whether it was
  /// ever queued (so its destructor knows whether to leave the queue).
  class parked_party {
   protected:
    void record(std::coroutine_handle<> waiter) noexcept {
      waiter_ = waiter;
      home_ = detail::current_executor();
    }

    std::coroutine_handle<> waiter_;
    detail::executor* home_ = nullptr;
    bool parked_ = false;  // it was queued at some point (it may have left the queue since)

   private:
    friend channel;
    [[nodiscard]] waiter_ref wake_ref() const noexcept { return {waiter_, home_}; }
  };

  /// Awaits room (or a receiver, at capacity 0), then sends; made by send().
  ///
  /// - Lazy; completes without suspending when a receiver is parked or there is room.
  /// - Resumes on the sending coroutine's own executor. Blocked senders are served in the order
  ///   they blocked.
  /// - Throws cosync::channel_closed if the channel is closed or is closed while waiting; the
  ///   value is then not moved from: it stays with the caller.
  /// - cancel() withdraws a parked send (the cancellation hook task groups will use): true if it
  ///   was withdrawn (the value was not sent and stays with the caller), false if it had already
  ///   completed.
  ///
  ///     co_await ch.send(std::move(job));
  class [[nodiscard]] send_awaiter : public parked_party {
   public:
    send_awaiter(channel& ch, T& value) noexcept : channel_{ch}, value_{value} {}
    send_awaiter(channel& ch, const T& value) : channel_{ch}, copy_{value}, value_{*copy_} {}
    send_awaiter(const send_awaiter&) = delete;
    send_awaiter& operator=(const send_awaiter&) = delete;
    /// A send destroyed while parked (its coroutine destroyed at shutdown) leaves the queue.
    ~send_awaiter() {
      if (this->parked_) {
        (void)cancel();
      }
    }

    bool await_ready() const noexcept { return false; }

    bool await_suspend(std::coroutine_handle<> waiter) {
      this->record(waiter);
      return channel_.start_send(*this);
    }

    void await_resume() const {
      if (outcome_ == outcome::closed) {
        throw channel_closed{};
      }
    }

    bool cancel() { return channel_.withdraw(channel_.senders_, *this); }

   private:
    friend channel;
    enum class outcome { pending, sent, closed };

    channel& channel_;
    std::optional<T> copy_;  // what send(const T&) sends
    T& value_;
    outcome outcome_ = outcome::pending;
  };

  send_awaiter send(T&& value) noexcept { return send_awaiter{*this, value}; }

  /// Sends without suspending as many of `count` values from `first` as fit, in order, under one
  /// acquisition of the lock; returns how many (each sent value was moved from; the rest are
  /// untouched). Stops at the first that does not fit, or at a close.
  template <std::input_iterator It>
  std::size_t try_send_n(It first, std::size_t count) {
    static_assert(std::is_same_v<std::iter_reference_t<It>, T&>,
                  "cosync::channel::try_send_n moves from *first: pass an iterator to non-const T");
    std::vector<waiter_ref> wake;
    std::size_t n = 0;
    {
      const std::lock_guard lock{mutex_};
      for (; n < count && give_locked(*first, wake) == try_status::ok; ++n, ++first) {
      }
    }
    resume_all(wake);
    return n;
  }

  /// Sends every element of `values`, in order, moving each out as it goes; suspends while the
  /// channel is full. Batches as many per lock acquisition as fit.
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
  send_awaiter send(const T& value) requires std::is_copy_constructible_v<T> {
    return send_awaiter{*this, value};
  }

  // ---------------------------------------------------------------- receiving

  /// Receives without suspending: ok (into `out`), empty, or closed (closed and drained).
  [[nodiscard]] try_status try_recv(T& out) {
    std::optional<T> value;
    std::vector<waiter_ref> wake;
    try_status status = try_status::empty;
    {
      const std::lock_guard lock{mutex_};
      status = take_locked(value, wake);
    }
    resume_all(wake);
    if (status == try_status::ok) {
      out = std::move(*value);
    }
    return status;
  }

  /// Receives without suspending: the value, or std::nullopt (is_closed() tells "closed and
  /// drained" from "empty").
  [[nodiscard]] std::optional<T> try_recv() {
    std::optional<T> value;
    std::vector<waiter_ref> wake;
    {
      const std::lock_guard lock{mutex_};
      (void)take_locked(value, wake);
    }
    resume_all(wake);
    return value;
  }

  /// Moves up to `max` values, oldest first, to `out` under one acquisition of the lock; returns
  /// how many. Parked senders refill the buffer as it empties.
  template <class Out>
  std::size_t try_recv_n(Out out, std::size_t max) {
    std::vector<waiter_ref> wake;
    std::size_t n = 0;
    {
      const std::lock_guard lock{mutex_};
      std::optional<T> value;
      while (n < max && take_locked(value, wake) == try_status::ok) {
        *out = std::move(*value);
        ++out;
        ++n;
      }
    }
    resume_all(wake);
    return n;
  }

  /// Awaits a value: std::optional<T> holding it, or std::nullopt once the channel is closed and
  /// drained; made by recv().
  ///
  /// - Lazy; completes without suspending when a value is buffered, a sender is parked, or the
  ///   channel is closed and drained.
  /// - Resumes on the receiving coroutine's own executor. Blocked receivers are served in the
  ///   order they blocked.
  /// - cancel() withdraws a parked receive: true if it was withdrawn (nothing consumed), false if
  ///   a value had already been handed to it — await_resume then returns that value: a value
  ///   handed to a receiver is never lost.
  ///
  ///     while (auto item = co_await ch.recv()) process(*item);
  class [[nodiscard]] recv_awaiter : public parked_party {
   public:
    explicit recv_awaiter(channel& ch) noexcept : channel_{ch} {}
    recv_awaiter(const recv_awaiter&) = delete;
    recv_awaiter& operator=(const recv_awaiter&) = delete;
    /// A receive destroyed while parked (its coroutine destroyed at shutdown) leaves the queue.
    ~recv_awaiter() {
      if (this->parked_) {
        (void)cancel();
      }
    }

    bool await_ready() const noexcept { return false; }

    bool await_suspend(std::coroutine_handle<> waiter) {
      this->record(waiter);
      return channel_.start_recv(*this);
    }

    std::optional<T> await_resume() { return std::move(value_); }

    bool cancel() { return channel_.withdraw(channel_.receivers_, *this); }

   private:
    friend channel;
    channel& channel_;
    std::optional<T> value_;
  };

  recv_awaiter recv() noexcept { return recv_awaiter{*this}; }

  // ---------------------------------------------------------------- both / anyone

  /// Closes the channel: sends fail with channel_closed from now on, receives drain the buffer and
  /// then return std::nullopt. Every parked sender (throws, value kept) and receiver (nullopt) is
  /// woken. Idempotent; safe from any thread or coroutine.
  void close() {
    std::vector<waiter_ref> wake;
    {
      const std::lock_guard lock{mutex_};
      if (closed_) {
        return;
      }
      closed_ = true;
      for (send_awaiter* s : senders_) {
        s->outcome_ = send_awaiter::outcome::closed;
        wake.push_back(s->wake_ref());
      }
      senders_.clear();
      // Parked receivers exist only while the buffer is empty: they all get nullopt.
      for (recv_awaiter* r : receivers_) {
        wake.push_back(r->wake_ref());
      }
      receivers_.clear();
    }
    resume_all(wake);
  }

  [[nodiscard]] bool is_closed() const {
    const std::lock_guard lock{mutex_};
    return closed_;
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t size_approx() const {
    const std::lock_guard lock{mutex_};
    return count_;
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity > max_capacity) {
      throw std::length_error("cosync::channel: capacity " + std::to_string(capacity) +
                              " exceeds max_capacity " + std::to_string(max_capacity));
    }
    return capacity;
  }

  static void resume_all(const std::vector<waiter_ref>& wake) {
    for (const waiter_ref& w : wake) {
      if (w.home != nullptr) {
        detail::post(*w.home, w.handle);
      } else {
        w.handle.resume();  // parked off any executor (a hand-driven coroutine)
      }
    }
  }

  // All *_locked functions run with mutex_ held and collect the coroutines to resume in `wake`,
  // which the caller resumes after unlocking.

  // A send: to a parked receiver, else into the buffer; ok, full (nothing done) or closed.
  try_status give_locked(T& value, std::vector<waiter_ref>& wake) {
    if (closed_) {
      return try_status::closed;
    }
    if (!receivers_.empty()) {  // only while the buffer is empty
      recv_awaiter* r = receivers_.front();
      receivers_.pop_front();
      r->value_.emplace(std::move(value));
      wake.push_back(r->wake_ref());
      return try_status::ok;
    }
    if (!senders_.empty() || count_ == capacity_) {  // parked senders go first
      return try_status::full;
    }
    buffer_[(head_ + count_) % capacity_].emplace(std::move(value));
    ++count_;
    return try_status::ok;
  }

  // A receive: the oldest buffered value (refilled from the oldest parked sender), else straight
  // from a parked sender (rendezvous); ok, empty, or closed (closed and drained).
  try_status take_locked(std::optional<T>& out, std::vector<waiter_ref>& wake) {
    if (count_ != 0) {
      out.emplace(std::move(*buffer_[head_]));
      buffer_[head_].reset();
      head_ = (head_ + 1) % capacity_;
      --count_;
      if (!senders_.empty()) {
        admit_sender_locked(wake);
        buffer_[(head_ + count_) % capacity_].emplace(std::move(*pending_));
        pending_.reset();
        ++count_;
      }
      return try_status::ok;
    }
    if (!senders_.empty()) {  // capacity 0, or a parked sender racing a drained buffer
      admit_sender_locked(wake);
      out.emplace(std::move(*pending_));
      pending_.reset();
      return try_status::ok;
    }
    return closed_ ? try_status::closed : try_status::empty;
  }

  // Takes the oldest parked sender's value into pending_ and schedules the sender's resumption.
  void admit_sender_locked(std::vector<waiter_ref>& wake) {
    send_awaiter* s = senders_.front();
    senders_.pop_front();
    pending_.emplace(std::move(s->value_));
    s->outcome_ = send_awaiter::outcome::sent;
    wake.push_back(s->wake_ref());
  }

  try_status try_send_impl(T& value) {
    std::vector<waiter_ref> wake;
    try_status status = try_status::full;
    {
      const std::lock_guard lock{mutex_};
      status = give_locked(value, wake);
    }
    resume_all(wake);
    return status;
  }

  // Returns whether to suspend.
  bool start_send(send_awaiter& s) {
    std::vector<waiter_ref> wake;
    bool suspend = false;
    {
      const std::lock_guard lock{mutex_};
      switch (give_locked(s.value_, wake)) {
        case try_status::ok:
          s.outcome_ = send_awaiter::outcome::sent;
          break;
        case try_status::closed:
          s.outcome_ = send_awaiter::outcome::closed;
          break;
        default:
          senders_.push_back(&s);
          s.parked_ = true;
          suspend = true;
      }
    }
    resume_all(wake);
    return suspend;
  }

  bool start_recv(recv_awaiter& r) {
    std::vector<waiter_ref> wake;
    bool suspend = false;
    {
      const std::lock_guard lock{mutex_};
      if (take_locked(r.value_, wake) == try_status::empty) {
        receivers_.push_back(&r);
        r.parked_ = true;
        suspend = true;
      }
    }
    resume_all(wake);
    return suspend;
  }

  template <class Awaiter>
  bool withdraw(std::deque<Awaiter*>& parked, Awaiter& a) {
    const std::lock_guard lock{mutex_};
    for (auto it = parked.begin(); it != parked.end(); ++it) {
      if (*it == &a) {
        parked.erase(it);
        return true;
      }
    }
    return false;
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  // ---- guarded by mutex_ ----
  std::vector<std::optional<T>> buffer_;  // a ring: count_ values from head_
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::optional<T> pending_;             // a parked sender's value in transit
  std::deque<send_awaiter*> senders_;    // parked, oldest first
  std::deque<recv_awaiter*> receivers_;  // parked, oldest first
  bool closed_ = false;
};

}  // namespace cosync
