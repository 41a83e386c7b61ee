#pragma once

/// cosync::when_all: await several operations at once and collect all their results.

#include <cosync/detail/awaitable_traits.hpp>
#include <cosync/detail/completion_task.hpp>
#include <cosync/detail/continuation.hpp>
#include <cosync/detail/result_slot.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cosync {
namespace detail {

/// Shared by one when_all and its children: how many are still running, and who waits.
struct when_all_counter {
  static constexpr std::size_t no_error = ~std::size_t{0};

  std::atomic<std::size_t> remaining{0};
  std::atomic<std::size_t> first_error{no_error};
  continuation parent;

  /// A child finished: the last one to finish (counting the parent's own share) resumes the
  /// parent on its home.
  std::coroutine_handle<> child_done() noexcept {
    // acq_rel: each child's result is written before its decrement (release), and the last
    // decrementer must see every other child's result before the parent reads them (acquire).
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) {
      return std::noop_coroutine();
    }
    return parent.transfer();
  }

  void note_error(std::size_t index) noexcept {
    std::size_t expected = no_error;
    first_error.compare_exchange_strong(expected, index, std::memory_order_relaxed);
  }

  /// Runs `child` now, on this thread, until its first suspension or its end.
  void start(completion_task& child) {
    child.on_done(
        [](void* self, std::coroutine_handle<>) noexcept {
          return static_cast<when_all_counter*>(self)->child_done();
        },
        this);
    child.handle().resume();
  }
};

template <class A, class T>
completion_task run_when_all_child(A awaitable, result_slot<T>& slot, when_all_counter& counter,
                                   std::size_t index) {
  // Awaited as a stored awaitable (an lvalue): a send among them keeps a value it did not send
  // rather than hand it back to an object that may be gone (channel<T>::send_awaiter).
  try {
    if constexpr (std::is_void_v<await_result_t<A&>>) {
      co_await awaitable;
      slot.set(std::monostate{});
    } else {
      slot.set(co_await awaitable);
    }
  } catch (...) {
    slot.set_error(std::current_exception());
    counter.note_error(index);
  }
}

/// Starts every child, then suspends unless they all finished synchronously.
template <class StartAll>
bool when_all_suspend(when_all_counter& counter, std::size_t children, std::coroutine_handle<> parent,
                      StartAll start_all) {
  counter.remaining.store(children + 1, std::memory_order_relaxed);
  counter.parent = continuation::here(parent);
  start_all();
  // The parent's own share: if every child is already done, continue without suspending.
  return counter.remaining.fetch_sub(1, std::memory_order_acq_rel) != 1;
}

template <class... As>
class [[nodiscard]] when_all_awaiter {
 public:
  explicit when_all_awaiter(As... awaitables) : awaitables_{std::move(awaitables)...} {}
  // Movable until awaited (with_timeout and friends take it by value).
  when_all_awaiter(when_all_awaiter&& other) noexcept(std::is_nothrow_move_constructible_v<std::tuple<As...>>)
      : awaitables_{std::move(other.awaitables_)} {}
  when_all_awaiter(const when_all_awaiter&) = delete;
  when_all_awaiter& operator=(const when_all_awaiter&) = delete;

  bool await_ready() const noexcept { return sizeof...(As) == 0; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> parent) {
    return when_all_suspend(counter_, sizeof...(As), parent, [this, scope = scope_of(parent)] {
      start(std::index_sequence_for<As...>{}, scope);
    });
  }

  std::tuple<when_all_value_t<As>...> await_resume() {
    const std::size_t failed = counter_.first_error.load(std::memory_order_relaxed);
    if (failed != when_all_counter::no_error) {
      rethrow(failed, std::index_sequence_for<As...>{});
    }
    return std::apply([](auto&... slot) { return std::tuple<when_all_value_t<As>...>{slot.take()...}; },
                      slots_);
  }

 private:
  template <std::size_t... I>
  void start(std::index_sequence<I...>, cancel_scope* scope) {
    children_.reserve(sizeof...(As));
    (children_.emplace_back(
         run_when_all_child(std::move(std::get<I>(awaitables_)), std::get<I>(slots_), counter_, I)),
     ...);
    for (completion_task& child : children_) {
      child.set_scope(scope);  // the children run under the parent's cancel scope
      counter_.start(child);
    }
  }

  template <std::size_t... I>
  void rethrow(std::size_t failed, std::index_sequence<I...>) {
    ((I == failed ? std::rethrow_exception(std::get<I>(slots_).error()) : void()), ...);
  }

  std::tuple<As...> awaitables_;
  std::tuple<result_slot<when_all_value_t<As>>...> slots_;
  when_all_counter counter_;
  std::vector<completion_task> children_;
};

template <class A>
class [[nodiscard]] when_all_range_awaiter {
  using value = when_all_value_t<A>;

 public:
  explicit when_all_range_awaiter(std::vector<A> awaitables)
      : awaitables_{std::move(awaitables)}, slots_(awaitables_.size()) {}
  // Movable until awaited, as when_all_awaiter.
  when_all_range_awaiter(when_all_range_awaiter&& other) noexcept
      : awaitables_{std::move(other.awaitables_)}, slots_{std::move(other.slots_)} {}
  when_all_range_awaiter(const when_all_range_awaiter&) = delete;
  when_all_range_awaiter& operator=(const when_all_range_awaiter&) = delete;

