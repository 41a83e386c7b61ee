// cosync::broadcast<T>: every subscriber sees every value sent after it subscribed, in order; one
// that falls behind is told exactly how many it missed; close drains, then ends; recv as a lone
// wait (woken across executors, cancelled, timed out) and as a select case; a stress case of one
// sender and subscribers on both executors.

#include <cosync/broadcast.hpp>
#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "await_helpers.hpp"
#include "catch.hpp"
#include "runtime_fixture.hpp"
#include "stress.hpp"

using cosync::broadcast;
using cosync::broadcast_result;
using cosync::broadcast_status;
using cosync::task;
using namespace std::chrono_literals;

namespace {

// The value of a result, or -1 (lagged, empty, closed).
template <class T>
T value_or(const broadcast_result<T>& r, T otherwise) {
  return r.has_value() ? *r : otherwise;
}

}  // namespace

TEST_CASE("an impossible broadcast capacity throws capacity_error", "[broadcast][unit]") {
  CHECK_THROWS_AS(broadcast<int>{0}, cosync::capacity_error);
  CHECK_THROWS_AS(broadcast<int>{broadcast<int>::max_capacity() + 1}, cosync::capacity_error);
  CHECK(broadcast<int>{1}.capacity() == 1);
}

TEST_CASE("each subscriber sees every value sent after it subscribed and in order", "[broadcast][unit]") {
  broadcast<std::string> b{8};
  CHECK(b.send("before anyone") == 0);
  auto early = b.subscribe();
  CHECK(b.send("one") == 1);
  auto late = b.subscribe();
  CHECK(b.subscriber_count() == 2);
  CHECK(b.send("two") == 2);
  CHECK(b.send(std::string{"three"}) == 2);

  for (const char* expected : {"one", "two", "three"}) {
    auto r = early.try_recv();
    REQUIRE(r.has_value());
    CHECK(*r == expected);
  }
  CHECK(early.try_recv().empty());
  for (const char* expected : {"two", "three"}) {
    auto r = late.try_recv();
    REQUIRE(r.status() == broadcast_status::value);
    CHECK(r.value() == expected);
  }
  auto none = late.try_recv();
  CHECK(none.empty());
  CHECK_FALSE(none);
  CHECK_THROWS_AS(none.value(), cosync::usage_error);
  { auto gone = std::move(late); }
  CHECK(b.subscriber_count() == 1);
}

TEST_CASE("a subscriber that lags gets the exact missed count then the oldest kept value",
          "[broadcast][unit]") {
  broadcast<int> b{4};
  auto sub = b.subscribe();
  for (int i = 0; i < 10; ++i) {
    b.send(i);
  }
  auto lag = sub.try_recv();
  REQUIRE(lag.lagged());
  CHECK(lag.status() == broadcast_status::lagged);
  CHECK(lag.missed() == 6);  // 0..5 were overwritten; 6..9 are kept
  for (int expected = 6; expected < 10; ++expected) {
    auto r = sub.try_recv();
    REQUIRE(r.has_value());
    CHECK(*r == expected);
  }
  CHECK(sub.try_recv().empty());

  // Exactly capacity behind is not lagging; one more is.
  for (int i = 10; i < 14; ++i) {
    b.send(i);
  }
  CHECK(value_or(sub.try_recv(), -1) == 10);
  for (int i = 14; i < 16; ++i) {
    b.send(i);
  }
  auto again = sub.try_recv();  // wanted 11; 12..15 are kept
  REQUIRE(again.lagged());
  CHECK(again.missed() == 1);
  CHECK(value_or(sub.try_recv(), -1) == 12);
}

TEST_CASE("close lets subscribers drain what is kept then reports closed", "[broadcast][unit]") {
  broadcast<int> b{2};
  auto sub = b.subscribe();
  b.send(1);
  b.send(2);
  b.send(3);
  b.close();
  b.close();  // idempotent
  CHECK(b.is_closed());
  CHECK_THROWS_AS(b.send(4), cosync::channel_closed);
  auto lag = sub.try_recv();
  CHECK(lag.lagged());
  CHECK(lag.missed() == 1);
  CHECK(value_or(sub.try_recv(), -1) == 2);
  CHECK(value_or(sub.try_recv(), -1) == 3);
  CHECK(sub.try_recv().closed());
  CHECK(sub.try_recv().closed());  // and stays so
  auto after = b.subscribe();
  CHECK(after.try_recv().closed());
}

TEST_CASE("a subscriber outlives its broadcast, whose destructor closes it", "[broadcast][unit]") {
  std::optional<broadcast<std::string>::subscriber> sub;
  {
    broadcast<std::string> b{4};
    sub.emplace(b.subscribe());
    b.send("last words");
  }
  CHECK(sub->is_closed());
  CHECK(value_or(sub->try_recv(), std::string{}) == "last words");
  CHECK(sub->try_recv().closed());
}

