#pragma once

/// Structured concurrency: a task group (a nursery) whose children cannot outlive it.
///
///     co_await cosync::with_task_group([&](cosync::task_group& g) -> cosync::task<> {
///       g.spawn(fetch(a));          // on this executor
///       g.spawn_on(1, fetch(b));    // on executor 1
///       co_return;
///     });                           // returns when every child has ended
///
/// - The awaited call completes only after the body and every child have ended; it returns the
///   body's value.
/// - Fail-fast (the default): the first exception from a child or the body cancels everything
///   else in the group and is rethrown — unchanged if it is the only failure, else inside a
///   cosync::task_group_error that holds every failure in order (none is swallowed).
///   cosync::cancelled is not a failure.
/// - `with_task_group(cosync::supervise, body)`: a failure cancels nothing; at the end every
///   failure is reported in a cosync::task_group_error.
/// - Cancellation flows down: the group's scope is cancelled with the scope of whoever awaits
///   with_task_group (a parent group, a timeout), and g.cancel() cancels it by hand. Every
///   suspension point of the body and the children sees it (cancellation.hpp). Errors flow up.
///   Cancelled from above, with_task_group throws cosync::cancelled once everything has stopped —
///   unless the body returned a value, which is returned (it may hold something already taken
///   from a channel: never dropped). Cancelled by g.cancel() (or fail-fast), it ends like an
///   uncancelled group: the body's value, or cosync::cancelled if the body was cut short.
/// - A child that ignores cancellation (a CPU loop) is still waited for.
/// - Must be awaited on an executor thread (cosync::usage_error otherwise).

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/continuation.hpp>
#include <cosync/detail/frame_allocator.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/detail/trace_hooks.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace cosync {

class task_group;

/// Selects the supervising policy of with_task_group (failures cancel nothing).
struct supervise_t {
  /// Explicit, so that `{}` cannot make one by accident: use cosync::supervise.
  explicit constexpr supervise_t(int /*tag*/) noexcept {}
};
/// The tag for a supervising group: `with_task_group(cosync::supervise, body)`.
inline constexpr supervise_t supervise{0};

namespace detail {

template <class R, class Body>
task<R> run_task_group(bool supervising, Body body);

/// A task group's live children, kept for one moment only: a runtime torn down while some are
/// still suspended destroys them with their group. Lock-free, so a child costs two atomic
/// read-modify-writes and no lock: it takes a bit in a chunk's bitmap when spawned and gives it
/// back when it ends (any thread). The first chunk of 16 is part of the group; more come from the
/// frame cache and are kept until the group ends. A spawn looks at the chunk where a child last
/// ended, then at the newest, before it adds one.
class child_registry {
 public:
  child_registry() = default;
  child_registry(const child_registry&) = delete;
  child_registry& operator=(const child_registry&) = delete;
  ~child_registry();

  /// Makes sure add() will find a free slot, unless another thread takes it first (may throw
  /// std::bad_alloc: call before the child starts).
  void reserve();
  /// Registers the frame at `frame`; returns its place, for remove(). After reserve(), this
  /// allocates only if another spawn took the slot meanwhile, and out of memory then terminates:
  /// the child has already started and cannot be undone.
  [[nodiscard]] void* add(void* frame) noexcept;
  /// The child at `place` has ended (any thread).
  void remove(void* place) noexcept;
  /// Whether no child is registered (after every thread has stopped, or after the join).
  [[nodiscard]] bool empty() const noexcept;
  /// Teardown only (no executor thread runs): destroys every registered child's frame.
  void destroy_all() noexcept;

 private:
  // 16-byte aligned (as every allocation is), so a place is the chunk's address with the slot's
  // index in its low 4 bits.
  struct alignas(16) chunk : recycled_frame {
    static constexpr int slots = 16;
    static constexpr std::uint64_t full = (std::uint64_t{1} << slots) - 1;
    // Bit i: frames[i] is a live child. A spawn claims a bit (acquire: the last owner's
    // release of it happened before), a child's end gives it back (release).
    std::atomic<std::uint64_t> used{0};
    chunk* next = nullptr;  // the next older chunk (fixed once published)
    // Written by the claimer before the child first runs; read only at teardown, after every
    // thread has stopped (the claims and releases of the bit order the writes).
    void* frames[slots];

