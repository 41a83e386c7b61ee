#pragma once

/// cosync::spawn: start a task from inside a coroutine, let it run on its own, and await its
/// result later through a join_handle (tokio::spawn, a Go statement with a way back).
///
///     cosync::join_handle<int> h = cosync::spawn(compute(x));   // runs now, concurrently
///     prepare_other_things();
///     int v = co_await h;                                        // its value, or its exception

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/completion_task.hpp>
#include <cosync/detail/parking.hpp>
#include <cosync/detail/result_slot.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace cosync {
namespace detail {

/// Reports a detached task's failure: through the current executor's runtime's
/// runtime_config::on_detached_failure, or to stderr (also off any executor). Ignores
/// cosync::cancelled.
void report_detached_failure(std::exception_ptr failure) noexcept;

/// What a spawned task and its join_handle share (freed by whichever lets go last): its result,
/// whether it is done, the joiner parked for it, and the cancel scope it runs under.
class join_state_base {
 public:
  join_state_base() = default;
  join_state_base(const join_state_base&) = delete;
  join_state_base& operator=(const join_state_base&) = delete;
  virtual ~join_state_base() = default;

  [[nodiscard]] cancel_scope& scope() noexcept { return scope_; }
  [[nodiscard]] bool done() const noexcept {
    return done_.load(std::memory_order_acquire);  // acquire: pairs with finish()'s release
  }

  /// The task's end (its executor): publishes the result and wakes the joiner.
  void finish() {
    finished_ = true;
    done_.store(true, std::memory_order_release);  // release: the result is written before
    joiner_.notify_if([] { return true; });        // done never becomes false again
  }
  /// The task's frame lets go (after finish(), or destroyed before its end at runtime teardown,
  /// when nobody can be woken any more: the result is then cosync::cancelled).
  void let_go() noexcept {
    if (!finished_) {
      failed(std::make_exception_ptr(cancelled{}));
      done_.store(true, std::memory_order_release);  // release: as in finish()
    }
    release();
  }
  void failed(std::exception_ptr e) noexcept { error_ = std::move(e); }

  /// One owner lets go; the last one frees the state, reporting a failure nobody awaited.
  void release() noexcept {
    // acq_rel: the last owner sees everything the other wrote (the result, `observed_`).
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      if (error_ && !observed_) {
        report_detached_failure(error_);
      }
      delete this;
    }
  }

  /// The joiner's side of the case (cosync/wait.hpp): parks in the spot, then re-checks.
  bool park(waiter& w) {
    joiner_.park(w);
    return !(done() && joiner_.withdraw(w) && w.claim());
  }
  bool withdraw(waiter& w) noexcept { return joiner_.withdraw(w); }

  /// Marks the result taken (once: cosync::usage_error on a second await); rethrows a failure.
  void take() {
    if (observed_) {
      throw usage_error("cosync::join_handle: the result was already taken");
    }
    observed_ = true;
    if (error_) {
      std::rethrow_exception(error_);
    }
  }

 private:
  std::atomic<std::uint32_t> refs_{2};  // the task and its handle
  std::atomic<bool> done_{false};
  bool finished_ = false;  // the task's thread only
  bool observed_ = false;  // the handle's side; read by the last owner
  std::exception_ptr error_;
  parking_spot joiner_;
  cancel_scope scope_;  // linked under the task's root scope when started
};

template <class T>
class join_state final : public join_state_base {
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

 public:
  value_slot<stored>& value() noexcept { return value_; }

 private:
  value_slot<stored> value_;  // unused for void
};

/// Registers `root` as a root of the calling executor's runtime, running under `state`'s scope
/// (a child of the root's own, which shutdown cancels), and queues it on executor `executor`.
/// cosync::usage_error off-executor or for an executor out of range; cosync::cancelled while the
/// runtime shuts down.
void start_joinable_root(std::size_t executor, completion_task& root, join_state_base& state);

template <class T>
completion_task run_joinable_root(task<T> t, join_state<T>& state) {
  struct owner {
    join_state_base& s;
    ~owner() { s.let_go(); }  // also when teardown destroys the frame mid-flight
  } const frame_owns{state};
  try {
    if constexpr (std::is_void_v<T>) {
      co_await t;
    } else {
      state.value().set(co_await t);
    }
  } catch (...) {
    state.failed(std::current_exception());
  }
  state.finish();
}

}  // namespace detail

template <class T>
class join_handle;

template <class T>
join_handle<T> spawn_on(std::size_t executor, task<T> t);

