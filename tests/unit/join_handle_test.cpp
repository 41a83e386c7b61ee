// cosync::spawn and join_handle: a task started from a coroutine runs concurrently and its result
// (or exception) is awaited later; cancel(); dropping the handle detaches, and a detached failure
// reaches the runtime's handler.

#include <cosync/join_handle.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timer.hpp>
#include <cosync/wait_group.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::task;
using namespace std::chrono_literals;

namespace {

task<int> answer_after(std::chrono::milliseconds delay, int value) {
  co_await cosync::sleep_for(delay);
  co_return value;
}

task<int> fails() {
  co_await cosync::sleep_for(1ms);
  throw std::runtime_error("spawned failure");
}

}  // namespace

COSYNC_TEST_CASE("a spawned task runs concurrently and its handle gives its value", "[spawn][unit]") {
  auto h = cosync::spawn(answer_after(2ms, 42));
  CHECK(h.valid());
  CHECK_FALSE(h.done());
  const int v = co_await h;
  CHECK(v == 42);
  CHECK(h.done());
  bool again = false;
  try {
    (void)co_await h;
  } catch (const cosync::usage_error&) {
    again = true;
  }
  CHECK(again);

  auto other = cosync::spawn_on(1, []() -> task<std::size_t> { co_return cosync::this_executor(); }());
  const std::size_t where = co_await other;
  CHECK(where == 1);

  bool threw = false;
  try {
    (void)cosync::spawn_on(7, answer_after(0ms, 1));
  } catch (const cosync::usage_error&) {
    threw = true;
  }
  CHECK(threw);
}

COSYNC_TEST_CASE("a spawned task's exception is rethrown by its handle", "[spawn][unit]") {
  auto h = cosync::spawn(fails());
  bool threw = false;
  try {
    (void)co_await h;
  } catch (const std::runtime_error& e) {
    threw = std::string{e.what()} == "spawned failure";
  }
  CHECK(threw);
}

COSYNC_TEST_CASE("a join_handle cancels its task and is a select case", "[spawn][select][unit]") {
  auto h = cosync::spawn(answer_after(10s, 1));
  auto r = co_await cosync::select(h.join(), cosync::after(1ms));
  CHECK(r.index() == 1);  // still running, still joinable
  h.cancel();
  bool cancelled = false;
  try {
    (void)co_await h;
  } catch (const cosync::cancelled&) {
    cancelled = true;
  }
  CHECK(cancelled);

  // The awaiter cancelled: its await throws, the task runs on and is joined later.
  auto slow = cosync::spawn(answer_after(5ms, 7));
  bool await_cancelled = false;
  auto joiner = [&]() -> task<void> {  // outlives the child (not in the body's frame)
    try {
      (void)co_await slow;
    } catch (const cosync::cancelled&) {
      await_cancelled = true;
    }
  };
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    g.spawn(joiner());
    co_await cosync::sleep_for(1ms);
    g.cancel();
  });
  CHECK(await_cancelled);
  const int seven = co_await slow;
  CHECK(seven == 7);
}

TEST_CASE("a detached task's failure reaches the runtime's handler", "[spawn][unit]") {
  std::mutex m;
  std::vector<std::string> reported;
  cosync::runtime_config config{.executors = 2};
  config.on_detached_failure = [&](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      const std::lock_guard lock{m};
      reported.emplace_back(x.what());
    }
  };
  cosync::runtime rt{config};
  cosync::sync_wait(rt, []() -> task<void> {
    // Dropped before it fails: reported when it fails.
    cosync::spawn(fails()).detach();
    // Dropped after it failed, unawaited: reported when dropped.
    {
      auto h = cosync::spawn(fails());
      co_await cosync::sleep_for(5ms);
      CHECK(h.done());
    }
    // Awaited: not reported. Cancelled: not a failure.
    auto awaited = cosync::spawn(fails());
    try {
      (void)co_await awaited;
    } catch (const std::runtime_error&) {
    }
    auto cancelled = cosync::spawn(answer_after(10s, 0));
    cancelled.cancel();
    co_await cosync::sleep_for(5ms);
  }());
  rt.spawn([]() -> task<void> {
    co_await cosync::yield();
    throw std::logic_error("root failure");
  }());
  rt.shutdown(1s);
  const std::lock_guard lock{m};
  std::sort(reported.begin(), reported.end());
  CHECK(reported == std::vector<std::string>{"root failure", "spawned failure", "spawned failure"});
}

COSYNC_TEST_CASE("spawn and join 10000 tasks across executors", "[spawn][unit]") {
  std::vector<cosync::join_handle<int>> handles;
  for (int i = 0; i < 10000; ++i) {
    handles.push_back(
        cosync::spawn_on(static_cast<std::size_t>(i % 2), []() -> task<int> { co_return 1; }()));
  }
  int sum = 0;
  for (auto& h : handles) {
    sum += co_await h;
  }
  CHECK(sum == 10000);
}

TEST_CASE("shutdown cancels a spawned task and frees its state", "[spawn][unit]") {
  cosync::runtime rt{{.executors = 2}};
  std::atomic<bool> cancelled{false};
  // A detached task outlives the coroutine that spawned it: what it needs comes as parameters.
  auto forever = [](std::atomic<bool>* seen) -> task<void> {
    try {
      co_await cosync::sleep_for(1h);
    } catch (const cosync::cancelled&) {
      *seen = true;
      throw;
    }
  };
  cosync::sync_wait(rt, [&]() -> task<void> {
    cosync::spawn(forever(&cancelled)).detach();
    co_await cosync::sleep_for(1ms);
  }());
  rt.shutdown(1s);
  CHECK(cancelled.load());  // ASan checks that nothing leaked
}
