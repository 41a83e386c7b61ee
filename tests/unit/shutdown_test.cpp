// runtime::shutdown and the runtime's destructor: shutdown is cancellation (roots unwind newest
// first, through their own destructors and catch blocks), then a deadline past which whatever is
// still suspended is destroyed, children before parents; backend failures reach the user typed.

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "backend.hpp"  // src/: the backend failure simulation
#include "catch.hpp"
#include "counted.hpp"
#include "runtime_state.hpp"  // src/: join_background_shutdowns

using cosync::runtime;
using cosync::runtime_config;
using cosync::task;
using cosync::test::counted;
using namespace std::chrono_literals;

namespace {

// A server's shape: the acceptor owns the channel its workers wait on, spawns them as roots on
// both executors, then sleeps forever.
task<void> worker(cosync::channel<int>& jobs, std::atomic<int>& started) {
  const counted probe{1};
  started.fetch_add(1);
  while (auto job = co_await jobs.recv()) {
  }
}

task<void> acceptor(runtime& rt, std::atomic<int>& started, int workers) {
  const counted probe{0};
  cosync::channel<int> jobs{16};
  for (int i = 0; i < workers; ++i) {
    rt.spawn(worker(jobs, started), static_cast<std::size_t>(i) % rt.executors());
  }
  co_await cosync::sleep_for(std::chrono::hours{24});
}

task<void> nap(std::chrono::milliseconds d) {
  co_await cosync::sleep_for(d);
}

template <class Wait>
void wait_for(Wait done) {
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (!done() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(100us);
  }
  REQUIRE(done());
}

}  // namespace

TEST_CASE("a server owning the channel its workers wait on shuts down cleanly", "[shutdown][unit]") {
  counted::reset();
  for (int round = 0; round < 40; ++round) {
    std::atomic<int> started{0};
    {
      runtime rt{runtime_config{.executors = 2}};
      rt.spawn(acceptor(rt, started, 64));
      wait_for([&] { return started.load() == 64; });  // every worker parked (or about to)
    }
    CHECK(counted::live() == 0);
  }
}

TEST_CASE("a root still spawning roots when shutdown begins is cancelled by spawn", "[shutdown][unit]") {
  std::atomic<int> refused{0};
  std::atomic<bool> spawning{false};
  auto spawner = [](runtime& rt, std::atomic<int>& cancelled_spawns, std::atomic<bool>& busy) -> task<void> {
    auto nothing = []() -> task<void> { co_await cosync::sleep_for(std::chrono::hours{1}); };
    for (;;) {
      busy.store(true);
      try {
        rt.spawn(nothing(), 1);
      } catch (const cosync::cancelled&) {
        cancelled_spawns.fetch_add(1);
        throw;
      }
      co_await cosync::yield();
    }
  };
  runtime rt{runtime_config{.executors = 2}};
  rt.spawn(spawner(rt, refused, spawning), 0);
  wait_for([&] { return spawning.load(); });
  rt.shutdown(5s);
  CHECK(refused.load() == 1);
}

TEST_CASE("shutdown lets roots unwind through their catch blocks and destructors", "[shutdown][unit]") {
  std::atomic<int> cleaned{0};
  auto root = [](std::atomic<int>& done) -> task<void> {
    cosync::channel<int> never{0};
    try {
      (void)co_await never.recv();
    } catch (const cosync::cancelled&) {
      done.fetch_add(1);  // cleanup that needs no waiting runs
      throw;
    }
  };
  runtime rt{runtime_config{.executors = 2}};
  rt.spawn(root(cleaned), 0);
  rt.spawn(root(cleaned), 1);
  std::this_thread::sleep_for(2ms);
  rt.shutdown(5s);
  CHECK(cleaned.load() == 2);
}

TEST_CASE("a root that ignores cancellation is destroyed at the deadline", "[shutdown][unit]") {
  counted::reset();
  std::atomic<bool> spinning{false};
  auto defiant = [](std::atomic<bool>& flag) -> task<void> {
    const counted probe{7};
    for (;;) {
      flag.store(true);
      co_await cosync::yield();  // not a cancellation point: it never stops by itself
    }
  };
  runtime rt{runtime_config{.executors = 2}};
  rt.spawn(defiant(spinning), 1);
  std::atomic<int> none{0};
  rt.spawn(acceptor(rt, none, 0));  // an older root, never reached by cancel
  wait_for([&] { return spinning.load(); });
  const auto start = std::chrono::steady_clock::now();
  rt.shutdown(std::chrono::duration<int, std::milli>{50});
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);
  CHECK(counted::live() == 0);
  rt.shutdown(1s);  // idempotent
}

namespace {

// Roots that ignore cancellation, so that all of them are still suspended at the deadline: the
// channel's owner is the NEWEST root (main spawned the workers first), so the teardown destroys it
// — and its channel — while the workers are still parked in that channel. The channel lets them
// go, and their awaiters, destroyed next, leave it alone.
template <class Channel>
task<void> defiant_owner(std::atomic<Channel*>& published) {
  const counted probe{0};
  Channel ch{1};
  published.store(&ch);
  for (;;) {
    try {
      co_await cosync::sleep_for(std::chrono::hours{1});
    } catch (const cosync::cancelled&) {
    }
    co_await cosync::yield();  // ignores the cancellation; spins until the deadline
  }
}

template <class Channel>
task<void> parked_worker(std::atomic<Channel*>& published, std::atomic<int>& parked) {
  const counted probe{1};
  while (published.load() == nullptr) {
    co_await cosync::yield();
  }
  parked.fetch_add(1);
  (void)co_await published.load()->recv();  // never cancelled: older than the owner
}

template <class Channel>
void teardown_with_workers_parked(int workers) {
  counted::reset();
  for (int round = 0; round < 20; ++round) {
    std::atomic<Channel*> published{nullptr};
    std::atomic<int> parked{0};
    runtime rt{runtime_config{.executors = 2}};
    for (int i = 0; i < workers; ++i) {
      rt.spawn(parked_worker(published, parked), static_cast<std::size_t>(i) % 2);
    }
    rt.spawn(defiant_owner(published));
    wait_for([&] { return parked.load() == workers; });
    std::this_thread::sleep_for(1ms);  // let them park
    rt.shutdown(10ms);
    CHECK(counted::live() == 0);
  }
}

}  // namespace

