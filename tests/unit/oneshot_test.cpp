// cosync::oneshot<T> and make_oneshot's handles: one value, one producer, one consumer; recv as a
// lone wait (woken across executors, cancelled, timed out) and as a select case; a stress case of
// many oneshots whose sends race their receives across two executors.

#include <cosync/channel.hpp>
#include <cosync/oneshot.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
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

using cosync::oneshot;
using cosync::task;
using cosync::try_status;
using namespace std::chrono_literals;

TEST_CASE("a oneshot carries one value: try_recv says empty then ok then closed", "[oneshot][unit]") {
  oneshot<std::string> o;
  std::string out;
  CHECK(o.try_recv(out) == try_status::empty);
  CHECK_FALSE(o.try_recv().has_value());
  o.send("hello");
  CHECK_FALSE(o.is_closed());
  CHECK(o.try_recv(out) == try_status::ok);
  CHECK(out == "hello");
  CHECK(o.try_recv(out) == try_status::closed);  // received: nothing more will come
  std::string again = "again";
  CHECK_THROWS_AS(o.send(std::move(again)), cosync::usage_error);
  CHECK(again == "again");  // not moved from
}

TEST_CASE("a second send throws usage_error and close after a send changes nothing", "[oneshot][unit]") {
  oneshot<int> o;
  o.send(1);
  CHECK_THROWS_AS(o.send(2), cosync::usage_error);
  o.close();  // too late: the value stays
  CHECK_FALSE(o.is_closed());
  CHECK(o.try_recv() == std::optional<int>{1});
}

TEST_CASE("send after close throws channel_closed and leaves the value with the caller", "[oneshot][unit]") {
  oneshot<std::unique_ptr<int>> o;
  o.close();
  o.close();  // idempotent
  CHECK(o.is_closed());
  auto value = std::make_unique<int>(7);
  CHECK_THROWS_AS(o.send(std::move(value)), cosync::channel_closed);
  REQUIRE(value != nullptr);
  CHECK(*value == 7);
  std::unique_ptr<int> out;
  CHECK(o.try_recv(out) == try_status::closed);
}

TEST_CASE("a value sent and never received is destroyed with the oneshot", "[oneshot][unit]") {
  auto probe = std::make_shared<int>(0);
  {
    oneshot<std::shared_ptr<int>> o;
    o.send(std::shared_ptr<int>{probe});
    CHECK(probe.use_count() == 2);
  }
  CHECK(probe.use_count() == 1);
  {
    auto [tx, rx] = cosync::make_oneshot<std::shared_ptr<int>>();
    tx.send(std::shared_ptr<int>{probe});
  }
  CHECK(probe.use_count() == 1);
}

COSYNC_TEST_CASE("recv completes at once when the value is there and nullopt once closed",
                 "[oneshot][unit]") {
  oneshot<int> o;
  o.send(3);
  const std::optional<int> three = co_await o.recv();
  CHECK(three == std::optional<int>{3});
  const std::optional<int> after = co_await o.recv();  // already received
  CHECK_FALSE(after.has_value());

  oneshot<int> closed;
  closed.close();
  const std::optional<int> none = co_await closed.recv();
  CHECK_FALSE(none.has_value());
}

COSYNC_TEST_CASE("a parked recv is woken by a send from another executor and resumes on its home",
                 "[oneshot][unit]") {
  oneshot<std::string> o;
  const std::size_t home = cosync::this_executor();
  std::size_t resumed_on = 99;
  auto receiver = [&]() -> task<std::optional<std::string>> {
    auto v = co_await o.recv();
    resumed_on = cosync::this_executor();
    co_return v;
  };
  auto sender = [&]() -> task<void> {
    co_await cosync::switch_to(1 - home);
    co_await cosync::sleep_for(2ms);
    o.send("from afar");
  };
  auto [got, sent] = co_await cosync::when_all(receiver(), sender());
  CHECK(got == std::optional<std::string>{"from afar"});
  CHECK(resumed_on == home);
}

