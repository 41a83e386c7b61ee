// runtime_bench: the runtime workloads of BENCHMARKING.md, each beside the raw spsc_ring figure
// it is judged against, measured in the same run on the same pinned CPUs.
//
//   C7    switch_to ping-pong between executors 0 and 1 (round trip ns, p50/p99), with both
//         executors kept busy by a yielding coroutine, and with executor 1 asleep in the backend
//         before each round trip (so each includes one wakeup); beside the raw ring's R3.
//   mesh  1024 coroutines bouncing between executors 0 and 1: items per second through each
//         direction's ring; beside the raw ring's R2 streaming rate (capacity 1024).
//   C6    10^5 coroutines each sleeping 1 ms at once on one executor: wall time and peak RSS.
//   and   timer lateness under load: 10^4 random deadlines within 20 ms on a busy executor.

#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "harness.hpp"
#include "ring_workloads.hpp"

namespace {

using namespace cosync::bench;
using cosync::task;

cosync::runtime_config pinned(std::size_t executors) {
  return cosync::runtime_config{.executors = executors, .pin_threads = true};
}

// Keeps its executor's loop turning until `stop`: the executor never goes to sleep.
task<void> keep_busy(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    co_await cosync::yield();
  }
}

// How the partner executor spends the time between two round trips.
enum class partner { busy, asleep };

result c7_hop(double scale, partner mode) {
  // Asleep: before each round trip the coroutine rests on executor 0 long enough for executor 1
  // to finish its idle spin and block, so every round trip includes waking it.
  const bool asleep = mode == partner::asleep;
  const u64 n = asleep ? scaled(2e3, scale) : scaled(2e5, scale);
  const auto rest = std::chrono::microseconds{200};
  cosync::runtime rt{pinned(2)};
  std::atomic<bool> stop{false};
  if (!asleep) {
    rt.spawn(keep_busy(stop), 0);
    rt.spawn(keep_busy(stop), 1);
  }
  std::vector<u64> round_trip(n);
  auto ping_pong = [&]() -> task<result> {
    bool home_and_away = true;
    double total_ns = 0;
    for (u64 i = 0; i < n; ++i) {
      if (asleep) {
        co_await cosync::sleep_for(rest);
      }
      const auto start = steady::now();
      const u64 t0 = ticks();
      co_await cosync::switch_to(1);
      home_and_away &= cosync::this_executor() == 1;
      co_await cosync::switch_to(0);
      home_and_away &= cosync::this_executor() == 0;
      round_trip[i] = ticks() - t0;
      total_ns += std::chrono::duration<double, std::nano>(steady::now() - start).count();
    }
    u64 total_ticks = 0;
    for (u64 t : round_trip) {
      total_ticks += t;
    }
    const double ns_per_tick = total_ns / static_cast<double>(std::max<u64>(total_ticks, 1));
    std::sort(round_trip.begin(), round_trip.end());
    const auto pct = [&](double p) {
      return static_cast<double>(round_trip[static_cast<std::size_t>(p * static_cast<double>(n - 1))]) *
             ns_per_tick;
    };
    co_return result{
        total_ns / static_cast<double>(n), {{"p50_ns", pct(0.50)}, {"p99_ns", pct(0.99)}}, home_and_away};
  };
  result r = cosync::sync_wait(rt, ping_pong());
  stop.store(true);
  return r;
}

result mesh_bounce(double scale) {
  constexpr std::size_t coroutines = 1024;
  const u64 rounds = std::max<u64>(1, scaled(2e7, scale) / coroutines);
  cosync::runtime rt{pinned(2)};
  auto bouncer = [](u64 rounds_each) -> task<u64> {
    u64 crossings = 0;
    for (u64 i = 0; i < rounds_each; ++i) {
      co_await cosync::switch_to(1);
      crossings += cosync::this_executor() == 1;
      co_await cosync::switch_to(0);
      crossings += cosync::this_executor() == 0;
    }
    co_return crossings;
  };
  auto all = [&]() -> task<result> {
    std::vector<task<u64>> tasks;
    for (std::size_t c = 0; c < coroutines; ++c) {
      tasks.push_back(bouncer(rounds));
    }
    const auto start = steady::now();
    const std::vector<u64> crossings = co_await cosync::when_all(std::move(tasks));
    const double s = seconds_since(start);
    u64 total = 0;
    for (u64 c : crossings) {
      total += c;
    }
    const u64 per_direction = coroutines * rounds;
    const double rate = static_cast<double>(per_direction) / s;
    co_return result{rate / 1e6, {{"ns_per_item", 1e9 / rate}}, total == 2 * per_direction};
  };
  return cosync::sync_wait(rt, all());
}

