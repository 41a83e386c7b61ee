#include <cosync/cancellation.hpp>
#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::channel;
using cosync::task;
using cosync::task_group;
using cosync::try_status;
using namespace std::chrono_literals;

namespace {

task<void> sleep_then(std::chrono::milliseconds d, std::atomic<int>& done) {
  co_await cosync::sleep_for(d);
  done.fetch_add(1);
}

task<void> fail_after(std::chrono::milliseconds d, std::string what) {
  co_await cosync::sleep_for(d);
  throw std::runtime_error(what);
}

// Waits on `ch` until cancelled; records whether it saw cosync::cancelled.
task<void> wait_for_cancel(channel<int>& ch, std::atomic<int>& cancelled_count) {
  try {
    (void)co_await ch.recv();
  } catch (const cosync::cancelled&) {
    cancelled_count.fetch_add(1);
    throw;
  }
}

}  // namespace

COSYNC_TEST_CASE("with_task_group waits for every child and returns the body's value", "[task_group][unit]") {
  std::atomic<int> done{0};
  const int v = co_await cosync::with_task_group([&](task_group& g) -> task<int> {
    g.spawn(sleep_then(3ms, done));
    g.spawn_on(1, sleep_then(1ms, done));
    g.spawn_anywhere(sleep_then(2ms, done));
    co_return 42;
  });
  CHECK(v == 42);
  CHECK(done.load() == 3);
}

COSYNC_TEST_CASE("children run where they are spawned, and spawn_anywhere goes round-robin",
                 "[task_group][unit]") {
  std::vector<std::size_t> where(4, 99);
  auto record = [&](std::size_t i) -> task<void> {
    where[i] = cosync::this_executor();
    co_return;
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn_on(1, record(0));
    g.spawn_on(0, record(1));
    g.spawn_anywhere(record(2));
    g.spawn_anywhere(record(3));
    co_return;
  });
  CHECK(where[0] == 1);
  CHECK(where[1] == 0);
  CHECK(where[2] != where[3]);  // two executors, round-robin
}

COSYNC_TEST_CASE("fail-fast: the first failure cancels the siblings and is rethrown unchanged",
                 "[task_group][unit]") {
  channel<int> never{1};
  std::atomic<int> cancelled_count{0};
  std::string what;
  try {
    co_await cosync::with_task_group([&](task_group& g) -> task<void> {
      g.spawn(wait_for_cancel(never, cancelled_count));
      g.spawn_on(1, wait_for_cancel(never, cancelled_count));
      g.spawn(fail_after(2ms, "boom"));
      co_return;
    });
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  CHECK(what == "boom");
  CHECK(cancelled_count.load() == 2);
  CHECK(never.try_send(1) == try_status::ok);  // nobody is left parked in the channel
}

COSYNC_TEST_CASE("several failures come back together in a task_group_error, none swallowed",
                 "[task_group][unit]") {
  std::size_t failures = 0;
  try {
    co_await cosync::with_task_group([&](task_group& g) -> task<void> {
      g.spawn(fail_after(1ms, "a"));
      g.spawn_on(1, fail_after(1ms, "b"));
      co_await cosync::sleep_for(5ms);  // both have failed by now; the body is cancelled
    });
  } catch (const cosync::task_group_error& e) {
    failures = e.errors().size();
  } catch (const std::runtime_error&) {
    failures = 1;  // the second failure lost the race with the cancellation the first caused
  }
  CHECK(failures >= 1);
  CHECK(failures <= 2);
}

COSYNC_TEST_CASE("supervise: failures cancel nothing and are all reported at the end", "[task_group][unit]") {
  std::atomic<int> done{0};
  std::vector<std::string> messages;
  try {
    co_await cosync::with_task_group(cosync::supervise, [&](task_group& g) -> task<void> {
      g.spawn(fail_after(1ms, "first"));
      g.spawn(sleep_then(5ms, done));
      g.spawn_on(1, sleep_then(5ms, done));
      g.spawn(fail_after(2ms, "second"));
      co_return;
    });
  } catch (const cosync::task_group_error& e) {
    for (const auto& ep : e.errors()) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::runtime_error& x) {
        messages.emplace_back(x.what());
      }
    }
  }
  CHECK(done.load() == 2);  // the siblings finished
  CHECK(messages == std::vector<std::string>{"first", "second"});
}

