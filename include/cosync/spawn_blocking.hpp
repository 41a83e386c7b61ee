#pragma once

/// cosync::spawn_blocking: run a blocking call — a read() of a slow file, a DNS lookup, a
/// compression library, a legacy client — on the runtime's pool of plain threads, and await its
/// result without stalling an executor.
///
///     std::string text = co_await cosync::spawn_blocking([&] { return read_whole_file(path); });

#include <cosync/detail/blocking_job.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace cosync {
namespace detail {

/// The case behind spawn_blocking (cosync/wait.hpp): parking submits the job; the pool thread that
/// ran it completes it. Withdrawing succeeds only while the job is still queued.
template <class F>
class blocking_op : private blocking_job {
  using result_type = std::invoke_result_t<F&>;
  using stored = std::conditional_t<std::is_void_v<result_type>, bool, result_type>;

 public:
  static constexpr bool withdraw_from_any_thread = true;

  explicit blocking_op(F fn) : fn_{std::move(fn)} {}
  blocking_op(blocking_op&& other) noexcept(std::is_nothrow_move_constructible_v<F>)
      : fn_{std::move(other.fn_)} {}
  blocking_op& operator=(blocking_op&&) = delete;
  ~blocking_op() = default;

 private:
  friend struct cosync::case_access;
  static constexpr const char* wait_name = "spawn_blocking";  // in a trace

  static bool try_complete() noexcept { return false; }
  void park(waiter& w) {
    executor* home = current_executor();
    if (home == nullptr) {
      throw usage_error(
          "cosync::spawn_blocking must be awaited on an executor thread (call the function directly "
          "elsewhere)");
    }
    pool_ = &blocking_pool_of(*home);
    run = &call;
    who = &w;
    submit_blocking(*pool_, *this);
  }
  bool withdraw() noexcept { return pool_ != nullptr && withdraw_blocking(*pool_, *this); }
  result_type result() {
    if (error_) {
      std::rethrow_exception(error_);
    }
    if constexpr (!std::is_void_v<result_type>) {
      return std::move(*value_);
    }
  }

  // On a pool thread.
  static void call(blocking_job& job) noexcept {
    auto& self = static_cast<blocking_op&>(job);
    try {
      if constexpr (std::is_void_v<result_type>) {
        self.fn_();
        self.value_.emplace(true);
      } else {
        self.value_.emplace(self.fn_());
      }
    } catch (...) {
      self.error_ = std::current_exception();
    }
  }

  F fn_;
  blocking_pool* pool_ = nullptr;
  std::optional<stored> value_;
  std::exception_ptr error_;
};

}  // namespace detail

/// Awaits `fn()` run on the runtime's blocking pool (made by spawn_blocking).
///
/// - Lazy: the call is queued when awaited; it runs on one of at most
///   runtime_config::blocking_threads plain threads, in the order calls were queued.
/// - Resumes on the awaiting coroutine's home executor with `fn`'s result, or its exception
///   rethrown.
/// - Cancellation: a call still queued is taken back (cosync::cancelled, `fn` never runs); a call
///   already running cannot be interrupted — the await ends when `fn` returns, with its result
///   (so `fn` may safely use what the caller owns). Timeouts behave alike.
/// - Not a select case (a running call cannot be withdrawn); await it alone or under a timeout.
/// - The runtime's shutdown waits for running calls to return.
template <class F>
class [[nodiscard]] blocking_awaiter {
 public:
  /// Holds `fn` until awaited; made by spawn_blocking().
  explicit blocking_awaiter(F fn) : op_{std::move(fn)} {}

  ///@{
  /// Awaiter protocol (called by `co_await`, not by users): queues `fn` on the blocking pool and
  /// suspends; returns its result or rethrows its exception (see the class comment).
  bool await_ready() { return op_.await_ready(); }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return op_.await_suspend(h);
  }
  decltype(auto) await_resume() { return op_.await_resume(); }
  ///@}

 private:
  waitable<detail::blocking_op<F>> op_;
};

/// Runs `fn` (callable with no arguments) on the runtime's blocking pool; see blocking_awaiter.
template <class F>
requires std::is_invocable_v < std::decay_t<F>
& > [[nodiscard]] blocking_awaiter<std::decay_t<F>> spawn_blocking(F&& fn) {
  return blocking_awaiter<std::decay_t<F>>{std::forward<F>(fn)};
}

}  // namespace cosync
