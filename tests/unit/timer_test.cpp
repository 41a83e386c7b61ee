#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "catch.hpp"
#include "runtime_fixture.hpp"
#include "timer_heap.hpp"  // src/

using steady_clock = std::chrono::steady_clock;
using cosync::task;
using namespace std::chrono_literals;

COSYNC_TEST_CASE("zero, negative and past deadlines complete without suspending", "[timer][unit]") {
  CHECK(cosync::sleep_for(0ms).await_ready());
  CHECK(cosync::sleep_for(-5s).await_ready());
  CHECK(cosync::sleep_until(steady_clock::now() - 1s).await_ready());
  CHECK_FALSE(cosync::sleep_for(std::chrono::hours::max()).await_ready());  // saturates, no overflow
  co_await cosync::sleep_for(0ms);
  co_await cosync::sleep_for(-1ms);
}

COSYNC_TEST_CASE("sleep_for waits at least its duration", "[timer][unit]") {
  for (const auto duration : {1ms, 5ms, 20ms}) {
    const auto start = steady_clock::now();
    co_await cosync::sleep_for(duration);
    CHECK(steady_clock::now() - start >= duration);
  }
  const auto deadline = steady_clock::now() + 3ms;
  co_await cosync::sleep_until(deadline);
  CHECK(steady_clock::now() >= deadline);
}

COSYNC_TEST_CASE("concurrent sleepers wake in deadline order", "[timer][unit]") {
  std::vector<int> woke;
  auto sleeper = [&woke](int id, std::chrono::milliseconds d) -> task<void> {
    co_await cosync::sleep_for(d);
    woke.push_back(id);
  };
  co_await cosync::when_all(sleeper(3, 30ms), sleeper(1, 10ms), sleeper(4, 40ms), sleeper(2, 20ms),
                            sleeper(0, 0ms));
  CHECK(woke == std::vector<int>{0, 1, 2, 3, 4});
}

COSYNC_TEST_CASE("timers work on every executor", "[timer][unit]") {
  auto on = [](std::size_t executor) -> task<std::size_t> {
    co_await cosync::switch_to(executor);
    co_await cosync::sleep_for(2ms);
    co_return cosync::this_executor();
  };
  auto [a, b] = co_await cosync::when_all(on(0), on(1));
  CHECK(a == 0);
  CHECK(b == 1);
}

TEST_CASE("sleep_for off an executor throws cosync::usage_error", "[timer][unit]") {
  auto awaiter = cosync::sleep_for(1s);
  CHECK_THROWS_AS(awaiter.await_suspend(std::noop_coroutine()), cosync::usage_error);
}

TEST_CASE("the timer heap keeps deadline order under random inserts and cancels", "[timer][unit]") {
  using cosync::detail::timer_node;
  std::mt19937_64 rng{12345};
  std::vector<timer_node> nodes(2000);
  cosync::detail::timer_heap heap;
  std::multiset<steady_clock::time_point> model;
  const auto base = steady_clock::time_point{};
  for (auto& node : nodes) {
    node.deadline = base + std::chrono::microseconds{rng() % 1000};
    heap.push(node);
    model.insert(node.deadline);
  }
  // Cancel a random half, out of order: each removal is by position, no search.
  std::vector<timer_node*> order;
  for (auto& node : nodes) {
    order.push_back(&node);
  }
  std::shuffle(order.begin(), order.end(), rng);
  for (std::size_t i = 0; i < order.size() / 2; ++i) {
    heap.remove(*order[i]);
    CHECK_FALSE(order[i]->armed());
    model.erase(model.find(order[i]->deadline));
  }
  REQUIRE(heap.size() == model.size());
  while (!heap.empty()) {
    timer_node& top = heap.top();
    REQUIRE(top.deadline == *model.begin());
    heap.remove(top);
    model.erase(model.begin());
  }
}

TEST_CASE("durations of any representation convert without wrapping", "[timer][unit]") {
  using cosync::detail::clamp_duration;
  using ticks = steady_clock::duration;
  CHECK(clamp_duration(std::chrono::duration<int, std::micro>{2000}) == 2ms);
  // (0.0025 s as a double is a hair above 2.5 ms: rounding up gives one more nanosecond.)
  CHECK(clamp_duration(std::chrono::duration<double>{0.0025}) - 2500us <= ticks{1});
  CHECK(clamp_duration(std::chrono::duration<long long, std::pico>{1500}) == ticks{2});  // rounded up
  CHECK(clamp_duration(std::chrono::duration<short, std::milli>{-5}) == ticks::zero());
  CHECK(clamp_duration(std::chrono::duration<double>{std::nan("")}) == ticks::zero());
  CHECK(clamp_duration(std::chrono::duration<int, std::milli>::max()) ==
        std::chrono::milliseconds{2147483647});
  CHECK(clamp_duration(std::chrono::hours::max()) == ticks::max());
  CHECK(clamp_duration(std::chrono::duration<double>{1e300}) == ticks::max());
  CHECK(clamp_duration(std::chrono::duration<long long, std::pico>::max()) ==
        std::chrono::ceil<ticks>(std::chrono::duration<long double, std::pico>{9223372036854775807.0L}));
  // A deadline never lies in the past for a positive duration, whatever its type.
  const auto now = steady_clock::now();
  CHECK(cosync::detail::deadline_after(std::chrono::duration<int, std::micro>{2000}) > now);
  CHECK(cosync::detail::deadline_after(std::chrono::duration<int, std::milli>::max()) > now + 24h);
  CHECK(cosync::detail::deadline_after(std::chrono::hours::max()) == steady_clock::time_point::max());
}

namespace {

task<void> never_ends() {
  cosync::channel<int> silent{0};
  (void)co_await silent.recv();  // until cancelled
}

}  // namespace

COSYNC_TEST_CASE("every timer entry point fires for int, long long, double and sub-nanosecond durations",
                 "[timer][unit]") {
  // Each of these once never fired: the saturation check wrapped in the caller's representation.
  co_await cosync::sleep_for(std::chrono::duration<int, std::milli>{2});
  co_await cosync::sleep_for(std::chrono::duration<long long, std::micro>{1500});
  co_await cosync::sleep_for(std::chrono::duration<double, std::milli>{1.5});
  co_await cosync::sleep_for(std::chrono::duration<long long, std::pico>{2'000'000'000});

  cosync::channel<int> idle{1};
  auto r1 = co_await cosync::select(idle.recv(), cosync::after(std::chrono::duration<int, std::micro>{2000}));
  CHECK(r1.index() == 1);
  auto r2 = co_await cosync::select(idle.recv(), cosync::after(std::chrono::duration<double>{0.002}));
  CHECK(r2.index() == 1);
  auto r3 = co_await cosync::select(
      idle.recv(), cosync::after(std::chrono::duration<long long, std::pico>{2'000'000'000}));
  CHECK(r3.index() == 1);

  bool timed_out = false;
  try {
    co_await cosync::with_timeout(std::chrono::duration<int, std::milli>{3}, never_ends());
  } catch (const cosync::timed_out&) {
    timed_out = true;
  }
  CHECK(timed_out);
  CHECK_FALSE(co_await cosync::move_on_after(std::chrono::duration<short, std::milli>{3}, never_ends()));
  CHECK_FALSE(co_await cosync::move_on_after(std::chrono::duration<float>{0.003f}, never_ends()));
}
