#pragma once

/// cosync::select: awaits the first of several operations — channel sends and receives (both
/// channel kinds), timers, a default case, and any operation that implements the waiting core's
/// case interface (cosync/wait.hpp) — completes exactly that one, and withdraws the others
/// without consuming or losing anything.
///
///     auto r = co_await cosync::select(jobs.recv(), control.recv(), cosync::after(50ms));
///     switch (r.index()) {
///       case 0: run(get<0>(r));  break;  // a std::optional<Job>: empty once `jobs` is closed
///       case 1: obey(get<1>(r)); break;
///       case 2: heartbeat();     break;  // 50 ms without either
///     }
///
/// Three forms: fixed cases (above), a range of cases of one type (select(std::span)), and a
/// cosync::select_set built at run time from cases of any types (cosync/select_set.hpp). How a
/// case wins is in detail/select_engine.hpp.

#include <cosync/config.hpp>
#include <cosync/detail/give_back.hpp>
#include <cosync/detail/select_engine.hpp>
#include <cosync/error.hpp>
#include <cosync/timer.hpp>
#include <cosync/wait.hpp>

#include <array>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cosync {

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
/// - Resumes on the selecting coroutine's home executor, whichever executor completed the case.
/// - A recv case on a closed, drained channel wins with std::nullopt; a send case on a closed
///   channel wins and the select throws cosync::channel_closed (the value goes back to the caller,
///   as for a losing send case).
/// - Cancellation: in a cancelled scope (cancellation.hpp), a select that would have to wait
///   throws cosync::cancelled; one waiting when its scope is cancelled withdraws every case and
///   throws it — unless a case had already won, whose result it returns (nothing is lost).
///   withdraw() does the same by hand, from the select's home executor.
/// - The same channel may appear in several cases (its lock is taken once); a select with no case
///   does not compile (use a range or a select_set for runtime-sized sets).
template <select_order Order, class... Cases>
class [[nodiscard]] select_awaiter {
  static_assert(sizeof...(Cases) > 0,
                "cosync::select needs at least one case: an empty select would never complete");
  static_assert((0 + ... + std::is_same_v<Cases, default_case_t>) <= 1,
                "cosync::select takes at most one default_case");
  static constexpr std::size_t size = sizeof...(Cases);

 public:
  /// What the select returns (see select_result).
  using result_type = select_result<Cases...>;

  /// Holds the cases (an awaitable operation is held as its case); made by select() and
  /// select_ordered().
  template <class... Args>
  explicit select_awaiter(Args&&... cases) : cases_{std::forward<Args>(cases)...} {}
  /// Movable until awaited (so that with_timeout and when_any can hold it), never after.
  select_awaiter(select_awaiter&& other) noexcept(std::is_nothrow_move_constructible_v<std::tuple<Cases...>>)
      : cases_{std::move(other.cases_)} {
    COSYNC_ASSERT(!other.wait_.parked(), "cosync: a parked select moved");
  }
  select_awaiter(const select_awaiter&) = delete;
  select_awaiter& operator=(const select_awaiter&) = delete;
  ~select_awaiter() { wait_.abandon_if_parked(scratch()); }

  /// `co_await select(...)`: awaited where it is made, so a losing send case gives its value back
  /// to the object it was moved from (see channel<T>::send_awaiter).
  detail::awaiter_ref<select_awaiter> operator co_await() && noexcept {
    std::apply([](auto&... c) { (case_access::allow_give_back(c), ...); }, cases_);
    return detail::awaiter_ref<select_awaiter>{*this};
  }
  /// A stored select: its send cases keep values they did not send.
  detail::awaiter_ref<select_awaiter> operator co_await() & noexcept {
    return detail::awaiter_ref<select_awaiter>{*this};
  }

  ///@{
  /// Awaiter protocol (called by `co_await`, not by users): tries the cases in the select's order;
  /// else, under their locks, tries again and parks every case; returns the winner's result.
  bool await_ready() {
    refs_ = std::apply([](auto&... c) { return std::array{detail::case_ref::of(c)...}; }, cases_);
    return wait_.ready(scratch(), Order);
  }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return wait_.suspend(h, scratch());
  }

  result_type await_resume() { return result_of(wait_.resume(scratch()), std::make_index_sequence<size>{}); }
  ///@}

  /// From the select's home while it is parked, what a cancellation does: true if no case had won
  /// (the select then throws cosync::cancelled), false if one had (its result is returned).
  bool withdraw() { return wait_.withdraw(); }

 private:
  detail::select_scratch scratch() noexcept { return {refs_, order_, by_lock_, waiters_}; }

  template <std::size_t... I>
  result_type result_of(std::size_t winner, std::index_sequence<I...> /*cases*/) {
    std::optional<result_type> result;
    (void)((winner == I ? (result.emplace(take<I>()), true) : false) || ...);
    return std::move(*result);
  }

  template <std::size_t I>
  result_type take() {
    auto& c = std::get<I>(cases_);
    if constexpr (std::is_void_v<decltype(case_access::result(c))>) {
      case_access::result(c);  // may throw (a send on a closed channel)
      return result_type{std::in_place_index<I>};
    } else {
      return result_type{std::in_place_index<I>, case_access::result(c)};
    }
  }

  std::tuple<Cases...> cases_;
  // Scratch, filled before use (left uninitialised: a select is made on every loop iteration).
  std::array<detail::case_ref, size> refs_;
  std::array<std::size_t, size> order_;
  std::array<detail::case_ref, size> by_lock_;
  std::array<waiter, size> waiters_;
  detail::select_wait wait_;
};

