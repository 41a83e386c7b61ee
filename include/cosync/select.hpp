#pragma once

/// cosync::select: awaits the first of several operations — channel sends and receives, timers, a
/// default case — completes exactly that one, and withdraws the others without consuming or losing
/// anything.
///
///     auto r = co_await cosync::select(jobs.recv(), control.recv(), cosync::after(50ms));
///     switch (r.index()) {
///       case 0: run(get<0>(r));  break;  // a std::optional<Job>: empty once `jobs` is closed
///       case 1: obey(get<1>(r)); break;
///       case 2: heartbeat();     break;  // 50 ms without either
///     }
///
/// How one case wins (docs/design/select.md has the argument):
/// 1. Fast pass, no lock: each case's lock-free attempt (a channel's fast path), in random order
///    (select) or argument order (select_ordered). The first that succeeds wins; nobody else has
///    seen the select yet, so nothing needs withdrawing.
/// 2. Locked pass: lock every case's channel (each once, in address order, as Go does), poll the
///    cases again in the same order; the first that can complete does, else the default case
///    wins, else every case parks in its channel (a timer case arms its timer) and the select
///    suspends. The channels are unlocked only after every case is queued, so no case can fire
///    before the select is fully registered.
/// 3. A parked case fires only by winning the select's race — one CAS on a word shared by all its
///    cases — before it hands over anything; a case that finds the race won leaves the select
///    alone. The select resumes on its own executor and withdraws the losing cases.
///
/// The select-case protocol — what a type needs to be a case (cosync::select_case):
///     bool  select_ready();                     // complete now, lock-free, or say no
///     void* select_lock_key() const;            // its lock's identity, or nullptr (no lock)
///     void  select_lock(); void select_unlock();
///     bool  select_complete_locked(detail::wake_list&);  // under the lock: complete if it can
///     void  select_park_locked(const detail::parked_party&);  // queue; fire only by claim()
///     void  select_withdraw();                  // after losing: leave the queue, consume nothing
///     R     await_resume();                     // the case's result, once it has won
/// channel<T>::send_awaiter / recv_awaiter, after(), at() and default_case implement it.

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/deadline.hpp>
#include <cosync/detail/give_back.hpp>
#include <cosync/detail/parked_queue.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/timer.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cosync {

/// What select needs of a case (see the protocol in the file comment).
template <class C>
concept select_case = std::move_constructible<C> &&
    requires(C& c, const C& cc, detail::wake_list& wake, const detail::parked_party& as) {
  { c.select_ready() } -> std::same_as<bool>;
  { cc.select_lock_key() } -> std::same_as<void*>;
  c.select_lock();
  c.select_unlock();
  { c.select_complete_locked(wake) } -> std::same_as<bool>;
  c.select_park_locked(as);
  c.select_withdraw();
  c.await_resume();
};

/// A timer case: wins once its deadline has passed (made by after() and at()).
///
/// - after(d) measures `d` from the moment the select finds no case ready and parks, so a
///   select that completes at once never reads the clock; at(tp) is a fixed deadline.
/// - Losing disarms the timer (O(log n)): no timer outlives its select.
/// - Needs an executor thread to park on (the select throws cosync::usage_error otherwise).
class [[nodiscard]] timer_case {
 public:
  explicit timer_case(steady_clock::duration after) noexcept : after_{after} {}
  explicit timer_case(steady_clock::time_point at) noexcept : fixed_{true} { node_.deadline = at; }
  /// Movable until it parks (so that select() can hold it).
  timer_case(timer_case&& other) noexcept : after_{other.after_}, fixed_{other.fixed_} {
    COSYNC_ASSERT(!other.node_.armed(), "cosync::timer_case moved while armed");
    node_.deadline = other.node_.deadline;
  }
  timer_case& operator=(timer_case&&) = delete;
  ~timer_case() {
    if (node_.armed()) {
      detail::cancel_timer(node_);
    }
  }

