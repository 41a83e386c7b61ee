#pragma once

/// cosync::task<T>: the coroutine type of cosync. Lazy, move-only, awaited exactly once.

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/continuation.hpp>
#include <cosync/detail/frame_allocator.hpp>
#include <cosync/detail/result_slot.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/detail/trace_hooks.hpp>
#include <cosync/error.hpp>

#include <coroutine>
#include <cstdint>
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

template <class T>
class task_promise;

/// The coroutine behind `t` (null for an empty task): for the runtime's own schedulers of tasks.
template <class T>
std::coroutine_handle<task_promise<T>> handle_of(const task<T>& t) noexcept;

/// Takes the coroutine out of `t` (which becomes empty): its frame is the caller's to destroy.
template <class T>
std::coroutine_handle<task_promise<T>> release(task<T>& t) noexcept;

class task_promise_base;

/// Told that a task it started has ended, in place of an awaiting coroutine: how when_all and
/// task groups run a task as a child without a wrapper coroutine frame around it (one frame per
/// child instead of two: C6's 10^5 sleepers are half the memory).
class task_sink {
 public:
  /// `child`'s body has finished (its frame is suspended at its end; the sink's owner destroys
  /// it). Returns the coroutine to resume next by symmetric transfer (std::noop_coroutine() for
  /// none).
  virtual std::coroutine_handle<> task_done(task_promise_base& child) noexcept = 0;

 protected:
  task_sink() = default;
  task_sink(const task_sink&) = default;
  task_sink& operator=(const task_sink&) = default;
  ~task_sink() = default;
};

/// What every task promise shares: who is told at the end (the awaiting coroutine and its home,
/// or a sink), the cancel scope, and the exception.
class task_promise_base : public recycled_frame {
 public:
  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }

    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) const noexcept {
      if (tracing()) [[unlikely]] {
        trace_frame_end(self.address());
      }
      task_promise_base& p = self.promise();
      if (task_sink* sink = p.sink()) {
        return sink->task_done(p);
      }
      // The awaiting coroutine resumes on its home, wherever this task ended up.
      return continuation{std::coroutine_handle<>::from_address(p.awaiting_),
                          reinterpret_cast<executor*>(p.told_)}
          .transfer();
    }

    void await_resume() const noexcept {}
  };

  final_awaiter final_suspend() const noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  /// Called by the awaiter: records who waits, and enforces "awaited exactly once".
  void start(std::coroutine_handle<> awaiting) noexcept {
    COSYNC_ASSERT(!started(), "a cosync::task was awaited twice");
    const continuation here = continuation::here(awaiting);
    awaiting_ = here.coroutine.address();
    told_ = reinterpret_cast<std::uintptr_t>(here.home);
  }

  /// The same for a task run as a child: `sink` is told when it ends. The awaiting coroutine's
  /// place is the sink's own word meanwhile (sink_word).
  void start(task_sink& sink) noexcept {
    COSYNC_ASSERT(!started(), "a cosync::task was awaited twice");
    awaiting_ = nullptr;
    told_ = reinterpret_cast<std::uintptr_t>(&sink) | sink_tag;
  }

  [[nodiscard]] bool started() const noexcept { return awaiting_ != nullptr || told_ != 0; }

  /// A word a sink keeps in the task it runs (e.g. where it registered the task); null when the
  /// task starts, never touched by the task's own code.
  [[nodiscard]] void* sink_word() const noexcept { return awaiting_; }
  void set_sink_word(void* word) noexcept { awaiting_ = word; }

  /// The cancel scope this task runs under (cancellation.hpp): set by a task group or a timeout,
  /// otherwise inherited from the awaiting coroutine when first awaited.
  [[nodiscard]] cancel_scope* scope() const noexcept { return scope_; }
  void set_scope(cancel_scope* scope) noexcept { scope_ = scope; }
  /// Where an awaiter this task is parked in keeps its cancellation hook.
  [[nodiscard]] cancel_slot* slot() noexcept { return &slot_; }

  /// Whether the body ended with an exception (read by a sink once the task is done).
  [[nodiscard]] bool failed() const noexcept { return static_cast<bool>(exception_); }
  [[nodiscard]] const std::exception_ptr& exception() const noexcept { return exception_; }

  void rethrow_if_failed() const {
    if (exception_) {
      std::rethrow_exception(exception_);
    }
  }

 private:
  // Who is told at the end, in two words (a sleeping coroutine's frame holds them): the awaiting
  // coroutine and its home (an executor, null off any), or a sink's address tagged in its low
  // bit, with the first word the sink's own.
  static constexpr std::uintptr_t sink_tag = 1;
  [[nodiscard]] task_sink* sink() const noexcept {
    return (told_ & sink_tag) != 0 ? reinterpret_cast<task_sink*>(told_ & ~sink_tag) : nullptr;
  }

  void* awaiting_ = nullptr;
  std::uintptr_t told_ = 0;
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
  /// The promise that makes a function returning task<T> a coroutine (not for users).
  using promise_type = detail::task_promise<T>;
  /// What the task produces: what `co_await` on it returns.
  using value_type = T;

  /// An empty task; awaiting it throws cosync::usage_error.
  task() noexcept = default;
  ///@{
  /// Movable: the moved-from task is empty; assigning destroys the task this one held first (which
  /// must not be running).
  task(task&& other) noexcept : handle_{std::exchange(other.handle_, {})} {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  ///@}
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  /// False for a default-constructed or moved-from task.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

  /// What `co_await` on a task uses: starts the body, then resumes the awaiting coroutine with its
  /// result.
  class [[nodiscard]] awaiter {
   public:
    /// Made by operator co_await for the body behind `handle`.
    explicit awaiter(std::coroutine_handle<promise_type> handle) noexcept : handle_{handle} {}

    ///@{
    /// Awaiter protocol (called by `co_await`, not by users): throws usage_error on an empty task;
    /// else starts the body by symmetric transfer, under the awaiting coroutine's cancel scope unless
    /// it was given its own; returns the body's value or rethrows its exception.
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
    ///@}

   private:
    std::coroutine_handle<promise_type> handle_;
  };

  /// `co_await t`: runs the body and returns its result (see the class comment).
  awaiter operator co_await() const noexcept { return awaiter{handle_}; }

 private:
  friend promise_type;
  template <class U>
  friend void detail::set_scope(task<U>& t, detail::cancel_scope* scope) noexcept;
  template <class U>
  friend std::coroutine_handle<detail::task_promise<U>> detail::handle_of(const task<U>& t) noexcept;
  template <class U>
  friend std::coroutine_handle<detail::task_promise<U>> detail::release(task<U>& t) noexcept;
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
std::coroutine_handle<task_promise<T>> handle_of(const task<T>& t) noexcept {
  return t.handle_;
}

template <class T>
std::coroutine_handle<task_promise<T>> release(task<T>& t) noexcept {
  return std::exchange(t.handle_, {});
}

template <class T>
void set_scope(task<T>& t, cancel_scope* scope) noexcept {
  if (t.handle_) {
    t.handle_.promise().set_scope(scope);
  }
}

}  // namespace detail
}  // namespace cosync
