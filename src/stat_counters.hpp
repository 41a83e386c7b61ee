#pragma once

// An executor's counters behind cosync::executor_stats. Single writer: only the executor's own
// thread adds (a relaxed load and store, no read-modify-write, no fence); any thread reads. The
// executor keeps them on lines of their own, so the reads of a stats() call are the only traffic.

#include <cosync/runtime_stats.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cosync::detail {

class stat_counters {
 public:
  using counter = std::atomic<std::uint64_t>;

  // Relaxed: each counter is a value on its own; no reader orders anything else by it.
  static void add(counter& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void raise_to(counter& c, std::uint64_t n) noexcept {
    if (n > c.load(std::memory_order_relaxed)) {
      c.store(n, std::memory_order_relaxed);
    }
  }

  counter resumed{0};
  counter ready_high_water{0};
  counter sleeps{0};
  counter woken{0};
  counter wakeups_sent{0};
  counter mesh_sent{0};
  counter mesh_received{0};
  counter mesh_overflows{0};
  counter foreign_received{0};
  counter timers_armed{0};
  counter timers_fired{0};
  counter timers_disarmed{0};
  counter io_submitted{0};
  counter io_completed{0};

  /// The loop's life and its idle time, as steady_clock nanoseconds (0: not yet / not now).
  void started(std::chrono::steady_clock::time_point t) noexcept { store(started_, t); }
  void stopped(std::chrono::steady_clock::time_point t) noexcept { store(stopped_, t); }
  void idle_from(std::chrono::steady_clock::time_point t) noexcept { store(idle_since_, t); }
  void idle_until(std::chrono::steady_clock::time_point t) noexcept {
    add(idle_ns_, static_cast<std::uint64_t>(ticks(t) - idle_since_.load(std::memory_order_relaxed)));
    idle_since_.store(0, std::memory_order_relaxed);
  }

  /// Any thread.
  [[nodiscard]] executor_stats snapshot() const noexcept;

 private:
  static std::int64_t ticks(std::chrono::steady_clock::time_point t) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
  static void store(std::atomic<std::int64_t>& word, std::chrono::steady_clock::time_point t) noexcept {
    word.store(ticks(t), std::memory_order_relaxed);
  }

  std::atomic<std::int64_t> started_{0};
  std::atomic<std::int64_t> stopped_{0};
  std::atomic<std::int64_t> idle_since_{0};
  counter idle_ns_{0};
};

}  // namespace cosync::detail
