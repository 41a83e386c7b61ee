#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <chrono>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "channel_model.hpp"
#include "counted.hpp"
#include "runtime_fixture.hpp"
#include "stress.hpp"

using cosync::channel;
using cosync::task;
using cosync::try_status;
using namespace std::chrono_literals;

// The try operations of both channel kinds follow the same rules.
TEMPLATE_TEST_CASE("try_send and try_recv say ok, full, empty and closed", "[channel][spsc_channel][unit]",
                   channel<int>, cosync::spsc_channel<int>) {
  TestType ch{2};
  CHECK(ch.capacity() == 2);
  int out = -1;
  CHECK(ch.try_recv(out) == try_status::empty);
  CHECK(ch.try_send(1) == try_status::ok);
  CHECK(ch.try_send(2) == try_status::ok);
  CHECK(ch.try_send(3) == try_status::full);
  CHECK(ch.size_approx() == 2);
  CHECK(ch.try_recv(out) == try_status::ok);
  CHECK(out == 1);
  ch.close();
  ch.close();  // idempotent
  CHECK(ch.is_closed());
  CHECK(ch.try_send(4) == try_status::closed);
  CHECK(ch.try_recv(out) == try_status::ok);  // buffered values drain after the close
  CHECK(out == 2);
  CHECK(ch.try_recv(out) == try_status::closed);
  CHECK_FALSE(ch.try_recv().has_value());
}

TEST_CASE("an impossible channel capacity throws cosync::capacity_error", "[channel][unit]") {
  CHECK_THROWS_AS(channel<int>{channel<int>::max_capacity() + 1}, cosync::capacity_error);
}

TEST_CASE("a rendezvous channel's try operations find no partner", "[channel][unit]") {
  channel<int> ch{0};
  int out = 0;
  CHECK(ch.try_send(1) == try_status::full);
  CHECK(ch.try_recv(out) == try_status::empty);
}

COSYNC_TEST_CASE("a rendezvous send completes only when a receiver takes the value", "[channel][unit]") {
  channel<std::string> ch{0};
  std::vector<std::string> log;
  auto sender = [&]() -> task<void> {
    log.push_back("send starts");
    co_await ch.send(std::string{"hello"});
    log.push_back("send done");
  };
  auto receiver = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    log.push_back("recv starts");
    auto v = co_await ch.recv();
    log.push_back("got " + v.value_or("nothing"));
  };
  co_await cosync::when_all(sender(), receiver());
  CHECK(log == std::vector<std::string>{"send starts", "recv starts", "got hello", "send done"});
}

COSYNC_TEST_CASE("blocked senders are served in the order they blocked", "[channel][unit]") {
  channel<int> ch{1};
  CHECK(ch.try_send(0) == try_status::ok);  // full from now on
  auto sender = [&](int v, std::chrono::milliseconds delay) -> task<void> {
    co_await cosync::sleep_for(delay);
    co_await ch.send(int{v});
  };
  auto receiver = [&]() -> task<std::vector<int>> {
    co_await cosync::sleep_for(20ms);  // all three are parked by now, in order 1, 2, 3
    std::vector<int> got;
    for (int i = 0; i < 4; ++i) {
      got.push_back((co_await ch.recv()).value_or(-1));
    }
    co_return got;
  };
  auto [a, b, c, got] = co_await cosync::when_all(sender(3, 6ms), sender(1, 1ms), sender(2, 3ms), receiver());
  CHECK(got == std::vector<int>{0, 1, 2, 3});
}

COSYNC_TEST_CASE("blocked receivers are served in the order they blocked", "[channel][unit]") {
  channel<int> ch{4};
  std::vector<int> order;
  auto receiver = [&](int id, std::chrono::milliseconds delay) -> task<void> {
    co_await cosync::sleep_for(delay);
    auto v = co_await ch.recv();
    order.push_back(id * 100 + v.value_or(-1));
  };
  auto sender = [&]() -> task<void> {
    co_await cosync::sleep_for(20ms);
    for (int v = 1; v <= 3; ++v) {
      co_await ch.send(int{v});
    }
  };
  co_await cosync::when_all(receiver(2, 3ms), receiver(1, 1ms), receiver(3, 6ms), sender());
  CHECK(order == std::vector<int>{101, 202, 303});
}