  bool await_ready() const noexcept { return awaitables_.empty(); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> parent) {
    return when_all_suspend(counter_, awaitables_.size(), parent, [this, scope = scope_of(parent)] {
      children_.reserve(awaitables_.size());
      for (std::size_t i = 0; i < awaitables_.size(); ++i) {
        children_.push_back(run_when_all_child(std::move(awaitables_[i]), slots_[i], counter_, i));
      }
      for (completion_task& child : children_) {
        child.set_scope(scope);  // as in when_all_awaiter
        counter_.start(child);
      }
    });
  }

  auto await_resume() {
    const std::size_t failed = counter_.first_error.load(std::memory_order_relaxed);
    if (failed != when_all_counter::no_error) {
      std::rethrow_exception(slots_[failed].error());
    }
    if constexpr (std::is_void_v<await_result_t<A>>) {
      return;
    } else {
      std::vector<value> results;
      results.reserve(slots_.size());
      for (auto& slot : slots_) {
        results.push_back(slot.take());
      }
      return results;
    }
  }

 private:
  std::vector<A> awaitables_;
  std::vector<result_slot<value>> slots_;
  when_all_counter counter_;
  std::vector<completion_task> children_;
};

/// when_all over tasks: each task reports to the awaiter itself (a task_sink), so a child costs
/// its own frame and nothing else: no wrapper frame, no result slot (a task keeps its result in
/// its promise until taken).
template <class T>
class [[nodiscard]] when_all_range_awaiter<task<T>> final : task_sink {
 public:
  explicit when_all_range_awaiter(std::vector<task<T>> tasks) : tasks_{std::move(tasks)} {}
  // Movable until awaited, as when_all_awaiter.
  when_all_range_awaiter(when_all_range_awaiter&& other) noexcept
      : task_sink{}, tasks_{std::move(other.tasks_)} {}
  when_all_range_awaiter(const when_all_range_awaiter&) = delete;
  when_all_range_awaiter& operator=(const when_all_range_awaiter&) = delete;

  bool await_ready() const {
    for (const task<T>& t : tasks_) {
      if (!t.valid()) {  // refused before any starts
        throw usage_error("cosync: when_all over an empty task (default-constructed or moved-from)");
      }
    }
    return tasks_.empty();
  }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> parent) {
    return when_all_suspend(counter_, tasks_.size(), parent, [this, scope = scope_of(parent)] {
      for (const task<T>& t : tasks_) {
        const std::coroutine_handle<task_promise<T>> child = handle_of(t);
        if (child.promise().scope() == nullptr) {
          child.promise().set_scope(scope);  // the children run under the parent's cancel scope
        }
        child.promise().start(*this);
        child.resume();  // until its first suspension or its end
      }
    });
  }

  auto await_resume() {
    if (const task_promise_base* failed = first_failed_.load(std::memory_order_relaxed)) {
      failed->rethrow_if_failed();
    }
    if constexpr (!std::is_void_v<T>) {
      std::vector<when_all_value_t<task<T>>> results;
      results.reserve(tasks_.size());
      for (const task<T>& t : tasks_) {
        results.push_back(handle_of(t).promise().result());
      }
      return results;
    }
  }

 private:
  std::coroutine_handle<> task_done(task_promise_base& child) noexcept override {
    if (child.failed()) {
      // Relaxed: the parent reads it after the counter's acq_rel chain (child_done).
      const task_promise_base* none = nullptr;
      first_failed_.compare_exchange_strong(none, &child, std::memory_order_relaxed);
    }
    return counter_.child_done();
  }

  std::vector<task<T>> tasks_;
  when_all_counter counter_;
  std::atomic<const task_promise_base*> first_failed_{nullptr};
};

}  // namespace detail

/// Awaits every argument concurrently on the current executor and returns all their results as
/// a tuple (a void result becomes std::monostate).
///
/// - Lazy: nothing starts until the returned object is awaited; then each operation is started
///   in argument order and runs until its first suspension before the next one starts.
/// - Resumes the awaiting coroutine on its home executor when the last operation finishes,
///   wherever that was.
/// - If any operation throws, the others still run to completion; then the exception of the one
///   that failed first is rethrown (the others' exceptions are dropped).
///
///     auto [a, b] = co_await cosync::when_all(fetch(1), fetch(2));
template <class... As>
[[nodiscard]] auto when_all(As&&... awaitables) {
  return detail::when_all_awaiter<std::remove_cvref_t<As>...>{std::forward<As>(awaitables)...};
}

/// Awaits every element of `awaitables` concurrently; returns a std::vector of their results in
/// the same order (nothing for void results). Same rules as the variadic form. A vector of
/// tasks costs nothing per child beyond the tasks' own frames; an empty task among them is a
/// cosync::usage_error before any of them starts.
///
///     std::vector<cosync::task<int>> jobs = make_jobs();
///     std::vector<int> results = co_await cosync::when_all(std::move(jobs));
template <class A>
[[nodiscard]] auto when_all(std::vector<A> awaitables) {
  return detail::when_all_range_awaiter<A>{std::move(awaitables)};
}

}  // namespace cosync