result c6_timers(double scale) {
  const u64 n = scaled(1e5, scale);
  cosync::runtime rt{pinned(1)};
  auto sleeper = []() -> task<void> { co_await cosync::sleep_for(std::chrono::milliseconds{1}); };
  auto all = [&]() -> task<result> {
    const auto start = steady::now();
    std::vector<task<void>> tasks;
    tasks.reserve(n);
    for (u64 i = 0; i < n; ++i) {
      tasks.push_back(sleeper());
    }
    co_await cosync::when_all(std::move(tasks));
    const double ms = seconds_since(start) * 1e3;
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    co_return result{ms, {{"peak_rss_MiB", static_cast<double>(usage.ru_maxrss) / 1024.0}}, ms >= 1.0};
  };
  return cosync::sync_wait(rt, all());
}

// Timer accuracy under load: 10^4 coroutines sleep until random deadlines spread over 20 ms on one
// executor that also runs a coroutine yielding in a loop (it never goes idle); each records how
// late it woke.
result timer_lateness(double scale) {
  const u64 n = scaled(1e4, scale);
  cosync::runtime rt{pinned(1)};
  std::vector<double> late_us(n);
  auto sleeper = [](steady::time_point deadline, double& late) -> task<void> {
    co_await cosync::sleep_until(deadline);
    late = std::chrono::duration<double, std::micro>(steady::now() - deadline).count();
  };
  auto all = [&]() -> task<result> {
    std::atomic<bool> stop{false};
    std::mt19937_64 rng{42};
    // Deadlines start 10 ms out, after every sleeper has been created and armed.
    const auto start = steady::now() + std::chrono::milliseconds{10};
    std::vector<task<void>> tasks;
    for (u64 i = 0; i < n; ++i) {
      tasks.push_back(sleeper(start + std::chrono::microseconds{rng() % 20'000}, late_us[i]));
    }
    auto load = [&]() -> task<void> {
      co_await cosync::when_all(std::move(tasks));
      stop.store(true);
    };
    co_await cosync::when_all(load(), keep_busy(stop));
    std::sort(late_us.begin(), late_us.end());
    const auto pct = [&](double p) {
      return late_us[static_cast<std::size_t>(p * static_cast<double>(n - 1))];
    };
    co_return result{pct(0.99), {{"p50_us", pct(0.5)}, {"max_us", late_us.back()}}, late_us.front() >= 0};
  };
  return cosync::sync_wait(rt, all());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<bench_case> cases;
  cases.push_back({"C7 hop round trip", "raw spsc_ring (R3)", "ns/round trip", false, true, role::baseline,
                   r3_ping_pong<cosync_ring>});
  cases.push_back({"C7 hop round trip", "switch_to, busy partners", "ns/round trip", false, true, role::ours,
                   [](double scale) { return c7_hop(scale, partner::busy); }});
  cases.push_back({"C7 hop round trip", "switch_to, partner asleep", "ns/round trip", false, true, role::ours,
                   [](double scale) { return c7_hop(scale, partner::asleep); }});
  cases.push_back({"mesh 0<->1 per direction", "raw spsc_ring (R2 cap=1024)", "M items/s", true, true,
                   role::baseline, [](double scale) { return r2_stream<cosync_ring>(scale, 1024); }});
  cases.push_back({"mesh 0<->1 per direction", "1024 coroutines bouncing", "M items/s", true, true,
                   role::ours, mesh_bounce});
  cases.push_back(
      {"C6 10^5 sleeps of 1 ms", "cosync timers", "ms wall", false, false, role::ours, c6_timers});
  cases.push_back({"timer lateness under load, p99", "10^4 deadlines in 20 ms", "us late", false, false,
                   role::ours, timer_lateness});
  return run_main(argc, argv, cases);
}