  bool select_ready() const noexcept { return !fixed_ && after_ <= steady_clock::duration::zero(); }
  void* select_lock_key() const noexcept { return nullptr; }
  void select_lock() noexcept {}
  void select_unlock() noexcept {}
  bool select_complete_locked(detail::wake_list&) noexcept {
    if (!fixed_) {
      node_.deadline = detail::deadline_after(after_);
      return after_ <= steady_clock::duration::zero();
    }
    return node_.deadline <= steady_clock::now();
  }
  void select_park_locked(const detail::parked_party& as) {
    node_.as = as;
    node_.waiter = as.waiter;
    node_.on_fire = &fire;
    detail::arm_timer(*as.home, node_);
  }
  void select_withdraw() noexcept { detail::cancel_timer(node_); }
  void await_resume() const noexcept {}

 private:
  struct node : detail::timer_node {
    detail::parked_party as;  // the select's identity (not queued anywhere)
  };

  // On the owner executor's thread, when the deadline passes.
  static void fire(detail::timer_node& base) {
    node& n = static_cast<node&>(base);
    if (n.as.claim()) {
      detail::post(*n.as.home, n.as.waiter);
    }
  }

  steady_clock::duration after_{};
  bool fixed_ = false;
  node node_{};
};

/// A case that wins after `duration` without any other case completing (see timer_case).
template <class Rep, class Period>
[[nodiscard]] timer_case after(std::chrono::duration<Rep, Period> duration) noexcept {
  const steady_clock::duration ticks = detail::clamp_duration(duration);
  if (ticks == steady_clock::duration::max()) {
    return timer_case{steady_clock::time_point::max()};
  }
  return timer_case{ticks};
}

/// A case that wins at `deadline` unless another case completes first (see timer_case).
[[nodiscard]] inline timer_case at(steady_clock::time_point deadline) noexcept {
  return timer_case{deadline};
}

/// The default case: makes a select non-blocking — it wins when no other case is ready.
/// At most one per select.
struct default_case_t {
  explicit constexpr default_case_t(int /*tag*/) noexcept {}
  bool select_ready() const noexcept { return false; }
  void* select_lock_key() const noexcept { return nullptr; }
  void select_lock() const noexcept {}
  void select_unlock() const noexcept {}
  bool select_complete_locked(detail::wake_list&) const noexcept { return false; }
  void select_park_locked(const detail::parked_party&) const noexcept {}
  void select_withdraw() const noexcept {}
  void await_resume() const noexcept {}
};
inline constexpr default_case_t default_case{0};

namespace detail {

// ---------------------------------------------------------------- the engine, shared by all forms

/// A case seen through the protocol, without its type.
struct select_case_ref {
  struct ops {
    bool (*ready)(void*);
    void* (*lock_key)(const void*);
    void (*lock)(void*);
    void (*unlock)(void*);
    bool (*complete_locked)(void*, wake_list&);
    void (*park_locked)(void*, const parked_party&);
    void (*withdraw)(void*);
  };

  template <select_case C>
  static constexpr ops ops_of{
      [](void* c) { return static_cast<C*>(c)->select_ready(); },
      [](const void* c) { return static_cast<const C*>(c)->select_lock_key(); },
      [](void* c) { static_cast<C*>(c)->select_lock(); },
      [](void* c) { static_cast<C*>(c)->select_unlock(); },
      [](void* c, wake_list& wake) { return static_cast<C*>(c)->select_complete_locked(wake); },
      [](void* c, const parked_party& as) { static_cast<C*>(c)->select_park_locked(as); },
      [](void* c) { static_cast<C*>(c)->select_withdraw(); },
  };