/// Awaits the first ready case; among several ready ones, a uniformly random one (no case
/// starves). See select_awaiter.
template <class... Cases>
requires(select_case<detail::case_of_t<Cases>>&&...)
    [[nodiscard]] select_awaiter<select_order::fair, detail::case_of_t<Cases>...> select(Cases&&... cases) {
  return select_awaiter<select_order::fair, detail::case_of_t<Cases>...>{std::forward<Cases>(cases)...};
}

/// Like select(), but among ready cases the first in argument order wins (priority).
template <class... Cases>
requires(select_case<detail::case_of_t<Cases>>&&...)
    [[nodiscard]] select_awaiter<select_order::priority, detail::case_of_t<Cases>...> select_ordered(
        Cases&&... cases) {
  return select_awaiter<select_order::priority, detail::case_of_t<Cases>...>{std::forward<Cases>(cases)...};
}

/// What a select over a range returns: which case won (its position in the range) and its result.
template <class R>
struct select_range_result {
  /// The winning case's position in the range.
  std::size_t index;
  /// Its result (std::monostate for a case without one: a send).
  R value;
};

/// The awaitable made by select(std::span<Case>): a runtime-sized set of cases of one type (say,
/// a receive on each of N channels). Same rules as select_awaiter; allocates its scratch once per
/// await. An empty range throws cosync::usage_error (it would never complete). For cases of
/// several types, a timer or a default case, use a cosync::select_set.
template <select_order Order, class Element>
class [[nodiscard]] range_select_awaiter {
  using case_type = detail::case_of_t<Element>;

 public:
  /// What the select returns: the winning case's position and result.
  using result_type = select_range_result<detail::select_value_t<case_type>>;

  /// Refers to `cases`, which must outlive the await; made by select(std::span). Throws
  /// cosync::usage_error for an empty range or one with too many cases.
  explicit range_select_awaiter(std::span<Element> cases) : cases_{cases} {
    if (cases.empty()) {
      throw usage_error("cosync::select over an empty range would never complete");
    }
    if (cases.size() > detail::max_select_cases) {
      throw usage_error("cosync::select over too many cases");
    }
  }
  range_select_awaiter(const range_select_awaiter&) = delete;
  range_select_awaiter& operator=(const range_select_awaiter&) = delete;
  ~range_select_awaiter() { wait_.abandon_if_parked(scratch()); }

  ///@{
  /// Awaiter protocol (called by `co_await`, not by users): as select_awaiter's; returns the
  /// winner's position and result.
  bool await_ready() {
    refs_.reserve(cases_.size());
    for (case_type& c : cases_) {
      refs_.push_back(detail::case_ref::of(c));
    }
    order_.resize(cases_.size());
    return wait_.ready(scratch(), Order);
  }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    by_lock_.resize(cases_.size());
    waiters_.resize(cases_.size());
    return wait_.suspend(h, scratch());
  }

  result_type await_resume() {
    const std::size_t winner = wait_.resume(scratch());
    case_type& c = cases_[winner];
    if constexpr (std::is_void_v<decltype(case_access::result(c))>) {
      case_access::result(c);
      return {winner, {}};
    } else {
      return {winner, case_access::result(c)};
    }
  }
  ///@}

  /// As select_awaiter::withdraw.
  bool withdraw() { return wait_.withdraw(); }

 private:
  detail::select_scratch scratch() noexcept { return {refs_, order_, by_lock_, waiters_}; }

  std::span<Element> cases_;
  std::vector<detail::case_ref> refs_;
  std::vector<std::size_t> order_;
  std::vector<detail::case_ref> by_lock_;
  std::vector<waiter> waiters_;
  detail::select_wait wait_;
};

/// Awaits the first ready case of a runtime-sized range (random among ready ones).
template <class Element>
requires select_case<detail::case_of_t<Element>>
[[nodiscard]] range_select_awaiter<select_order::fair, Element> select(std::span<Element> cases) {
  return range_select_awaiter<select_order::fair, Element>{cases};
}

/// Like select(std::span), but among ready cases the first in the range wins.
template <class Element>
requires select_case<detail::case_of_t<Element>>
[[nodiscard]] range_select_awaiter<select_order::priority, Element> select_ordered(std::span<Element> cases) {
  return range_select_awaiter<select_order::priority, Element>{cases};
}

}  // namespace cosync
