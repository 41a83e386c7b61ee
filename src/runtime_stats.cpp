#include <cosync/runtime_stats.hpp>

#include <algorithm>
#include <cstdio>

#include "stat_counters.hpp"

namespace cosync {
namespace detail {

executor_stats stat_counters::snapshot() const noexcept {
  const auto read = [](const counter& c) { return c.load(std::memory_order_relaxed); };
  executor_stats s;
  s.resumed = read(resumed);
  s.ready_high_water = read(ready_high_water);
  s.sleeps = read(sleeps);
  s.woken = read(woken);
  s.wakeups_sent = read(wakeups_sent);
  s.mesh_sent = read(mesh_sent);
  s.mesh_received = read(mesh_received);
  s.mesh_overflows = read(mesh_overflows);
  s.foreign_received = read(foreign_received);
  s.timers_armed = read(timers_armed);
  s.timers_fired = read(timers_fired);
  s.timers_disarmed = read(timers_disarmed);
  s.io_submitted = read(io_submitted);
  s.io_completed = read(io_completed);

  const std::int64_t started = started_.load(std::memory_order_relaxed);
  if (started == 0) {
    return s;  // its thread has not run yet
  }
  const std::int64_t stopped = stopped_.load(std::memory_order_relaxed);
  const std::int64_t now = stopped != 0 ? stopped : ticks(std::chrono::steady_clock::now());
  const std::int64_t idle_since = idle_since_.load(std::memory_order_relaxed);
  // An idle spell in progress counts up to now; the loads are not one instant, hence the clamps.
  const std::int64_t idle =
      static_cast<std::int64_t>(read(idle_ns_)) +
      (idle_since != 0 && stopped == 0 ? std::max<std::int64_t>(0, now - idle_since) : 0);
  const std::int64_t age = std::max<std::int64_t>(0, now - started);
  s.idle = std::chrono::nanoseconds{std::min(idle, age)};
  s.busy = std::chrono::nanoseconds{age} - s.idle;
  return s;
}

}  // namespace detail

std::string stats_table(const std::vector<executor_stats>& stats) {
  std::string out;
  const auto line = [&out](const char* format, auto... values) {
    char buffer[256];
    const int n = std::snprintf(buffer, sizeof buffer, format, values...);
    out.append(buffer, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof buffer) - 1)));
  };
  line("%4s %12s %7s %9s %9s %9s %11s %11s %9s %9s %9s %9s %9s %8s %6s\n", "exec", "resumed", "ready^",
       "sleeps", "woken", "wakes->", "mesh out", "mesh in", "overflow", "foreign", "timers", "fired", "io",
       "busy ms", "busy%");
  for (const executor_stats& s : stats) {
    const double busy_ms = std::chrono::duration<double, std::milli>(s.busy).count();
    const double age = std::chrono::duration<double, std::milli>(s.busy + s.idle).count();
    line("%4zu %12llu %7llu %9llu %9llu %9llu %11llu %11llu %9llu %9llu %9llu %9llu %9llu %8.1f %5.1f%%\n",
         s.executor, static_cast<unsigned long long>(s.resumed),
         static_cast<unsigned long long>(s.ready_high_water), static_cast<unsigned long long>(s.sleeps),
         static_cast<unsigned long long>(s.woken), static_cast<unsigned long long>(s.wakeups_sent),
         static_cast<unsigned long long>(s.mesh_sent), static_cast<unsigned long long>(s.mesh_received),
         static_cast<unsigned long long>(s.mesh_overflows),
         static_cast<unsigned long long>(s.foreign_received), static_cast<unsigned long long>(s.timers_armed),
         static_cast<unsigned long long>(s.timers_fired), static_cast<unsigned long long>(s.io_completed),
         busy_ms, age > 0 ? 100.0 * busy_ms / age : 0.0);
  }
  return out;
}

}  // namespace cosync
