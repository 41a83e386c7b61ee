#pragma once

/// cosync::broadcast<T>: every value to every subscriber — configuration updates, market ticks,
/// shutdown notices — with a bounded memory of the most recent values and no sender ever waiting.
///
/// Semantics (tokio's broadcast channel):
/// - `send(v)` copies nothing per subscriber and never waits for one: the value goes into a ring
///   of `capacity` slots, overwriting the oldest. It returns how many subscribers there were.
/// - `subscribe()` makes a `broadcast<T>::subscriber` that receives every value sent after it
///   subscribed, in order. `co_await sub.recv()` returns a broadcast_result<T>: a value; or
///   *lagged* with the count of values it missed, when it fell more than `capacity` values behind
///   (it then skips to the oldest value still kept, which the next recv returns); or *closed*, once
///   the broadcast is closed (or destroyed) and the subscriber has received everything still kept.
/// - The state is shared by std::shared_ptr between the broadcast and its subscribers: a
///   subscriber may outlive the broadcast (whose destructor closes it).
///
/// A recv is a select case (cosync/wait.hpp), awaited alone as a cosync::waitable: it resumes on
/// the awaiting coroutine's home executor, and a cancelled wait throws cosync::cancelled having
/// consumed nothing (the subscriber's position is unchanged).
///
/// Thread safety: send, close and subscribe from any thread or coroutine, concurrently (any number
/// of senders). A subscriber is used by one coroutine at a time (it holds its own position).
///
/// The engine is one lock (a std::mutex held for a few copies): the ring, the parked subscribers
/// (a detail::waiter_queue) and the hand-over to them. A subscriber parks only when it has
/// received everything, so a send completes every parked subscriber with the value it just
/// stored, copying it into the parked case under the lock: the slot may be overwritten before
/// the subscriber resumes.

#include <cosync/broadcast_result.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/broadcast_core.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace cosync {

