// The coordination primitives: mutex, semaphore, event, wait_group — their semantics, where they
// resume, their cancellation, and each as a select case.

#include <cosync/channel.hpp>
#include <cosync/event.hpp>
#include <cosync/join_handle.hpp>
#include <cosync/mutex.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/semaphore.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timer.hpp>
#include <cosync/wait_group.hpp>
#include <cosync/when_all.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "await_helpers.hpp"
#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::task;
using namespace std::chrono_literals;

namespace {

// Guards what coroutines on both executors record (Catch2's CHECK is for the test's own coroutine).
std::mutex& record_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

// ------------------------------------------------------------------ mutex

COSYNC_TEST_CASE("an uncontended mutex locks at once and its guard unlocks", "[mutex][unit]") {
  cosync::mutex m;
  CHECK_FALSE(m.is_locked());
  {
    auto guard = co_await m.lock();
    CHECK(guard.owns_lock());
    CHECK(m.is_locked());
    CHECK_FALSE(m.try_lock());
    cosync::mutex_guard moved = std::move(guard);
    CHECK_FALSE(guard.owns_lock());
    CHECK(moved.owns_lock());
  }
  CHECK_FALSE(m.is_locked());
  REQUIRE(m.try_lock());
  { const cosync::mutex_guard adopted{m, std::adopt_lock}; }
  CHECK_FALSE(m.is_locked());
  CHECK_THROWS_AS(m.unlock(), cosync::usage_error);  // not locked
  CHECK_FALSE(m.is_locked());
}

COSYNC_TEST_CASE("a contended mutex is handed to its waiters in FIFO order on their homes", "[mutex][unit]") {
  cosync::mutex m;
  auto held = co_await m.lock();
  std::vector<int> order;
  std::vector<bool> at_home;
  auto locker = [&](int id, std::size_t executor) -> task<void> {
    co_await cosync::switch_to(executor);
    auto guard = co_await m.lock();
    order.push_back(id);  // under the cosync::mutex: no other locker runs this
    at_home.push_back(cosync::this_executor() == executor);
  };
  const std::size_t here = cosync::this_executor();
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    for (int id = 0; id < 3; ++id) {
      g.spawn(locker(id, here));  // runs until it parks, before the next is spawned
    }
    g.spawn(locker(3, 1 - here));  // parks (or arrives) after them: last either way
    co_await cosync::sleep_for(1ms);
    CHECK_FALSE(m.try_lock());  // waiters first: no barging
    held.unlock();
  });
  CHECK(order == std::vector<int>{0, 1, 2, 3});
  CHECK(at_home == std::vector<bool>(4, true));
  CHECK_FALSE(m.is_locked());
}

COSYNC_TEST_CASE("a cancelled lock wait throws cancelled and takes nothing", "[mutex][unit]") {
  cosync::mutex m;
  auto held = co_await m.lock();
  const bool cancelled = co_await cosync::test::cancelled_while_waiting(m.lock());
  CHECK(cancelled);
  held.unlock();
  CHECK_FALSE(m.is_locked());  // the cancelled waiter was not handed the lock
}

COSYNC_TEST_CASE("mutex lock is a select case", "[mutex][select][unit]") {
  cosync::mutex m;
  cosync::channel<int> ch{1};
  auto held = co_await m.lock();
  auto timed = co_await cosync::select(m.lock(), cosync::after(2ms));
  CHECK(timed.index() == 1);
  CHECK(m.is_locked());

  auto selector = [&]() -> task<bool> {
    auto r = co_await cosync::select(ch.recv(), m.lock());
    co_return r.index() == 1 && get<1>(r).owns_lock();
  };
  auto unlocker = [&]() -> task<void> {
    co_await cosync::sleep_for(1ms);
    held.unlock();
  };
  auto [won, done] = co_await cosync::when_all(selector(), unlocker());
  CHECK(won);
  CHECK_FALSE(m.is_locked());  // the select's guard unlocked it
  CHECK(ch.try_send(1) == cosync::try_status::ok);
}

// ------------------------------------------------------------------ semaphore

COSYNC_TEST_CASE("a semaphore counts permits and hands released ones to waiters in order",
                 "[semaphore][unit]") {
  cosync::semaphore s{2};
  CHECK(s.available() == 2);
  co_await s.acquire();
  CHECK(s.try_acquire());
  CHECK_FALSE(s.try_acquire());
  CHECK(s.available() == 0);

  std::vector<int> order;
  int away = 0;
  auto acquirer = [&](int id, std::size_t executor) -> task<void> {
    co_await cosync::switch_to(executor);
    co_await s.acquire();
    const std::lock_guard lock{record_mutex()};
    order.push_back(id);
    away += cosync::this_executor() != executor ? 1 : 0;
  };
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    const std::size_t here = cosync::this_executor();
    g.spawn(acquirer(0, here));  // runs until it parks
    g.spawn(acquirer(1, here));
    g.spawn(acquirer(2, 1 - here));  // parks (or arrives) after them
    co_await cosync::sleep_for(2ms);
    s.release(2);  // two of the three, the oldest
    co_await cosync::sleep_for(2ms);
    CHECK(s.available() == 0);
    s.release(3);  // the third, and two free
  });
  CHECK(order == std::vector<int>{0, 1, 2});
  CHECK(away == 0);
  CHECK(s.available() == 2);
}