COSYNC_TEST_CASE("close from another executor wakes a parked recv with nullopt", "[oneshot][unit]") {
  oneshot<int> o;
  const std::size_t home = cosync::this_executor();
  auto receiver = [&]() -> task<std::optional<int>> { co_return co_await o.recv(); };
  auto closer = [&]() -> task<void> {
    co_await cosync::switch_to(1 - home);
    co_await cosync::sleep_for(2ms);
    o.close();
  };
  auto [got, closed] = co_await cosync::when_all(receiver(), closer());
  CHECK_FALSE(got.has_value());
  CHECK(o.is_closed());
}

COSYNC_TEST_CASE("a second recv parked beside the first throws usage_error", "[oneshot][unit]") {
  oneshot<int> o;
  auto first = o.recv();
  CHECK_FALSE(first.await_ready());
  CHECK(first.await_suspend(std::noop_coroutine()));  // parked by hand, as a select would
  const bool threw = co_await cosync::test::throws<cosync::usage_error>(o.recv());
  CHECK(threw);
  CHECK(first.withdraw());  // taken back: nothing consumed
  o.send(4);
  const std::optional<int> four = co_await o.recv();
  CHECK(four == std::optional<int>{4});
}

COSYNC_TEST_CASE("withdraw takes back a parked recv but a recv already woken keeps the value",
                 "[oneshot][unit]") {
  oneshot<int> o;
  auto woken = o.recv();
  CHECK(woken.await_suspend(std::noop_coroutine()));
  o.send(8);                      // wakes it (the no-op coroutine) and it is decided
  CHECK_FALSE(woken.withdraw());  // too late: the value is its
  CHECK(woken.await_resume() == std::optional<int>{8});
  co_return;
}

COSYNC_TEST_CASE("a cancelled recv throws cancelled and consumes nothing", "[oneshot][unit]") {
  oneshot<int> o;
  const bool cancelled = co_await cosync::test::cancelled_while_waiting(o.recv());
  CHECK(cancelled);

  auto wait_for_it = [&]() -> task<std::optional<int>> { co_return co_await o.recv(); };
  auto moved_on = co_await cosync::move_on_after(2ms, wait_for_it());
  CHECK_FALSE(moved_on.has_value());

  o.send(5);  // both waits left: the value is still there for a later recv
  const std::optional<int> five = co_await o.recv();
  CHECK(five == std::optional<int>{5});
}

COSYNC_TEST_CASE("a cancelled recv on a receiver handle consumes nothing", "[oneshot][unit]") {
  auto made =
      cosync::make_oneshot<int>();  // named, not bound: clang < 16 cannot capture a structured binding
  auto& tx = made.first;
  auto& rx = made.second;
  auto wait_for_it = [&]() -> task<std::optional<int>> { co_return co_await rx.recv(); };
  auto moved_on = co_await cosync::move_on_after(2ms, wait_for_it());
  CHECK_FALSE(moved_on.has_value());
  tx.send(6);
  const std::optional<int> six = co_await rx.recv();
  CHECK(six == std::optional<int>{6});
}

COSYNC_TEST_CASE("a oneshot recv is a select case beside a channel recv and a timer",
                 "[oneshot][select][unit]") {
  oneshot<int> o;
  cosync::channel<int> ch{1};
  auto timed = co_await cosync::select(o.recv(), ch.recv(), cosync::after(2ms));
  CHECK(timed.index() == 2);

  // Parked in all three, woken by the oneshot from another executor.
  const std::size_t home = cosync::this_executor();
  auto selector = [&]() -> task<int> {
    auto r = co_await cosync::select(o.recv(), ch.recv(), cosync::after(1h));
    co_return r.index() == 0 ? get<0>(r).value_or(-1) : -2;
  };
  auto sender = [&]() -> task<void> {
    co_await cosync::switch_to(1 - home);
    co_await cosync::sleep_for(2ms);
    o.send(11);
  };
  auto [got, sent] = co_await cosync::when_all(selector(), sender());
  CHECK(got == 11);

  // The channel wins: the oneshot case consumes nothing.
  oneshot<int> other;
  auto channel_wins = [&]() -> task<std::size_t> {
    auto r = co_await cosync::select(other.recv(), ch.recv());
    co_return r.index();
  };
  auto channel_sender = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    co_await ch.send(1);
  };
  auto [index, ignored] = co_await cosync::when_all(channel_wins(), channel_sender());
  CHECK(index == 1);
  other.send(12);
  CHECK(other.try_recv() == std::optional<int>{12});

  // Ready at once: the oneshot case wins the fast pass.
  oneshot<int> ready;
  ready.send(13);
  auto at_once = co_await cosync::select(ready.recv(), ch.recv(), cosync::after(1h));
  REQUIRE(at_once.index() == 0);
  CHECK(get<0>(at_once) == std::optional<int>{13});
}

