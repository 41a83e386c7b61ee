#pragma once

// The runtime's timeline trace (runtime_config::trace_path, or COSYNC_TRACE). Each executor
// records into a buffer of its own, written by its thread only, that keeps the newest events; at
// shutdown, once the threads have stopped, the recorder merges the buffers into one Chrome /
// Perfetto trace-event file: a track per executor, a slice per coroutine run, instants for park,
// wake and cancel, and flow arrows from the run that woke a coroutine to the run it started
// (a hop between executors, a message handed to a parked receiver).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cosync::detail {

enum class trace_kind : std::uint8_t {
  run_begin,  // detail: the coroutine's resume function
  run_end,
  park,  // detail: what it waits for (a string literal)
  wake,  // target: the executor it will run on
  cancel,
  label,  // detail: its interned label
  frame_end,
};

struct trace_event {
  std::uint64_t at = 0;  // trace_clock ticks (src/trace.cpp)
  const void* frame = nullptr;
  const void* detail = nullptr;
  std::uint32_t target = 0;
  trace_kind kind = trace_kind::run_end;
};

/// One executor's events: a ring that overwrites the oldest once full.
class trace_buffer {
 public:
  trace_buffer(std::size_t executor, std::size_t capacity);

  void record(trace_kind kind, const void* frame, const void* detail = nullptr,
              std::uint32_t target = 0) noexcept;

  [[nodiscard]] std::size_t executor() const noexcept { return executor_; }
  /// After the owner thread stopped: the events kept, oldest first, and how many were overwritten.
  [[nodiscard]] std::vector<trace_event> events() const;
  [[nodiscard]] std::uint64_t dropped() const noexcept;

 private:
  std::vector<trace_event> events_;
  std::uint64_t recorded_ = 0;
  std::size_t executor_;
};

class trace_recorder {
 public:
  /// `events_per_executor`: how many of the newest events each executor keeps.
  trace_recorder(std::string path, std::size_t executors, std::size_t events_per_executor);

  [[nodiscard]] trace_buffer& buffer(std::size_t executor) noexcept { return *buffers_[executor]; }

  /// Once every executor thread has stopped: writes the file. A failure is printed on stderr,
  /// never thrown (it runs during shutdown).
  void write() const noexcept;

 private:
  void write_to(std::FILE* out) const;

  std::string path_;
  // Both clocks read together at the start, so that ticks convert to time since then.
  std::uint64_t origin_ticks_;
  std::int64_t origin_ns_;
  std::vector<std::unique_ptr<trace_buffer>> buffers_;
};

}  // namespace cosync::detail