TEST_CASE("past the deadline, frames are destroyed newest root first and channels let parked parties go",
          "[shutdown][unit]") {
  teardown_with_workers_parked<cosync::channel<int>>(4);
  teardown_with_workers_parked<cosync::spsc_channel<int>>(1);
}

namespace {

// A group child that ignores cancellation: it spins until the deadline, then its group (the
// registry of its live children) destroys it.
task<void> defiant_child(std::atomic<int>& started) {
  const counted probe{2};
  started.fetch_add(1);
  for (;;) {
    try {
      co_await cosync::sleep_for(std::chrono::hours{1});
    } catch (const cosync::cancelled&) {
    }
    co_await cosync::yield();
  }
}

task<void> defiant_group(std::atomic<int>& started, int children) {
  const counted probe{3};
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    for (int i = 0; i < children; ++i) {
      if (i % 2 == 0) {
        g.spawn(defiant_child(started));
      } else {
        g.spawn_on(1, defiant_child(started));
      }
    }
    co_return;
  });
}

}  // namespace

TEST_CASE("past the deadline, a group's children still running are destroyed with it", "[shutdown][unit]") {
  counted::reset();
  for (const int children : {1, 16, 40}) {  // within the group's first registry chunk, and beyond it
    std::atomic<int> started{0};
    runtime rt{runtime_config{.executors = 2}};
    rt.spawn(defiant_group(started, children), 0);
    wait_for([&] { return started.load() == children; });
    rt.shutdown(10ms);
    CHECK(counted::live() == 0);
  }
}

TEST_CASE("shutdown cancels a sync_wait in progress on another thread", "[shutdown][unit]") {
  runtime rt{runtime_config{.executors = 2}};
  std::atomic<int> outcome{0};
  std::atomic<bool> started{false};
  auto long_nap = [&]() -> task<void> {
    started = true;
    co_await cosync::sleep_for(std::chrono::hours{1});
  };
  std::thread waiter{[&] {
    try {
      cosync::sync_wait(rt, long_nap());
      outcome = 1;
    } catch (const cosync::cancelled&) {
      outcome = 2;
    } catch (...) {
      outcome = 3;
    }
  }};
  // In progress for sure (a loaded sanitizer run once took longer than a fixed 5 ms to start it,
  // and a sync_wait begun after shutdown is a usage_error: another test's case).
  while (!started) {
    std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(5ms);  // and parked in its sleep
  rt.shutdown(5s);
  waiter.join();
  CHECK(outcome.load() == 2);
}

TEST_CASE("after shutdown, spawn and sync_wait throw cosync::usage_error", "[shutdown][unit]") {
  runtime rt{runtime_config{.executors = 1}};
  rt.shutdown(1s);
  auto nothing = []() -> task<void> { co_return; };
  CHECK_THROWS_AS(rt.spawn(nothing()), cosync::usage_error);
  CHECK_THROWS_AS(cosync::sync_wait(rt, nothing()), cosync::usage_error);
}

TEST_CASE("shutdown on the runtime's own executor throws, and destroying it there is handed off",
          "[shutdown][unit]") {
  counted::reset();
  auto* rt = new runtime{runtime_config{.executors = 2}};
  auto try_shutdown = [](runtime& r) -> task<bool> {
    try {
      r.shutdown(1s);
    } catch (const cosync::usage_error&) {
      co_return true;
    }
    co_return false;
  };
  CHECK(cosync::sync_wait(*rt, try_shutdown(*rt)));
  static std::atomic<int> none{0};
  rt->spawn(acceptor(*rt, none, 0), 1);  // something for the hand-off to stop
  static std::atomic<bool> spawn_returned{false};
  static std::atomic<bool> deleted{false};
  auto self_destruct = [](runtime* r) -> task<void> {
    while (!spawn_returned.load()) {  // the test thread must be done calling into the runtime
      co_await cosync::yield();
    }
    delete r;  // a coroutine that owns its runtime: it goes on until it ends
    deleted.store(true);
  };
  rt->spawn(self_destruct(rt), 0);
  spawn_returned.store(true);
  wait_for([] { return deleted.load(); });      // the background shutdown has been started
  cosync::detail::join_background_shutdowns();  // and it has ended: the runtime is freed
  CHECK(counted::live() == 0);                  // after cancelling the acceptor
}

TEST_CASE("a backend failure reaches sync_wait and shutdown as cosync::backend_error", "[shutdown][unit]") {
  runtime rt{runtime_config{.executors = 2}};
  cosync::detail::simulate_backend_wait_failure(true);
  CHECK_THROWS_AS(cosync::sync_wait(rt, nap(20ms)), cosync::backend_error);
  cosync::detail::simulate_backend_wait_failure(false);
  CHECK_THROWS_AS(rt.shutdown(1s), cosync::backend_error);
}
