#pragma once

/// cosync::oneshot<T>: one value from one producer to one consumer — the answer to a request, the
/// result of a spawned job, a "done" signal carrying data.
///
/// Two shapes over one engine:
/// - `cosync::oneshot<T> o;` an object both sides reach (it must outlive every call on it);
/// - `auto [tx, rx] = cosync::make_oneshot<T>();` a move-only `oneshot_sender<T>` and
///   `oneshot_receiver<T>` sharing the state by std::shared_ptr, so either may outlive the other
///   and each side holds only its own half. Dropping the sender unsent closes the oneshot (the
///   receiver gets std::nullopt); dropping the receiver closes it too (a later send throws
///   cosync::channel_closed).
///
/// The value's journey: `send(v)` never waits — it stores the value and wakes a parked receiver;
/// `co_await recv()` returns std::optional<T>: the value, or std::nullopt once the oneshot is
/// closed without one (or the value was already received). A recv is a select case
/// (cosync/wait.hpp), awaited alone as a cosync::waitable: it resumes on the awaiting coroutine's
/// home executor, and a cancelled wait throws cosync::cancelled having consumed nothing.
///
/// Roles: one sender (send / close from one thread or coroutine at a time), one receiver (recv /
/// try_recv from one coroutine at a time; a second recv parked beside the first throws
/// cosync::usage_error). is_closed() and close() are safe from anywhere.
///
/// The engine is lock-free: one state word decides send against close, and the receiver parks in
/// a detail::parking_spot (cosync/detail/parking.hpp), whose StoreLoad protocol loses no wakeup.

#include <cosync/config.hpp>
#include <cosync/detail/oneshot_core.hpp>
#include <cosync/detail/parking.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/try_status.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace cosync {

/// A receive from a oneshot (cosync/wait.hpp's case interface): takes the value only if it
/// completes; a select case whose result is std::optional<T>. Awaited as
/// oneshot<T>::recv_awaiter (the same type for oneshot_receiver<T>).
template <class T>
class oneshot_recv_op {
  template <select_case>
  friend class waitable;
  template <class>
  friend class oneshot;
  template <class>
  friend class oneshot_receiver;

  explicit oneshot_recv_op(detail::oneshot_core<T>& core) noexcept : core_{&core} {}

 public:
  /// Movable until awaited, so that a waitable or a select can hold it.
  oneshot_recv_op(oneshot_recv_op&& other) noexcept
      : core_{other.core_}, value_{std::move(other.value_)}, done_{other.done_} {}
  oneshot_recv_op& operator=(oneshot_recv_op&&) = delete;
  ~oneshot_recv_op() = default;

 private:
  friend struct cosync::case_access;
  static constexpr const char* wait_name = "oneshot recv";  // in a trace
  static constexpr bool withdraw_from_any_thread = true;    // the spot's CAS decides

  // True when done: the value was taken, or nothing will come.
  bool try_complete() noexcept { return done_ = core_->take(value_) != try_status::empty; }

  // Parks, then re-checks (parking.hpp, P3): if the value (or a close) came meanwhile, withdraws
  // and completes without waiting — unless its select was won meanwhile (claim).
  bool park(waiter& w) {
    if (detail::current_executor() == nullptr) {
      throw usage_error("cosync::oneshot: recv must be awaited on an executor thread (try_recv elsewhere)");
    }
    detail::parking_spot& spot = core_->receiver();
    if (spot.occupied()) {
      throw usage_error("cosync::oneshot: a second recv while one is waiting (one receiver only)");
    }
    spot.park(w);
    w_ = &w;
    return !(core_->ready() && spot.withdraw(w) && w.claim());
  }

  // At teardown the state may be gone: it orphaned its waiter first.
  bool withdraw() noexcept {
    if (w_ == nullptr || (detail::tearing_down() && detail::waiter_access::orphaned(*w_))) {
      return false;
    }
    return core_->receiver().withdraw(*w_);
  }

  std::optional<T> result() {
    if (!done_) {
      // Woken by the send (or the close): the state stays ready (only this side takes), so this
      // attempt completes.
      (void)try_complete();
      COSYNC_ASSERT(done_, "cosync::oneshot: a woken recv found nothing");
    }
    return std::move(value_);
  }

  detail::oneshot_core<T>* core_;
  std::optional<T> value_;
  bool done_ = false;
  waiter* w_ = nullptr;  // set once parked
};

/// Awaiting a oneshot's value (what recv() returns, for the object and the receiver handle):
/// std::optional<T> holding it, or std::nullopt once the oneshot is closed without one.
///
/// - Lazy; completes without suspending when the value is there or the oneshot is closed.
/// - Resumes on the receiving coroutine's home executor, woken by the send (or close) from any
///   thread. Must be awaited on an executor thread (cosync::usage_error otherwise; try_recv works
///   anywhere).
/// - Cancellation (cancellation.hpp): a recv that must wait in a cancelled scope, or is waiting
///   when its scope is cancelled, throws cosync::cancelled having consumed nothing — the value,
///   if it comes, stays for a later recv. A recv already woken by the send takes the value.
/// - A select case.
///
///     if (auto reply = co_await rx.recv()) use(*reply);
template <class T>
using oneshot_recv_awaiter = waitable<oneshot_recv_op<T>>;