COSYNC_TEST_CASE("dropping the sender unsent ends the receiver's recv with nullopt", "[oneshot][unit]") {
  {
    auto made =
        cosync::make_oneshot<int>();  // named, not bound: clang < 16 cannot capture a structured binding
    auto& tx = made.first;
    auto& rx = made.second;
    const std::size_t home = cosync::this_executor();
    auto receiver = [&]() -> task<std::optional<int>> { co_return co_await rx.recv(); };
    auto dropper = [&](cosync::oneshot_sender<int> sender) -> task<void> {
      co_await cosync::switch_to(1 - home);
      co_await cosync::sleep_for(2ms);
      // Dropped here, on the other executor (a parameter would live as long as the frame).
      { auto gone = std::move(sender); }
    };
    auto [got, dropped] = co_await cosync::when_all(receiver(), dropper(std::move(tx)));
    CHECK_FALSE(got.has_value());
    CHECK(rx.is_closed());
  }
  {
    auto [tx, rx] = cosync::make_oneshot<int>();
    { auto gone = std::move(tx); }
    CHECK_FALSE(rx.try_recv().has_value());
    CHECK(rx.is_closed());
  }
}

COSYNC_TEST_CASE("a sender that sent may be dropped before the receiver receives", "[oneshot][unit]") {
  auto [tx, rx] = cosync::make_oneshot<std::string>();
  tx.send("kept");
  { auto gone = std::move(tx); }
  CHECK_FALSE(rx.is_closed());
  const std::optional<std::string> v = co_await rx.recv();
  CHECK(v == std::optional<std::string>{"kept"});
}

TEST_CASE("dropping the receiver makes send throw channel_closed with the value untouched",
          "[oneshot][unit]") {
  auto [tx, rx] = cosync::make_oneshot<std::unique_ptr<int>>();
  CHECK_FALSE(tx.is_closed());
  { auto gone = std::move(rx); }
  CHECK(tx.is_closed());
  auto value = std::make_unique<int>(9);
  CHECK_THROWS_AS(tx.send(std::move(value)), cosync::channel_closed);
  REQUIRE(value != nullptr);
  CHECK(*value == 9);
}

TEST_CASE("moved-from oneshot handles throw usage_error and move assignment drops the old one",
          "[oneshot][unit]") {
  auto [tx, rx] = cosync::make_oneshot<int>();
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  CHECK_THROWS_AS(tx.send(1), cosync::usage_error);  // NOLINT(bugprone-use-after-move): the point
  CHECK_THROWS_AS(rx.try_recv(), cosync::usage_error);
  CHECK_THROWS_AS((void)rx.recv(), cosync::usage_error);

  auto [tx3, rx3] = cosync::make_oneshot<int>();
  tx3 = std::move(tx2);  // tx3's own oneshot loses its sender: closed
  CHECK(rx3.is_closed());
  tx3.send(2);
  CHECK(rx2.try_recv() == std::optional<int>{2});
}

TEST_CASE("receives parked in oneshots that outlive their runtime leave them on shutdown",
          "[oneshot][unit]") {
  oneshot<int> object;
  auto made = cosync::make_oneshot<int>();
  auto& tx = made.first;
  {
    cosync::runtime rt{cosync::test::two_executors()};
    std::atomic<int> parked{0};
    auto wait_object = [&]() -> task<void> {
      parked.fetch_add(1);
      (void)co_await object.recv();
    };
    auto wait_handle = [&](cosync::oneshot_receiver<int> rx) -> task<void> {
      parked.fetch_add(1);
      (void)co_await rx.recv();
    };
    rt.spawn(wait_object(), 1);
    rt.spawn(wait_handle(std::move(made.second)), 0);
    while (parked.load() < 2) {
      std::this_thread::yield();
    }
    std::this_thread::sleep_for(20ms);  // let them park
  }                // ~runtime ends the parked coroutines; their receives leave the oneshots
  object.send(1);  // no stale receiver is woken
  CHECK(object.try_recv() == std::optional<int>{1});
  CHECK(tx.is_closed());  // the receiver handle went with its coroutine
  CHECK_THROWS_AS(tx.send(2), cosync::channel_closed);
}

