#pragma once

/// The waiting core, and cosync's extension point. Every operation that may have to wait — a
/// channel send or receive (both channel kinds), a timer, each case of a select, and any operation
/// a user writes — parks its coroutine, is completed exactly once and is cancelled by this one
/// protocol (docs/design/waiting.md has the argument).
///
/// An operation (a *case*) implements, publicly or privately with
/// `friend struct cosync::case_access;`:
///
///     bool try_complete();           // complete now, without waiting and without a lock, if it can
///     bool park(cosync::waiter& w);  // register `w` (stable until withdrawn or woken) to be
///                                    // completed later; true. False only if, having registered,
///                                    // it found it can complete now and won w.claim() itself.
///     bool withdraw();               // take the registration back; true if it was still there
///     R    result();                 // the outcome once completed (may throw; R may be void)
///   and, if completers decide under a lock (as a channel's do):
///     void* lock_key() const;        // the lock's identity (select takes each lock once)
///     void lock();  void unlock();
///     bool try_complete_locked(cosync::wake_list& wake);  // try_complete, under the lock
///
/// Three rules make it safe in a select, under cancellation and at shutdown:
/// 1. A completer (whatever makes the operation ready: a send for a parked receive, a timer, a
///    close) takes the registration out first, then calls `w.claim()`; only if that is true does
///    it complete the operation (hand over a value) and wake the waiter — `w.wake()`, or
///    `wake.push(w)` to wake it once its lock is released. False means a competing case or a
///    cancellation won: it leaves the operation untouched.
/// 2. withdraw() is synchronised with completers (their lock, or a compare-exchange): once it
///    returns, no completer touches the operation or `w` again.
/// 3. park() either registers or throws (registering nothing).
///
/// cosync::waitable<Case> (cosync/waitable.hpp) makes a case awaitable on its own (cancellable,
/// resumed on its home executor); cosync::select takes it among other cases.

#include <cosync/config.hpp>
#include <cosync/detail/continuation.hpp>

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

namespace cosync {
namespace detail {

/// Who completes a wait: undecided until a case (its index) or a cancellation wins it with one
/// CAS. Shared by every case of a select; a lone wait that its structure does not decide has its
/// own. 32 bits: it sits in the frame of every sleeping coroutine.
using race_word = std::atomic<std::uint32_t>;
inline constexpr std::uint32_t race_undecided = std::numeric_limits<std::uint32_t>::max();
inline constexpr std::uint32_t race_cancelled = race_undecided - 1;
/// Not verdicts: what a lone wait's own race word holds while it is not parked (waitable.hpp).
inline constexpr std::uint32_t race_idle = race_undecided - 2;
inline constexpr std::uint32_t race_refused = race_undecided - 3;
/// The most cases one select may have (their indices are verdicts).
inline constexpr std::size_t max_select_cases = race_refused;

/// Decides `race` for `verdict` (a case's index, or race_cancelled) if nobody has: the one CAS
/// behind every claim.
[[nodiscard]] inline bool decide(race_word& race, std::uint32_t verdict) noexcept {
  std::uint32_t expected = race_undecided;
  // acq_rel: acquire sees the waiter's setup of its cases; release publishes, with the wake that
  // follows, whatever the winner handed over.
  return race.compare_exchange_strong(expected, verdict, std::memory_order_acq_rel);
}

struct waiter_access;

}  // namespace detail

/// A parked coroutine as the operation it waits in sees it: whom to resume, where (its home
/// executor), and the race to win before completing it. Made by cosync, never by users.
class waiter {
 public:
  waiter() = default;

  /// Wins the right to complete the operation (rule 1). Always true for a lone wait whose
  /// structure decides by taking the waiter out (a channel's lock, an SPSC spot's CAS); for a
  /// select case or a timed wait, true for the first claimant only.
  [[nodiscard]] bool claim() noexcept { return claim_as(index_); }

  /// False once the wait was decided elsewhere: a completer may then drop the registration
  /// without claiming it.
  [[nodiscard]] bool live() const noexcept {
    // acquire: as in detail::decide.
    return race_ == nullptr || race_->load(std::memory_order_acquire) == detail::race_undecided;
  }

  /// Resumes the waiting coroutine on its home executor, after a successful claim(). A coroutine
  /// waiting off any executor resumes inline: never call this under a lock (use a wake_list).
  void wake() const { continuation_.resume(); }

 private:
  friend class wake_list;
  friend struct detail::waiter_access;

  waiter(detail::continuation c, detail::race_word* race, std::uint32_t index) noexcept
      : continuation_{c}, race_{race}, index_{index} {}

  bool claim_as(std::uint32_t verdict) noexcept {
    return race_ == nullptr || detail::decide(*race_, verdict);
  }

  // Left uninitialised until make() (a waiter lives in every awaiter, most of which never park).
  detail::continuation continuation_;
  union {
    detail::race_word* race_;  // until claimed
    waiter* next_;             // once claimed: wake_list's link (nobody reads the race through it again)
  };
  std::uint32_t index_;  // this case's position in its select (0 for a lone wait)
};

/// Waiters to wake once a lock is released (waking one that waits off any executor resumes it
/// inline, which must not happen under the lock). Intrusive — push never allocates, so a locked
/// step never fails halfway — and it wakes whoever is still listed when destroyed, so an
/// exception after a claim strands nobody. Declare it before the lock's guard.
class wake_list {
 public:
  wake_list() = default;
  wake_list(const wake_list&) = delete;
  wake_list& operator=(const wake_list&) = delete;
  ~wake_list() { wake_all(); }

