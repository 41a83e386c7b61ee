// The coordination primitives raced across two executors, with timeouts and select cancelling
// waits at random: mutual exclusion holds and every successful lock is counted once; a semaphore
// never has more holders than permits and ends with all its permits (no release is lost); events
// and wait groups lose no wakeup (a lost one hangs the test). Seeded (prints its seed); runs under
// TSan and ASan in CI.

#include <cosync/event.hpp>
#include <cosync/mutex.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/semaphore.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/wait_group.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>

#include "catch.hpp"
#include "stress.hpp"

using cosync::task;
using namespace std::chrono_literals;

namespace {

constexpr int coroutines_per_executor = 4;
constexpr int iterations = 4000;

// How one attempt to get the mutex or a permit waits: plainly, in a select against a short timer,
// or under a short timeout that cancels it.
enum class attempt { plain, select, timeout };

attempt pick(std::mt19937_64& rng) {
  const auto r = rng() % 8;
  return r < 5 ? attempt::plain : r < 7 ? attempt::select : attempt::timeout;
}

struct mutex_state {
  cosync::mutex m;
  std::atomic<bool> inside{false};
  std::atomic<std::uint64_t> overlaps{0};
  std::uint64_t counter = 0;  // guarded by m
  std::atomic<std::uint64_t> locked{0};
};

task<void> mutex_worker(mutex_state& s, std::uint64_t seed) {
  std::mt19937_64 rng{seed};
  auto plain = [&]() -> task<cosync::mutex_guard> { co_return co_await s.m.lock(); };
  for (int i = 0; i < iterations; ++i) {
    cosync::mutex_guard guard;
    switch (pick(rng)) {
      case attempt::plain:
        guard = co_await s.m.lock();
        break;
      case attempt::select: {
        auto r = co_await cosync::select(s.m.lock(), cosync::after(std::chrono::microseconds{rng() % 50}));
        if (r.index() == 0) {
          guard = std::move(get<0>(r));
        }
        break;
      }
      case attempt::timeout: {
        auto r = co_await cosync::move_on_after(std::chrono::microseconds{rng() % 50}, plain());
        if (r) {
          guard = std::move(*r);
        }
        break;
      }
    }
    if (!guard) {
      continue;
    }
    if (s.inside.exchange(true, std::memory_order_relaxed)) {
      s.overlaps.fetch_add(1, std::memory_order_relaxed);
    }
    const std::uint64_t before = s.counter;
    if (i % 16 == 0) {
      co_await cosync::yield();  // hold it across a suspension
    }
    s.counter = before + 1;
    s.inside.store(false, std::memory_order_relaxed);
    s.locked.fetch_add(1, std::memory_order_relaxed);
  }
}

struct semaphore_state {
  static constexpr std::size_t permits = 3;
  cosync::semaphore sem{permits};
  std::atomic<std::size_t> holders{0};
  std::atomic<std::size_t> too_many{0};
};

task<void> semaphore_worker(semaphore_state& s, std::uint64_t seed) {
  std::mt19937_64 rng{seed};
  auto plain = [&]() -> task<void> { co_await s.sem.acquire(); };
  for (int i = 0; i < iterations; ++i) {
    bool got = false;
    switch (pick(rng)) {
      case attempt::plain:
        co_await s.sem.acquire();
        got = true;
        break;
      case attempt::select: {
        auto r =
            co_await cosync::select(s.sem.acquire(), cosync::after(std::chrono::microseconds{rng() % 50}));
        got = r.index() == 0;
        break;
      }
      case attempt::timeout:
        got = co_await cosync::move_on_after(std::chrono::microseconds{rng() % 50}, plain());
        break;
    }
    if (!got) {
      continue;
    }
    if (s.holders.fetch_add(1, std::memory_order_relaxed) >= semaphore_state::permits) {
      s.too_many.fetch_add(1, std::memory_order_relaxed);
    }
    if (i % 8 == 0) {
      co_await cosync::yield();
    }
    s.holders.fetch_sub(1, std::memory_order_relaxed);
    s.sem.release();
  }
}

}  // namespace

TEST_CASE("mutex and semaphore hold under racing waits, selects and timeouts", "[mutex][semaphore][stress]") {
  const std::uint64_t seed = cosync::test::stress_seed("coordination_stress mutex+semaphore");
  cosync::runtime rt{{.executors = 2}};
  mutex_state ms;
  semaphore_state ss;
  cosync::sync_wait(rt, cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
                      std::uint64_t n = seed;
                      for (int c = 0; c < coroutines_per_executor; ++c) {
                        for (std::size_t e = 0; e < 2; ++e) {
                          g.spawn_on(e, mutex_worker(ms, ++n));
                          g.spawn_on(e, semaphore_worker(ss, ++n));
                        }
                      }
                      co_return;
                    }));
  std::printf("locks %llu of %d attempts\n", static_cast<unsigned long long>(ms.locked.load()),
              2 * coroutines_per_executor * iterations);
  CHECK(ms.overlaps.load() == 0);
  CHECK(ms.counter == ms.locked.load());
  CHECK(ms.locked.load() > 0);
  CHECK_FALSE(ms.m.is_locked());
  CHECK(ss.too_many.load() == 0);
  CHECK(ss.sem.available() == semaphore_state::permits);
}

TEST_CASE("events and wait groups lose no wakeup across executors", "[event][wait_group][stress]") {
  const std::uint64_t seed = cosync::test::stress_seed("coordination_stress event+wait_group");
  cosync::runtime rt{{.executors = 2}};
  constexpr int rounds = 2000;
  constexpr int workers = 8;
  std::atomic<int> worked{0};
  cosync::sync_wait(rt, [&]() -> task<void> {
    std::mt19937_64 rng{seed};
    cosync::event ping;
    cosync::event pong;
    auto ponger = [&]() -> task<void> {
      for (int r = 0; r < rounds; ++r) {
        co_await ping.wait();
        ping.reset();
        pong.set();
      }
    };
    auto pinger = [&]() -> task<void> {
      for (int r = 0; r < rounds; ++r) {
        ping.set();
        co_await pong.wait();
        pong.reset();
      }
    };
    cosync::wait_group wg;
    auto worker = [&](std::uint64_t delay) -> task<void> {
      if (delay % 3 == 0) {
        co_await cosync::yield();
      }
      worked.fetch_add(1, std::memory_order_relaxed);
      wg.done();
    };
    co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
      g.spawn_on(1, ponger());
      g.spawn_on(0, pinger());
      for (int r = 0; r < rounds / 4; ++r) {
        wg.add(workers);
        for (int w = 0; w < workers; ++w) {
          g.spawn_on(static_cast<std::size_t>(w % 2), worker(rng()));
        }
        co_await wg.wait();
      }
    });
  }());
  CHECK(worked.load() == rounds / 4 * workers);
}