TEST_CASE("a moved-from broadcast or subscriber throws usage_error", "[broadcast][unit]") {
  broadcast<int> b{2};
  auto sub = b.subscribe();
  auto moved_sub = std::move(sub);
  CHECK_THROWS_AS(sub.try_recv(), cosync::usage_error);  // NOLINT(bugprone-use-after-move): the point
  CHECK_THROWS_AS((void)sub.recv(), cosync::usage_error);
  broadcast<int> moved{std::move(b)};
  CHECK_THROWS_AS(b.send(1), cosync::usage_error);  // NOLINT(bugprone-use-after-move)
  CHECK(moved.send(1) == 1);
  CHECK(value_or(moved_sub.try_recv(), -1) == 1);
}

COSYNC_TEST_CASE("a parked recv is woken by a send from another executor and resumes on its home",
                 "[broadcast][unit]") {
  broadcast<int> b{4};
  auto first = b.subscribe();
  auto second = b.subscribe();
  const std::size_t home = cosync::this_executor();
  std::size_t resumed_on = 99;
  auto receiver = [&]() -> task<int> {
    auto r = co_await first.recv();
    resumed_on = cosync::this_executor();
    co_return value_or(r, -1);
  };
  auto other_receiver = [&]() -> task<int> {
    auto r = co_await second.recv();
    co_return value_or(r, -1);
  };
  auto sender = [&]() -> task<void> {
    co_await cosync::switch_to(1 - home);
    co_await cosync::sleep_for(2ms);
    b.send(42);
  };
  auto [got, other_got, sent] = co_await cosync::when_all(receiver(), other_receiver(), sender());
  CHECK(got == 42);
  CHECK(other_got == 42);
  CHECK(resumed_on == home);

  // Parked subscribers are woken by close with closed.
  auto closing = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    b.close();
  };
  auto ends = [&]() -> task<bool> {
    auto r = co_await first.recv();
    co_return r.closed();
  };
  auto [ended, closed] = co_await cosync::when_all(ends(), closing());
  CHECK(ended);
}

COSYNC_TEST_CASE("a recv completes at once when a value is kept and reports lag before values",
                 "[broadcast][unit]") {
  broadcast<int> b{2};
  auto sub = b.subscribe();
  for (int i = 0; i < 5; ++i) {
    b.send(i);
  }
  auto lag = co_await sub.recv();
  CHECK(lag.lagged());
  CHECK(lag.missed() == 3);
  auto three = co_await sub.recv();
  CHECK(value_or(three, -1) == 3);
  auto four = co_await sub.recv();
  CHECK(value_or(four, -1) == 4);
}

COSYNC_TEST_CASE("a cancelled recv throws cancelled and consumes nothing", "[broadcast][unit]") {
  broadcast<int> b{4};
  auto sub = b.subscribe();
  const bool cancelled = co_await cosync::test::cancelled_while_waiting(sub.recv());
  CHECK(cancelled);

  auto wait_for_it = [&]() -> task<int> {
    auto r = co_await sub.recv();
    co_return value_or(r, -1);
  };
  auto moved_on = co_await cosync::move_on_after(2ms, wait_for_it());
  CHECK_FALSE(moved_on.has_value());

  b.send(5);  // both waits left without moving the subscriber on: it receives 5
  auto five = co_await sub.recv();
  CHECK(value_or(five, -1) == 5);
}

COSYNC_TEST_CASE("a broadcast recv is a select case beside a channel recv and a timer",
                 "[broadcast][select][unit]") {
  broadcast<int> b{4};
  auto sub = b.subscribe();
  cosync::channel<int> ch{1};
  auto timed = co_await cosync::select(sub.recv(), ch.recv(), cosync::after(2ms));
  CHECK(timed.index() == 2);

  // Parked in all three, woken by the broadcast from another executor.
  const std::size_t home = cosync::this_executor();
  auto selector = [&]() -> task<int> {
    auto r = co_await cosync::select(sub.recv(), ch.recv(), cosync::after(1h));
    co_return r.index() == 0 ? value_or(get<0>(r), -1) : -2;
  };
  auto sender = [&]() -> task<void> {
    co_await cosync::switch_to(1 - home);
    co_await cosync::sleep_for(2ms);
    b.send(11);
  };
  auto [got, sent] = co_await cosync::when_all(selector(), sender());
  CHECK(got == 11);

  // The channel wins: the subscriber stays where it was.
  auto channel_wins = [&]() -> task<std::size_t> {
    auto r = co_await cosync::select(sub.recv(), ch.recv());
    co_return r.index();
  };
  auto channel_sender = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    co_await ch.send(1);
  };
  auto [index, ignored] = co_await cosync::when_all(channel_wins(), channel_sender());
  CHECK(index == 1);
  b.send(12);
  CHECK(value_or(sub.try_recv(), -1) == 12);

  // A value kept: the broadcast case wins the fast pass.
  b.send(13);
  auto at_once = co_await cosync::select(sub.recv(), ch.recv(), cosync::after(1h));
  REQUIRE(at_once.index() == 0);
  CHECK(value_or(get<0>(at_once), -1) == 13);
}

