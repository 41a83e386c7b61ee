#pragma once

/// cosync::when_any: race several operations; the first to complete wins, the others are
/// cancelled and awaited.
///
///     auto r = co_await cosync::when_any(fetch(primary), fetch(mirror));
///     const std::string& page = r.index() == 0 ? get<0>(r) : get<1>(r);

#include <cosync/cancellation.hpp>
#include <cosync/detail/awaitable_traits.hpp>
#include <cosync/detail/scoped_run.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>
#include <cosync/when_all.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cosync {

/// What the range form of when_any returns: the winner's position and its result.
template <class T>
struct when_any_result {
  /// The winner's position in the range.
  std::size_t index;
  /// Its result (std::monostate for task<void>).
  T value;
};

namespace detail {

/// Shared by one when_any and its children: the scope that cancels the losers, and who won.
class any_race {
 public:
  static constexpr std::size_t none = ~std::size_t{0};

  explicit any_race(cancel_scope* parent) : scope_{parent} {}

  [[nodiscard]] cancel_scope& scope() noexcept { return scope_; }
  [[nodiscard]] bool decided() const noexcept {
    return winner_.load(std::memory_order_acquire) != none;  // acquire: pairs with claim()
  }
  [[nodiscard]] std::size_t winner() const noexcept { return winner_.load(std::memory_order_acquire); }

  /// Child `index` completed: true if it is the first (the others are then cancelled).
  bool claim(std::size_t index) {
    std::size_t expected = none;
    // acq_rel: orders the winner's result (written after) before when_any's read of it, which
    // happens after when_all joined every child.
    if (!winner_.compare_exchange_strong(expected, index, std::memory_order_acq_rel)) {
      return false;
    }
    scope_.request_stop();  // cancels every other child where it waits
    return true;
  }

  void set_error(std::exception_ptr e) noexcept { error_ = std::move(e); }
  void rethrow_if_failed() const {
    if (error_) {
      std::rethrow_exception(error_);
    }
  }

 private:
  cancel_scope scope_;
  std::atomic<std::size_t> winner_{none};
  std::exception_ptr error_;  // the winner's exception: written by the winner only
};

/// One contestant: runs `t` under the race's scope unless somebody already won, and records its
/// outcome if it is first. cosync::cancelled is not a completion (a cancelled child never wins).
template <class T, class Store>
task<void> run_any_child(any_race& race, std::size_t index, task<T> t, Store store) {
  if (race.decided()) {
    co_return;  // not started: nothing it would do is lost
  }
  set_scope(t, &race.scope());
  try {
    if constexpr (std::is_void_v<T>) {
      co_await t;
      if (race.claim(index)) {
        store(std::monostate{});
      }
    } else {
      T value = co_await t;
      if (race.claim(index)) {
        store(std::move(value));
      }
    }
  } catch (const cancelled&) {
    // Cut short as a loser, or cancelled from above: not a completion.
  } catch (...) {
    if (race.claim(index)) {
      race.set_error(std::current_exception());
    }
  }
}

template <class T>
using any_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class... T>
task<std::variant<any_value_t<T>...>> run_when_any(task<T>... tasks) {
  static_assert(sizeof...(T) > 0, "cosync::when_any needs at least one operation");
  static_assert((!std::is_reference_v<T> && ...),
                "cosync::when_any: operations returning references are not supported");
  using result = std::variant<any_value_t<T>...>;
  any_race race{co_await this_scope{}};
  std::optional<result> out;
  co_await [&]<std::size_t... I>(std::index_sequence<I...> /*indices*/) {
    return when_all(run_any_child(race, I, std::move(tasks), [&out](any_value_t<T> v) {
      out.emplace(std::in_place_index<I>, std::move(v));
    })...);
  }
  (std::index_sequence_for<T...>{});
  if (race.winner() == any_race::none) {
    throw cancelled{};
  }
  race.rethrow_if_failed();
  co_return std::move(*out);
}

template <class T>
task<when_any_result<any_value_t<T>>> run_when_any_range(std::vector<task<T>> tasks) {
  static_assert(!std::is_reference_v<T>,
                "cosync::when_any: operations returning references are not supported");
  if (tasks.empty()) {
    throw usage_error("cosync::when_any of no operation would never complete");
  }
  any_race race{co_await this_scope{}};
  std::optional<any_value_t<T>> out;
  std::vector<task<void>> children;
  children.reserve(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    children.push_back(
        run_any_child(race, i, std::move(tasks[i]), [&out](any_value_t<T> v) { out.emplace(std::move(v)); }));
  }
  co_await when_all(std::move(children));
  if (race.winner() == any_race::none) {
    throw cancelled{};
  }
  race.rethrow_if_failed();
  co_return when_any_result<any_value_t<T>>{race.winner(), std::move(*out)};
}

}  // namespace detail

/// Runs every operation concurrently (tasks or any awaitables), returns the first to complete and
/// cancels the others, waiting for them to end before it returns.
///
/// - Lazy; starts the operations in argument order on the awaiting coroutine's executor, each
///   running until its first suspension — and once one has completed, the rest are not started.
///   Resumes on the awaiting coroutine's home executor.
/// - Returns a std::variant whose index() is the winner's position and whose alternative holds its
///   result (std::monostate for void).
/// - The first to complete wins, with a value or an exception (rethrown here). A loser that
///   throws cosync::cancelled is not a completion; any other exception of a loser is dropped.
/// - A loser that completes anyway — its value was handed over in the instant the winner
///   completed, or it ignored the cancellation — has its result destroyed. When a lost value
///   matters (receives from channels), use cosync::select, which completes exactly one operation.
/// - Cancelled from above while none has completed, it throws cosync::cancelled once every
///   operation has ended.
template <detail::awaitable... A>
[[nodiscard]] auto when_any(A&&... ops) {
  return detail::run_when_any(detail::as_task(std::forward<A>(ops))...);
}

/// The same over a vector of operations of one type; returns {index, value} of the winner.
/// cosync::usage_error for an empty vector.
///
///     std::vector<cosync::task<int>> replicas = ask_all(query);
///     auto [which, answer] = co_await cosync::when_any(std::move(replicas));
template <class A>
[[nodiscard]] auto when_any(std::vector<A> ops) {
  using T = typename detail::as_task_t<A>::value_type;
  std::vector<task<T>> tasks;
  tasks.reserve(ops.size());
  for (A& op : ops) {
    tasks.push_back(detail::as_task(std::move(op)));
  }
  return detail::run_when_any_range(std::move(tasks));
}

}  // namespace cosync