/// One value from one producer to one consumer, as an object both sides reach (see the file
/// comment; make_oneshot gives each side its own handle instead).
///
/// Lifetime: the oneshot must outlive every call on it — including a send() still returning on
/// another thread after the receiver already has the value (send touches the parking spot after
/// publishing). When the receiver may finish, and destroy the oneshot, as soon as it has the
/// value, use make_oneshot, whose handles share the state.
///
///     cosync::oneshot<int> answer;
///     g.spawn(compute(answer));                        // calls answer.send(42) (or close())
///     std::optional<int> v = co_await answer.recv();   // then wait for g before `answer` goes
template <class T>
class oneshot {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "cosync::oneshot<T>: T's move constructor must be noexcept");

 public:
  /// The receive case (a select case), as recv() makes it.
  using recv_op = oneshot_recv_op<T>;
  /// What recv() returns (see oneshot_recv_awaiter).
  using recv_awaiter = oneshot_recv_awaiter<T>;

  oneshot() noexcept = default;
  oneshot(const oneshot&) = delete;
  oneshot& operator=(const oneshot&) = delete;

  /// The value, if it was sent and never received, is destroyed. No coroutine may be parked in
  /// recv (a contract violation, asserted in debug builds).
  ~oneshot() = default;

  ///@{
  /// Sends the value: never waits; wakes a parked receiver (on its home executor). Throws, with
  /// `value` untouched (not moved from): cosync::channel_closed if the oneshot is closed,
  /// cosync::usage_error if a value was already sent.
  void send(T&& value) { send_checked(core_, value); }
  void send(const T& value) requires std::is_copy_constructible_v<T> {
    T copy{value};
    send_checked(core_, copy);
  }
  ///@}

  /// The sender gives up: a waiting or later recv returns std::nullopt. No effect once a value
  /// was sent (the receiver still gets it). Idempotent; any thread.
  void close() { core_.close(); }

  /// Awaits the value (see oneshot_recv_awaiter).
  recv_awaiter recv() noexcept { return recv_awaiter{core_}; }

  /// Receives without suspending: ok (the value moved to `out`), empty (not yet), or closed
  /// (closed without a value, or already received).
  [[nodiscard]] try_status try_recv(T& out) { return try_recv_into(core_, out); }
  /// Receives without suspending: the value, or std::nullopt (not yet, or never: is_closed()).
  [[nodiscard]] std::optional<T> try_recv() {
    std::optional<T> value;
    (void)core_.take(value);
    return value;
  }

  /// True once closed without a value (by close(), or a dropped handle).
  [[nodiscard]] bool is_closed() const noexcept { return core_.is_closed(); }

 private:
  template <class>
  friend class oneshot_sender;
  template <class>
  friend class oneshot_receiver;

  static void send_checked(detail::oneshot_core<T>& core, T& value) {
    switch (core.send(value)) {
      case try_status::ok:
        return;
      case try_status::closed:
        throw channel_closed{};
      default:
        throw usage_error("cosync::oneshot: a second send (a oneshot carries one value)");
    }
  }

  static try_status try_recv_into(detail::oneshot_core<T>& core, T& out) {
    std::optional<T> value;
    const try_status status = core.take(value);
    if (status == try_status::ok) {
      out = std::move(*value);
    }
    return status;
  }

  detail::oneshot_core<T> core_;
};

template <class T>
class oneshot_receiver;

/// The sending half of make_oneshot<T>(): move-only; one send. Dropping it unsent closes the
/// oneshot, so the receiver's recv returns std::nullopt instead of waiting forever.
///
/// Thread safety: one thread or coroutine uses a given sender at a time; it may live on a
/// different thread from the receiver, and outlive it or be outlived by it.
template <class T>
class oneshot_sender {
 public:
  /// Takes `other`'s oneshot; the moved-from sender is empty (using it throws cosync::usage_error;
  /// dropping it closes nothing).
  oneshot_sender(oneshot_sender&&) noexcept = default;
  /// Drops (closes, if unsent) the oneshot this one sent to, then takes `other`'s.
  oneshot_sender& operator=(oneshot_sender&& other) noexcept {
    if (this != &other) {
      oneshot_sender dropped{std::move(*this)};
      core_ = std::move(other.core_);
    }
    return *this;
  }
  oneshot_sender(const oneshot_sender&) = delete;
  oneshot_sender& operator=(const oneshot_sender&) = delete;
  ~oneshot_sender() {
    if (core_ != nullptr) {
      core_->close();  // no effect once sent
    }
  }