  /// `w` must have been claimed (its race link is reused), and stay alive until woken.
  void push(waiter& w) noexcept {
    w.next_ = nullptr;
    (tail_ != nullptr ? tail_->next_ : head_) = &w;
    tail_ = &w;
  }

  /// Out of memory while queueing a wakeup is fatal (std::terminate): a lost wakeup would hang.
  void wake_all() noexcept {
    while (waiter* w = head_) {
      head_ = w->next_;  // read first: the woken coroutine may destroy its waiter at once
      if (head_ == nullptr) {
        tail_ = nullptr;
      }
      w->wake();
    }
  }

 private:
  waiter* head_ = nullptr;
  waiter* tail_ = nullptr;
};

/// Calls a case's interface (see the file comment): befriend it to keep the interface private.
struct case_access {
  /// What a parked case waits for, as a trace names it: the case's `wait_name`, else "wait".
  template <class C>
  static constexpr const char* wait_name() noexcept {
    if constexpr (requires { C::wait_name; }) {
      return C::wait_name;
    } else {
      return "wait";
    }
  }

  /// Calls `c.try_complete()`: completes now, without waiting or a lock, if it can.
  template <class C>
  requires requires(C& c) {
    { c.try_complete() } -> std::convertible_to<bool>;
  }
  static bool try_complete(C& c) { return c.try_complete(); }

  /// Calls `c.park(w)`; a park that returns nothing always registers (true).
  template <class C>
  requires requires(C& c, waiter& w) { c.park(w); }
  static bool park(C& c, waiter& w) {
    if constexpr (std::is_void_v<decltype(c.park(w))>) {
      c.park(w);
      return true;
    } else {
      return c.park(w);
    }
  }

  /// Calls `c.withdraw()`; a withdraw that returns nothing always takes the registration back
  /// (true).
  template <class C>
  requires requires(C& c) { c.withdraw(); }
  static bool withdraw(C& c) {
    if constexpr (std::is_void_v<decltype(c.withdraw())>) {
      c.withdraw();
      return true;
    } else {
      return c.withdraw();
    }
  }

  /// Calls `c.result()`: the outcome of the completed case (may throw).
  template <class C>
  requires requires(C& c) { c.result(); }
  static decltype(auto) result(C& c) { return c.result(); }

  /// Whether completers of `C` decide under a lock: it has lock_key(), lock(), unlock() and
  /// try_complete_locked().
  template <class C>
  static constexpr bool locked = requires(C& c, const C& cc, wake_list& wake) {
    { cc.lock_key() } -> std::same_as<void*>;
    c.lock();
    c.unlock();
    { c.try_complete_locked(wake) } -> std::convertible_to<bool>;
  };

  /// The identity of `c`'s lock (select takes each lock once); nullptr for a case without one.
  template <class C>
  static void* lock_key(const C& c) noexcept {
    if constexpr (locked<C>) {
      return c.lock_key();
    } else {
      return nullptr;
    }
  }
  ///@{
  /// Takes or releases `c`'s lock; nothing for a case without one.
  template <class C>
  static void lock(C& c) {
    if constexpr (locked<C>) {
      c.lock();
    }
  }
  template <class C>
  static void unlock(C& c) noexcept {
    if constexpr (locked<C>) {
      c.unlock();
    }
  }
  ///@}
  /// Calls `c.try_complete_locked(wake)`, under `c`'s lock; try_complete() for a case without one.
  template <class C>
  static bool try_complete_locked(C& c, wake_list& wake) {
    if constexpr (locked<C>) {
      return c.try_complete_locked(wake);
    } else {
      return c.try_complete();
    }
  }

  /// A case whose withdraw() is exact from any thread (rule 2 without a race): a lone wait on it
  /// is cancelled by withdrawing it on the cancelling thread and needs no race word.
  template <class C>
  static constexpr bool withdraws_anywhere = requires {
    requires C::withdraw_from_any_thread;
  };

  /// A send case awaited where it was made may give an unsent value back to its source.
  template <class C>
  static constexpr bool gives_back = requires(C& c) {
    c.allow_give_back();
  };
  /// Lets a send case give an unsent value back to its source when it goes away (awaited where it
  /// was made); nothing for other cases.
  template <class C>
  static void allow_give_back(C& c) noexcept {
    if constexpr (gives_back<C>) {
      c.allow_give_back();
    }
  }
};

/// What select (and waitable) need of a case: the interface in the file comment.
template <class C>
concept select_case = std::move_constructible<C> && requires(C& c, waiter& w) {
  case_access::try_complete(c);
  case_access::park(c, w);
  case_access::withdraw(c);
  case_access::result(c);
};

namespace detail {

/// Builds waiters for the engines (a lone wait, a select).
struct waiter_access {
  static waiter make(continuation c, race_word* race, std::size_t index) noexcept {
    return {c, race, static_cast<std::uint32_t>(index)};
  }
  static const continuation& continuation_of(const waiter& w) noexcept { return w.continuation_; }
  /// Teardown: the structure holding `w` is going away; the case must not reach for it again.
  static void orphan(waiter& w) noexcept { w.continuation_.coroutine = {}; }
  static bool orphaned(const waiter& w) noexcept { return !w.continuation_.coroutine; }
};

/// The cancellation of a wait that its race word decides (a select; a lone wait its structure
/// does not decide): wins the race for race_cancelled and wakes the coroutine. False if a
/// completer, a timer or an earlier cancellation won.
inline bool cancel_by_race(race_word& race, const continuation& waiting) {
  if (!decide(race, race_cancelled)) {
    return false;
  }
  waiting.resume();
  return true;
}

}  // namespace detail
}  // namespace cosync