  template <select_case C>
  static select_case_ref of(C& c) noexcept {
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

/// Runs a select over `cases`; `order` and `by_lock` are scratch of the same size. The caller owns
/// the race, which must start undecided.
class select_engine {
 public:
  static constexpr std::size_t parked = race_undecided;

  /// Fills `order` (a uniformly random permutation, or argument order) and tries every case's
  /// lock-free path in it. Returns the winner, or `parked` if none was ready.
  static std::size_t fast_pass(std::span<select_case_ref> cases, std::span<std::size_t> order,
                               bool ordered) noexcept {
    for (std::size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    if (!ordered) {
      // Fisher-Yates; each draw is a multiply-shift of 16 random bits (bias below i/65536).
      std::uint64_t bits = 0;
      for (std::size_t i = order.size(), drawn = 4; i > 1; --i, ++drawn, bits >>= 16) {
        if (drawn == 4) {
          bits = select_random();
          drawn = 0;
        }
        const auto j = static_cast<std::size_t>(((bits & 0xFFFF) * i) >> 16);
        std::swap(order[i - 1], order[j]);
      }
    }
    for (std::size_t i : order) {
      if (cases[i].op->ready(cases[i].self)) {
        return i;
      }
    }
    return parked;
  }

  /// The locked pass (see the file comment). Returns the winner, race_cancelled if nothing was
  /// ready and `scope` is cancelled, or `parked` if every case was queued and the caller must
  /// suspend.
  static std::size_t locked_pass(std::span<select_case_ref> cases, std::span<const std::size_t> order,
                                 std::span<select_case_ref> by_lock, select_race& race,
                                 std::coroutine_handle<> waiter, cancel_scope* scope) {
    std::size_t default_index = parked;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      if (cases[i].is_default) {
        default_index = i;
      }
    }
    executor* home = current_executor();
    if (home == nullptr && default_index == parked) {
      throw usage_error("cosync::select must be awaited on an executor thread unless it has a default case");
    }
    wake_list wake;  // resumes the parties a completing case unblocked, after the locks
    std::size_t winner = parked;
    std::size_t queued = 0;
    std::exception_ptr failure;
    {
      const lock_set locks{cases, by_lock};
      for (std::size_t i : order) {
        if (cases[i].op->complete_locked(cases[i].self, wake)) {
          winner = i;
          break;
        }
      }
      if (winner == parked && default_index != parked) {
        winner = default_index;
      }
      if (winner == parked && scope != nullptr && scope->stop_requested()) {
        winner = race_cancelled;  // nothing is ready, and a cancelled scope may not wait
      }
      if (winner == parked) {
        queued = park_all(cases, order, race, waiter, home, failure);
      }
    }
    if (failure) {
      for (const std::size_t i : order.first(queued)) {
        cases[i].op->withdraw(cases[i].self);
      }
      std::rethrow_exception(failure);
    }
    return winner;
  }

  /// After resumption: the winning case (or race_cancelled); every other case is withdrawn.
  static std::size_t finish(std::span<select_case_ref> cases, select_race& race) {
    const std::size_t winner = race.load(std::memory_order_acquire);  // acquire: pairs with claim()
    withdraw_all_but(cases, winner);
    return winner;
  }

  /// A parked select destroyed without being resumed (runtime shutdown): decide the race so that
  /// no case can fire any more, then withdraw every case.
  static void abandon(std::span<select_case_ref> cases, select_race& race) noexcept {
    std::size_t expected = race_undecided;
    // acq_rel: as in parked_party::claim().
    (void)race.compare_exchange_strong(expected, race_cancelled, std::memory_order_acq_rel);
    withdraw_all_but(cases, race_undecided);
  }

  /// Cancels a parked select: true if no case had won yet (it resumes and throws
  /// cosync::cancelled), false if one had (it returns that case's result: nothing is lost).
  static bool cancel(select_race& race, std::coroutine_handle<> waiter, executor* home) {
    std::size_t expected = race_undecided;
    // acq_rel: as in parked_party::claim().
    if (!race.compare_exchange_strong(expected, race_cancelled, std::memory_order_acq_rel)) {
      return false;
    }
    post(*home, waiter);
    return true;
  }

 private:
  // Queues every case in the pass's order — random for select(), so that whichever case the other
  // side finds first after parking is random too (Go's select parks in its poll order). Returns
  // how many were queued before one threw (a timer heap that cannot grow): then, since nobody can
  // claim a case while we hold every case's lock, deciding the race keeps those already queued
  // from ever firing; the caller withdraws them once the locks are released and rethrows.
  static std::size_t park_all(std::span<select_case_ref> cases, std::span<const std::size_t> order,
                              select_race& race, std::coroutine_handle<> waiter, executor* home,
                              std::exception_ptr& failure) noexcept {
    parked_party as;
    as.waiter = waiter;
    as.home = home;
    as.race = &race;
    std::size_t queued = 0;
    try {
      for (; queued < order.size(); ++queued) {
        as.case_index = order[queued];
        cases[as.case_index].op->park_locked(cases[as.case_index].self, as);
      }
    } catch (...) {
      race.store(race_cancelled, std::memory_order_relaxed);  // relaxed: we hold every case's lock
      failure = std::current_exception();
    }
    return queued;
  }

  static void withdraw_all_but(std::span<select_case_ref> cases, std::size_t winner) noexcept {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      if (i != winner) {
        cases[i].op->withdraw(cases[i].self);
      }
    }
  }

  // Every case's lock, each once, in address order (deadlock-free against other selects);
  // `by_lock` is scratch for the cases sorted by lock.
  class lock_set {
   public:
    lock_set(std::span<const select_case_ref> cases, std::span<select_case_ref> by_lock) : by_lock_{by_lock} {
      std::copy(cases.begin(), cases.end(), by_lock.begin());
      std::sort(by_lock.begin(), by_lock.end(), [](const select_case_ref& a, const select_case_ref& b) {
        return std::less<>{}(key(a), key(b));
      });
      for (std::size_t i = 0; i < by_lock.size(); ++i) {
        if (first_of_its_lock(i)) {
          by_lock[i].op->lock(by_lock[i].self);
        }
      }
    }
    lock_set(const lock_set&) = delete;
    lock_set& operator=(const lock_set&) = delete;
    ~lock_set() {
      for (std::size_t i = by_lock_.size(); i-- > 0;) {
        if (first_of_its_lock(i)) {
          by_lock_[i].op->unlock(by_lock_[i].self);
        }
      }
    }

   private:
    static void* key(const select_case_ref& c) noexcept { return c.op->lock_key(c.self); }
    [[nodiscard]] bool first_of_its_lock(std::size_t i) const noexcept {
      void* k = key(by_lock_[i]);
      return k != nullptr && (i == 0 || key(by_lock_[i - 1]) != k);
    }

    std::span<select_case_ref> by_lock_;
  };
};

/// The waiting half both select awaiters share: the race, the verdict, where to resume, and the
/// scope's cancellation hook.
class select_wait {
 public:
  select_wait() = default;
  select_wait(const select_wait&) = delete;
  select_wait& operator=(const select_wait&) = delete;

