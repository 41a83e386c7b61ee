#pragma once

/// cosync::waitable<Case>: the one cancellable wait. It makes an operation that implements the
/// waiting core's case interface (cosync/wait.hpp) awaitable on its own — every channel send and
/// receive, every sleep is one — and is what a user-defined operation returns to be awaited.
///
///     cosync::waitable<my_case> my_primitive::ready() { return cosync::waitable<my_case>{*this}; }
///     co_await p.ready();                                  // alone: cancellable
///     co_await cosync::select(p.ready(), ch.recv());       // or as a case

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/continuation.hpp>
#include <cosync/detail/give_back.hpp>
#include <cosync/detail/trace_hooks.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>

#include <atomic>
#include <coroutine>
#include <type_traits>
#include <utility>

namespace cosync {
namespace detail {

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

/// What a lone wait remembers between its suspension and its resumption: whether it is parked,
/// and whether it was cancelled. Kept in two flags where the case's structure decides the race
/// (no race word)...
template <bool HasRace>
class wait_state {
 public:
  [[nodiscard]] race_word* race() noexcept { return nullptr; }
  [[nodiscard]] bool parked() const noexcept { return parked_; }
  [[nodiscard]] bool refused() const noexcept { return cancelled_; }
  void park() noexcept { parked_ = true; }
  void refuse() noexcept { cancelled_ = true; }
  /// Leaves the parked state once resumed (or when parking failed), cancelled or not.
  void unpark(bool cancelled) noexcept {
    parked_ = false;
    cancelled_ = cancelled_ || cancelled;
  }
  void cancelled_by_withdraw() noexcept { cancelled_ = true; }  // published by the wake that follows

 private:
  bool parked_ = false;     // the home thread only
  bool cancelled_ = false;  // set before the wake that resumes the coroutine
};

/// ...and, where a race word decides, in the word itself: race_idle (not parked), race_refused
/// (a cancelled scope refused the wait), or while parked race_undecided, race_cancelled or a
/// completer's verdict. It fills the waiter's tail padding, so a sleep costs no flag bytes (a
/// sleeping coroutine's frame holds all of this: every byte is paid 10^5 times over in a server
/// of sleepers).
template <>
class wait_state<true> {
 public:
  [[nodiscard]] race_word* race() noexcept { return &word_; }
  // Relaxed loads and stores on the home thread: the states it reads here are its own writes
  // (a completer only ever turns race_undecided into a verdict, both of which read as parked).
  [[nodiscard]] bool parked() const noexcept {
    const std::uint32_t w = word_.load(std::memory_order_relaxed);
    return w != race_idle && w != race_refused;
  }
  [[nodiscard]] bool refused() const noexcept {
    return word_.load(std::memory_order_relaxed) == race_refused;
  }
  void park() noexcept { word_.store(race_undecided, std::memory_order_relaxed); }  // parking publishes it
  void refuse() noexcept { word_.store(race_refused, std::memory_order_relaxed); }
  void unpark(bool cancelled) noexcept {
    word_.store(cancelled ? race_refused : race_idle, std::memory_order_relaxed);
  }
  /// After the resumption: whether the cancellation won the race (acquire: pairs with the
  /// winner's claim).
  [[nodiscard]] bool cancellation_won() const noexcept {
    return word_.load(std::memory_order_acquire) == race_cancelled;
  }

 private:
  race_word word_{race_idle};
};

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
  /// Makes the case from `args` (a case may keep its constructors private and befriend every
  /// waitable, `template <cosync::select_case> friend class cosync::waitable;`, as the channels do).
  template <class... Args>
  requires requires(Args&&... a) { Case(std::forward<Args>(a)...); }
  explicit waitable(Args&&... args) noexcept(noexcept(Case(std::forward<Args>(args)...)))
      : Case(std::forward<Args>(args)...) {}
  /// Movable until awaited (so that with_timeout or when_any can hold it), never while parked
  /// (asserted in debug builds).
  waitable(waitable&& other) noexcept(std::is_nothrow_move_constructible_v<Case>) : Case(std::move(other)) {
    COSYNC_ASSERT(!other.state_.parked(), "cosync: a parked operation moved");
  }
  waitable& operator=(waitable&&) = delete;
  ~waitable() {
    if (state_.parked()) {
      hook_.disarm();
      if constexpr (!anywhere) {
        (void)detail::decide(*state_.race(), detail::race_cancelled);  // nothing may complete it now
      }
      (void)case_access::withdraw(as_case());
    }
  }

