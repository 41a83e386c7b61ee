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
/// cosync::waitable<Case> makes a case awaitable on its own (cancellable, resumed on its home
/// executor); cosync::select takes it among other cases.

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/continuation.hpp>
#include <cosync/detail/give_back.hpp>

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>

namespace cosync {
namespace detail {

/// Who completes a wait: undecided until a case (its index) or a cancellation wins it with one
/// CAS. Shared by every case of a select; a lone wait on a structure without a lock has its own.
using race_word = std::atomic<std::size_t>;
inline constexpr std::size_t race_undecided = std::numeric_limits<std::size_t>::max();
inline constexpr std::size_t race_cancelled = race_undecided - 1;

/// Decides `race` for `verdict` (a case's index, or race_cancelled) if nobody has: the one CAS
/// behind every claim.
[[nodiscard]] inline bool decide(race_word& race, std::size_t verdict) noexcept {
  std::size_t expected = race_undecided;
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

  waiter(detail::continuation c, detail::race_word* race, std::size_t index) noexcept
      : continuation_{c}, race_{race}, index_{index} {}

  bool claim_as(std::size_t verdict) noexcept { return race_ == nullptr || detail::decide(*race_, verdict); }

  detail::continuation continuation_;
  detail::race_word* race_ = nullptr;
  std::size_t index_ = 0;   // this case's position in its select (0 for a lone wait)
  waiter* next_ = nullptr;  // wake_list's link
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

  /// `w` must have been claimed, and stay alive until woken.
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
  template <class C>
  requires requires(C& c) {
    { c.try_complete() } -> std::convertible_to<bool>;
  }
  static bool try_complete(C& c) { return c.try_complete(); }

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

  template <class C>
  requires requires(C& c) { c.result(); }
  static decltype(auto) result(C& c) { return c.result(); }

  template <class C>
  static constexpr bool locked = requires(C& c, const C& cc, wake_list& wake) {
    { cc.lock_key() } -> std::same_as<void*>;
    c.lock();
    c.unlock();
    { c.try_complete_locked(wake) } -> std::convertible_to<bool>;
  };

  template <class C>
  static void* lock_key(const C& c) noexcept {
    if constexpr (locked<C>) {
      return c.lock_key();
    } else {
      return nullptr;
    }
  }
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
  static void allow_give_back(C& c) noexcept {
    if constexpr (requires { c.allow_give_back(); }) {
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
  static waiter make(continuation c, race_word* race, std::size_t index) noexcept { return {c, race, index}; }
  static bool claim_cancelled(waiter& w) noexcept { return w.claim_as(race_cancelled); }
  static const continuation& continuation_of(const waiter& w) noexcept { return w.continuation_; }
  /// Teardown: the structure holding `w` is going away; the case must not reach for it again.
  static void orphan(waiter& w) noexcept { w.continuation_.coroutine = {}; }
  static bool orphaned(const waiter& w) noexcept { return !w.continuation_.coroutine; }
};

/// A case's lock for the lifetime of a scope (nothing for a case without one).
template <class C>
class case_lock {
 public:
  explicit case_lock(C& c) : case_{c} { case_access::lock(c); }
  case_lock(const case_lock&) = delete;
  case_lock& operator=(const case_lock&) = delete;
  ~case_lock() { case_access::unlock(case_); }

 private:
  C& case_;
};

struct no_race {};

}  // namespace detail

/// A case awaited on its own: `co_await` tries it, parks it if it must wait, and resumes on the
/// awaiting coroutine's home executor once a completer (or a cancellation) wakes it.
///
/// - Lazy; completes without suspending when the case can complete at once.
/// - Cancellation: in a cancelled scope a wait that would have to park throws cosync::cancelled
///   having done nothing; a parked one is cancelled when its scope is — unless a completer won
///   first, whose result it returns (nothing handed over is lost).
/// - Movable until awaited, never while parked; destroyed while parked (a coroutine destroyed at
///   shutdown), it withdraws the case.
template <select_case Case>
class [[nodiscard]] waitable : public Case {
  static constexpr bool anywhere = case_access::withdraws_anywhere<Case>;

 public:
  template <class... Args>
  requires std::is_constructible_v<Case, Args&&...>
  explicit waitable(Args&&... args) noexcept(std::is_nothrow_constructible_v<Case, Args&&...>)
      : Case(std::forward<Args>(args)...) {}
  waitable(waitable&& other) noexcept(std::is_nothrow_move_constructible_v<Case>) : Case(std::move(other)) {
    COSYNC_ASSERT(!other.parked_, "cosync: a parked operation moved");
  }
  waitable& operator=(waitable&&) = delete;
  ~waitable() {
    if (parked_) {
      hook_.disarm();
      if constexpr (!anywhere) {
        (void)detail::waiter_access::claim_cancelled(waiter_);  // nothing may complete it now
      }
      (void)case_access::withdraw(as_case());
    }
  }

  /// `co_await op`: awaited where it was made (a send gives an unsent value back to its source).
  detail::awaiter_ref<waitable> operator co_await() && noexcept {
    case_access::allow_give_back(as_case());
    return detail::awaiter_ref<waitable>{*this};
  }
  /// A stored operation, awaited later (a send keeps an unsent value).
  detail::awaiter_ref<waitable> operator co_await() & noexcept {
    return detail::awaiter_ref<waitable>{*this};
  }

  bool await_ready() { return case_access::try_complete(as_case()); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    detail::cancel_scope* scope = detail::scope_of(h);
    waiter_ = detail::waiter_access::make(detail::continuation::here(h), race(), 0);
    if (!park(scope)) {
      return false;
    }
    hook_.arm(h, scope, this);
    return true;
  }

  decltype(auto) await_resume() {
    if (parked_) {
      parked_ = false;
      hook_.disarm();
      if constexpr (!anywhere) {
        // acquire: pairs with the claim of whoever won.
        if (race_.load(std::memory_order_acquire) == detail::race_cancelled) {
          (void)case_access::withdraw(as_case());  // on its home, as the case requires
          cancelled_ = true;
        }
      }
    }
    if (cancelled_) {
      throw cancelled{};
    }
    return case_access::result(as_case());
  }

  /// From its home while parked, what a cancellation does: takes the operation back — true if it
  /// did (its coroutine is resumed and this await throws cosync::cancelled), false if a completer
  /// won (it returns the result).
  bool withdraw() { return parked_ && cancel_parked(); }

 private:
  Case& as_case() noexcept { return *this; }
  detail::race_word* race() noexcept {
    if constexpr (anywhere) {
      return nullptr;  // the case's structure decides: withdrawing is the claim
    } else {
      race_.store(detail::race_undecided, std::memory_order_relaxed);  // relaxed: before parking publishes it
      return &race_;
    }
  }

  // Returns whether to suspend.
  bool park(detail::cancel_scope* scope) {
    wake_list wake;  // outlives the lock: the parties a completion unblocked wake after it
    const detail::case_lock<Case> lock{as_case()};
    if constexpr (case_access::locked<Case>) {
      if (case_access::try_complete_locked(as_case(), wake)) {
        return false;
      }
    }
    if (!detail::may_wait(scope)) {
      cancelled_ = true;  // nothing done
      return false;
    }
    parked_ = true;
    try {
      parked_ = case_access::park(as_case(), waiter_);
    } catch (...) {
      parked_ = false;
      throw;
    }
    return parked_;
  }

  // The cancellation: whoever wins completes. Anywhere: withdrawing under the case's own
  // synchronisation decides; otherwise the race word does, and the case is withdrawn on resume.
  bool cancel_parked() {
    if constexpr (anywhere) {
      if (!case_access::withdraw(as_case())) {
        return false;
      }
      cancelled_ = true;  // published to the resumed coroutine by wake()
    } else if (!detail::waiter_access::claim_cancelled(waiter_)) {
      return false;
    }
    waiter_.wake();
    return true;
  }

  struct on_cancel {
    waitable* self;
    void operator()() const { (void)self->cancel_parked(); }
  };

  waiter waiter_;
  [[no_unique_address]] std::conditional_t<anywhere, detail::no_race, detail::race_word> race_{};
  detail::cancel_hook<on_cancel> hook_;
  bool parked_ = false;     // owner thread only
  bool cancelled_ = false;  // set before the wake that resumes the owner
};

}  // namespace cosync
