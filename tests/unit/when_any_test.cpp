// when_any: the first operation to complete wins, the others are cancelled and awaited.

#include <cosync/cancel_scope.hpp>
#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_any.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::channel;
using cosync::task;
using namespace std::chrono_literals;

namespace {

// Sleeps, then returns `value`; records whether it was cancelled.
task<int> slow(int value, std::chrono::milliseconds delay, bool* cancelled = nullptr) {
  try {
    co_await cosync::sleep_for(delay);
  } catch (const cosync::cancelled&) {
    if (cancelled != nullptr) {
      *cancelled = true;
    }
    throw;
  }
  co_return value;
}

task<std::string> fails_after(std::chrono::milliseconds delay) {
  co_await cosync::sleep_for(delay);
  throw std::runtime_error("boom");
}

// Counts live instances: a result destroyed is not leaked.
struct counted {
  static inline int live = 0;
  counted() { ++live; }
  counted(counted&& /*other*/) noexcept { ++live; }
  counted& operator=(counted&&) = delete;
  ~counted() { --live; }
};

}  // namespace

COSYNC_TEST_CASE("when_any returns the first to complete and cancels the others", "[when_any][unit]") {
  bool loser_cancelled = false;
  auto r = co_await cosync::when_any(slow(1, 10s, &loser_cancelled), slow(2, 1ms));
  CHECK(r.index() == 1);
  CHECK(get<1>(r) == 2);
  CHECK(loser_cancelled);  // and it had ended before when_any returned

  channel<std::string> ch{1};
  REQUIRE(ch.try_send("ready") == cosync::try_status::ok);
  auto mixed = co_await cosync::when_any(cosync::sleep_for(10s), ch.recv());
  REQUIRE(mixed.index() == 1);
  CHECK(get<1>(mixed) == std::optional<std::string>{"ready"});
}

COSYNC_TEST_CASE("once one has completed the rest of a when_any are not started", "[when_any][unit]") {
  bool started = false;
  auto second = [&]() -> task<int> {
    started = true;
    co_return 2;
  };
  auto r = co_await cosync::when_any(slow(1, 0ms), second());
  CHECK(r.index() == 0);
  CHECK_FALSE(started);
}

COSYNC_TEST_CASE("a when_any winner's exception is rethrown and losers' are dropped", "[when_any][unit]") {
  bool threw = false;
  try {
    (void)co_await cosync::when_any(slow(1, 10s), fails_after(1ms));
  } catch (const std::runtime_error&) {
    threw = true;
  }
  CHECK(threw);
  auto r = co_await cosync::when_any(fails_after(5ms), slow(1, 1ms));
  CHECK(r.index() == 1);
}

COSYNC_TEST_CASE("when_any over a vector returns the winner's index and value", "[when_any][unit]") {
  std::vector<task<int>> tasks;
  tasks.push_back(slow(10, 10s));
  tasks.push_back(slow(20, 10s));
  tasks.push_back(slow(30, 1ms));
  auto [index, value] = co_await cosync::when_any(std::move(tasks));
  CHECK(index == 2);
  CHECK(value == 30);

  bool threw = false;
  try {
    (void)co_await cosync::when_any(std::vector<task<int>>{});
  } catch (const cosync::usage_error&) {
    threw = true;
  }
  CHECK(threw);
}

COSYNC_TEST_CASE("a when_any cancelled from above throws cancelled after its operations end",
                 "[when_any][unit]") {
  bool a = false;
  bool b = false;
  bool threw = false;
  auto racer = [&]() -> task<void> {  // outlives the child (not in the body's frame)
    try {
      (void)co_await cosync::when_any(slow(1, 10s, &a), slow(2, 10s, &b));
    } catch (const cosync::cancelled&) {
      threw = true;
    }
  };
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    g.spawn(racer());
    co_await cosync::sleep_for(1ms);
    g.cancel();
  });
  CHECK(threw);
  CHECK(a);
  CHECK(b);
}

COSYNC_TEST_CASE("a when_any loser that completes anyway has its result destroyed", "[when_any][unit]") {
  auto ignores_cancel = []() -> task<counted> {
    co_await cosync::shield(cosync::sleep_for(2ms));  // ignores the cancellation
    co_return counted{};
  };
  auto quick = []() -> task<counted> {
    co_await cosync::sleep_for(1ms);
    co_return counted{};
  };
  {
    auto r = co_await cosync::when_any(ignores_cancel(), quick());
    CHECK(r.index() == 1);
    CHECK(counted::live == 1);  // the winner's; the loser's was destroyed
  }
  CHECK(counted::live == 0);
}