/// A spawned task's result, to await once: the handle of cosync::spawn / cosync::spawn_on.
///
/// - `co_await h` (or `co_await h.join()`, a select case): the task's value, or its exception
///   rethrown (cosync::cancelled if it was cancelled). Lazy; completes at once if the task has
///   ended; resumes on the awaiting coroutine's home executor. Cancellable: a cancelled await
///   throws cosync::cancelled and leaves the task running, still joinable. A second await of the
///   result is a cosync::usage_error.
/// - cancel(): cancels the task (any thread), as shutdown or a task group would; await it to know
///   when it has ended.
/// - Move-only. Dropping it (or detach()) lets the task run on as a detached root; a failure of a
///   task nobody awaited goes to runtime_config::on_detached_failure (default: stderr).
/// - Must not be destroyed while a coroutine awaits it.
template <class T>
class [[nodiscard]] join_handle {
 public:
  /// The case behind `co_await h` (cosync/wait.hpp).
  class join_op {
   public:
    /// Its withdraw() is exact from any thread (case_access::withdraws_anywhere): a cancelled join
    /// needs no race word.
    static constexpr bool withdraw_from_any_thread = true;

    /// The join of the task behind `state`; made by join().
    explicit join_op(detail::join_state<T>& state) noexcept : state_{&state} {}
    /// Movable until awaited, so that a waitable or a select can hold it.
    join_op(join_op&& other) noexcept : state_{other.state_} {}
    join_op& operator=(join_op&&) = delete;
    ~join_op() = default;

   private:
    friend struct cosync::case_access;
    static constexpr const char* wait_name = "join";  // in a trace

    [[nodiscard]] bool try_complete() const noexcept { return state_->done(); }
    bool park(waiter& w) { return state_->park(*(w_ = &w)); }
    bool withdraw() noexcept { return w_ != nullptr && state_->withdraw(*w_); }
    T result() {
      state_->take();
      if constexpr (!std::is_void_v<T>) {
        return state_->value().take();
      }
    }

    detail::join_state<T>* state_;
    waiter* w_ = nullptr;
  };

  join_handle() noexcept = default;
  ///@{
  /// Movable: the moved-from handle is empty (valid() is false); assigning detaches the task this
  /// one held first.
  join_handle(join_handle&& other) noexcept : state_{std::exchange(other.state_, nullptr)} {}
  join_handle& operator=(join_handle&& other) noexcept {
    if (this != &other) {
      detach();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  ///@}
  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;
  ~join_handle() { detach(); }

  /// False once detached, moved from, or default-made.
  [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }
  /// Whether the task has ended (its result is ready).
  [[nodiscard]] bool done() const noexcept { return state_ != nullptr && state_->done(); }

  /// Cancels the task. Any thread; idempotent; nothing once it has ended.
  void cancel() noexcept {
    if (state_ != nullptr) {
      state_->scope().request_stop();
    }
  }

  /// Lets the task run on without a handle (see the class comment).
  void detach() noexcept {
    if (state_ != nullptr) {
      std::exchange(state_, nullptr)->release();
    }
  }

  /// Awaits the task's result (see the class comment); a select case.
  [[nodiscard]] waitable<join_op> join() {
    if (state_ == nullptr) {
      throw usage_error("cosync::join_handle: awaited without a task (detached, moved from or empty)");
    }
    return waitable<join_op>{*state_};
  }
  /// `co_await h`: the same as `co_await h.join()`.
  waitable<join_op> operator co_await() { return join(); }

 private:
  template <class U>
  friend join_handle<U> spawn_on(std::size_t executor, task<U> t);
  explicit join_handle(detail::join_state<T>* state) noexcept : state_{state} {}

  detail::join_state<T>* state_ = nullptr;
};

/// Starts `t` on executor `executor` of the calling coroutine's runtime, as a root of its own:
/// it runs concurrently with the caller, outlives it if need be, and is cancelled by the
/// runtime's shutdown or by the handle's cancel() — not by the caller's scope (to tie a task to
/// a scope, use a task group).
///
/// - Queued on that executor; starts once the caller suspends (same executor) or at once (another).
/// - cosync::usage_error off-executor, for an executor out of range or an empty task;
///   cosync::cancelled while the runtime shuts down (the caller unwinds).
template <class T>
[[nodiscard]] join_handle<T> spawn_on(std::size_t executor, task<T> t) {
  if (!t.valid()) {
    throw usage_error("cosync::spawn of an empty task");
  }
  auto* state = new detail::join_state<T>();
  try {
    detail::completion_task root = detail::run_joinable_root(std::move(t), *state);
    detail::start_joinable_root(executor, root, *state);
  } catch (...) {
    delete state;
    throw;
  }
  return join_handle<T>{state};
}

/// spawn_on the calling coroutine's executor.
///
///     auto h = cosync::spawn(handle(connection));
template <class T>
[[nodiscard]] join_handle<T> spawn(task<T> t) {
  detail::executor* here = detail::current_executor();
  if (here == nullptr) {
    throw usage_error("cosync::spawn must be called on an executor thread (use runtime::spawn elsewhere)");
  }
  return spawn_on(detail::index_of(*here), std::move(t));
}

}  // namespace cosync
