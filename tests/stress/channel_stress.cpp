// M producers × K consumers on several executors through one channel of a random capacity
// (including 0, a rendezvous, and 1), sometimes closed mid-stream by a third coroutine: every
// value whose send succeeded is received exactly once (count and sum), each consumer sees each
// producer's values in order, and a move-only payload variant proves nothing leaks.
// Seeded (prints its seed); runs under TSan in CI.

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "stress.hpp"

using cosync::task;
using u64 = std::uint64_t;

namespace {

struct tally {
  u64 count = 0;
  u64 sum = 0;
  bool ordered = true;
};

template <class Payload, class Make, class Read>
void run_round(std::mt19937_64& rng, Make make, Read read) {
  constexpr std::size_t executors = 3;
  const std::size_t capacities[] = {0, 1, 2, 3, 5, 16, 1024};
  const std::size_t capacity = capacities[rng() % std::size(capacities)];
  const std::size_t producers = 1 + rng() % 4;
  const std::size_t consumers = 1 + rng() % 4;
  const u64 per_producer = 4000;
  const bool close_early = rng() % 3 == 0;
  const auto close_after = std::chrono::microseconds{rng() % 2000};
  INFO("capacity " << capacity << ", " << producers << " producers, " << consumers << " consumers, "
                   << (close_early ? "closed early" : "closed at the end"));

  cosync::channel<Payload> ch{capacity};
  cosync::runtime rt{cosync::runtime_config{.executors = executors}};

  auto producer = [&](std::size_t p) -> task<tally> {
    co_await cosync::switch_to(p % executors);
    tally t;
    for (u64 j = 0; j < per_producer; ++j) {
      const u64 v = (u64{p} << 32) | j;
      try {
        co_await ch.send(make(v));
      } catch (const cosync::channel_closed&) {
        break;
      }
      ++t.count;
      t.sum += v;
    }
    co_return t;
  };
  auto consumer = [&](std::size_t c) -> task<tally> {
    co_await cosync::switch_to((c + 1) % executors);
    tally t;
    std::vector<u64> next(producers, 0);
    while (auto item = co_await ch.recv()) {
      const u64 v = read(*item);
      const std::size_t p = static_cast<std::size_t>(v >> 32);
      const u64 j = v & 0xffffffffu;
      t.ordered &= p < producers && j >= next[p];  // FIFO: a producer's values never go backwards
      if (p < producers) {
        next[p] = j + 1;
      }
      ++t.count;
      t.sum += v;
    }
    co_return t;
  };
  auto produce_all = [&]() -> task<std::vector<tally>> {
    std::vector<task<tally>> tasks;
    for (std::size_t p = 0; p < producers; ++p) {
      tasks.push_back(producer(p));
    }
    std::vector<tally> result = co_await cosync::when_all(std::move(tasks));
    ch.close();  // (again, if the early closer was first: close is idempotent)
    co_return result;
  };
  auto consume_all = [&]() -> task<std::vector<tally>> {
    std::vector<task<tally>> tasks;
    for (std::size_t c = 0; c < consumers; ++c) {
      tasks.push_back(consumer(c));
    }
    co_return co_await cosync::when_all(std::move(tasks));
  };
  auto early_closer = [&]() -> task<void> {
    if (close_early) {
      co_await cosync::switch_to(2);
      co_await cosync::sleep_for(close_after);
      ch.close();
    }
  };
  auto everything = [&]() -> task<std::pair<tally, tally>> {
    auto [sent, received, ignored] = co_await cosync::when_all(produce_all(), consume_all(), early_closer());
    tally s;
    tally r;
    for (const tally& t : sent) {
      s.count += t.count;
      s.sum += t.sum;
    }
    for (const tally& t : received) {
      r.count += t.count;
      r.sum += t.sum;
      r.ordered &= t.ordered;
    }
    co_return std::pair{s, r};
  };
  const auto [sent, received] = cosync::sync_wait(rt, everything());
  CHECK(received.count == sent.count);
  CHECK(received.sum == sent.sum);
  CHECK(received.ordered);
  if (!close_early) {
    CHECK(sent.count == producers * per_producer);
  }
}

}  // namespace

TEST_CASE("M producers and K consumers across executors receive every sent value exactly once",
          "[channel][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("channel MPMC stress")};
  for (int round = 0; round < 12; ++round) {
    run_round<u64>(
        rng, [](u64 v) { return v; }, [](u64 v) { return v; });
  }
}

TEST_CASE("move-only payloads through the MPMC channel neither leak nor double free", "[channel][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("channel move-only stress")};
  for (int round = 0; round < 6; ++round) {
    run_round<std::unique_ptr<u64>>(
        rng, [](u64 v) { return std::make_unique<u64>(v); },
        [](const std::unique_ptr<u64>& p) { return *p; });
  }
}

