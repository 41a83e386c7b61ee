#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::task;
using namespace std::chrono_literals;

namespace {

task<int> value(int v) {
  co_return v;
}

task<std::string> text_after_yield(std::string s) {
  co_await cosync::yield();
  co_return s;
}

task<void> log_twice(std::vector<std::string>& log, std::string name) {
  log.push_back(name + "1");
  co_await cosync::yield();
  log.push_back(name + "2");
}

task<int> throw_after(std::chrono::milliseconds delay, const char* message) {
  co_await cosync::sleep_for(delay);
  throw std::runtime_error(message);
}

task<int> finish_after(std::chrono::milliseconds delay, int& finished) {
  co_await cosync::sleep_for(delay);
  ++finished;
  co_return 1;
}

}  // namespace

COSYNC_TEST_CASE("when_all returns every result in argument order", "[when_all][unit]") {
  auto [a, b, c] = co_await cosync::when_all(value(1), text_after_yield("two"), value(3));
  CHECK(a == 1);
  CHECK(b == "two");
  CHECK(c == 3);
}

COSYNC_TEST_CASE("when_all over void tasks yields std::monostate", "[when_all][unit]") {
  std::vector<std::string> log;
  auto results = co_await cosync::when_all(log_twice(log, "a"), log_twice(log, "b"));
  static_assert(std::is_same_v<decltype(results), std::tuple<std::monostate, std::monostate>>);
  // Both ran concurrently on this executor: each got to its first suspension before either resumed.
  CHECK(log == std::vector<std::string>{"a1", "b1", "a2", "b2"});
}

COSYNC_TEST_CASE("when_all over a vector returns a vector of results", "[when_all][unit]") {
  std::vector<task<int>> tasks;
  for (int i = 0; i < 100; ++i) {
    tasks.push_back(value(i));
  }
  std::vector<int> results = co_await cosync::when_all(std::move(tasks));
  REQUIRE(results.size() == 100);
  for (int i = 0; i < 100; ++i) {
    CHECK(results[static_cast<std::size_t>(i)] == i);
  }
  std::vector<task<void>> none;
  co_await cosync::when_all(std::move(none));
  auto empty = co_await cosync::when_all();
  static_assert(std::tuple_size_v<decltype(empty)> == 0);
}

COSYNC_TEST_CASE("when_all lets every task finish, then rethrows the first exception", "[when_all][unit]") {
  int finished = 0;
  std::string message;
  try {
    (void)co_await cosync::when_all(finish_after(1ms, finished), throw_after(2ms, "first"),
                                    throw_after(20ms, "second"), finish_after(30ms, finished));
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  CHECK(message == "first");
  CHECK(finished == 2);
}

COSYNC_TEST_CASE("when_all children may move to other executors while the parent stays home",
                 "[when_all][unit]") {
  const std::size_t home = cosync::this_executor();
  auto visit = [](std::size_t target) -> task<std::size_t> {
    co_await cosync::switch_to(target);
    co_return cosync::this_executor();
  };
  std::vector<task<std::size_t>> tasks;
  for (std::size_t i = 0; i < 64; ++i) {
    tasks.push_back(visit(i % 2));
  }
  std::vector<std::size_t> where = co_await cosync::when_all(std::move(tasks));
  CHECK(cosync::this_executor() == home);
  for (std::size_t i = 0; i < where.size(); ++i) {
    CHECK(where[i] == i % 2);
  }
}

// A vector of tasks is run without a wrapper frame per child (each task reports to the when_all
// itself): the same rules hold as for any other awaitable.
COSYNC_TEST_CASE("when_all over a vector of tasks lets every task finish, then rethrows the first failure",
                 "[when_all][unit]") {
  int finished = 0;
  std::vector<task<int>> tasks;
  tasks.push_back(finish_after(1ms, finished));
  tasks.push_back(throw_after(2ms, "first"));
  tasks.push_back(throw_after(20ms, "second"));
  tasks.push_back(finish_after(30ms, finished));
  std::string message;
  try {
    (void)co_await cosync::when_all(std::move(tasks));
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  CHECK(message == "first");
  CHECK(finished == 2);
}

COSYNC_TEST_CASE("when_all over a vector holding an empty task throws usage_error and starts none",
                 "[when_all][unit]") {
  int finished = 0;
  std::vector<task<int>> tasks;
  tasks.push_back(finish_after(0ms, finished));
  tasks.emplace_back();  // empty
  bool refused = false;
  try {
    (void)co_await cosync::when_all(std::move(tasks));
  } catch (const cosync::usage_error&) {
    refused = true;
  }
  CHECK(refused);
  CHECK(finished == 0);
}

COSYNC_TEST_CASE("when_all over a vector of tasks: a timeout cancels every parked child",
                 "[when_all][unit]") {
  int cancelled_children = 0;
  auto child = [&](std::chrono::milliseconds d) -> task<void> {
    try {
      co_await cosync::sleep_for(d);
    } catch (const cosync::cancelled&) {
      ++cancelled_children;
      throw;
    }
  };
  std::vector<task<void>> tasks;
  tasks.push_back(child(0ms));  // ends at once, not cancelled
  for (int i = 0; i < 40; ++i) {
    tasks.push_back(child(1h));
  }
  const bool finished = co_await cosync::move_on_after(5ms, cosync::when_all(std::move(tasks)));
  CHECK_FALSE(finished);
  CHECK(cancelled_children == 40);
}
