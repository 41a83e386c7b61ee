#include <cosync/runtime.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <chrono>
#include <coroutine>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "counted.hpp"
#include "runtime_fixture.hpp"

using cosync::spsc_channel;
using cosync::task;
using cosync::try_status;
using namespace std::chrono_literals;

// The try operations' status rules are tested for both channel kinds in channel_test.cpp.

TEST_CASE("a refused try_send leaves a move-only value with the caller", "[spsc_channel][unit]") {
  spsc_channel<std::unique_ptr<int>> ch{1};
  CHECK(ch.try_send(std::make_unique<int>(1)) == try_status::ok);
  auto keep = std::make_unique<int>(2);
  CHECK(ch.try_send(std::move(keep)) == try_status::full);
  REQUIRE(keep != nullptr);
  ch.close();
  CHECK(ch.try_send(std::move(keep)) == try_status::closed);
  REQUIRE(keep != nullptr);
  CHECK(*keep == 2);
}

TEST_CASE("a capacity of zero throws cosync::capacity_error", "[spsc_channel][unit]") {
  CHECK_THROWS_AS(spsc_channel<int>{0}, cosync::capacity_error);
}

COSYNC_TEST_CASE("recv waits for a send, and send waits for room, in FIFO order", "[spsc_channel][unit]") {
  spsc_channel<int> ch{2};
  std::vector<int> received;
  auto producer = [&]() -> task<void> {
    for (int i = 0; i < 100; ++i) {
      co_await ch.send(int{i});  // parks whenever the two slots are full
    }
    ch.close();
  };
  auto consumer = [&]() -> task<void> {
    while (auto v = co_await ch.recv()) {  // parks whenever the channel is empty
      received.push_back(*v);
    }
  };
  co_await cosync::when_all(consumer(), producer());
  REQUIRE(received.size() == 100);
  for (int i = 0; i < 100; ++i) {
    CHECK(received[static_cast<std::size_t>(i)] == i);
  }
}

COSYNC_TEST_CASE("close wakes a parked receiver, which returns nullopt", "[spsc_channel][unit]") {
  spsc_channel<std::string> ch{4};
  bool got_nullopt = false;
  auto receiver = [&]() -> task<void> { got_nullopt = !(co_await ch.recv()).has_value(); };
  auto closer = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);  // the receiver is parked by now
    ch.close();
  };
  co_await cosync::when_all(receiver(), closer());
  CHECK(got_nullopt);
}

COSYNC_TEST_CASE("close wakes a parked sender, which throws channel_closed and keeps its value",
                 "[spsc_channel][unit]") {
  spsc_channel<std::unique_ptr<int>> ch{1};
  co_await ch.send(std::make_unique<int>(1));  // fills the channel
  auto value = std::make_unique<int>(2);
  bool threw = false;
  auto sender = [&]() -> task<void> {
    try {
      co_await ch.send(std::move(value));
    } catch (const cosync::channel_closed&) {
      threw = true;
    }
  };
  auto closer = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    ch.close();
  };
  co_await cosync::when_all(sender(), closer());
  CHECK(threw);
  REQUIRE(value != nullptr);  // not moved from
  CHECK(*value == 2);
  auto first = co_await ch.recv();  // what was sent before the close is still delivered
  REQUIRE(first.has_value());
  CHECK(**first == 1);
  CHECK_FALSE((co_await ch.recv()).has_value());
}

COSYNC_TEST_CASE("send of an lvalue copies it", "[spsc_channel][unit]") {
  spsc_channel<std::string> ch{4};
  const std::string text = "kept";
  co_await ch.send(text);
  CHECK(text == "kept");
  auto v = co_await ch.recv();
  REQUIRE(v.has_value());
  CHECK(*v == "kept");
}

COSYNC_TEST_CASE("a parked coroutine is resumed on its own executor when woken from another",
                 "[spsc_channel][unit]") {
  spsc_channel<int> ch{1};
  const std::size_t home = cosync::this_executor();
  auto remote_sender = [&]() -> task<void> {
    co_await cosync::switch_to(1 - home);
    co_await cosync::sleep_for(2ms);  // the receiver is parked by now
    co_await ch.send(7);
  };
  std::size_t resumed_on = 99;
  int got = 0;
  auto receiver = [&]() -> task<void> {
    auto v = co_await ch.recv();
    resumed_on = cosync::this_executor();
    got = v.value_or(-1);
  };
  co_await cosync::when_all(receiver(), remote_sender());
  CHECK(resumed_on == home);
  CHECK(got == 7);
}

TEST_CASE("values left in a destroyed channel are destroyed exactly once", "[spsc_channel][unit]") {
  cosync::test::counted::reset();
  {
    spsc_channel<cosync::test::counted> ch{8};
    for (std::uint64_t i = 0; i < 5; ++i) {
      REQUIRE(ch.try_send(cosync::test::counted{i}) == try_status::ok);
    }
    auto one = ch.try_recv();
    REQUIRE(one.has_value());
    CHECK(one->value() == 0);
  }
  CHECK(cosync::test::counted::live() == 0);
}

TEST_CASE("spsc_channel refuses to be awaited off an executor", "[spsc_channel][unit]") {
  cosync::spsc_channel<int> ch{1};
  CHECK(ch.try_send(1) == try_status::ok);
  auto send = ch.send(2);  // full: it would have to park
  CHECK_FALSE(send.await_ready());
  CHECK_THROWS_AS(send.await_suspend(std::noop_coroutine()), cosync::usage_error);
  CHECK(ch.try_recv() == std::optional<int>{1});
  auto recv = ch.recv();  // empty: it would have to park
  CHECK_FALSE(recv.await_ready());
  CHECK_THROWS_AS(recv.await_suspend(std::noop_coroutine()), cosync::usage_error);
}

COSYNC_TEST_CASE("spsc_channel: once a receive saw closed and drained, every later one does",
                 "[spsc_channel][unit]") {
  cosync::spsc_channel<int> ch{2};
  ch.close();
  CHECK_FALSE((co_await ch.recv()).has_value());
  CHECK(ch.try_recv() == std::nullopt);
  CHECK(ch.try_send(1) == try_status::closed);
  CHECK_FALSE((co_await ch.recv()).has_value());
}

COSYNC_TEST_CASE("spsc_channel: a stored send owns its value", "[spsc_channel][unit]") {
  cosync::spsc_channel<std::string> ch{2};
  auto op = ch.send(std::string(64, 'z'));  // the temporary is gone after this line
  co_await op;
  CHECK(ch.try_recv() == std::optional<std::string>{std::string(64, 'z')});
}