  ///@{
  /// Sends the value: never waits; wakes the receiver if it waits. Throws, with `value`
  /// untouched: cosync::channel_closed if the receiver was dropped (or closed it),
  /// cosync::usage_error on a second send or a moved-from sender.
  void send(T&& value) { oneshot<T>::send_checked(core(), value); }
  void send(const T& value) requires std::is_copy_constructible_v<T> {
    T copy{value};
    oneshot<T>::send_checked(core(), copy);
  }
  ///@}

  /// Gives up without sending: the receiver gets std::nullopt (what dropping the sender does).
  void close() { core().close(); }

  /// True once the receiver is gone (or the oneshot was closed): a send would throw.
  [[nodiscard]] bool is_closed() const noexcept { return core_ == nullptr || core_->is_closed(); }

 private:
  template <class U>
  friend std::pair<oneshot_sender<U>, oneshot_receiver<U>> make_oneshot();

  explicit oneshot_sender(std::shared_ptr<detail::oneshot_core<T>> core) noexcept : core_{std::move(core)} {}

  detail::oneshot_core<T>& core() const {
    if (core_ == nullptr) {
      throw usage_error("cosync::oneshot_sender: used after it was moved from");
    }
    return *core_;
  }

  std::shared_ptr<detail::oneshot_core<T>> core_;
};

/// The receiving half of make_oneshot<T>(): move-only. Dropping it closes the oneshot, so a later
/// send throws cosync::channel_closed (a value already sent is destroyed with the state).
///
/// Lifetime: a recv awaiter refers to the shared state, not to the handle; the receiver (or a
/// handle it was moved to) must stay alive while its recv is awaited — the receiving coroutine
/// normally holds it. Thread safety: one coroutine receives at a time.
template <class T>
class oneshot_receiver {
 public:
  /// The receive case (a select case), as recv() makes it.
  using recv_op = oneshot_recv_op<T>;
  /// What recv() returns (see oneshot_recv_awaiter).
  using recv_awaiter = oneshot_recv_awaiter<T>;

  /// Takes `other`'s oneshot; the moved-from receiver is empty (using it throws cosync::usage_error;
  /// dropping it closes nothing).
  oneshot_receiver(oneshot_receiver&&) noexcept = default;
  /// Drops (closes) the oneshot this one received from, then takes `other`'s.
  oneshot_receiver& operator=(oneshot_receiver&& other) noexcept {
    if (this != &other) {
      oneshot_receiver dropped{std::move(*this)};
      core_ = std::move(other.core_);
    }
    return *this;
  }
  oneshot_receiver(const oneshot_receiver&) = delete;
  oneshot_receiver& operator=(const oneshot_receiver&) = delete;
  ~oneshot_receiver() {
    if (core_ != nullptr) {
      core_->close();  // sends fail from now on; a value already there goes with the state
    }
  }

  /// Awaits the value (see oneshot_recv_awaiter): std::nullopt once the sender gave up (close,
  /// or dropped unsent). A moved-from receiver throws cosync::usage_error.
  recv_awaiter recv() { return recv_awaiter{core()}; }

  /// Receives without suspending: ok (into `out`), empty (not yet), or closed (never, or already
  /// received).
  [[nodiscard]] try_status try_recv(T& out) { return oneshot<T>::try_recv_into(core(), out); }
  /// Receives without suspending: the value, or std::nullopt (is_closed() tells "never").
  [[nodiscard]] std::optional<T> try_recv() {
    std::optional<T> value;
    (void)core().take(value);
    return value;
  }

  /// True once the sender gave up without sending.
  [[nodiscard]] bool is_closed() const noexcept { return core_ == nullptr || core_->is_closed(); }

 private:
  template <class U>
  friend std::pair<oneshot_sender<U>, oneshot_receiver<U>> make_oneshot();

  explicit oneshot_receiver(std::shared_ptr<detail::oneshot_core<T>> core) noexcept
      : core_{std::move(core)} {}

  detail::oneshot_core<T>& core() const {
    if (core_ == nullptr) {
      throw usage_error("cosync::oneshot_receiver: used after it was moved from");
    }
    return *core_;
  }

  std::shared_ptr<detail::oneshot_core<T>> core_;
};

/// A oneshot as two handles sharing its state (one allocation):
///
///     auto [tx, rx] = cosync::make_oneshot<int>();
///     g.spawn(worker(std::move(tx)));          // worker calls tx.send(42), or drops tx
///     std::optional<int> answer = co_await rx.recv();
template <class T>
[[nodiscard]] std::pair<oneshot_sender<T>, oneshot_receiver<T>> make_oneshot() {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "cosync::make_oneshot<T>: T's move constructor must be noexcept");
  auto core = std::make_shared<detail::oneshot_core<T>>();
  return {oneshot_sender<T>{core}, oneshot_receiver<T>{std::move(core)}};
}

}  // namespace cosync
