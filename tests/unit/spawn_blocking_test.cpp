// spawn_blocking: blocking calls run on the runtime's bounded pool of plain threads; the caller
// resumes on its home executor; a queued call can be cancelled, a running one is waited for.

#include <cosync/cancel_scope.hpp>
#include <cosync/runtime.hpp>
#include <cosync/spawn_blocking.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::task;
using namespace std::chrono_literals;

COSYNC_TEST_CASE("spawn_blocking runs off the executors and resumes on the caller's home",
                 "[spawn_blocking][unit]") {
  const std::size_t home = cosync::this_executor();
  const auto [value, on_executor] = co_await cosync::spawn_blocking([] {
    std::this_thread::sleep_for(1ms);  // a blocking call
    return std::pair{std::string{"done"}, cosync::on_executor()};
  });
  CHECK(value == "done");
  CHECK_FALSE(on_executor);
  CHECK(cosync::this_executor() == home);

  int ran = 0;
  co_await cosync::spawn_blocking([&] { ++ran; });
  CHECK(ran == 1);

  bool threw = false;
  try {
    co_await cosync::spawn_blocking([]() -> int { throw std::runtime_error("blocking failure"); });
  } catch (const std::runtime_error&) {
    threw = true;
  }
  CHECK(threw);
}

TEST_CASE("spawn_blocking uses at most blocking_threads threads and queues the rest",
          "[spawn_blocking][unit]") {
  cosync::runtime rt{{.executors = 2, .blocking_threads = 2}};
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  const std::vector<int> results = cosync::sync_wait(rt, [&]() -> task<std::vector<int>> {
    auto call = [&](int i) -> task<int> {
      co_return co_await cosync::spawn_blocking([&, i] {
        const int now = running.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(2ms);
        running.fetch_sub(1);
        return i;
      });
    };
    std::vector<task<int>> calls;
    for (int i = 0; i < 6; ++i) {
      calls.push_back(call(i));
    }
    co_return co_await cosync::when_all(std::move(calls));
  }());
  CHECK(results == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(most.load() <= 2);
  CHECK_THROWS_AS((cosync::runtime{cosync::runtime_config{.executors = 1, .blocking_threads = 0}}),
                  cosync::config_error);
}

TEST_CASE("a queued blocking call is cancelled and a running one is waited for", "[spawn_blocking][unit]") {
  cosync::runtime rt{{.executors = 2, .blocking_threads = 1}};
  std::atomic<bool> release{false};
  std::atomic<bool> second_ran{false};
  bool second_cancelled = false;
  int first = 0;
  cosync::sync_wait(rt, [&]() -> task<void> {
    cosync::cancel_scope scope;
    std::atomic<bool> started{false};
    auto occupy = [&]() -> task<void> {
      // Running when its scope is cancelled: the await ends when the call returns, with its value.
      auto r = co_await scope.run(cosync::spawn_blocking([&] {
        started = true;
        while (!release.load()) {
          std::this_thread::sleep_for(100us);
        }
        return 1;
      }));
      first = r.value_or(-1);
    };
    auto queued = [&]() -> task<void> {
      try {
        co_await cosync::spawn_blocking([&] { second_ran = true; });
      } catch (const cosync::cancelled&) {
        second_cancelled = true;
      }
    };
    co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
      g.spawn(occupy());
      while (!started.load()) {
        co_await cosync::sleep_for(100us);
      }
      scope.cancel();
      co_await cosync::with_task_group([&](cosync::task_group& inner) -> task<void> {
        inner.spawn(queued());
        co_await cosync::sleep_for(1ms);
        inner.cancel();  // the only thread is busy: the call is still queued
      });
      release = true;
    });
  }());
  CHECK(first == 1);
  CHECK(second_cancelled);
  CHECK_FALSE(second_ran.load());
}

TEST_CASE("blocking threads run on every allowed CPU even when the executors are pinned",
          "[spawn_blocking][unit]") {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  REQUIRE(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  cosync::runtime rt{{.executors = 1, .pin_threads = true}};
  const int cpus = cosync::sync_wait(rt, []() -> task<int> {
    co_return co_await cosync::spawn_blocking([] {
      cpu_set_t mine;
      CPU_ZERO(&mine);
      return sched_getaffinity(0, sizeof mine, &mine) == 0 ? CPU_COUNT(&mine) : -1;
    });
  }());
  CHECK(cpus == CPU_COUNT(&allowed));  // not just the executor's one CPU
}