/// A bounded broadcast channel of copyable `T` (see the file comment).
///
///     cosync::broadcast<config> updates{16};
///     auto sub = updates.subscribe();
///     updates.send(cfg);                          // any thread; never waits
///     auto r = co_await sub.recv();               // r: a value, lagged (r.missed()), or closed
template <class T>
class broadcast {
  static_assert(std::is_copy_constructible_v<T>, "cosync::broadcast<T>: T must be copyable");
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "cosync::broadcast<T>: T's move constructor must be noexcept");
  using core = detail::broadcast_core<T>;

 public:
  /// The largest capacity accepted.
  static constexpr std::size_t max_capacity() noexcept { return core::max_capacity; }

  /// A broadcast keeping the last `capacity` values. 0 or above max_capacity():
  /// cosync::capacity_error.
  explicit broadcast(std::size_t capacity) : core_{std::make_shared<core>(capacity)} {}
  broadcast(const broadcast&) = delete;
  broadcast& operator=(const broadcast&) = delete;
  /// Moves the broadcast; the moved-from one is empty (using it throws cosync::usage_error).
  broadcast(broadcast&&) noexcept = default;
  /// Closes this broadcast, then takes `other`'s.
  broadcast& operator=(broadcast&& other) {
    if (this != &other) {
      if (core_ != nullptr) {
        core_->close();
      }
      core_ = std::move(other.core_);
    }
    return *this;
  }
  /// Closes the broadcast: its subscribers drain what is kept, then see closed.
  ~broadcast() {
    if (core_ != nullptr) {
      core_->close();
    }
  }

  class subscriber;

  /// A subscriber's receive (cosync/wait.hpp's case interface): consumes only if it completes; a
  /// select case whose result is broadcast_result<T>. Awaited as recv_awaiter.
  class recv_op {
    friend subscriber;
    template <select_case>
    friend class waitable;
    recv_op(core& c, std::uint64_t& cursor) noexcept : core_{&c}, cursor_{&cursor} {}

   public:
    /// Movable until awaited, so that a waitable or a select can hold it.
    recv_op(recv_op&& other) noexcept : core_{other.core_}, cursor_{other.cursor_} {
      node_.result = std::move(other.node_.result);
    }
    recv_op& operator=(recv_op&&) = delete;
    ~recv_op() = default;

   private:
    friend struct cosync::case_access;
    static constexpr const char* wait_name = "broadcast recv";  // in a trace
    static constexpr bool withdraw_from_any_thread = true;      // the lock decides

    bool try_complete() {
      if (core_->nothing_new(*cursor_)) {
        return false;  // the common miss takes no lock
      }
      const std::lock_guard lock{*core_};
      return core_->take_locked(*cursor_, node_.result);
    }
    void* lock_key() const noexcept { return core_; }
    void lock() { core_->lock(); }
    void unlock() noexcept { core_->unlock(); }
    bool try_complete_locked(wake_list& /*wake*/) { return core_->take_locked(*cursor_, node_.result); }
    void park(waiter& w) noexcept { core_->park(node_, w); }
    bool withdraw() { return core_->withdraw(node_); }
    broadcast_result<T> result() {
      if (node_.error) {
        std::rethrow_exception(std::exchange(node_.error, nullptr));  // the cursor did not move
      }
      if (node_.delivered) {
        node_.delivered = false;
        ++*cursor_;  // the value a send handed over while parked
      }
      return std::move(node_.result);
    }

    core* core_;
    std::uint64_t* cursor_;  // the subscriber's position: only its coroutine writes it
    detail::broadcast_node<T> node_;
  };

  /// Awaits the subscriber's next outcome: a value, lagged (with the count missed), or closed;
  /// made by subscriber::recv().
  ///
  /// - Lazy; completes without suspending when a value is kept that this subscriber has not
  ///   received, when it lags, or when the broadcast is closed and it has received everything.
  /// - Resumes on the receiving coroutine's home executor, woken by the send (from any thread).
  /// - Cancellation (cancellation.hpp): a recv that must wait in a cancelled scope, or is waiting
  ///   when its scope is cancelled, throws cosync::cancelled having consumed nothing (the
  ///   subscriber's position is unchanged) — unless a send had already handed it a value, which
  ///   it returns.
  /// - A select case. Its subscriber must not be moved or destroyed while it is awaited.
  ///
  ///     while (auto r = co_await sub.recv(); !r.closed()) if (r) apply(*r);
  using recv_awaiter = waitable<recv_op>;

  /// A position in the broadcast's stream: receives every value sent after it subscribed, in
  /// order (reporting the values it missed if it falls more than capacity() behind). Move-only;
  /// used by one coroutine at a time; keeps the shared state alive, so it may outlive the
  /// broadcast (it then drains what is kept and sees closed). A recv awaiter refers to its
  /// subscriber (its position): the subscriber must not be moved or destroyed while one is
  /// awaited.
  class subscriber {
   public:
    /// Takes `other`'s position; the moved-from subscriber is empty (using it throws
    /// cosync::usage_error).
    subscriber(subscriber&& other) noexcept : core_{std::move(other.core_)}, next_{other.next_} {}
    /// Unsubscribes this one, then takes `other`'s position.
    subscriber& operator=(subscriber&& other) {
      if (this != &other) {
        subscriber dropped{std::move(*this)};
        core_ = std::move(other.core_);
        next_ = other.next_;
      }
      return *this;
    }
    subscriber(const subscriber&) = delete;
    subscriber& operator=(const subscriber&) = delete;
    ~subscriber() {
      if (core_ != nullptr) {
        core_->unsubscribe();
      }
    }

    /// Awaits the next outcome (see recv_awaiter). A moved-from subscriber throws
    /// cosync::usage_error.
    recv_awaiter recv() { return recv_awaiter{checked(), next_}; }

    /// The next outcome without suspending: a value, lagged, closed, or empty (nothing new).
    [[nodiscard]] broadcast_result<T> try_recv() {
      core& c = checked();
      broadcast_result<T> out;
      const std::lock_guard lock{c};
      (void)c.take_locked(next_, out);
      return out;
    }

    /// True once the broadcast is closed (values kept may still be waiting for this subscriber).
    [[nodiscard]] bool is_closed() const noexcept { return core_ == nullptr || core_->is_closed(); }

   private:
    friend broadcast;
    explicit subscriber(std::shared_ptr<core> c) : core_{std::move(c)}, next_{core_->subscribe()} {}

    core& checked() const {
      if (core_ == nullptr) {
        throw usage_error("cosync::broadcast::subscriber: used after it was moved from");
      }
      return *core_;
    }

    std::shared_ptr<core> core_;
    std::uint64_t next_;  // the number of the next value it wants (see detail::broadcast_core)
  };

  ///@{
  /// Sends a value to every subscriber: stores it (overwriting the oldest kept), completes every
  /// parked recv with a copy, and wakes them (each on its home executor). Never waits for a
  /// subscriber; takes the broadcast's lock briefly. Returns how many subscribers there were
  /// (0: nobody will see it). Closed: cosync::channel_closed, `value` untouched.
  std::size_t send(T&& value) { return checked().send(value); }
  std::size_t send(const T& value) {
    T copy{value};  // outside the lock
    return checked().send(copy);
  }
  ///@}

  /// A new subscriber, positioned after every value sent so far. Subscribing to a closed
  /// broadcast gives one that sees closed at once.
  [[nodiscard]] subscriber subscribe() {
    (void)checked();
    return subscriber{core_};
  }

  /// Closes the broadcast: sends throw cosync::channel_closed from now on; each subscriber
  /// receives what is still kept for it, then closed. Wakes every parked subscriber. Idempotent;
  /// any thread.
  void close() { checked().close(); }

  /// True once the broadcast is closed (or moved from); its subscribers may still have kept values
  /// to receive.
  [[nodiscard]] bool is_closed() const noexcept { return core_ == nullptr || core_->is_closed(); }
  /// How many of the most recent values it keeps (the constructor's `capacity`).
  [[nodiscard]] std::size_t capacity() const { return checked().capacity(); }
  /// How many subscribers exist now (any thread; a snapshot).
  [[nodiscard]] std::size_t subscriber_count() const { return checked().subscriber_count(); }

 private:
  core& checked() const {
    if (core_ == nullptr) {
      throw usage_error("cosync::broadcast: used after it was moved from");
    }
    return *core_;
  }

  std::shared_ptr<core> core_;
};

}  // namespace cosync