COSYNC_TEST_CASE("a cancelled acquire takes no permit and loses no release", "[semaphore][unit]") {
  cosync::semaphore s{0};
  const bool cancelled = co_await cosync::test::cancelled_while_waiting(s.acquire());
  CHECK(cancelled);
  s.release();
  CHECK(s.available() == 1);  // nobody took it on the cancelled waiter's behalf
  CHECK_THROWS_AS(cosync::semaphore{cosync::semaphore::max() + 1}, cosync::usage_error);
}

COSYNC_TEST_CASE("semaphore acquire is a select case", "[semaphore][select][unit]") {
  cosync::semaphore s{0};
  cosync::channel<int> ch{1};
  auto timed = co_await cosync::select(s.acquire(), cosync::after(1ms));
  CHECK(timed.index() == 1);
  CHECK(ch.try_send(5) == cosync::try_status::ok);
  auto other = co_await cosync::select(s.acquire(), ch.recv());
  CHECK(other.index() == 1);
  s.release();
  auto got = co_await cosync::select(s.acquire(), ch.recv());
  CHECK(got.index() == 0);
  CHECK(s.available() == 0);
}

// ------------------------------------------------------------------ event

COSYNC_TEST_CASE("an event wakes every waiter on its home and stays set until reset", "[event][unit]") {
  cosync::event e;
  CHECK_FALSE(e.is_set());
  int woken = 0;
  int away = 0;
  auto waiter = [&](std::size_t executor) -> task<void> {
    co_await cosync::switch_to(executor);
    co_await e.wait();
    const std::lock_guard lock{record_mutex()};
    ++woken;
    away += cosync::this_executor() != executor ? 1 : 0;
  };
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    for (std::size_t i = 0; i < 4; ++i) {
      g.spawn(waiter(i % 2));
    }
    co_await cosync::sleep_for(2ms);
    {
      const std::lock_guard lock{record_mutex()};
      CHECK(woken == 0);
    }
    e.set();
    e.set();  // idempotent
  });
  CHECK(woken == 4);
  CHECK(away == 0);
  CHECK(e.is_set());
  co_await e.wait();  // at once
  e.reset();
  CHECK_FALSE(e.is_set());
  auto timed = co_await cosync::select(e.wait(), cosync::after(1ms));
  CHECK(timed.index() == 1);
  const bool cancelled = co_await cosync::test::cancelled_while_waiting(e.wait());
  CHECK(cancelled);
  const cosync::event preset{true};
  CHECK(preset.is_set());
}

// ------------------------------------------------------------------ wait_group

COSYNC_TEST_CASE("a wait_group waits for every done across executors", "[wait_group][unit]") {
  cosync::wait_group wg;
  co_await wg.wait();  // zero: at once
  constexpr int workers = 100;
  int finished = 0;
  auto worker = [&](int i) -> task<void> {
    co_await cosync::sleep_for(std::chrono::microseconds{(i % 7) * 100});
    {
      const std::lock_guard lock{record_mutex()};
      ++finished;
    }
    wg.done();
  };
  auto waiter = [&]() -> task<int> {
    co_await wg.wait();
    const std::lock_guard lock{record_mutex()};
    co_return finished;
  };
  int seen = 0;
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    wg.add(workers);
    CHECK(wg.count() == workers);
    for (int i = 0; i < workers; ++i) {
      g.spawn_on(static_cast<std::size_t>(i % 2), worker(i));
    }
    seen = co_await waiter();
  });
  CHECK(seen == workers);
  CHECK(wg.count() == 0);
  CHECK_THROWS_AS(wg.done(), cosync::usage_error);
  CHECK(wg.count() == 0);  // unchanged

  wg.add(1);
  const bool cancelled = co_await cosync::test::cancelled_while_waiting(wg.wait());
  CHECK(cancelled);
  auto r = co_await cosync::select(wg.wait(), cosync::after(1ms));
  CHECK(r.index() == 1);
  wg.done();
  auto r2 = co_await cosync::select(wg.wait(), cosync::after(1s));
  CHECK(r2.index() == 0);
}

// ------------------------------------------------------------------ shutdown

TEST_CASE("a server owning a mutex, a semaphore and an event its workers wait on shuts down cleanly",
          "[mutex][semaphore][event][wait_group][unit]") {
  // The shape users write: a root owns the primitives, workers (spawned roots and group children)
  // wait on them when the runtime is destroyed. Shutdown cancels the newest roots first, so the
  // workers unwind before the owner; nothing leaks or is touched after it is gone (ASan).
  std::atomic<int> unwound{0};
  auto waiter = [](cosync::mutex* m, cosync::semaphore* s, cosync::event* e, cosync::wait_group* wg,
                   std::atomic<int>* out) -> task<void> {
    try {
      auto guard = co_await m->lock();
      co_await s->acquire();
      co_await e->wait();
    } catch (const cosync::cancelled&) {
      out->fetch_add(1);
      wg->done();
      throw;
    }
  };
  {
    cosync::runtime rt{{.executors = 2}};
    auto server = [&]() -> task<void> {
      cosync::mutex m;
      cosync::semaphore s{0};
      cosync::event e;
      cosync::wait_group wg;
      wg.add(4);
      for (std::size_t i = 0; i < 4; ++i) {
        cosync::spawn_on(i % 2, waiter(&m, &s, &e, &wg, &unwound)).detach();
      }
      co_await e.wait();  // forever: the runtime's shutdown cancels it
    };
    rt.spawn(server());
    std::this_thread::sleep_for(5ms);
  }  // ~runtime: shutdown
  CHECK(unwound.load() == 4);
}