COSYNC_TEST_CASE("a cancelled send keeps its value, a cancelled recv consumes nothing",
                 "[task_group][unit]") {
  channel<std::unique_ptr<int>> full{1};
  CHECK(full.try_send(std::make_unique<int>(0)) == try_status::ok);
  channel<int> empty{1};
  auto mine = std::make_unique<int>(7);
  bool send_cancelled = false;
  bool recv_cancelled = false;
  // (A coroutine lambda's captures live in the lambda object: keep it alive while it runs.)
  auto sender = [&]() -> task<void> {
    try {
      co_await full.send(std::move(mine));
    } catch (const cosync::cancelled&) {
      send_cancelled = true;
    }
  };
  auto receiver = [&]() -> task<void> {
    try {
      (void)co_await empty.recv();
    } catch (const cosync::cancelled&) {
      recv_cancelled = true;
    }
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn(sender());
    g.spawn_on(1, receiver());
    co_await cosync::sleep_for(2ms);
    g.cancel();
  });
  CHECK(send_cancelled);
  CHECK(recv_cancelled);
  REQUIRE(mine != nullptr);
  CHECK(*mine == 7);
  CHECK(full.size_approx() == 1);
  CHECK(empty.try_send(1) == try_status::ok);
  CHECK(empty.try_recv() == std::optional<int>{1});
}

COSYNC_TEST_CASE("a recv handed a value returns it even when cancelled in the same instant",
                 "[task_group][unit]") {
  channel<int> ch{0};
  std::optional<int> got;
  bool threw = false;
  auto receiver = [&]() -> task<void> {
    try {
      got = co_await ch.recv();
    } catch (const cosync::cancelled&) {
      threw = true;
    }
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn(receiver());
    co_await cosync::sleep_for(2ms);          // the receiver is parked
    CHECK(ch.try_send(5) == try_status::ok);  // handed to it (its resumption is queued) ...
    g.cancel();                               // ... and cancelled before it runs
  });
  CHECK_FALSE(threw);
  CHECK(got == std::optional<int>{5});
}

COSYNC_TEST_CASE("a child that ignores cancellation is still waited for", "[task_group][unit]") {
  std::atomic<bool> loop_finished{false};
  auto spin = [&]() -> task<void> {
    const auto until = std::chrono::steady_clock::now() + 10ms;
    while (std::chrono::steady_clock::now() < until) {  // a CPU loop: no suspension point
    }
    loop_finished = true;
    co_return;
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn_on(1, spin());
    g.cancel();
    co_return;
  });
  CHECK(loop_finished.load());
}

COSYNC_TEST_CASE("current_stop_token sees the group's cancellation", "[task_group][unit]") {
  int polls = 0;
  auto poller = [&]() -> task<void> {
    const std::stop_token token = co_await cosync::current_stop_token();
    while (!token.stop_requested()) {
      ++polls;
      co_await cosync::yield();
    }
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn(poller());
    co_await cosync::sleep_for(1ms);
    g.cancel();
  });
  CHECK(polls > 0);
  // Outside any group: the root's token, which only the runtime's shutdown stops.
  const std::stop_token outside = co_await cosync::current_stop_token();
  CHECK(outside.stop_possible());
  CHECK_FALSE(outside.stop_requested());
}

COSYNC_TEST_CASE("spawning into a cancelled group throws cancelled", "[task_group][unit]") {
  bool threw = false;
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.cancel();
    try {
      g.spawn([]() -> task<void> { co_return; }());
    } catch (const cosync::cancelled&) {
      threw = true;
    }
    co_return;
  });
  CHECK(threw);
}

