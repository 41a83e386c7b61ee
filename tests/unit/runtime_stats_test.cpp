// runtime::stats(): each counter moves with what it counts (hops, sleeps and wakeups, mesh
// overflow, timers, I/O), busy and idle time add up, a snapshot is safe from any thread while the
// executors run, and stats_table() prints a row per executor. The trace's configuration errors
// (its file's shape is checked by tests/tools/trace_check.py).
#include <cosync/error.hpp>
#include <cosync/file.hpp>
#include <cosync/runtime.hpp>
#include <cosync/runtime_stats.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using cosync::task;
using namespace std::chrono_literals;

namespace {

task<void> hop(int times) {
  for (int i = 0; i < times; ++i) {
    co_await cosync::switch_to(1);
    co_await cosync::switch_to(0);
  }
}

}  // namespace

TEST_CASE("stats count hops through the mesh: coroutines resumed and wakeups of a sleeper", "[stats][unit]") {
  cosync::runtime rt{cosync::runtime_config{.executors = 2}};
  const auto before = rt.stats();
  REQUIRE(before.size() == 2);
  CHECK(before[0].executor == 0);
  CHECK(before[1].executor == 1);

  cosync::sync_wait(rt, hop(1000));
  // Executor 1 goes idle between hops from time to time; after a long rest it must be asleep.
  cosync::sync_wait(rt, []() -> task<void> {
    for (int i = 0; i < 3; ++i) {
      co_await cosync::sleep_for(20ms);  // longer than the idle spin: executor 1 blocks
      co_await cosync::switch_to(1);
      co_await cosync::switch_to(0);
    }
  }());
  const auto after = rt.stats();
  CHECK(after[0].mesh_sent >= 1003);
  CHECK(after[1].mesh_received >= 1003);
  CHECK(after[1].mesh_sent >= 1003);
  CHECK(after[0].mesh_received >= 1003);
  CHECK(after[1].resumed >= 1003);
  CHECK(after[0].resumed >= after[0].mesh_received);
  CHECK(after[1].sleeps >= 3);
  CHECK(after[1].woken >= 3);
  CHECK(after[1].woken <= after[1].sleeps);
  CHECK(after[0].wakeups_sent >= 3);
  CHECK(after[0].timers_armed >= 3);
  CHECK(after[0].timers_fired >= 3);
  CHECK(after[0].mesh_overflows == 0);
  CHECK(after[0].ready_high_water >= 1);  // the root arrived through the inbox and was queued
  for (const cosync::executor_stats& s : after) {
    CHECK(s.busy.count() > 0);
    CHECK(s.idle.count() > 0);
  }
  // Counters only grow.
  CHECK(after[0].resumed >= before[0].resumed);
  CHECK(after[1].sleeps >= before[1].sleeps);
}

TEST_CASE("stats count a ring that overflowed and how high a ready queue rose", "[stats][unit]") {
  // A ring of 16 between the executors: 200 coroutines moving at once cannot fit.
  cosync::runtime rt{cosync::runtime_config{.executors = 2, .mesh_ring_capacity = 16}};
  cosync::sync_wait(rt, []() -> task<void> {
    std::vector<task<void>> movers;
    for (int i = 0; i < 200; ++i) {
      movers.push_back(hop(5));
    }
    co_await cosync::when_all(std::move(movers));
  }());
  const auto stats = rt.stats();
  CHECK(stats[0].mesh_overflows >= 1);
  CHECK(stats[0].mesh_sent >= 1000);
  CHECK(stats[1].mesh_received >= 1000);
  // 100 coroutines that yield at once wait in the ready queue together.
  cosync::sync_wait(rt, []() -> task<void> {
    std::vector<task<void>> yielders;
    for (int i = 0; i < 100; ++i) {
      yielders.push_back([]() -> task<void> { co_await cosync::yield(); }());
    }
    co_await cosync::when_all(std::move(yielders));
  }());
  CHECK(rt.stats()[0].ready_high_water >= 100);
}

