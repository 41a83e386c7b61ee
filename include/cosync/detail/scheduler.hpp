#pragma once

// The few entry points into the executors (src/executor.cpp) that header templates need:
// where am I, and how do I get a suspended coroutine resumed on a given executor.

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>

namespace cosync::detail {

class executor;

/// Set by each executor thread to itself; null on every other thread. (Inline so that the hot
/// paths — every co_await of a task, every switch_to — read it without a call.)
inline thread_local executor* this_thread_executor = nullptr;

/// The executor whose thread is running, or nullptr on any other thread.
[[nodiscard]] inline executor* current_executor() noexcept {
  return this_thread_executor;
}

/// The executor's index in its runtime (0 .. executors-1).
[[nodiscard]] std::size_t index_of(const executor& e) noexcept;

/// How many executors `e`'s runtime has, and the one at `index` (which must be below that).
[[nodiscard]] std::size_t executor_count(const executor& e) noexcept;
[[nodiscard]] executor& peer(executor& e, std::size_t index) noexcept;

/// Queues `h` to be resumed by `target`'s thread. From `target`'s own thread it goes to the back
/// of its ready queue; from another executor through the mesh ring between the two; from any
/// other thread through `target`'s inbox. Never blocks, never drops.
void post(executor& target, std::coroutine_handle<> h);

/// For symmetric transfer at a completion: `h` itself when `target` is the calling thread's
/// executor (resume it now, without a queue), otherwise posts it and returns a no-op handle.
[[nodiscard]] std::coroutine_handle<> resume_on(executor& target, std::coroutine_handle<> h);

/// Below this stack address an executor thread stops nesting resumptions (0 elsewhere: never).
///
/// Symmetric transfer only keeps the stack flat if the compiler turns `await_suspend`'s returned
/// handle into a tail call. GCC 12 does so at -O2 but not at -O0/-Og/-O1 nor under the
/// sanitizers, where a long chain of synchronous completions would overflow the stack. So every
/// transfer checks the depth, and past a limit hands the coroutine to the executor loop instead
/// (front of the ready queue: it still runs next), which unwinds the stack. Where tail calls
/// work the check never fires; it costs one compare.
inline thread_local std::uintptr_t stack_floor = 0;

/// Queues `h` at the front of the current executor's ready queue; returns a no-op handle.
[[nodiscard]] std::coroutine_handle<> defer_to_loop(std::coroutine_handle<> h);

/// `h`, to resume by symmetric transfer, unless the stack is already deep (see stack_floor).
[[nodiscard]] inline std::coroutine_handle<> transfer_to(std::coroutine_handle<> h) {
  if (reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) < stack_floor) [[unlikely]] {
    return defer_to_loop(h);
  }
  return h;
}

/// True while the runtime's destructor is destroying the coroutines still suspended at
/// shutdown; frames may then be destroyed mid-flight without tripping task's contract check.
[[nodiscard]] bool tearing_down() noexcept;

}  // namespace cosync::detail

namespace cosync::detail {

/// A deadline registered with an executor's timer heap. It lives inside the operation that waits
/// for it, so arming a timer allocates nothing.
struct timer_node {
  static constexpr std::size_t not_armed = ~std::size_t{0};

  std::chrono::steady_clock::time_point deadline;
  std::size_t heap_index = not_armed;      // position in its executor's heap while armed
  void (*on_fire)(timer_node&) = nullptr;  // run on that executor's thread once the deadline passes

  [[nodiscard]] bool armed() const noexcept { return heap_index != not_armed; }
};

/// Arms `node` on `home` (the calling thread's executor). O(log n).
void arm_timer(executor& home, timer_node& node);

/// Disarms `node` if it is still armed on `home`; on home's thread (or during shutdown). O(log n).
/// (The node does not record its executor: whoever armed it knows, and a sleeping coroutine's
/// frame holds one node.)
void disarm_timer(executor& home, timer_node& node) noexcept;

}  // namespace cosync::detail