  /// await_ready's work: the fast pass; true if a case won.
  bool ready(std::span<select_case_ref> cases, std::span<std::size_t> order, bool ordered) noexcept {
    winner_ = select_engine::fast_pass(cases, order, ordered);
    return winner_ != select_engine::parked;
  }

  /// await_suspend's work: the locked pass, parking if nothing is ready; false if it completed
  /// (a case won, or the scope is cancelled and it may not wait).
  template <class Promise>
  bool suspend(std::coroutine_handle<Promise> waiter, std::span<select_case_ref> cases,
               std::span<const std::size_t> order, std::span<select_case_ref> by_lock) {
    home_ = current_executor();
    waiter_ = waiter;
    cancel_scope* scope = scope_of(waiter);
    winner_ = select_engine::locked_pass(cases, order, by_lock, race_, waiter, scope);
    parked_ = winner_ == select_engine::parked;
    if (parked_) {
      cancel_hook_.arm(waiter, scope, this);
    }
    return parked_;
  }

  /// await_resume's first half: the winning case (the others withdrawn); throws
  /// cosync::cancelled if the select was cancelled.
  std::size_t resume(std::span<select_case_ref> cases) {
    if (parked_) {
      resumed_ = true;
      cancel_hook_.disarm();
      winner_ = select_engine::finish(cases, race_);
    }
    if (winner_ == race_cancelled) {
      throw cancelled{};
    }
    return winner_;
  }

  /// For the awaiter's destructor, before its cases are destroyed.
  void abandon_if_parked(std::span<select_case_ref> cases) noexcept {
    if (parked_ && !resumed_) {
      cancel_hook_.disarm();
      select_engine::abandon(cases, race_);
    }
  }