    int claim() noexcept;  // the slot it claimed, or -1 if all are taken
    [[nodiscard]] bool has_room() const noexcept { return used.load(std::memory_order_relaxed) != full; }
  };

  chunk* push(std::uint64_t used);  // a new newest chunk with these slots taken

  chunk first_;
  std::atomic<chunk*> newest_{&first_};
  std::atomic<chunk*> hint_{&first_};  // where a child last ended: likely to have a free bit
};

}  // namespace detail

/// A scope's children (see the file comment); made by with_task_group, never directly.
class task_group final : detail::task_sink {
 public:
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  /// Destroying a group that still has children is a contract violation (asserted in debug
  /// builds); at runtime shutdown the children still suspended are destroyed with it.
  ~task_group();

  /// Runs `child` in the group on the calling coroutine's executor, starting it at once: it runs
  /// until its first suspension before spawn() returns (no queueing; a child that completes
  /// synchronously recycles its frame straight away). Throws cosync::cancelled if the group is
  /// being cancelled, cosync::usage_error if it has already ended or off-executor.
  void spawn(task<void> child) { start(home(), std::move(child), true); }

  /// Runs `child` in the group on executor `executor`, queued there (it starts soon, after the
  /// spawner suspends if it is the same executor). cosync::usage_error if out of range.
  void spawn_on(std::size_t executor, task<void> child) {
    detail::executor& e = home();
    if (executor >= detail::executor_count(e)) {
      throw usage_error("cosync::task_group::spawn_on: executor " + std::to_string(executor) + " of " +
                        std::to_string(detail::executor_count(e)));
    }
    start(detail::peer(e, executor), std::move(child), false);
  }

  /// Runs `child` in the group on an executor the group picks: round-robin over the runtime's
  /// executors, per group (cheap, and spreads a fan-out evenly without measuring load).
  void spawn_anywhere(task<void> child) {
    detail::executor& e = home();
    const std::size_t n = next_executor_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a counter
    start(detail::peer(e, n % detail::executor_count(e)), std::move(child), false);
  }

  ///@{
  /// The same, with `label` naming the child in the runtime's timeline trace (runtime_config::
  /// trace_path): `g.spawn(transform(jobs), "transform")`. The label is copied; without a trace it
  /// costs one test.
  void spawn(task<void> child, std::string_view label) {
    labelled(child, label, [&] { spawn(std::move(child)); });
  }
  void spawn_on(std::size_t executor, task<void> child, std::string_view label) {
    labelled(child, label, [&] { spawn_on(executor, std::move(child)); });
  }
  void spawn_anywhere(task<void> child, std::string_view label) {
    labelled(child, label, [&] { spawn_anywhere(std::move(child)); });
  }
  ///@}

  /// Cancels the body and every child (any thread). Idempotent.
  void cancel() noexcept { scope_.request_stop(); }

  /// True once the group is being cancelled: by cancel(), a failure (fail-fast), or from above.
  [[nodiscard]] bool cancel_requested() const noexcept { return scope_.stop_requested(); }
  /// The token the group's cancellation stops (for code that polls, or a std::stop_callback).
  [[nodiscard]] std::stop_token stop_token() const noexcept { return scope_.token(); }

 private:
  // Names `child`'s frame in the trace, then spawns it. A spawn that throws never started the
  // child, whose frame is then destroyed without ending: the trace is told it ended, so that the
  // next coroutine allocated at that address does not inherit the label.
  template <class Spawn>
  static void labelled(const task<void>& child, std::string_view label, Spawn&& spawn) {
    if (!detail::tracing() || !child.valid()) [[likely]] {
      spawn();
      return;
    }
    const void* const frame = detail::handle_of(child).address();
    detail::trace_label(frame, label);
    try {
      spawn();
    } catch (...) {
      detail::trace_frame_end(frame);
      throw;
    }
  }