// The lock-free fast path against the lock: plain threads hammer try_send / try_recv (and the
// batch forms) while coroutines on executors park and get woken in the same channel, whose odd
// capacities make the positions wrap through every lap boundary. Every value arrives once and in
// its producer's order.
TEST_CASE("try operations on plain threads race with parked coroutines without loss or duplication",
          "[channel][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("channel fast/slow path stress")};
  for (int round = 0; round < 6; ++round) {
    const std::size_t capacity = 1 + rng() % 7;
    constexpr u64 per_thread = 20000;
    constexpr std::size_t thread_producers = 2;
    constexpr std::size_t coroutine_producers = 2;
    INFO("capacity " << capacity);
    cosync::channel<u64> ch{capacity};
    cosync::runtime rt{cosync::runtime_config{.executors = 2}};

    std::atomic<u64> thread_received{0};
    std::atomic<u64> thread_sum{0};
    auto thread_producer = [&](std::size_t p) {
      cosync::test::spin_wait wait;
      for (u64 j = 0; j < per_thread;) {
        u64 v = (u64{p} << 32) | j;
        if (j % 3 == 0) {
          u64 batch[2] = {v, v + 1};
          const std::size_t sent = j + 1 < per_thread ? ch.try_send_n(std::span{batch}) : 0;
          j += sent;
          if (sent == 0) {
            wait();
          }
        } else if (ch.try_send(std::move(v)) == cosync::try_status::ok) {
          ++j;
        } else {
          wait();
        }
      }
    };
    auto thread_consumer = [&] {
      cosync::test::spin_wait wait;
      u64 buf[3];
      for (;;) {
        const std::size_t n = ch.try_recv_n(std::begin(buf), 3);
        for (std::size_t i = 0; i < n; ++i) {
          thread_received.fetch_add(1, std::memory_order_relaxed);
          thread_sum.fetch_add(buf[i], std::memory_order_relaxed);
        }
        if (n == 0) {
          if (ch.is_closed() && ch.size_approx() == 0) {
            u64 last = 0;
            if (ch.try_recv(last) == cosync::try_status::closed) {
              return;
            }
            thread_received.fetch_add(1, std::memory_order_relaxed);
            thread_sum.fetch_add(last, std::memory_order_relaxed);
          }
          wait();
        }
      }
    };
    auto coroutine_producer = [&](std::size_t p) -> task<void> {
      co_await cosync::switch_to(p % 2);
      for (u64 j = 0; j < per_thread; ++j) {
        co_await ch.send((u64{p} << 32) | j);
      }
    };
    auto coroutine_consumer = [&](std::size_t c) -> task<tally> {
      co_await cosync::switch_to(c % 2);
      tally t;
      while (auto item = co_await ch.recv()) {
        ++t.count;
        t.sum += *item;
      }
      co_return t;
    };
    auto everything = [&]() -> task<tally> {
      std::vector<std::thread> threads;
      for (std::size_t p = 0; p < thread_producers; ++p) {
        threads.emplace_back(thread_producer, p);
      }
      threads.emplace_back(thread_consumer);
      std::vector<task<void>> producers;
      for (std::size_t p = 0; p < coroutine_producers; ++p) {
        producers.push_back(coroutine_producer(thread_producers + p));
      }
      std::vector<task<tally>> consumers;
      for (std::size_t c = 0; c < 2; ++c) {
        consumers.push_back(coroutine_consumer(c));
      }
      auto produce = [&]() -> task<void> {
        co_await cosync::when_all(std::move(producers));
        for (std::size_t p = 0; p < thread_producers; ++p) {
          threads[p].join();
        }
        ch.close();
      };
      auto consume = [&]() -> task<std::vector<tally>> {
        co_return co_await cosync::when_all(std::move(consumers));
      };
      auto [ignored, received] = co_await cosync::when_all(produce(), consume());
      threads.back().join();
      tally total;
      for (const tally& t : received) {
        total.count += t.count;
        total.sum += t.sum;
      }
      co_return total;
    };
    const tally coroutines = cosync::sync_wait(rt, everything());
    const std::size_t producers = thread_producers + coroutine_producers;
    u64 expected_sum = 0;
    for (std::size_t p = 0; p < producers; ++p) {
      expected_sum += per_thread * (u64{p} << 32) + per_thread * (per_thread - 1) / 2;
    }
    CHECK(coroutines.count + thread_received.load() == producers * per_thread);
    CHECK(coroutines.sum + thread_sum.load() == expected_sum);
  }
}