  bool cancel() { return parked_ && !resumed_ && select_engine::cancel(race_, waiter_, home_); }

 private:
  // The scope's cancellation, on whichever thread requests it: the same CAS as cancel().
  struct cancel_on_stop {
    select_wait* self;
    void operator()() const { (void)select_engine::cancel(self->race_, self->waiter_, self->home_); }
  };

  select_race race_{race_undecided};
  std::size_t winner_ = select_engine::parked;
  std::coroutine_handle<> waiter_;
  executor* home_ = nullptr;
  bool parked_ = false;
  bool resumed_ = false;
  cancel_hook<cancel_on_stop> cancel_hook_;
};

template <class C>
using select_value_t =
    std::conditional_t<std::is_void_v<decltype(std::declval<C&>().await_resume())>, std::monostate,
                       std::remove_cvref_t<decltype(std::declval<C&>().await_resume())>>;

}  // namespace detail

/// What a select over fixed cases returns: a std::variant whose index() is the winning case's
/// position and whose alternative holds that case's result (std::monostate for cases without
/// one: a send, a timer, the default). Read it with get<I>(r).
template <class... Cases>
using select_result = std::variant<detail::select_value_t<Cases>...>;

/// The awaitable made by select() and select_ordered() over fixed cases.
///
/// - Lazy; completes without suspending when a case is ready (or there is a default case).
/// - Exactly one case completes; the others consume and move nothing, and their timers are
///   disarmed. A send case that loses keeps its value.
/// - Resumes on the selecting coroutine's own executor, whichever executor completed the case.
/// - A recv case on a closed, drained channel wins with std::nullopt; a send case on a closed
///   channel wins and the select throws cosync::channel_closed (the value goes back to the caller,
///   as for a losing send case).
/// - Cancellation: in a cancelled scope (cancellation.hpp), a select that would have to wait
///   throws cosync::cancelled; one waiting when its scope is cancelled withdraws every case and
///   throws it — unless a case had already won, whose result it returns (nothing is lost).
///   cancel() is the same, by hand, from the select's executor.
/// - The same channel may appear in several cases (its lock is taken once); a select with no case
///   does not compile (use a range select for runtime-sized sets).
template <bool Ordered, class... Cases>
class [[nodiscard]] select_awaiter {
  static_assert(sizeof...(Cases) > 0,
                "cosync::select needs at least one case: an empty select would never complete");
  static_assert((0 + ... + std::is_same_v<Cases, default_case_t>) <= 1,
                "cosync::select takes at most one default_case");
  static constexpr std::size_t size = sizeof...(Cases);

 public:
  using result_type = select_result<Cases...>;

  explicit select_awaiter(Cases&&... cases) : cases_{std::move(cases)...} {}
  select_awaiter(const select_awaiter&) = delete;
  select_awaiter& operator=(const select_awaiter&) = delete;
  ~select_awaiter() { wait_.abandon_if_parked(refs_); }

  /// `co_await select(...)`: awaited where it is made, so a losing send case gives its value back
  /// to the object it was moved from (see channel<T>::send_awaiter).
  detail::awaiter_ref<select_awaiter> operator co_await() && noexcept {
    std::apply([](auto&... c) { (give_back_if_unsent(c), ...); }, cases_);
    return detail::awaiter_ref<select_awaiter>{*this};
  }
  /// A stored select: its send cases keep values they did not send.
  detail::awaiter_ref<select_awaiter> operator co_await() & noexcept {
    return detail::awaiter_ref<select_awaiter>{*this};
  }

  bool await_ready() {
    refs_ = std::apply([](auto&... c) { return std::array{detail::select_case_ref::of(c)...}; }, cases_);
    return wait_.ready(refs_, order_, Ordered);
  }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> waiter) {
    return wait_.suspend(waiter, refs_, order_, by_lock_);
  }

  result_type await_resume() { return result_of(wait_.resume(refs_), std::make_index_sequence<size>{}); }

  /// From the select's own executor; false unless it is parked.
  bool cancel() { return wait_.cancel(); }

