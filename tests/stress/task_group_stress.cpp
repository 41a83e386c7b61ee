// 10^5 children in one task group, spread over three executors: random sleeps, random channel
// traffic, nested groups, and random cancellations (deadlines that cut sends and receives short,
// and subgroups cancelled by hand). Every value whose send completed is received exactly once
// (count and sum, counting what is left in the channel at the end), no frame leaks (ASan), and
// nothing hangs. Seeded (prints its seed); runs under TSan and ASan in CI.

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>

#include "catch.hpp"
#include "stress.hpp"

using cosync::task;
using cosync::task_group;
using u64 = std::uint64_t;

namespace {

struct ledger {
  std::atomic<u64> sent{0};
  std::atomic<u64> sent_sum{0};
  std::atomic<u64> received{0};
  std::atomic<u64> received_sum{0};
  std::atomic<u64> cancelled{0};
};

struct world {
  cosync::channel<u64> ch{16};
  ledger books;
  u64 seed = 0;
};

task<void> send_one(world& w, u64 value) {
  co_await w.ch.send(u64{value});
  w.books.sent.fetch_add(1, std::memory_order_relaxed);
  w.books.sent_sum.fetch_add(value, std::memory_order_relaxed);
}

task<void> receive_one(world& w) {
  if (auto v = co_await w.ch.recv()) {
    w.books.received.fetch_add(1, std::memory_order_relaxed);
    w.books.received_sum.fetch_add(*v, std::memory_order_relaxed);
  }
}

// One channel operation, cut short by a random deadline (then it is cancelled: nothing moves).
task<void> bounded(world& w, task<void> op, std::chrono::microseconds limit) {
  // (Bound to a local first: GCC 12 miscompiles `if (!co_await ...)` — the awaited frame's handle
  // comes back 8 bytes off and the program dies with SIGILL.)
  const bool finished = co_await cosync::move_on_after(limit, std::move(op));
  if (!finished) {
    w.books.cancelled.fetch_add(1, std::memory_order_relaxed);
  }
}

// A nested group that is cancelled by hand, soon.
task<void> cancelled_subgroup(world& w, u64 i, std::chrono::microseconds after) {
  try {
    co_await cosync::with_task_group([&w, i, after](task_group& g) -> task<void> {
      g.spawn(send_one(w, i));
      g.spawn_anywhere(receive_one(w));
      g.spawn(receive_one(w));
      co_await cosync::sleep_for(after);
      g.cancel();
    });
  } catch (const cosync::cancelled&) {
    w.books.cancelled.fetch_add(1, std::memory_order_relaxed);
  }
}

// A nested group under a deadline.
task<void> subgroup(world& w, u64 i) {
  co_await cosync::with_task_group([&w, i](task_group& g) -> task<void> {
    g.spawn_anywhere(send_one(w, i));
    g.spawn_anywhere(receive_one(w));
    co_return;
  });
}

task<void> child(world& w, u64 i) {
  std::mt19937_64 r{w.seed + i};
  const auto limit = std::chrono::microseconds{r() % 300};
  const u64 kind = r() % 5;
  if (kind == 0) {
    co_await cosync::sleep_for(std::chrono::microseconds{r() % 50});
  } else if (kind == 1) {
    co_await bounded(w, send_one(w, i), limit);
  } else if (kind == 2) {
    co_await bounded(w, receive_one(w), limit);
  } else if (kind == 3) {
    co_await cancelled_subgroup(w, i, std::chrono::microseconds{r() % 100});
  } else {
    co_await bounded(w, subgroup(w, i), limit);
  }
}

}  // namespace

TEST_CASE("10^5 children with sleeps, channel traffic and cancellations account for every value",
          "[task_group][stress]") {
  constexpr u64 children = 100000;
  world w;
  w.seed = cosync::test::stress_seed("task group stress");
  {
    cosync::runtime rt{cosync::runtime_config{.executors = 3}};
    cosync::sync_wait(rt, cosync::with_task_group([&](task_group& g) -> task<void> {
                        for (u64 i = 0; i < children; ++i) {
                          g.spawn_anywhere(child(w, i));
                        }
                        co_return;
                      }));
  }
  u64 left = 0;
  u64 left_sum = 0;
  while (auto v = w.ch.try_recv()) {
    ++left;
    left_sum += *v;
  }
  INFO("sent " << w.books.sent << ", received " << w.books.received << ", left " << left << ", cancelled "
               << w.books.cancelled);
  CHECK(w.books.sent.load() == w.books.received.load() + left);
  CHECK(w.books.sent_sum.load() == w.books.received_sum.load() + left_sum);
  CHECK(w.books.cancelled.load() > 0);  // the cancellations did happen
  CHECK(w.books.received.load() > 0);
}
