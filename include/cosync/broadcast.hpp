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

#include <cosync/config.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/detail/waiter_queue.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace cosync {

/// What a subscriber's recv or try_recv found.
enum class broadcast_status : unsigned char {
  value,   ///< the next value
  lagged,  ///< values were overwritten before this subscriber got them: missed() of them
  empty,   ///< try_recv only: nothing new yet
  closed,  ///< the broadcast is closed and this subscriber has received everything kept
};

namespace detail {
template <class T>
class broadcast_core;
}  // namespace detail

/// The outcome of a broadcast subscriber's recv (or try_recv): a value, a lag report, or the end.
///
///     for (;;) {
///       auto r = co_await sub.recv();
///       if (r) use(*r); else if (r.lagged()) log_missed(r.missed()); else break;  // closed
///     }
template <class T>
class broadcast_result {
 public:
  /// Empty (what try_recv returns when there is nothing new).
  broadcast_result() noexcept = default;

  [[nodiscard]] broadcast_status status() const noexcept { return status_; }
  /// True for a value.
  [[nodiscard]] bool has_value() const noexcept { return status_ == broadcast_status::value; }
  explicit operator bool() const noexcept { return has_value(); }
  /// True when the subscriber fell behind: missed() values were skipped.
  [[nodiscard]] bool lagged() const noexcept { return status_ == broadcast_status::lagged; }
  /// How many values a lagged subscriber skipped (0 otherwise).
  [[nodiscard]] std::uint64_t missed() const noexcept { return missed_; }
  /// True once the broadcast is closed and everything kept was received.
  [[nodiscard]] bool closed() const noexcept { return status_ == broadcast_status::closed; }
  /// True for a try_recv that found nothing new.
  [[nodiscard]] bool empty() const noexcept { return status_ == broadcast_status::empty; }

  /// The value; only when has_value() (asserted in debug builds).
  T& operator*() & noexcept { return checked(*this); }
  const T& operator*() const& noexcept { return checked(*this); }
  T&& operator*() && noexcept { return std::move(checked(*this)); }
  T* operator->() noexcept { return &checked(*this); }
  const T* operator->() const noexcept { return &checked(*this); }

  /// The value; cosync::usage_error when there is none.
  T& value() & { return thrown(*this); }
  const T& value() const& { return thrown(*this); }
  T&& value() && { return std::move(thrown(*this)); }

 private:
  friend class detail::broadcast_core<T>;

  static broadcast_result of(const T& value) {
    broadcast_result r;
    r.value_.emplace(value);
    r.status_ = broadcast_status::value;
    return r;
  }
  static broadcast_result lagged_by(std::uint64_t missed) noexcept {
    broadcast_result r;
    r.missed_ = missed;
    r.status_ = broadcast_status::lagged;
    return r;
  }
  static broadcast_result end() noexcept {
    broadcast_result r;
    r.status_ = broadcast_status::closed;
    return r;
  }

  template <class Self>
  static auto& checked(Self& self) noexcept {
    COSYNC_ASSERT(self.has_value(), "cosync::broadcast_result: no value (lagged, empty or closed)");
    return *self.value_;
  }
  template <class Self>
  static auto& thrown(Self& self) {
    if (!self.has_value()) {
      throw usage_error("cosync::broadcast_result: no value (lagged, empty or closed)");
    }
    return *self.value_;
  }

  std::optional<T> value_;
  std::uint64_t missed_ = 0;
  broadcast_status status_ = broadcast_status::empty;
};

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
    recv_op(recv_op&& other) noexcept : core_{other.core_}, cursor_{other.cursor_} {
      node_.result = std::move(other.node_.result);
    }
    recv_op& operator=(recv_op&&) = delete;
    ~recv_op() = default;

   private:
    friend struct cosync::case_access;
    static constexpr bool withdraw_from_any_thread = true;  // the lock decides

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

  /// Sends a value to every subscriber: stores it (overwriting the oldest kept), completes every
  /// parked recv with a copy, and wakes them (each on its home executor). Never waits for a
  /// subscriber; takes the broadcast's lock briefly. Returns how many subscribers there were
  /// (0: nobody will see it). Closed: cosync::channel_closed, `value` untouched.
  std::size_t send(T&& value) { return checked().send(value); }
  std::size_t send(const T& value) {
    T copy{value};  // outside the lock
    return checked().send(copy);
  }

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

  [[nodiscard]] bool is_closed() const noexcept { return core_ == nullptr || core_->is_closed(); }
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