COSYNC_TEST_CASE("many oneshots whose sends race their receives across executors deliver each value once",
                 "[oneshot][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("oneshot stress")};
  constexpr std::size_t count = 5000;
  for (int round = 0; round < 3; ++round) {
    // For each oneshot: whether the sender gives up on it (closes instead of sending), and how
    // long each side spins before its operation, so that sends land before, during and after the
    // receive parks.
    std::vector<bool> dropped(count);
    std::vector<unsigned> sender_spins(count);
    std::vector<unsigned> receiver_spins(count);
    for (std::size_t i = 0; i < count; ++i) {
      dropped[i] = rng() % 11 == 0;
      sender_spins[i] = static_cast<unsigned>(rng() % 400);
      receiver_spins[i] = static_cast<unsigned>(rng() % 400);
    }
    std::vector<cosync::oneshot_sender<std::uint64_t>> senders;
    std::vector<cosync::oneshot_receiver<std::uint64_t>> receivers;
    std::vector<std::unique_ptr<oneshot<std::uint64_t>>> objects;
    for (std::size_t i = 0; i < count; ++i) {
      auto [tx, rx] = cosync::make_oneshot<std::uint64_t>();
      senders.push_back(std::move(tx));
      receivers.push_back(std::move(rx));
      objects.push_back(std::make_unique<oneshot<std::uint64_t>>());
    }
    std::atomic<std::size_t> receiver_at{0};  // the oneshot the receiver is about to await
    const auto spin = [](unsigned n) {
      std::atomic<unsigned> sink{0};
      for (unsigned k = 0; k < n; ++k) {
        sink.fetch_add(1, std::memory_order_relaxed);
      }
    };
    const std::size_t home = cosync::this_executor();
    auto sender = [&]() -> task<void> {
      co_await cosync::switch_to(1 - home);
      for (std::size_t i = 0; i < count; ++i) {
        while (receiver_at.load(std::memory_order_acquire) < i) {
          co_await cosync::yield();
        }
        spin(sender_spins[i]);
        if (dropped[i]) {
          { auto gone = std::move(senders[i]); }
          objects[i]->close();
        } else {
          senders[i].send(i + 1);
          objects[i]->send(i + 1);
        }
      }
    };
    struct tally {
      std::uint64_t sum = 0;
      std::size_t values = 0;
      std::size_t nullopts = 0;
      bool right = true;  // each value is its oneshot's
    };
    auto receiver = [&]() -> task<tally> {
      tally t;
      for (std::size_t i = 0; i < count; ++i) {
        receiver_at.store(i, std::memory_order_release);
        spin(receiver_spins[i]);
        const std::optional<std::uint64_t> by_handle = co_await receivers[i].recv();
        const std::optional<std::uint64_t> by_object = co_await objects[i]->recv();
        for (const std::optional<std::uint64_t>* v : {&by_handle, &by_object}) {
          if (v->has_value()) {
            t.right &= **v == i + 1 && !dropped[i];
            t.sum += **v;
            ++t.values;
          } else {
            t.right &= dropped[i];
            ++t.nullopts;
          }
        }
      }
      co_return t;
    };
    auto [t, done] = co_await cosync::when_all(receiver(), sender());
    std::uint64_t expected_sum = 0;
    std::size_t expected_values = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (!dropped[i]) {
        expected_sum += 2 * (i + 1);
        expected_values += 2;
      }
    }
    CHECK(t.right);
    CHECK(t.values == expected_values);
    CHECK(t.nullopts == 2 * count - expected_values);
    CHECK(t.sum == expected_sum);
  }
}
