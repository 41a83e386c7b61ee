#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "catch.hpp"
#include "executor.hpp"
#include "runtime_fixture.hpp"

using cosync::channel;
using cosync::task;
using cosync::try_status;
using namespace std::chrono_literals;

namespace {

// Timers armed on the calling executor (tests check that a lost timer case was disarmed).
std::size_t armed_timers_here() {
  return cosync::detail::current_executor()->armed_timers();
}

}  // namespace

COSYNC_TEST_CASE("a recv case that is ready at entry wins with its value", "[select][unit]") {
  channel<int> a{4};
  channel<std::string> b{4};
  CHECK(b.try_send(std::string{"hi"}) == try_status::ok);
  auto r = co_await cosync::select(a.recv(), b.recv());
  REQUIRE(r.index() == 1);
  CHECK(get<1>(r) == std::optional<std::string>{"hi"});
  CHECK(a.size_approx() == 0);
}

COSYNC_TEST_CASE("a send case that loses keeps its value", "[select][unit]") {
  channel<std::unique_ptr<int>> full{1};
  channel<int> ready{1};
  CHECK(full.try_send(std::make_unique<int>(0)) == try_status::ok);
  CHECK(ready.try_send(7) == try_status::ok);
  auto mine = std::make_unique<int>(42);
  auto r = co_await cosync::select(full.send(std::move(mine)), ready.recv());
  REQUIRE(r.index() == 1);
  CHECK(get<1>(r) == std::optional<int>{7});
  REQUIRE(mine != nullptr);  // the losing send never moved it out
  CHECK(*mine == 42);
  CHECK(full.size_approx() == 1);
}

COSYNC_TEST_CASE("a send case that wins moves its value into the channel", "[select][unit]") {
  channel<std::unique_ptr<int>> ch{1};
  channel<int> idle{1};
  auto mine = std::make_unique<int>(5);
  auto r = co_await cosync::select(idle.recv(), ch.send(std::move(mine)));
  CHECK(r.index() == 1);
  CHECK(mine == nullptr);
  auto got = ch.try_recv();
  REQUIRE(got.has_value());
  CHECK(**got == 5);
}

COSYNC_TEST_CASE("a select parked on several channels is woken by the first sender and leaves the others",
                 "[select][unit]") {
  channel<int> a{2};
  channel<int> b{2};
  auto sender = [&]() -> task<void> {
    co_await cosync::switch_to(1);
    co_await cosync::sleep_for(2ms);
    co_await b.send(9);
  };
  auto selector = [&]() -> task<std::pair<std::size_t, int>> {
    auto r = co_await cosync::select(a.recv(), b.recv());
    co_return std::pair{r.index(), r.index() == 1 ? get<1>(r).value_or(-1) : -1};
  };
  auto [got, ignored] = co_await cosync::when_all(selector(), sender());
  CHECK(got == std::pair<std::size_t, int>{1, 9});
  // The losing recv case left `a`: a value sent now stays in the channel.
  CHECK(a.try_send(3) == try_status::ok);
  CHECK(a.size_approx() == 1);
  CHECK(a.try_recv() == std::optional<int>{3});
}

COSYNC_TEST_CASE("the selecting coroutine resumes on its own executor when a case completes on another",
                 "[select][unit]") {
  channel<int> a{0};
  channel<int> b{0};
  auto sender = [&]() -> task<void> {
    co_await cosync::switch_to(1);
    co_await cosync::sleep_for(1ms);
    co_await a.send(1);
  };
  auto selector = [&]() -> task<std::size_t> {
    co_await cosync::switch_to(0);
    auto r = co_await cosync::select(a.recv(), b.recv(), cosync::after(10s));
    CHECK(r.index() == 0);
    co_return cosync::this_executor();
  };
  auto [where, ignored] = co_await cosync::when_all(selector(), sender());
  CHECK(where == 0);
}

COSYNC_TEST_CASE("a timeout case fires when nothing else completes, and leaves the channels",
                 "[select][unit]") {
  channel<int> a{0};
  channel<int> b{1};
  auto r = co_await cosync::select(a.recv(), b.recv(), cosync::after(3ms));
  CHECK(r.index() == 2);
  CHECK(armed_timers_here() == 0);
  CHECK(a.try_send(1) == try_status::full);  // no receiver left parked in the rendezvous channel
  CHECK(b.try_send(1) == try_status::ok);
  CHECK(b.size_approx() == 1);
}