COSYNC_TEST_CASE("nested groups: a failure at the bottom cancels everything and propagates up",
                 "[task_group][unit]") {
  channel<int> never{1};
  std::atomic<int> cancelled_count{0};
  std::string what;
  try {
    co_await cosync::with_task_group([&](task_group& top) -> task<void> {
      top.spawn_on(1, wait_for_cancel(never, cancelled_count));
      co_await cosync::with_task_group([&](task_group& middle) -> task<void> {
        middle.spawn(wait_for_cancel(never, cancelled_count));
        co_await cosync::with_task_group([&](task_group& bottom) -> task<void> {
          bottom.spawn_on(1, wait_for_cancel(never, cancelled_count));
          bottom.spawn(fail_after(2ms, "deep"));
          co_return;
        });
      });
    });
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  CHECK(what == "deep");
  CHECK(cancelled_count.load() == 3);
}

COSYNC_TEST_CASE("a supervising group stops a nested failure from cancelling its siblings",
                 "[task_group][unit]") {
  std::atomic<int> done{0};
  std::size_t reported = 0;
  auto failing_subgroup = []() -> task<void> {
    co_await cosync::with_task_group([](task_group& inner) -> task<void> {
      inner.spawn(fail_after(1ms, "inner"));
      co_return;
    });
  };
  try {
    co_await cosync::with_task_group(cosync::supervise, [&](task_group& top) -> task<void> {
      top.spawn_on(1, sleep_then(5ms, done));
      top.spawn(failing_subgroup());
      co_return;
    });
  } catch (const cosync::task_group_error& e) {
    reported = e.errors().size();
  }
  CHECK(done.load() == 1);  // the sibling ran to completion
  CHECK(reported == 1);
}

COSYNC_TEST_CASE("cancellation reaches sleep, select and when_all", "[task_group][unit]") {
  channel<int> a{1};
  std::atomic<int> cancelled_count{0};
  auto note = [&](auto body) -> task<void> {
    try {
      co_await body();
    } catch (const cosync::cancelled&) {
      cancelled_count.fetch_add(1);
    }
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn(note([]() -> task<void> { co_await cosync::sleep_for(1h); }));
    g.spawn_on(1, note([&]() -> task<void> { (void)co_await cosync::select(a.recv(), cosync::after(1h)); }));
    g.spawn(note([&]() -> task<void> {
      co_await cosync::when_all([]() -> task<void> { co_await cosync::sleep_for(1h); }(),
                                [&]() -> task<void> { (void)co_await a.recv(); }());
    }));
    co_await cosync::sleep_for(2ms);
    g.cancel();
  });
  CHECK(cancelled_count.load() == 3);
  CHECK(a.try_send(1) == try_status::ok);  // no receiver left behind
}

COSYNC_TEST_CASE("with_timeout throws timed_out, with_deadline returns in time, move_on_after ends quietly",
                 "[task_group][unit]") {
  channel<int> ch{1};
  bool timed_out = false;
  try {
    (void)co_await cosync::with_timeout(
        2ms, [&]() -> task<std::optional<int>> { co_return co_await ch.recv(); }());
  } catch (const cosync::timed_out&) {
    timed_out = true;
  }
  CHECK(timed_out);
  CHECK(ch.try_send(3) == try_status::ok);  // the cancelled recv left the channel
  const auto got =
      co_await cosync::with_deadline(cosync::steady_clock::now() + 1s,
                                     [&]() -> task<std::optional<int>> { co_return co_await ch.recv(); }());
  CHECK(got == std::optional<int>{3});
  const auto quiet = co_await cosync::move_on_after(2ms, [&]() -> task<int> {
    co_await cosync::sleep_for(1h);
    co_return 1;
  }());
  CHECK_FALSE(quiet.has_value());
  const bool finished = co_await cosync::move_on_after(1s, []() -> task<void> { co_return; }());
  CHECK(finished);
}

COSYNC_TEST_CASE("a timeout inside a group is a failure of that child, not a cancellation",
                 "[task_group][unit]") {
  bool caught = false;
  try {
    co_await cosync::with_task_group([&](task_group& g) -> task<void> {
      g.spawn([]() -> task<void> {
        co_await cosync::with_timeout(1ms, []() -> task<void> { co_await cosync::sleep_for(1h); }());
      }());
      co_return;
    });
  } catch (const cosync::timed_out&) {
    caught = true;
  }
  CHECK(caught);
}