COSYNC_TEST_CASE("close wakes every parked receiver with nullopt and every parked sender with channel_closed",
                 "[channel][unit]") {
  channel<std::unique_ptr<int>> empty{4};
  channel<std::unique_ptr<int>> full{1};
  co_await full.send(std::make_unique<int>(0));
  int nullopts = 0;
  int closed_sends = 0;
  int kept_values = 0;
  auto receiver = [&]() -> task<void> { nullopts += (co_await empty.recv()).has_value() ? 0 : 1; };
  auto sender = [&](int v) -> task<void> {
    auto value = std::make_unique<int>(v);
    try {
      co_await full.send(std::move(value));
    } catch (const cosync::channel_closed&) {
      ++closed_sends;
    }
    kept_values += value != nullptr && *value == v ? 1 : 0;  // a failed send does not take it
  };
  auto closer = [&]() -> task<void> {
    co_await cosync::sleep_for(5ms);
    empty.close();
    full.close();
  };
  co_await cosync::when_all(receiver(), receiver(), sender(1), sender(2), closer());
  CHECK(nullopts == 2);
  CHECK(closed_sends == 2);
  CHECK(kept_values == 2);
  auto first = co_await full.recv();  // what was buffered before the close is still delivered
  REQUIRE(first.has_value());
  CHECK(**first == 0);
  CHECK_FALSE((co_await full.recv()).has_value());
}

COSYNC_TEST_CASE("withdraw takes back a parked recv, but a recv already handed a value keeps it",
                 "[channel][unit]") {
  channel<int> ch{1};
  auto parked = ch.recv();
  CHECK_FALSE(parked.await_ready());
  // Park it by hand (as a select or task group would), then withdraw it: nothing consumed.
  CHECK(parked.await_suspend(std::noop_coroutine()));
  CHECK(parked.withdraw());
  CHECK(ch.try_send(5) == try_status::ok);
  int out = 0;
  CHECK(ch.try_recv(out) == try_status::ok);
  CHECK(out == 5);

  auto handed = ch.recv();
  CHECK(handed.await_suspend(std::noop_coroutine()));
  CHECK(ch.try_send(7) == try_status::ok);  // goes straight to the parked receiver
  CHECK_FALSE(handed.withdraw());           // too late: the value is its
  CHECK(handed.await_resume() == 7);
  co_return;
}

COSYNC_TEST_CASE("a parked receiver resumes on its own executor when woken from another", "[channel][unit]") {
  channel<int> ch{2};
  const std::size_t home = cosync::this_executor();
  auto remote_sender = [&]() -> task<void> {
    co_await cosync::switch_to(1 - home);
    co_await cosync::sleep_for(2ms);
    co_await ch.send(9);
  };
  std::size_t resumed_on = 99;
  auto receiver = [&]() -> task<int> {
    auto v = co_await ch.recv();
    resumed_on = cosync::this_executor();
    co_return v.value_or(-1);
  };
  auto [got, ignored] = co_await cosync::when_all(receiver(), remote_sender());
  CHECK(got == 9);
  CHECK(resumed_on == home);
}

