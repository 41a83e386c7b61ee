// cosync::make_channel's handles: the last sender dropped closes the channel (receivers drain, then
// nullopt), the last receiver dropped closes it too (sends throw channel_closed); copies keep it
// open; operations are the channel's own awaiters (select cases, cancellable).

#include <cosync/channel_handles.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "await_helpers.hpp"
#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::channel_receiver;
using cosync::channel_sender;
using cosync::task;
using cosync::try_status;
using namespace std::chrono_literals;

TEST_CASE("dropping the last sender closes the channel and receivers drain then get nullopt",
          "[channel_handles][unit]") {
  auto [tx, rx] = cosync::make_channel<int>(4);
  CHECK(tx.capacity() == 4);
  CHECK(tx.try_send(1) == try_status::ok);
  CHECK(tx.try_send(2) == try_status::ok);
  CHECK(rx.size_approx() == 2);
  { auto gone = std::move(tx); }
  CHECK(rx.is_closed());
  int out = 0;
  CHECK(rx.try_recv(out) == try_status::ok);
  CHECK(out == 1);
  CHECK(rx.try_recv() == std::optional<int>{2});
  CHECK(rx.try_recv(out) == try_status::closed);
}

TEST_CASE("copies of a sender keep the channel open until the last is dropped", "[channel_handles][unit]") {
  auto [tx, rx] = cosync::make_channel<int>(4);
  std::optional<channel_sender<int>> copy{tx};
  channel_sender<int> assigned = *copy;
  { auto gone = std::move(tx); }
  CHECK_FALSE(rx.is_closed());
  CHECK(copy->try_send(1) == try_status::ok);
  copy.reset();
  CHECK_FALSE(rx.is_closed());
  CHECK(assigned.try_send(2) == try_status::ok);

  // Assigning over the last sender of another channel drops it: that channel closes.
  auto [other_tx, other_rx] = cosync::make_channel<int>(1);
  other_tx = assigned;
  CHECK(other_rx.is_closed());
  CHECK(other_tx.try_send(3) == try_status::ok);  // now a sender of the first channel
  { auto gone = std::move(assigned); }
  CHECK_FALSE(rx.is_closed());
  { auto gone = std::move(other_tx); }
  CHECK(rx.is_closed());
  std::vector<int> drained;
  CHECK(rx.try_recv_n(std::back_inserter(drained), 10) == 3);
  CHECK(drained == std::vector<int>{1, 2, 3});
}

TEST_CASE("dropping the last receiver makes send throw channel_closed and copies keep it open",
          "[channel_handles][unit]") {
  auto [tx, rx] = cosync::make_channel<std::unique_ptr<int>>(2);
  channel_receiver<std::unique_ptr<int>> copy = rx;
  { auto gone = std::move(rx); }
  CHECK_FALSE(tx.is_closed());
  CHECK(tx.try_send(std::make_unique<int>(1)) == try_status::ok);
  { auto gone = std::move(copy); }
  CHECK(tx.is_closed());
  auto value = std::make_unique<int>(2);
  CHECK(tx.try_send(std::move(value)) == try_status::closed);
  REQUIRE(value != nullptr);  // moved from only on ok
}

COSYNC_TEST_CASE(
    "send through a handle after the last receiver is gone throws channel_closed and gives the value back",
    "[channel_handles][unit]") {
  auto [tx, rx] = cosync::make_channel<std::unique_ptr<int>>(1);
  { auto gone = std::move(rx); }
  auto value = std::make_unique<int>(5);
  bool threw = false;
  try {
    co_await tx.send(std::move(value));
  } catch (const cosync::channel_closed&) {
    threw = true;
  }
  CHECK(threw);
  REQUIRE(value != nullptr);
  CHECK(*value == 5);
}

COSYNC_TEST_CASE("dropping the last receiver wakes a parked sender with channel_closed",
                 "[channel_handles][unit]") {
  auto made = cosync::make_channel<std::unique_ptr<int>>(
      1);  // named, not bound: clang < 16 cannot capture a structured binding
  auto& tx = made.first;
  auto& rx = made.second;
  CHECK(tx.try_send(std::make_unique<int>(1)) == try_status::ok);  // full
  const std::size_t home = cosync::this_executor();
  bool closed = false;
  bool kept = false;
  auto sender = [&]() -> task<void> {
    auto v = std::make_unique<int>(2);
    try {
      co_await tx.send(std::move(v));
    } catch (const cosync::channel_closed&) {
      closed = true;
    }
    kept = v != nullptr && *v == 2;
  };
  auto dropper = [&](channel_receiver<std::unique_ptr<int>> last) -> task<void> {
    co_await cosync::switch_to(1 - home);
    co_await cosync::sleep_for(2ms);
    // Dropped here, on the other executor (a parameter would live as long as the frame).
    { auto gone = std::move(last); }
  };
  co_await cosync::when_all(sender(), dropper(std::move(rx)));
  CHECK(closed);
  CHECK(kept);
}