TEST_CASE("stats count timers withdrawn before their deadline and I/O started and completed",
          "[stats][unit]") {
  cosync::runtime rt{cosync::runtime_config{.executors = 1}};
  const auto path =
      std::filesystem::temp_directory_path() / ("cosync_stats_test_" + std::to_string(::getpid()));
  cosync::sync_wait(rt, [](std::filesystem::path p) -> task<void> {
    // The hour-long sleep parks with its timer armed; the 10 ms timeout fires and cancels it,
    // which withdraws the hour's timer.
    const auto slept = co_await cosync::move_on_after(10ms, cosync::sleep_for(1h));
    CHECK_FALSE(slept);
    cosync::file f = cosync::file::open(p, cosync::open_mode::write);
    const std::size_t written = co_await f.write_at("stats", 0);
    CHECK(written == 5);
  }(path));
  std::filesystem::remove(path);
  const auto stats = rt.stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].timers_armed >= 1);
  CHECK(stats[0].timers_disarmed >= 1);
  CHECK(stats[0].timers_disarmed + stats[0].timers_fired <= stats[0].timers_armed);
  CHECK(stats[0].io_submitted >= 1);
  CHECK(stats[0].io_completed >= 1);
  CHECK(stats[0].mesh_sent == 0);
}

TEST_CASE("stats may be read from any thread while the executors run and stay after shutdown",
          "[stats][unit]") {
  cosync::runtime rt{cosync::runtime_config{.executors = 2}};
  std::atomic<bool> done{false};
  std::thread reader{[&] {
    std::uint64_t last = 0;
    while (!done.load()) {
      const auto s = rt.stats();
      const std::uint64_t now = s[0].resumed + s[1].resumed;
      CHECK(now >= last);  // a single writer: every counter only grows
      last = now;
    }
  }};
  cosync::sync_wait(rt, hop(20000));
  done.store(true);
  reader.join();
  rt.shutdown(1s);
  const auto first = rt.stats();
  const auto second = rt.stats();
  CHECK(first[0].resumed == second[0].resumed);
  CHECK(first[0].busy == second[0].busy);  // stopped executors have a fixed age
  CHECK(first[1].idle == second[1].idle);
}

TEST_CASE("stats_table prints a header and a row per executor", "[stats][unit]") {
  cosync::runtime rt{cosync::runtime_config{.executors = 2}};
  cosync::sync_wait(rt, hop(10));
  const std::string table = cosync::stats_table(rt.stats());
  CHECK(table.find("resumed") != std::string::npos);
  CHECK(table.find("overflow") != std::string::npos);
  std::size_t lines = 0;
  for (const char c : table) {
    lines += c == '\n' ? 1 : 0;
  }
  CHECK(lines == 3);
}

TEST_CASE("a trace that keeps no events or too many is refused with config_error", "[trace][unit]") {
  CHECK_THROWS_AS(
      cosync::runtime(cosync::runtime_config{.executors = 1, .trace_path = "t.json", .trace_events = 0}),
      cosync::config_error);
  CHECK_THROWS_AS(
      cosync::runtime(cosync::runtime_config{
          .executors = 1, .trace_path = "t.json", .trace_events = cosync::runtime::max_trace_events + 1}),
      cosync::config_error);
}

TEST_CASE("a trace that cannot be written is reported on stderr and the shutdown goes on", "[trace][unit]") {
  cosync::runtime rt{cosync::runtime_config{.executors = 2, .trace_path = "/nonexistent-dir/trace.json"}};
  cosync::sync_wait(rt, hop(10));
  CHECK_NOTHROW(rt.shutdown(1s));
}

namespace {

task<void> yield_once() {
  co_await cosync::yield();  // a run of its own, from the ready queue
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

}  // namespace

TEST_CASE("a labelled spawn refused by a cancelled group leaves its label to no other coroutine",
          "[trace][unit]") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("cosync_label_test_" + std::to_string(::getpid()) + ".json"))
          .string();
  {
    cosync::runtime rt{cosync::runtime_config{.executors = 1, .trace_path = path}};
    cosync::sync_wait(rt, []() -> task<void> {
      co_await cosync::with_task_group([](cosync::task_group& g) -> task<void> {
        g.cancel();
        CHECK_THROWS_AS(g.spawn(yield_once(), "refused"), cosync::cancelled);
        co_return;
      });
      // The refused child's frame went back to the frame cache: the next coroutine of its size
      // takes it.
      co_await yield_once();
    }());
  }
  const std::string trace = read_file(path);
  std::filesystem::remove(path);
  CHECK(trace.find("\"traceEvents\"") != std::string::npos);
  CHECK(trace.find("refused") == std::string::npos);
}