COSYNC_TEST_CASE("a timer case that loses is disarmed", "[select][unit]") {
  channel<int> a{1};
  auto sender = [&]() -> task<void> {
    co_await cosync::sleep_for(1ms);
    co_await a.send(4);
  };
  auto selector = [&]() -> task<std::size_t> {
    auto r =
        co_await cosync::select(a.recv(), cosync::after(1h), cosync::at(cosync::steady_clock::now() + 2h));
    const std::size_t armed = armed_timers_here();
    CHECK(r.index() == 0);
    co_return armed;
  };
  auto [armed, ignored] = co_await cosync::when_all(selector(), sender());
  CHECK(armed == 0);
}

COSYNC_TEST_CASE("an at() case whose deadline has passed wins at once", "[select][unit]") {
  channel<int> a{1};
  auto r = co_await cosync::select(a.recv(), cosync::at(cosync::steady_clock::now() - 1s));
  CHECK(r.index() == 1);
  auto z = co_await cosync::select(a.recv(), cosync::after(0ms));
  CHECK(z.index() == 1);
  CHECK(armed_timers_here() == 0);
}

COSYNC_TEST_CASE("the default case wins only when nothing else is ready", "[select][unit]") {
  channel<int> a{1};
  channel<int> rendezvous{0};
  auto none = co_await cosync::select(a.recv(), rendezvous.send(1), cosync::default_case);
  CHECK(none.index() == 2);
  CHECK(a.try_send(8) == try_status::ok);
  auto some = co_await cosync::select(a.recv(), cosync::default_case);
  REQUIRE(some.index() == 0);
  CHECK(get<0>(some) == std::optional<int>{8});
}

COSYNC_TEST_CASE("a select with a default case finds a parked partner that only the lock can see",
                 "[select][unit]") {
  channel<int> rendezvous{0};
  auto sender = [&]() -> task<void> { co_await rendezvous.send(5); };
  auto selector = [&]() -> task<std::optional<int>> {
    co_await cosync::sleep_for(2ms);  // the sender is parked by now
    auto r = co_await cosync::select(rendezvous.recv(), cosync::default_case);
    co_return r.index() == 0 ? get<0>(r) : std::nullopt;
  };
  auto [ignored, got] = co_await cosync::when_all(sender(), selector());
  CHECK(got == std::optional<int>{5});
}

COSYNC_TEST_CASE("closed channels: a recv case wins with nullopt, a send case throws and keeps its value",
                 "[select][unit]") {
  channel<int> closed{1};
  channel<int> idle{1};
  closed.close();
  auto r = co_await cosync::select(idle.recv(), closed.recv());
  REQUIRE(r.index() == 1);
  CHECK_FALSE(get<1>(r).has_value());

  auto mine = std::make_unique<int>(3);
  channel<std::unique_ptr<int>> closed_ptrs{1};
  closed_ptrs.close();
  bool threw = false;
  try {
    (void)co_await cosync::select(idle.recv(), closed_ptrs.send(std::move(mine)));
  } catch (const cosync::channel_closed&) {
    threw = true;
  }
  CHECK(threw);
  REQUIRE(mine != nullptr);
  CHECK(*mine == 3);
}

COSYNC_TEST_CASE("a parked select is woken by a close", "[select][unit]") {
  channel<int> a{1};
  channel<int> b{1};
  auto closer = [&]() -> task<void> {
    co_await cosync::switch_to(1);
    co_await cosync::sleep_for(2ms);
    b.close();
  };
  auto selector = [&]() -> task<std::size_t> {
    auto r = co_await cosync::select(a.recv(), b.recv());
    co_return r.index() * 10 + (r.index() == 1 && !get<1>(r).has_value() ? 1 : 0);
  };
  auto [got, ignored] = co_await cosync::when_all(selector(), closer());
  CHECK(got == 11);
}

COSYNC_TEST_CASE("a send case pairs with a parked receiver at capacity 0, and with a parked select",
                 "[select][unit]") {
  channel<int> ch{0};
  channel<int> idle{0};
  channel<int> idle_too{0};
  auto receiver = [&]() -> task<std::optional<int>> { co_return co_await ch.recv(); };
  auto selecting_receiver = [&]() -> task<std::optional<int>> {
    auto r = co_await cosync::select(idle_too.recv(), ch.recv());
    co_return r.index() == 1 ? get<1>(r) : std::nullopt;
  };
  auto selecting_sender = [&](int v) -> task<std::size_t> {
    co_await cosync::sleep_for(2ms);  // the receiver parks first
    auto r = co_await cosync::select(idle.send(0), ch.send(int{v}));
    co_return r.index();
  };
  auto [got, sent] = co_await cosync::when_all(receiver(), selecting_sender(1));
  CHECK(got == std::optional<int>{1});
  CHECK(sent == 1);
  auto [got2, sent2] = co_await cosync::when_all(selecting_receiver(), selecting_sender(2));
  CHECK(got2 == std::optional<int>{2});
  CHECK(sent2 == 1);
}