COSYNC_TEST_CASE("a parked recv is woken with nullopt when the last sender is dropped on another executor",
                 "[channel_handles][unit]") {
  auto made = cosync::make_channel<std::string>(
      0);  // named, not bound: clang < 16 cannot capture a structured binding
  auto& tx = made.first;
  auto& rx = made.second;
  const std::size_t home = cosync::this_executor();
  std::size_t resumed_on = 99;
  auto receiver = [&]() -> task<std::vector<std::string>> {
    std::vector<std::string> got;
    while (auto v = co_await rx.recv()) {
      got.push_back(*v);
    }
    resumed_on = cosync::this_executor();
    co_return got;
  };
  auto producer = [&](channel_sender<std::string> mine) -> task<void> {
    co_await cosync::switch_to(1 - home);
    channel_sender<std::string> copy = mine;  // copies come and go; the channel stays open
    co_await copy.send("a");
    co_await cosync::sleep_for(1ms);
    co_await mine.send("b");
    { auto gone = std::move(mine); }  // the last sender: the receiver's loop ends
  };
  auto [got, produced] = co_await cosync::when_all(receiver(), producer(std::move(tx)));
  CHECK(got == std::vector<std::string>{"a", "b"});
  CHECK(resumed_on == home);
}

COSYNC_TEST_CASE("handle operations are select cases and cancellable like the channel's",
                 "[channel_handles][unit]") {
  auto made =
      cosync::make_channel<int>(1);  // named, not bound: clang < 16 cannot capture a structured binding
  auto& tx = made.first;
  auto& rx = made.second;
  auto timed = co_await cosync::select(rx.recv(), cosync::after(2ms));
  CHECK(timed.index() == 1);

  auto sent = co_await cosync::select(tx.send(7), cosync::after(1h));
  CHECK(sent.index() == 0);
  auto full = co_await cosync::select(tx.send(8), cosync::after(2ms));  // full: the timer wins
  CHECK(full.index() == 1);
  auto got = co_await cosync::select(rx.recv(), cosync::after(1h));
  REQUIRE(got.index() == 0);
  CHECK(get<0>(got) == std::optional<int>{7});

  auto wait_for_it = [&]() -> task<std::optional<int>> { co_return co_await rx.recv(); };
  auto moved_on = co_await cosync::move_on_after(2ms, wait_for_it());
  CHECK_FALSE(moved_on.has_value());
  CHECK(tx.try_send(9) == try_status::ok);  // the cancelled recv consumed nothing
  const std::optional<int> nine = co_await rx.recv();
  CHECK(nine == std::optional<int>{9});

  std::array<int, 3> batch{1, 2, 3};
  auto drain = [&]() -> task<std::vector<int>> {
    std::vector<int> out;
    for (int i = 0; i < 3; ++i) {
      auto v = co_await rx.recv();
      out.push_back(v.value_or(-1));
    }
    co_return out;
  };
  auto [drained, batched] = co_await cosync::when_all(drain(), tx.send_n(std::span{batch}));
  CHECK(drained == std::vector<int>{1, 2, 3});
}

COSYNC_TEST_CASE("moved-from handles throw usage_error and report closed", "[channel_handles][unit]") {
  auto made =
      cosync::make_channel<int>(1);  // named, not bound: clang < 16 cannot capture a structured binding
  auto& tx = made.first;
  auto& rx = made.second;
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  CHECK(tx.is_closed());  // NOLINT(bugprone-use-after-move): the point
  CHECK(rx.is_closed());  // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_AS(tx.try_send(1), cosync::usage_error);
  CHECK_THROWS_AS(rx.try_recv(), cosync::usage_error);
  CHECK_THROWS_AS(tx.close(), cosync::usage_error);
  auto recv_on_moved_from = [&]() -> task<void> { (void)co_await rx.recv(); };
  const bool threw = co_await cosync::test::throws<cosync::usage_error>(recv_on_moved_from());
  CHECK(threw);
  CHECK_FALSE(tx2.is_closed());
  tx2.close();  // by hand: every handle sees it
  CHECK(rx2.is_closed());
}

TEST_CASE("reset drops a handle now and an empty handle can be assigned later", "[channel_handles][unit]") {
  auto [tx, rx] = cosync::make_channel<int>(2);
  channel_sender<int> later;  // empty until assigned
  CHECK_FALSE(later.valid());
  CHECK(later.is_closed());
  later = tx;
  REQUIRE(later.valid());
  tx.reset();  // one sender left
  CHECK_FALSE(tx.valid());
  CHECK_FALSE(rx.is_closed());
  CHECK(later.try_send(1) == try_status::ok);
  later.reset();  // the last sender: closed, drained by the receiver
  CHECK(rx.is_closed());
  CHECK(rx.try_recv() == 1);
  CHECK_FALSE(rx.try_recv().has_value());
  channel_receiver<int> none;
  CHECK_THROWS_AS(none.try_recv(), cosync::usage_error);
}
