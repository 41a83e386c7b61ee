// generator (synchronous, range-for) and async_generator (co_await between values): values in
// order, exceptions rethrown where the consumer resumes, early destruction runs the body's
// destructors, and an async body is cancelled with its consumer.

#include <cosync/async_generator.hpp>
#include <cosync/channel.hpp>
#include <cosync/generator.hpp>
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "await_helpers.hpp"
#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::task;
using namespace std::chrono_literals;

namespace {

cosync::generator<int> countdown(int n) {
  while (n > 0) {
    co_yield n--;
  }
}

cosync::generator<const std::string&> words(bool* cleaned) {
  const std::shared_ptr<void> cleanup{nullptr, [cleaned](void*) { *cleaned = true; }};
  std::string w = "one";
  co_yield w;  // an lvalue, referred to
  co_yield std::string{"two"};
  throw std::runtime_error("no three");
}

cosync::async_generator<int> ticks(int n, std::chrono::milliseconds every, bool* cleaned = nullptr) {
  const std::shared_ptr<void> cleanup{nullptr, [cleaned](void*) {
                                        if (cleaned != nullptr) {
                                          *cleaned = true;
                                        }
                                      }};
  for (int i = 0; i < n; ++i) {
    co_await cosync::sleep_for(every);
    co_yield i;
  }
}

cosync::async_generator<std::size_t> from_elsewhere() {
  co_await cosync::switch_to(1 - cosync::this_executor());
  co_yield cosync::this_executor();
  throw std::runtime_error("stream failed");
}

}  // namespace

TEST_CASE("a generator yields lazily, rethrows, and destroys its body early", "[generator][unit]") {
  std::vector<int> seen;
  for (const int i : countdown(3)) {
    seen.push_back(i);
  }
  CHECK(seen == std::vector<int>{3, 2, 1});

  bool cleaned = false;
  std::vector<std::string> got;
  CHECK_THROWS_AS(
      [&] {
        for (const std::string& w : words(&cleaned)) {
          got.push_back(w);
        }
      }(),
      std::runtime_error);
  CHECK(got == std::vector<std::string>{"one", "two"});
  CHECK(cleaned);

  cleaned = false;
  {
    auto g = words(&cleaned);
    auto it = g.begin();
    CHECK(*it == "one");
  }  // destroyed at its first yield
  CHECK(cleaned);
}

COSYNC_TEST_CASE("an async_generator waits between values and ends with nullopt", "[generator][unit]") {
  auto g = ticks(3, 1ms);
  std::vector<int> seen;
  while (auto v = co_await g.next()) {
    seen.push_back(*v);
  }
  CHECK(seen == std::vector<int>{0, 1, 2});
  const std::optional<int> after_end = co_await g.next();
  CHECK_FALSE(after_end.has_value());

  // A body that moves to the other executor: the consumer still resumes on its home.
  const std::size_t home = cosync::this_executor();
  auto far = from_elsewhere();
  const std::optional<std::size_t> where = co_await far.next();
  CHECK(where == 1 - home);
  CHECK(cosync::this_executor() == home);
  const bool threw = co_await cosync::test::throws<std::runtime_error>(far.next());
  CHECK(threw);
  CHECK(cosync::this_executor() == home);
}

COSYNC_TEST_CASE("an async_generator is cancelled with its consumer and destroyed early",
                 "[generator][unit]") {
  auto slow = ticks(3, 10s);
  const bool cancelled = co_await cosync::test::cancelled_while_waiting(slow.next());
  CHECK(cancelled);  // the body's sleep was cancelled: the stream is over
  const std::optional<int> over = co_await slow.next();
  CHECK_FALSE(over.has_value());

  auto timed = ticks(3, 10s);
  const auto r = co_await cosync::move_on_after(1ms, timed.next());
  CHECK_FALSE(r.has_value());

  bool cleaned = false;
  {
    auto g = ticks(5, 0ms, &cleaned);
    const std::optional<int> first = co_await g.next();
    CHECK(first == 0);
  }  // suspended at a co_yield: destroyed
  CHECK(cleaned);
}