  template <class R, class Body>
  friend task<R> detail::run_task_group(bool supervising, Body body);

  task_group(bool supervising, detail::cancel_scope* parent) : supervising_{supervising}, scope_{parent} {}

  static detail::executor& home();
  void start(detail::executor& target, task<void> child, bool eager);
  // Counts and registers a child before it can be resumed anywhere.
  void adopt(std::coroutine_handle<detail::task_promise<void>> child) noexcept;
  // A child's or the body's exception (any thread).
  void note_failure(const std::exception_ptr& e);
  // The end of a child (its thread): its failure noted, its frame freed, the joiner resumed if it
  // was the last. A child is a task run under this group as its sink: no frame around it.
  std::coroutine_handle<> task_done(detail::task_promise_base& child) noexcept override;
  void rethrow_failures();

  // Awaited once by with_task_group after the body: gives up the body's share of live_ and
  // waits for the children.
  struct join_awaiter {
    task_group& group;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      group.joiner_ = detail::continuation::here(h);
      // acq_rel: pairs with child_finished()'s; the joiner fields are published before the decrement.
      return group.live_.fetch_sub(1, std::memory_order_acq_rel) != 1;
    }
    void await_resume() const noexcept {}
  };
  join_awaiter join() noexcept { return {*this}; }

  const bool supervising_;
  detail::cancel_scope scope_;
  std::atomic<std::size_t> live_{1};  // running children + 1 for the body until it joins
  std::atomic<std::size_t> next_executor_{0};
  detail::continuation joiner_;  // with_task_group's coroutine, waiting for the last child
  detail::child_registry children_;
  std::mutex mutex_;  // a failure's path only
  // ---- guarded by mutex_ until the join ----
  std::vector<std::exception_ptr> failures_;
};

namespace detail {

template <class Body>
using group_body_result_t = typename std::invoke_result_t<Body&, task_group&>::value_type;

template <class R, class Body>
task<R> run_task_group(bool supervising, Body body) {
  static_assert(!std::is_reference_v<R>,
                "cosync::with_task_group: the body must return a task of a value or void");
  if (current_executor() == nullptr) {
    throw usage_error("cosync::with_task_group must be awaited on an executor thread");
  }
  cancel_scope* const parent = co_await this_scope{};
  task_group group{supervising, parent};
  std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> result;
  try {
    task<R> t = body(group);
    set_scope(t, &group.scope_);
    if constexpr (std::is_void_v<R>) {
      co_await t;
      result.emplace(true);
    } else {
      result.emplace(co_await t);
    }
  } catch (...) {
    group.note_failure(std::current_exception());
  }
  co_await group.join();
  group.rethrow_failures();
  // The body made no value (it was cut short); or, for a body without a value, the cancellation
  // came from above (a parent group, a timeout) and cut the children short. A value the body did
  // produce is returned even then: it may hold something already taken from a channel.
  if (!result || (std::is_void_v<R> && parent != nullptr && parent->stop_requested())) {
    throw cancelled{};
  }
  if constexpr (!std::is_void_v<R>) {
    co_return std::move(*result);
  }
}

}  // namespace detail

/// Runs `body(group)` and waits for it and every child it spawned (see the file comment);
/// fail-fast. Returns the body's value.
template <class Body>
[[nodiscard]] task<detail::group_body_result_t<Body>> with_task_group(Body body) {
  return detail::run_task_group<detail::group_body_result_t<Body>>(false, std::move(body));
}

/// As with_task_group(body), supervising: failures cancel nothing and are all reported at the end.
template <class Body>
[[nodiscard]] task<detail::group_body_result_t<Body>> with_task_group(supervise_t /*policy*/, Body body) {
  return detail::run_task_group<detail::group_body_result_t<Body>>(true, std::move(body));
}

}  // namespace cosync