TEST_CASE("receives parked in a broadcast that outlives its runtime leave it on shutdown",
          "[broadcast][unit]") {
  broadcast<int> b{4};
  auto outside = b.subscribe();
  {
    cosync::runtime rt{cosync::test::two_executors()};
    std::atomic<int> parked{0};
    auto wait_outside = [&]() -> task<void> {
      parked.fetch_add(1);
      (void)co_await outside.recv();
    };
    auto wait_own = [&](broadcast<int>::subscriber sub) -> task<void> {
      parked.fetch_add(1);
      (void)co_await sub.recv();
    };
    rt.spawn(wait_outside(), 0);
    rt.spawn(wait_own(b.subscribe()), 1);
    while (parked.load() < 2) {
      std::this_thread::yield();
    }
    std::this_thread::sleep_for(20ms);  // let them park
  }                       // ~runtime ends the parked coroutines; their receives leave the broadcast
  CHECK(b.send(1) == 1);  // the subscriber owned by its coroutine went with it
  CHECK(value_or(outside.try_recv(), -1) == 1);  // nothing was consumed for `outside`
}

COSYNC_TEST_CASE("one sender and subscribers on both executors account for every value",
                 "[broadcast][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("broadcast stress")};
  for (int round = 0; round < 4; ++round) {
    const std::size_t capacities[] = {1, 2, 3, 16, 256};
    const std::size_t capacity = capacities[rng() % std::size(capacities)];
    constexpr std::uint64_t count = 5000;
    constexpr std::size_t subscribers = 4;
    INFO("capacity " << capacity);
    broadcast<std::uint64_t> b{capacity};
    std::vector<broadcast<std::uint64_t>::subscriber> subs;
    for (std::size_t i = 0; i < subscribers; ++i) {
      subs.push_back(b.subscribe());
    }
    const std::uint64_t yield_mask = (std::uint64_t{1} << (rng() % 5)) - 1;      // sender yields every 1..16
    const std::uint64_t pause_mask = (std::uint64_t{1} << (6 + rng() % 4)) - 1;  // and pauses every 64..512

    struct tally {
      std::uint64_t received = 0;
      std::uint64_t missed = 0;
      std::uint64_t lags = 0;
      bool increasing = true;  // strictly, and each lag lands exactly on the next value kept
      bool closed = false;
    };
    // Receives until closed; `expected` is the first value it should see (values are 0, 1, 2, ...).
    auto receive_all = [](broadcast<std::uint64_t>::subscriber& sub, std::uint64_t expected,
                          std::size_t slowness) -> task<tally> {
      tally t;
      for (;;) {
        auto r = co_await sub.recv();
        if (r.closed()) {
          t.closed = true;
          break;
        }
        if (r.lagged()) {
          t.increasing &= r.missed() > 0;
          t.missed += r.missed();
          ++t.lags;
          expected += r.missed();
          continue;
        }
        t.increasing &= *r == expected;
        expected = *r + 1;
        ++t.received;
        if (*r % slowness == 0) {
          co_await cosync::yield();  // slower subscribers lag more
        }
      }
      co_return t;
    };
    auto subscriber = [&](std::size_t i) -> task<tally> {
      co_await cosync::switch_to(i % 2);
      co_return co_await receive_all(subs[i], 0, i + 3);
    };
    // One more subscribes mid-stream (from the sender's executor), and is used on executor 0.
    std::optional<broadcast<std::uint64_t>::subscriber> late;
    std::uint64_t late_from = 0;
    std::atomic<bool> late_ready{false};
    auto late_subscriber = [&]() -> task<tally> {
      co_await cosync::switch_to(0);
      while (!late_ready.load(std::memory_order_acquire)) {  // acquire: pairs with the sender's release
        co_await cosync::sleep_for(20us);
      }
      co_return co_await receive_all(*late, late_from, 4);
    };
    auto sender = [&]() -> task<void> {
      co_await cosync::switch_to(1);
      for (std::uint64_t v = 0; v < count; ++v) {
        if (v == count / 3) {
          late.emplace(b.subscribe());
          late_from = v;
          late_ready.store(true, std::memory_order_release);  // release: publishes `late`
        }
        b.send(v);
        if ((v & pause_mask) == pause_mask) {
          co_await cosync::sleep_for(50us);  // the subscribers catch up and park
        } else if ((v & yield_mask) == 0) {
          co_await cosync::yield();
        }
      }
      b.close();
    };
    std::vector<task<tally>> receivers;
    for (std::size_t i = 0; i < subscribers; ++i) {
      receivers.push_back(subscriber(i));
    }
    receivers.push_back(late_subscriber());
    auto all = [&]() -> task<std::vector<tally>> {
      co_return co_await cosync::when_all(std::move(receivers));
    };
    auto [tallies, sent] = co_await cosync::when_all(all(), sender());
    for (std::size_t i = 0; i <= subscribers; ++i) {
      const std::uint64_t sent_after = i < subscribers ? count : count - late_from;
      INFO("subscriber " << i << ": received " << tallies[i].received << ", missed " << tallies[i].missed
                         << " in " << tallies[i].lags << " lags, of " << sent_after);
      CHECK(tallies[i].increasing);
      CHECK(tallies[i].closed);
      CHECK(tallies[i].received + tallies[i].missed == sent_after);
    }
  }
}
