#include <cosync/detail/frame_allocator.hpp>
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::task;

namespace {

task<int> answer() {
  co_return 42;
}

task<std::unique_ptr<std::string>> make_text() {
  co_return std::make_unique<std::string>("text");
}

int global_value = 7;
task<int&> reference_to_global() {
  co_return global_value;
}

task<void> nothing() {
  co_return;
}

task<int> fail(const char* message) {
  throw std::runtime_error(message);
  co_return 0;
}

task<int> synchronous_one() {
  co_return 1;
}

task<long> count_down(long n) {
  if (n == 0) {
    co_return 0;
  }
  co_return 1 + co_await count_down(n - 1);
}

}  // namespace

COSYNC_TEST_CASE("co_await returns the task's value, moving move-only results out", "[task][unit]") {
  CHECK(co_await answer() == 42);
  auto text = co_await make_text();
  REQUIRE(text != nullptr);
  CHECK(*text == "text");
  int& ref = co_await reference_to_global();
  CHECK(&ref == &global_value);
  co_await nothing();
}

COSYNC_TEST_CASE("a task is lazy: its body runs only when awaited", "[task][unit]") {
  bool ran = false;
  auto body = [&]() -> task<void> {
    ran = true;
    co_return;
  };
  task<void> t = body();
  CHECK_FALSE(ran);
  task<void> moved = std::move(t);  // moving does not start it either
  CHECK_FALSE(ran);
  CHECK_FALSE(t.valid());
  co_await moved;
  CHECK(ran);
}

COSYNC_TEST_CASE("an exception thrown in a task is rethrown at its co_await", "[task][unit]") {
  bool caught = false;
  try {
    (void)co_await fail("boom");
  } catch (const std::runtime_error& e) {
    caught = std::string{e.what()} == "boom";
  }
  CHECK(caught);
}

COSYNC_TEST_CASE("awaiting an empty task throws cosync::usage_error", "[task][unit]") {
  task<int> empty;
  bool caught = false;
  try {
    (void)co_await empty;
  } catch (const cosync::usage_error&) {
    caught = true;
  }
  CHECK(caught);
}

COSYNC_TEST_CASE("10^6 synchronous completions in a loop do not grow the stack", "[task][unit]") {
  long sum = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    sum += co_await synchronous_one();
  }
  CHECK(sum == 1'000'000);
}

COSYNC_TEST_CASE("10^6 nested synchronous completions do not grow the stack", "[task][unit]") {
  // Each level awaits the next; the innermost completes at once and every level completes
  // synchronously on the way out: symmetric transfer both ways, or a stack overflow.
  CHECK(co_await count_down(1'000'000) == 1'000'000);
}

COSYNC_TEST_CASE("a task that moves to another executor resumes its awaiter on the awaiter's executor",
                 "[task][unit]") {
  const std::size_t home = cosync::this_executor();
  const std::size_t away = 1 - home;
  auto hop = [](std::size_t target) -> task<std::size_t> {
    co_await cosync::switch_to(target);
    co_return cosync::this_executor();
  };
  CHECK(co_await hop(away) == away);
  CHECK(cosync::this_executor() == home);
}

TEST_CASE("frames freed on another executor do not pile up in its cache", "[task][unit]") {
  // 10^5 children made on executor 0 and finished on executor 1: every frame (about 10 MiB in
  // all) is freed on executor 1, which never allocates one. Each thread keeps at most max_bytes
  // for reuse and gives the rest back. (Under ASan the cache is off: 0 bytes everywhere.)
  cosync::runtime rt{{.executors = 2}};
  auto measure = []() -> cosync::task<std::vector<std::size_t>> {
    co_await cosync::with_task_group([](cosync::task_group& g) -> cosync::task<void> {
      for (int i = 0; i < 100000; ++i) {
        g.spawn_on(1, []() -> cosync::task<void> { co_return; }());
      }
      co_return;
    });
    std::vector<std::size_t> cached;
    for (std::size_t e = 0; e < 2; ++e) {
      co_await cosync::switch_to(e);
      cached.push_back(cosync::detail::this_thread_frames.cached_bytes());
    }
    co_return cached;
  };
  const std::vector<std::size_t> cached = cosync::sync_wait(rt, measure());
  for (const std::size_t bytes : cached) {
    INFO("cached " << bytes << " bytes, bound " << cosync::detail::frame_cache::max_bytes);
    CHECK(bytes <= cosync::detail::frame_cache::max_bytes);
  }
}
