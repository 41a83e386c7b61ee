#pragma once

// The few points where header templates report to the runtime's timeline trace
// (runtime_config::trace_path, src/trace.hpp). Off, each costs one thread-local load and a branch
// that is never taken; the calls themselves are out of line.

#include <string_view>

namespace cosync::detail {

class trace_buffer;

/// The calling executor thread's trace buffer while the runtime records a trace; null otherwise
/// (tracing off, or a thread that is not an executor).
inline thread_local trace_buffer* this_thread_trace = nullptr;

/// The coroutine `frame` parked, waiting for `what` (a channel receive, a sleep, a select...).
void trace_park(const void* frame, const char* what) noexcept;

/// The parked coroutine `frame` was cancelled (its wait withdrawn).
void trace_cancel(const void* frame) noexcept;

/// The coroutine `frame` is named `label` in the trace until it ends (task_group::spawn's label).
void trace_label(const void* frame, std::string_view label);

/// The coroutine `frame` ended: its address may be reused by another.
void trace_frame_end(const void* frame) noexcept;

[[nodiscard]] inline bool tracing() noexcept {
  return this_thread_trace != nullptr;
}

}  // namespace cosync::detail
