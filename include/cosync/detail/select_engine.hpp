#pragma once

// The engine under every form of select (fixed cases, a range, a select_set): cases seen through
// the waiting core's interface (cosync/wait.hpp) without their types, and the passes that decide
// which one completes. docs/design/select.md has the argument.
//
// 1. Fast pass, no lock: each case's try_complete(), in random order (fair) or argument order
//    (priority). The first that succeeds wins; nobody else has seen the select, so nothing needs
//    withdrawing.
// 2. Locked pass: lock every case's lock (each once, in address order, as Go does), try the cases
//    again in the same order; the first that can complete does, else the default case wins, else
//    — unless the scope is cancelled — every case parks with a waiter sharing the select's race,
//    and the select suspends. The locks are released only after every case is parked, so no case
//    can fire before the select is fully registered.
// 3. A parked case completes only by winning the race (waiter::claim); whoever wins wakes the
//    select, which withdraws the other cases on its home executor.

#include <cosync/cancellation.hpp>
#include <cosync/detail/continuation.hpp>
#include <cosync/detail/trace_hooks.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <type_traits>
#include <utility>
#include <variant>

namespace cosync {

template <select_case Case>
class waitable;

/// The default case: makes a select non-blocking — it wins when no other case is ready.
/// At most one per select.
class default_case_t {
 public:
  explicit constexpr default_case_t(int /*tag*/) noexcept {}

 private:
  friend struct case_access;
  bool try_complete() const noexcept { return false; }
  bool park(waiter& /*w*/) const noexcept { return true; }
  void withdraw() const noexcept {}
  void result() const noexcept {}
};
inline constexpr default_case_t default_case{0};

/// Among cases ready at once, which wins: a uniformly random one (select: no case starves), or
/// the first in argument order (select_ordered: priority).
enum class select_order { fair, priority };

namespace detail {

/// The case a select stores for an argument: an operation made awaitable (waitable<Case>) is
/// held as its case.
template <class C>
struct case_of {
  using type = C;
};
template <class C>
struct case_of<waitable<C>> {
  using type = C;
};
template <class C>
using case_of_t = typename case_of<std::remove_cvref_t<C>>::type;

/// What a case's result is as a select returns it (void becomes std::monostate).
template <class C>
using select_value_t =
    std::conditional_t<std::is_void_v<decltype(case_access::result(std::declval<C&>()))>, std::monostate,
                       std::remove_cvref_t<decltype(case_access::result(std::declval<C&>()))>>;

/// A case seen through the interface, without its type.
struct case_ref {
  struct ops {
    bool (*try_complete)(void*);
    void* (*lock_key)(const void*);
    void (*lock)(void*);
    void (*unlock)(void*);
    bool (*try_complete_locked)(void*, wake_list&);
    bool (*park)(void*, waiter&);
    void (*withdraw)(void*);
  };

  template <select_case C>
  static constexpr ops ops_of{
      [](void* c) { return case_access::try_complete(*static_cast<C*>(c)); },
      [](const void* c) { return case_access::lock_key(*static_cast<const C*>(c)); },
      [](void* c) { case_access::lock(*static_cast<C*>(c)); },
      [](void* c) { case_access::unlock(*static_cast<C*>(c)); },
      [](void* c, wake_list& wake) { return case_access::try_complete_locked(*static_cast<C*>(c), wake); },
      [](void* c, waiter& w) { return case_access::park(*static_cast<C*>(c), w); },
      [](void* c) { (void)case_access::withdraw(*static_cast<C*>(c)); },
  };

  template <select_case C>
  static case_ref of(C& c) noexcept {
    return {&c, &ops_of<C>, std::is_same_v<C, default_case_t>};
  }

  void* self;
  const ops* op;
  bool is_default;
};

/// A seed that differs per thread and per run (the clock), so that two runs of a program do not
/// replay the same choices; never zero.
[[nodiscard]] std::uint64_t fresh_seed() noexcept;

/// A fast per-thread generator for the fair order (xorshift64*; quality is plenty for shuffling).
inline std::uint64_t select_random() noexcept {
  thread_local std::uint64_t state = fresh_seed();
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1DULL;
}

/// The scratch a select runs in, sized to its cases: the order it tries them in, the cases sorted
/// by lock, and a waiter per case (stable while parked).
struct select_scratch {
  std::span<case_ref> cases;
  std::span<std::size_t> order;
  std::span<case_ref> by_lock;
  std::span<waiter> waiters;
};

/// One select's wait: the race, the verdict, where to resume, and the scope's cancellation hook.
class select_wait {
 public:
  static constexpr std::size_t none = race_undecided;

  select_wait() = default;
  select_wait(const select_wait&) = delete;
  select_wait& operator=(const select_wait&) = delete;

  /// await_ready's work: fills the order (a uniformly random permutation, or argument order)
  /// and tries each case's lock-free path in it; true if one won.
  bool ready(const select_scratch& s, select_order order) noexcept {
    for (std::size_t i = 0; i < s.order.size(); ++i) {
      s.order[i] = i;
    }
    if (order == select_order::fair) {
      // Fisher-Yates; each draw is a multiply-shift of 16 random bits (bias below i/65536).
      std::uint64_t bits = 0;
      for (std::size_t i = s.order.size(), drawn = 4; i > 1; --i, ++drawn, bits >>= 16) {
        if (drawn == 4) {
          bits = select_random();
          drawn = 0;
        }
        const auto j = static_cast<std::size_t>(((bits & 0xFFFF) * i) >> 16);
        std::swap(s.order[i - 1], s.order[j]);
      }
    }
    for (const std::size_t i : s.order) {
      if (s.cases[i].op->try_complete(s.cases[i].self)) {
        winner_ = i;
        return true;
      }
    }
    return false;
  }

  /// await_suspend's work: the locked pass; true if the select must suspend.
  template <class Promise>
  bool suspend(std::coroutine_handle<Promise> h, const select_scratch& s) {
    cancel_scope* scope = scope_of(h);
    if (!locked_pass(s, continuation::here(h), scope)) {
      return false;
    }
    hook_.arm(h, scope, this);
    if (tracing()) [[unlikely]] {
      trace_park(h.address(), "select");
    }
    return true;
  }

  /// await_resume's first half: the winning case (the others withdrawn); throws
  /// cosync::cancelled if the select was cancelled.
  std::size_t resume(const select_scratch& s);

  /// For the awaiter's destructor, before its cases are destroyed: a select still parked (its
  /// coroutine destroyed at shutdown) decides its race so that no case fires, and withdraws them.
  void abandon_if_parked(const select_scratch& s) noexcept;

  /// What a cancellation does, by hand, from the select's home while it is parked: true if no
  /// case had won (the select resumes and throws cosync::cancelled).
  bool withdraw() { return parked_ && cancel_parked(); }

  [[nodiscard]] bool parked() const noexcept { return parked_; }

 private:
  bool locked_pass(const select_scratch& s, continuation home, cancel_scope* scope);
  bool cancel_parked();
  static void withdraw_all_but(const select_scratch& s, std::size_t winner) noexcept;

  struct on_cancel {
    select_wait* self;
    void operator()() const { (void)self->cancel_parked(); }
  };

  race_word race_{race_undecided};
  std::size_t winner_ = none;
  continuation home_;
  bool parked_ = false;  // cases were parked: withdraw the losers on resume
  cancel_hook<on_cancel> hook_;
};

}  // namespace detail
}  // namespace cosync