COSYNC_TEST_CASE("the same channel twice in one select: one case wins, the other leaves", "[select][unit]") {
  channel<int> ch{1};
  auto sender = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    co_await ch.send(1);
  };
  auto selector = [&]() -> task<std::size_t> {
    auto r = co_await cosync::select(ch.recv(), ch.recv());
    co_return r.index();
  };
  auto [which, ignored] = co_await cosync::when_all(selector(), sender());
  CHECK(which < 2);
  CHECK(ch.try_send(2) == try_status::ok);  // nobody is parked in the channel any more
  CHECK(ch.try_recv() == std::optional<int>{2});
}

COSYNC_TEST_CASE("select picks uniformly among ready cases, select_ordered always the first ready",
                 "[select][unit]") {
  constexpr int rounds = 100000;
  std::array<channel<int>, 4> chans{channel<int>{1}, channel<int>{1}, channel<int>{1}, channel<int>{1}};
  for (auto& c : chans) {
    CHECK(c.try_send(1) == try_status::ok);
  }
  std::array<int, 4> wins{};
  for (int i = 0; i < rounds; ++i) {
    auto r = co_await cosync::select(chans[0].recv(), chans[1].recv(), chans[2].recv(), chans[3].recv());
    ++wins[r.index()];
    (void)chans[r.index()].try_send(1);  // always ready again
  }
  for (int w : wins) {
    CHECK(w > rounds / 4 * 95 / 100);
    CHECK(w < rounds / 4 * 105 / 100);
  }
  channel<int> empty{1};
  for (int i = 0; i < 1000; ++i) {
    auto r = co_await cosync::select_ordered(empty.recv(), chans[2].recv(), chans[1].recv(), chans[3].recv());
    CHECK(r.index() == 1);
    (void)chans[2].try_send(1);
  }
}

COSYNC_TEST_CASE("select over a range of receive cases", "[select][unit]") {
  std::vector<std::unique_ptr<channel<int>>> chans;
  for (int i = 0; i < 5; ++i) {
    chans.push_back(std::make_unique<channel<int>>(1));
  }
  auto sender = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    co_await chans[3]->send(33);
  };
  auto selector = [&]() -> task<std::pair<std::size_t, int>> {
    std::vector<channel<int>::recv_awaiter> cases;
    for (auto& c : chans) {
      cases.push_back(c->recv());
    }
    auto r = co_await cosync::select(std::span{cases});
    co_return std::pair{r.index, r.value.value_or(-1)};
  };
  auto [got, ignored] = co_await cosync::when_all(selector(), sender());
  CHECK(got == std::pair<std::size_t, int>{3, 33});
  for (auto& c : chans) {
    CHECK(c->try_send(1) == try_status::ok);  // every losing case left its channel
  }
  std::vector<channel<int>::recv_awaiter> ordered;
  for (auto& c : chans) {
    ordered.push_back(c->recv());
  }
  auto first = co_await cosync::select_ordered(std::span{ordered});
  CHECK(first.index == 0);
}

TEST_CASE("a select over an empty range throws usage_error", "[select][unit]") {
  std::vector<channel<int>::recv_awaiter> none;
  CHECK_THROWS_AS(cosync::select(std::span{none}), cosync::usage_error);
}

