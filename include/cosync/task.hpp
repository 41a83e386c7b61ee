#pragma once

/// cosync::task<T>: the coroutine type of cosync. Lazy, move-only, awaited exactly once.

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/continuation.hpp>
#include <cosync/detail/frame_allocator.hpp>
#include <cosync/detail/result_slot.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

namespace cosync {

template <class T = void>
class task;

namespace detail {

/// Makes `t` run under `scope` (a task group's or a timeout's) instead of its awaiter's.
template <class T>
void set_scope(task<T>& t, cancel_scope* scope) noexcept;

/// What every task promise shares: the coroutine to resume at the end, and its home.
class task_promise_base : public recycled_frame {
 public:
  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }

    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) const noexcept {
      // The awaiting coroutine resumes on its home, wherever this task ended up.
      return self.promise().continuation_.transfer();
    }

    void await_resume() const noexcept {}
  };

  final_awaiter final_suspend() const noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  /// Called by the awaiter: records who waits, and enforces "awaited exactly once".
  void start(std::coroutine_handle<> awaiting) noexcept {
    COSYNC_ASSERT(!continuation_.coroutine, "a cosync::task was awaited twice");
    continuation_ = continuation::here(awaiting);
  }

  [[nodiscard]] bool started() const noexcept { return static_cast<bool>(continuation_.coroutine); }

  /// The cancel scope this task runs under (cancellation.hpp): set by a task group or a timeout,
  /// otherwise inherited from the awaiting coroutine when first awaited.
  [[nodiscard]] cancel_scope* scope() const noexcept { return scope_; }
  void set_scope(cancel_scope* scope) noexcept { scope_ = scope; }
  /// Where an awaiter this task is parked in keeps its cancellation hook.
  [[nodiscard]] cancel_slot* slot() noexcept { return &slot_; }

 protected:
  void rethrow_if_failed() const {
    if (exception_) {
      std::rethrow_exception(exception_);
    }
  }

 private:
  continuation continuation_;  // who awaits this task, and its home
  cancel_scope* scope_ = nullptr;
  cancel_slot slot_;
  std::exception_ptr exception_;
};

template <class T>
class task_promise final : public task_promise_base {
 public:
  task<T> get_return_object() noexcept;

  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.set(std::forward<U>(value));
  }

  T result() {
    rethrow_if_failed();
    return value_.take();
  }

 private:
  value_slot<T> value_;
};

template <>
class task_promise<void> final : public task_promise_base {
 public:
  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void result() const { rethrow_if_failed(); }
};

}  // namespace detail

/// A lazily started coroutine producing a T (a value, a reference, or nothing for void).
///
/// - Lazy: the body starts when the task is awaited, on the awaiting coroutine's executor.
/// - Resumes the awaiting coroutine on its home executor, even if the body
///   moved elsewhere (switch_to), by symmetric transfer when both are on the same executor, so
///   long chains of synchronously completing awaits do not grow the stack.
/// - An exception escaping the body is rethrown from `co_await`.
/// - Cancellation: a task runs under the cancel scope of whoever awaits it (or the one a task
///   group or timeout gives it) and is as cancellable as the operations it awaits.
/// - Contract (asserted in debug builds): awaited at most once; a task that has started must run
///   to completion before it is destroyed (the runtime's shutdown is the only exception).
///
///     cosync::task<int> answer() { co_return 42; }
///     cosync::task<> caller() { int v = co_await answer(); }
// NOTE: cosync's awaitable classes are [[nodiscard]] without a message: clang-format 14
// mis-parses `class [[nodiscard("...")]] name {` and mangles the whole class body.
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  /// An empty task; awaiting it throws cosync::usage_error.
  task() noexcept = default;
  task(task&& other) noexcept : handle_{std::exchange(other.handle_, {})} {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  /// False for a default-constructed or moved-from task.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

  class [[nodiscard]] awaiter {
   public:
    explicit awaiter(std::coroutine_handle<promise_type> handle) noexcept : handle_{handle} {}

    bool await_ready() const {
      if (!handle_) {
        throw usage_error("cosync: co_await on an empty task (default-constructed or moved-from)");
      }
      return false;
    }

    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
      promise_type& promise = handle_.promise();
      promise.start(awaiting);
      if (promise.scope() == nullptr) {
        promise.set_scope(detail::scope_of(awaiting));  // cancellation flows down
      }
      return detail::transfer_to(handle_);
    }

    T await_resume() { return handle_.promise().result(); }

   private:
    std::coroutine_handle<promise_type> handle_;
  };

  awaiter operator co_await() const noexcept { return awaiter{handle_}; }

 private:
  friend promise_type;
  template <class U>
  friend void detail::set_scope(task<U>& t, detail::cancel_scope* scope) noexcept;
  explicit task(std::coroutine_handle<promise_type> handle) noexcept : handle_{handle} {}

  void destroy() noexcept {
    if (handle_) {
      COSYNC_ASSERT(!handle_.promise().started() || handle_.done() || detail::tearing_down(),
                    "a cosync::task was destroyed while it was still running");
      handle_.destroy();
    }
  }

  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}

inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise>::from_promise(*this)};
}

template <class T>
void set_scope(task<T>& t, cancel_scope* scope) noexcept {
  if (t.handle_) {
    t.handle_.promise().set_scope(scope);
  }
}

}  // namespace detail
}  // namespace cosync