TEST_CASE("a group running when its runtime shuts down is destroyed with its children",
          "[task_group][unit]") {
  channel<int> never{1};
  {
    cosync::runtime rt{cosync::test::two_executors()};
    auto receive = [&]() -> task<void> { (void)co_await never.recv(); };
    auto sleep = []() -> task<void> { co_await cosync::sleep_for(1h); };
    auto forever = [&]() -> task<void> {
      co_await cosync::with_task_group([&](task_group& g) -> task<void> {
        g.spawn(receive());
        g.spawn_on(1, sleep());
        (void)co_await never.recv();
      });
    };
    rt.spawn(forever(), 0);
    cosync::sync_wait(rt, []() -> task<void> { co_await cosync::sleep_for(5ms); }());
  }
  CHECK(never.try_send(1) == try_status::ok);  // every receiver left the channel
  CHECK(never.size_approx() == 1);
}

COSYNC_TEST_CASE("spawn starts the child at once, spawn_on queues it", "[task_group][unit]") {
  std::vector<std::string> order;
  auto note = [&](std::string what) -> task<void> {
    order.push_back(std::move(what));
    co_return;
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn(note("eager child"));
    order.emplace_back("body");
    g.spawn_on(cosync::this_executor(), note("queued child"));
    order.emplace_back("body again");
    co_return;
  });
  CHECK(order == std::vector<std::string>{"eager child", "body", "body again", "queued child"});
}

namespace {

task<void> spawn_chain(task_group& g, int left, std::atomic<int>& ran) {
  ran.fetch_add(1);
  if (left > 0) {
    g.spawn(spawn_chain(g, left - 1, ran));
  }
  co_return;
}

}  // namespace

COSYNC_TEST_CASE("a chain of 10^5 children each spawning the next does not overflow the stack",
                 "[task_group][unit]") {
  std::atomic<int> ran{0};
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn(spawn_chain(g, 100000, ran));
    co_return;
  });
  CHECK(ran.load() == 100001);
}

COSYNC_TEST_CASE("a group cancelled from above throws cancelled once its children have stopped",
                 "[task_group][unit]") {
  bool inner_cancelled = false;
  std::atomic<int> done{0};
  auto sleeper = []() -> task<void> { co_await cosync::sleep_for(1h); };
  auto inner = [&]() -> task<void> {
    try {
      co_await cosync::with_task_group([&](task_group& g) -> task<void> {
        g.spawn_on(1, sleeper());
        co_return;  // the body is done; its child is not
      });
    } catch (const cosync::cancelled&) {
      inner_cancelled = true;
    }
    done.fetch_add(1);
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn(inner());
    co_await cosync::sleep_for(2ms);
    g.cancel();  // cancelled by hand: the outer group itself ends normally
  });
  CHECK(inner_cancelled);
  CHECK(done.load() == 1);
}

COSYNC_TEST_CASE("spsc_channel operations are cancellation points too", "[task_group][unit]") {
  cosync::spsc_channel<std::unique_ptr<int>> full{1};
  CHECK(full.try_send(std::make_unique<int>(0)) == try_status::ok);
  cosync::spsc_channel<int> empty{1};
  auto mine = std::make_unique<int>(9);
  std::atomic<int> cancelled_count{0};
  auto sender = [&]() -> task<void> {
    try {
      co_await full.send(std::move(mine));
    } catch (const cosync::cancelled&) {
      cancelled_count.fetch_add(1);
    }
  };
  auto receiver = [&]() -> task<void> {
    try {
      (void)co_await empty.recv();
    } catch (const cosync::cancelled&) {
      cancelled_count.fetch_add(1);
    }
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn(sender());
    g.spawn_on(1, receiver());
    co_await cosync::sleep_for(2ms);
    g.cancel();
  });
  CHECK(cancelled_count.load() == 2);
  REQUIRE(mine != nullptr);
  CHECK(*mine == 9);
  CHECK(empty.try_send(1) == try_status::ok);
  CHECK(empty.try_recv() == std::optional<int>{1});
}