  /// `co_await op` on a send: awaited where it was made, it gives an unsent value back to its
  /// source. (Other operations are awaited directly.)
  detail::awaiter_ref<waitable> operator co_await() && noexcept requires case_access::gives_back<Case> {
    case_access::allow_give_back(as_case());
    return detail::awaiter_ref<waitable>{*this};
  }
  /// A stored send, awaited later: it keeps an unsent value.
  detail::awaiter_ref<waitable> operator co_await() & noexcept requires case_access::gives_back<Case> {
    return detail::awaiter_ref<waitable>{*this};
  }

  ///@{
  /// Awaiter protocol (called by `co_await`, not by users): tries the case; else, under its lock,
  /// tries again and parks it, arming the cancellation hook (in a cancelled scope it refuses to
  /// wait and throws cosync::cancelled); returns the case's result (see the class comment).
  bool await_ready() { return case_access::try_complete(as_case()); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    detail::cancel_scope* scope = detail::scope_of(h);
    waiter_ = detail::waiter_access::make(detail::continuation::here(h), state_.race(), 0);
    if (!park(scope)) {
      return false;
    }
    hook_.arm(h, scope, this);
    if (detail::tracing()) [[unlikely]] {
      detail::trace_park(h.address(), case_access::wait_name<Case>());
    }
    return true;
  }

  decltype(auto) await_resume() {
    if (state_.parked()) {
      hook_.disarm();
      bool lost = false;
      if constexpr (!anywhere) {
        lost = state_.cancellation_won();
        if (lost) {
          (void)case_access::withdraw(as_case());  // on its home, as the case requires
        }
      }
      state_.unpark(lost);
    }
    if (state_.refused()) {
      throw cancelled{};
    }
    return case_access::result(as_case());
  }
  ///@}

  /// From its home while parked, what a cancellation does: takes the operation back — true if it
  /// did (its coroutine is resumed and this await throws cosync::cancelled), false if a completer
  /// won (it returns the result).
  bool withdraw() { return state_.parked() && cancel_parked(); }

 private:
  Case& as_case() noexcept { return *this; }

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
      state_.refuse();  // nothing done
      return false;
    }
    state_.park();  // before the case publishes the waiter
    bool parked = false;
    try {
      parked = case_access::park(as_case(), waiter_);
    } catch (...) {
      state_.unpark(false);
      throw;
    }
    if (!parked) {
      state_.unpark(false);
    }
    return parked;
  }

  // The cancellation: whoever wins completes. Anywhere: withdrawing under the case's own
  // synchronisation decides; otherwise the race word does, and the case is withdrawn on resume.
  bool cancel_parked() {
    // Read now: once the wake below resumes the coroutine, this operation may be gone.
    const void* const frame = detail::waiter_access::continuation_of(waiter_).coroutine.address();
    bool won = false;
    if constexpr (anywhere) {
      won = case_access::withdraw(as_case());
      if (won) {
        state_.cancelled_by_withdraw();  // published to the resumed coroutine by wake()
        waiter_.wake();
      }
    } else {
      won = detail::cancel_by_race(*state_.race(), detail::waiter_access::continuation_of(waiter_));
    }
    if (won && detail::tracing()) [[unlikely]] {
      detail::trace_cancel(frame);
    }
    return won;
  }

  struct on_cancel {
    waitable* self;
    void operator()() const { (void)self->cancel_parked(); }
  };

  [[no_unique_address]] waiter waiter_;
  [[no_unique_address]] detail::wait_state<!anywhere> state_;  // in the waiter's tail padding
  detail::cancel_hook<on_cancel> hook_;
};

}  // namespace cosync