 private:
  template <std::size_t... I>
  result_type result_of(std::size_t winner, std::index_sequence<I...> /*cases*/) {
    std::optional<result_type> result;
    (void)((winner == I ? (result.emplace(take<I>()), true) : false) || ...);
    return std::move(*result);
  }

  template <std::size_t I>
  result_type take() {
    auto& c = std::get<I>(cases_);
    if constexpr (std::is_void_v<decltype(c.await_resume())>) {
      c.await_resume();  // may throw (a send on a closed channel)
      return result_type{std::in_place_index<I>};
    } else {
      return result_type{std::in_place_index<I>, c.await_resume()};
    }
  }

  template <class C>
  static void give_back_if_unsent(C& c) noexcept {
    if constexpr (requires { c.select_give_back(); }) {
      c.select_give_back();
    }
  }

  std::tuple<Cases...> cases_;
  // Scratch, filled before use (left uninitialised: a select is made on every loop iteration).
  std::array<detail::select_case_ref, size> refs_;
  std::array<std::size_t, size> order_;
  std::array<detail::select_case_ref, size> by_lock_;
  detail::select_wait wait_;
};

/// Awaits the first ready case; among several ready ones, a uniformly random one (no case
/// starves). See select_awaiter.
template <select_case... Cases>
[[nodiscard]] select_awaiter<false, Cases...> select(Cases... cases) {
  return select_awaiter<false, Cases...>{std::move(cases)...};
}

/// Like select(), but among ready cases the first in argument order wins (priority).
template <select_case... Cases>
[[nodiscard]] select_awaiter<true, Cases...> select_ordered(Cases... cases) {
  return select_awaiter<true, Cases...>{std::move(cases)...};
}

/// What a select over a range returns: which case won (its position in the range) and its result.
template <class R>
struct select_range_result {
  std::size_t index;
  R value;
};

/// The awaitable made by select(std::span<Case>): a runtime-sized set of cases of one type (say,
/// a receive on each of N channels). Same rules as select_awaiter; allocates its scratch arrays
/// once per await. An empty range throws cosync::usage_error (it would never complete).
template <bool Ordered, select_case Case>
class [[nodiscard]] range_select_awaiter {
 public:
  using result_type = select_range_result<detail::select_value_t<Case>>;

  explicit range_select_awaiter(std::span<Case> cases) : cases_{cases} {
    if (cases.empty()) {
      throw usage_error("cosync::select over an empty range would never complete");
    }
  }
  range_select_awaiter(const range_select_awaiter&) = delete;
  range_select_awaiter& operator=(const range_select_awaiter&) = delete;
  ~range_select_awaiter() { wait_.abandon_if_parked(refs_); }

  bool await_ready() {
    refs_.reserve(cases_.size());
    for (Case& c : cases_) {
      refs_.push_back(detail::select_case_ref::of(c));
    }
    order_.resize(cases_.size());
    return wait_.ready(refs_, order_, Ordered);
  }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> waiter) {
    by_lock_.resize(cases_.size());
    return wait_.suspend(waiter, refs_, order_, by_lock_);
  }

  result_type await_resume() {
    const std::size_t winner = wait_.resume(refs_);
    Case& c = cases_[winner];
    if constexpr (std::is_void_v<decltype(c.await_resume())>) {
      c.await_resume();
      return {winner, {}};
    } else {
      return {winner, c.await_resume()};
    }
  }

  /// From the select's own executor; false unless it is parked.
  bool cancel() { return wait_.cancel(); }

 private:
  std::span<Case> cases_;
  std::vector<detail::select_case_ref> refs_;
  std::vector<std::size_t> order_;
  std::vector<detail::select_case_ref> by_lock_;
  detail::select_wait wait_;
};

/// Awaits the first ready case of a runtime-sized range (random among ready ones).
template <select_case Case>
[[nodiscard]] range_select_awaiter<false, Case> select(std::span<Case> cases) {
  return range_select_awaiter<false, Case>{cases};
}

/// Like select(std::span), but among ready cases the first in the range wins.
template <select_case Case>
[[nodiscard]] range_select_awaiter<true, Case> select_ordered(std::span<Case> cases) {
  return range_select_awaiter<true, Case>{cases};
}

}  // namespace cosync