TEST_CASE("try_recv_n takes up to max values and refills from parked senders", "[channel][unit]") {
  channel<int> ch{8};
  for (int i = 0; i < 5; ++i) {
    REQUIRE(ch.try_send(int{i}) == try_status::ok);
  }
  std::vector<int> out;
  CHECK(ch.try_recv_n(std::back_inserter(out), 3) == 3);
  CHECK(ch.try_recv_n(std::back_inserter(out), 10) == 2);
  CHECK(out == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("values left in a destroyed channel are destroyed exactly once", "[channel][unit]") {
  cosync::test::counted::reset();
  {
    channel<cosync::test::counted> ch{8};
    for (std::uint64_t i = 0; i < 5; ++i) {
      REQUIRE(ch.try_send(cosync::test::counted{i}) == try_status::ok);
    }
    auto one = ch.try_recv();
    REQUIRE(one.has_value());
  }
  CHECK(cosync::test::counted::live() == 0);
}

TEST_CASE("try operations and close match a reference model over random sequences", "[channel][unit]") {
  // The differential test of issue #4, for the non-suspending operations: a plain deque with a
  // capacity and a closed flag is the model; every status and every value must agree.
  std::mt19937_64 rng{20261127};
  for (int round = 0; round < 200; ++round) {
    const std::size_t capacity = rng() % 5;
    channel<int> ch{capacity};
    std::deque<int> model;
    bool closed = false;
    int next = 0;
    for (int step = 0; step < 200; ++step) {
      const auto op = rng() % 10;
      if (op < 5) {
        const int v = next++;
        const try_status expected = closed                     ? try_status::closed
                                    : model.size() == capacity ? try_status::full
                                                               : try_status::ok;
        if (expected == try_status::ok) {
          model.push_back(v);
        }
        REQUIRE(ch.try_send(int{v}) == expected);
      } else if (op < 9) {
        int out = -1;
        const try_status got = ch.try_recv(out);
        if (!model.empty()) {
          REQUIRE(got == try_status::ok);
          REQUIRE(out == model.front());
          model.pop_front();
        } else {
          REQUIRE(got == (closed ? try_status::closed : try_status::empty));
        }
      } else if (rng() % 8 == 0) {
        ch.close();
        closed = true;
      }
      REQUIRE(ch.size_approx() == model.size());
    }
  }
}

COSYNC_TEST_CASE("send_n sends a whole batch in order, waiting for room as it goes", "[channel][unit]") {
  channel<std::unique_ptr<int>> ch{4};
  std::vector<std::unique_ptr<int>> batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back(std::make_unique<int>(i));
  }
  std::vector<int> got;
  auto receiver = [&]() -> task<void> {
    while (auto v = co_await ch.recv()) {
      got.push_back(**v);
    }
  };
  auto sender = [&]() -> task<void> {
    co_await ch.send_n(std::span{batch});  // 10 values through 4 slots
    ch.close();
  };
  co_await cosync::when_all(receiver(), sender());
  CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  for (const auto& p : batch) {
    CHECK(p == nullptr);  // every one was moved out
  }
}

TEST_CASE("try_send_n sends what fits and leaves the rest untouched", "[channel][unit]") {
  channel<std::unique_ptr<int>> ch{3};
  std::vector<std::unique_ptr<int>> batch;
  for (int i = 0; i < 5; ++i) {
    batch.push_back(std::make_unique<int>(i));
  }
  CHECK(ch.try_send_n(std::span{batch}) == 3);
  CHECK(batch[2] == nullptr);
  REQUIRE(batch[3] != nullptr);
  CHECK(*batch[3] == 3);
  ch.close();
  CHECK(ch.try_send_n(std::span{batch}.subspan(3, 2)) == 0);
  CHECK(batch[3] != nullptr);
}

TEST_CASE("coroutines parked in channels that outlive their runtime leave them on shutdown",
          "[channel][unit]") {
  channel<int> mpmc{0};
  cosync::spsc_channel<int> spsc{1};
  REQUIRE(spsc.try_send(1) == try_status::ok);  // full: a sender will park
  {
    cosync::runtime rt{cosync::runtime_config{.executors = 2}};
    std::atomic<int> parked{0};
    auto wait_recv = [&]() -> task<void> {
      parked.fetch_add(1);
      (void)co_await mpmc.recv();
    };
    auto wait_spsc = [&]() -> task<void> {
      parked.fetch_add(1);
      co_await spsc.send(2);
    };
    rt.spawn(wait_recv(), 0);
    rt.spawn(wait_recv(), 1);
    rt.spawn(wait_spsc(), 1);
    while (parked.load() < 3) {
      std::this_thread::yield();
    }
    std::this_thread::sleep_for(20ms);  // let them park
  }  // ~runtime destroys the parked frames; their awaiters leave the channels
  CHECK(mpmc.try_send(1) == try_status::full);  // no stale receiver takes it
  int out = 0;
  CHECK(spsc.try_recv(out) == try_status::ok);  // and no stale sender is woken
  CHECK(out == 1);
}

TEST_CASE("try and await operations and close match a reference model over random sequences",
          "[channel][unit]") {
  // The differential test of issue #4 as a seeded randomized test; tests/fuzz/channel_fuzz.cpp
  // runs the same check with libFuzzer choosing the operations.
  std::mt19937_64 rng{cosync::test::stress_seed("channel differential test")};
  cosync::runtime rt{cosync::runtime_config{.executors = 1}};
  for (int round = 0; round < 40; ++round) {
    const std::size_t capacity = rng() % 4;
    INFO("round " << round << ", capacity " << capacity);
    int steps = 0;
    const bool agrees =
        cosync::test::channel_agrees_with_model(rt, capacity, [&]() -> std::optional<unsigned> {
          if (steps++ == 60) {
            return std::nullopt;
          }
          return static_cast<unsigned>(rng());
        });
    CHECK(agrees);
  }
}

COSYNC_TEST_CASE("a stored send owns its value: made from a temporary, awaited later", "[channel][unit]") {
  channel<std::string> ch{4};
  auto make = [] { return std::string(64, 'x'); };  // too long for the small-string buffer
  auto op = ch.send(make());                        // the temporary is gone after this line
  co_await op;
  auto stored = cosync::select(ch.send(std::string(80, 'y')), cosync::default_case);
  auto r = co_await stored;
  CHECK(r.index() == 0);
  CHECK(ch.try_recv() == std::optional<std::string>{std::string(64, 'x')});
  CHECK(ch.try_recv() == std::optional<std::string>{std::string(80, 'y')});
}

COSYNC_TEST_CASE("a stored send that fails keeps its value for unsent()", "[channel][unit]") {
  channel<std::unique_ptr<int>> closed{1};
  closed.close();
  auto op = closed.send(std::make_unique<int>(5));
  bool threw = false;
  try {
    co_await op;
  } catch (const cosync::channel_closed&) {
    threw = true;
  }
  CHECK(threw);
  REQUIRE(op.unsent() != nullptr);
  REQUIRE(*op.unsent() != nullptr);
  CHECK(**op.unsent() == 5);
}

namespace {

// An output iterator whose n-th write throws: the caller's code failing inside try_recv_n.
struct failing_output {
  std::vector<int>* out;
  int* writes_left;
  failing_output& operator*() { return *this; }
  failing_output& operator++() { return *this; }
  failing_output& operator=(int v) {
    if ((*writes_left)-- == 0) {
      throw std::runtime_error("output full");
    }
    out->push_back(v);
    return *this;
  }
};

task<void> send_all(channel<int>& ch, int first, int count, int& sent) {
  for (int v = first; v < first + count; ++v) {
    co_await ch.send(int{v});
    ++sent;
  }
}

}  // namespace

COSYNC_TEST_CASE("an exception from try_recv_n's output strands no parked sender", "[channel][unit]") {
  // The batch takes the 2 buffered values and the parked third one: fail on each of those writes.
  for (int fail_at = 0; fail_at < 3; ++fail_at) {
    channel<int> ch{2};
    bool threw = false;
    int sent = 0;
    std::vector<int> got;
    int writes_left = fail_at;
    // A sender on the other executor fills the channel and parks with more to send.
    co_await cosync::when_all(
        [&]() -> task<void> {
          co_await cosync::switch_to(1);
          co_await send_all(ch, 0, 6, sent);
        }(),
        [&]() -> task<void> {
          while (ch.size_approx() < 2) {
            co_await cosync::yield();
          }
          co_await cosync::sleep_for(1ms);  // the sender parks on its third value
          try {
            (void)ch.try_recv_n(failing_output{&got, &writes_left}, 10);
          } catch (const std::runtime_error&) {
            threw = true;
          }
          // The sender was woken for every slot the batch freed: the rest arrives and is received.
          while (got.size() + 1 < 6) {
            if (auto v = co_await ch.recv()) {
              got.push_back(*v);
            }
          }
        }());
    CHECK(threw);
    CHECK(sent == 6);
    CHECK(got.size() == 5);  // all but the one whose write threw, in order
    for (std::size_t i = 1; i < got.size(); ++i) {
      CHECK(got[i - 1] < got[i]);
    }
  }
}