COSYNC_TEST_CASE("in a cancelled scope, operations that need not wait still complete", "[task_group][unit]") {
  channel<int> closed{1};
  closed.close();
  channel<int> rendezvous{0};
  channel<int> buffered{2};
  bool sender_done = false;
  std::optional<int> from_closed{-1};
  std::optional<int> from_rendezvous;
  std::optional<int> from_buffered;
  std::size_t select_index = 99;
  auto parked_sender = [&]() -> task<void> {
    co_await rendezvous.send(7);  // parks until the cancelled receiver below takes it
    sender_done = true;
  };
  auto after_cancel = [&](task_group& g) -> task<void> {
    co_await cosync::sleep_for(2ms);  // the sender is parked by now
    g.cancel();
    from_closed = co_await closed.recv();          // closed and drained: nullopt, not cancelled
    from_rendezvous = co_await rendezvous.recv();  // a parked sender: its value
    CHECK(buffered.try_send(1) == try_status::ok);
    from_buffered = co_await buffered.recv();
    auto r = co_await cosync::select(buffered.recv(), cosync::default_case);
    select_index = r.index();
  };
  bool waited_threw = false;
  auto group = [&]() -> task<void> {
    co_await cosync::with_task_group([&](task_group& g) -> task<void> {
      co_await after_cancel(g);
      try {
        (void)co_await buffered.recv();  // would have to wait: refused
      } catch (const cosync::cancelled&) {
        waited_threw = true;
      }
    });
  };
  co_await cosync::when_all(parked_sender(), group());  // the sender is outside the group
  CHECK_FALSE(from_closed.has_value());
  CHECK(from_rendezvous == std::optional<int>{7});
  CHECK(sender_done);
  CHECK(from_buffered == std::optional<int>{1});
  CHECK(select_index == 1);
  CHECK(waited_threw);
}

COSYNC_TEST_CASE("a group cancelled from above still returns the value its body produced",
                 "[task_group][unit]") {
  channel<int> ch{1};
  std::optional<int> got;
  bool threw = false;
  auto inner = [&]() -> task<void> {
    try {
      got = co_await cosync::with_task_group([&](task_group&) -> task<std::optional<int>> {
        co_return co_await ch.recv();  // handed a value, then the outer group is cancelled
      });
    } catch (const cosync::cancelled&) {
      threw = true;
    }
  };
  co_await cosync::with_task_group([&](task_group& g) -> task<void> {
    g.spawn(inner());
    co_await cosync::sleep_for(2ms);          // inner's body is parked in recv
    CHECK(ch.try_send(4) == try_status::ok);  // handed to it (its resumption is queued) ...
    g.cancel();                               // ... and the outer group cancelled before it runs
  });
  CHECK_FALSE(threw);
  CHECK(got == std::optional<int>{4});
}

// A child that ends within spawn() is never counted; one that suspends is counted when spawn()
// regains control — unless it moved to another executor and ended there first, which the group
// must notice (once, with its failure) and free.
COSYNC_TEST_CASE("children that end at once, park, or move away and end there are each accounted once",
                 "[task_group][unit]") {
  std::atomic<int> ended{0};
  auto at_once = [&]() -> task<void> {
    ended.fetch_add(1);
    co_return;
  };
  auto parks = [&]() -> task<void> {
    co_await cosync::yield();
    ended.fetch_add(1);
  };
  auto moves = [&](bool fail) -> task<void> {
    co_await cosync::switch_to(1 - cosync::this_executor());
    ended.fetch_add(1);
    if (fail) {
      throw std::runtime_error("moved and failed");
    }
  };
  constexpr int rounds = 100;
  constexpr int per_kind = 20;
  std::size_t failures = 0;
  for (int round = 0; round < rounds; ++round) {
    try {
      co_await cosync::with_task_group(cosync::supervise, [&](task_group& g) -> task<void> {
        for (int i = 0; i < per_kind; ++i) {
          g.spawn(at_once());
          g.spawn(parks());
          g.spawn(moves(i == 0));
        }
        co_return;
      });
    } catch (const cosync::task_group_error& e) {
      failures += e.errors().size();
    }
  }
  CHECK(ended.load() == rounds * per_kind * 3);
  CHECK(failures == static_cast<std::size_t>(rounds));
}