COSYNC_TEST_CASE(
    "withdrawing a parked select withdraws every case, and a select already won returns its case",
    "[select][unit]") {
  channel<int> a{1};
  channel<int> b{1};
  using awaiter = decltype(cosync::select(a.recv(), b.recv(), cosync::after(1h)));
  awaiter* parked = nullptr;
  auto selector = [&]() -> task<std::string> {
    try {
      auto aw = cosync::select(a.recv(), b.recv(), cosync::after(1h));
      parked = &aw;
      auto r = co_await aw;
      parked = nullptr;
      co_return "won " + std::to_string(r.index());
    } catch (const cosync::cancelled&) {
      parked = nullptr;
      co_return "cancelled";
    }
  };
  auto canceller = [&]() -> task<bool> {
    co_await cosync::sleep_for(2ms);
    co_return parked != nullptr && parked->withdraw();
  };
  auto [outcome, did_cancel] = co_await cosync::when_all(selector(), canceller());
  CHECK(did_cancel);
  CHECK(outcome == "cancelled");
  CHECK(armed_timers_here() == 0);
  CHECK(a.try_send(1) == try_status::ok);  // nothing left parked, nothing consumed
  CHECK(b.try_send(2) == try_status::ok);
  CHECK(a.try_recv() == std::optional<int>{1});
  CHECK(b.try_recv() == std::optional<int>{2});

  // Won first, withdrawn after: withdraw says no, the value is returned.
  auto late_canceller = [&]() -> task<bool> {
    co_await cosync::sleep_for(2ms);
    co_await a.send(7);  // wakes the select (posted to this executor, not yet run)
    co_return parked != nullptr && parked->withdraw();
  };
  auto [outcome2, did_cancel2] = co_await cosync::when_all(selector(), late_canceller());
  CHECK_FALSE(did_cancel2);
  CHECK(outcome2 == "won 0");
}

TEST_CASE("a select parked when its runtime shuts down leaves every channel and timer", "[select][unit]") {
  channel<int> a{1};
  channel<int> b{0};
  {
    cosync::runtime rt{cosync::test::two_executors()};
    auto forever = [&]() -> task<void> {
      (void)co_await cosync::select(a.recv(), b.recv(), cosync::after(1h));
    };
    rt.spawn(forever(), 1);
    cosync::sync_wait(rt, []() -> task<void> { co_await cosync::sleep_for(5ms); }());
  }  // the select's frame is destroyed here
  CHECK(a.try_send(1) == try_status::ok);
  CHECK(a.size_approx() == 1);
  CHECK(b.try_send(1) == try_status::full);
}

COSYNC_TEST_CASE("a timer case alone and a default case alone", "[select][unit]") {
  const auto start = cosync::steady_clock::now();
  auto r = co_await cosync::select(cosync::after(2ms));
  CHECK(r.index() == 0);
  CHECK(cosync::steady_clock::now() - start >= 2ms);
  auto d = co_await cosync::select(cosync::default_case);
  CHECK(d.index() == 0);
  CHECK(armed_timers_here() == 0);
}

namespace {

// How often each case of `select(ch.send(0), ch.send(1))` wins when both are parked and the
// receiver, on `receiver_executor`, comes later.
task<std::array<int, 2>> parked_shares(std::size_t receiver_executor, int rounds) {
  std::array<int, 2> wins{};
  channel<int> ch{0};  // rendezvous: both cases park
  for (int i = 0; i < rounds; ++i) {
    co_await cosync::when_all(
        [&]() -> task<void> { (void)co_await cosync::select(ch.send(0), ch.send(1)); }(),
        [&]() -> task<void> {
          co_await cosync::switch_to(receiver_executor);
          co_await cosync::yield();  // the select parks first
          if (auto v = co_await ch.recv()) {
            ++wins[static_cast<std::size_t>(*v)];
          }
          co_await cosync::switch_to(0);
        }());
  }
  co_return wins;
}

}  // namespace

COSYNC_TEST_CASE("a parked select's cases win in random order, on one and two executors", "[select][unit]") {
  for (const std::size_t receiver : {std::size_t{0}, std::size_t{1}}) {
    const auto wins = co_await parked_shares(receiver, 400);
    INFO("receiver on executor " << receiver << ": case 0 won " << wins[0] << ", case 1 won " << wins[1]);
    CHECK(wins[0] + wins[1] == 400);
    CHECK(wins[0] > 120);  // a fair coin stays within 200 ± 80 with overwhelming probability
    CHECK(wins[1] > 120);
  }
}

TEST_CASE("each runtime makes its own select choices (the seed differs per run)", "[select][unit]") {
  auto choices = [] {
    cosync::runtime rt{cosync::runtime_config{.executors = 1}};
    auto run = []() -> task<std::vector<std::size_t>> {
      channel<int> a{64};
      channel<int> b{64};
      std::vector<std::size_t> picked;
      for (int i = 0; i < 48; ++i) {
        CHECK(a.try_send(1) == try_status::ok);
        CHECK(b.try_send(2) == try_status::ok);
        auto r = co_await cosync::select(a.recv(), b.recv());
        picked.push_back(r.index());
        (void)(r.index() == 0 ? b.try_recv() : a.try_recv());
      }
      co_return picked;
    };
    return cosync::sync_wait(rt, run());
  };
  CHECK(choices() != choices());  // equal with probability 2^-48
}
