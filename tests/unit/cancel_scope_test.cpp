// Cancellation in the user's hands: timeouts on any awaitable (channel operations, locks, events,
// selects), cancel_scope, shield and with_stop_token.

#include <cosync/cancel_scope.hpp>
#include <cosync/channel.hpp>
#include <cosync/event.hpp>
#include <cosync/mutex.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "await_helpers.hpp"
#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::channel;
using cosync::task;
using namespace std::chrono_literals;

COSYNC_TEST_CASE("with_timeout and move_on_after take a channel operation", "[timeout][unit]") {
  channel<int> ch{1};
  REQUIRE(ch.try_send(7) == cosync::try_status::ok);
  const std::optional<int> got = co_await cosync::with_timeout(1s, ch.recv());
  CHECK(got == 7);
  const bool timed_out =
      co_await cosync::test::throws<cosync::timed_out>(cosync::with_timeout(2ms, ch.recv()));
  CHECK(timed_out);
  const int ms = 2;  // an int count, as users write it
  auto moved_on = co_await cosync::move_on_after(std::chrono::milliseconds{ms}, ch.recv());
  CHECK_FALSE(moved_on.has_value());

  // A send cut short by its timeout gives its value back.
  REQUIRE(ch.try_send(1) == cosync::try_status::ok);  // full now
  std::string unused = "kept";
  channel<std::string> full{0};
  const bool sent = co_await cosync::move_on_after(2ms, full.send(std::move(unused)));
  CHECK_FALSE(sent);
  CHECK(unused == "kept");
  CHECK(ch.try_recv() == 1);
}

COSYNC_TEST_CASE("a timeout takes a lock, an event wait and a select", "[timeout][unit]") {
  cosync::mutex m;
  auto held = co_await m.lock();
  auto no_lock = co_await cosync::move_on_after(2ms, m.lock());
  CHECK_FALSE(no_lock.has_value());
  held.unlock();
  auto lock = co_await cosync::with_timeout(1s, m.lock());
  CHECK(lock.owns_lock());
  lock.unlock();

  cosync::event e;
  const bool waited = co_await cosync::move_on_after(2ms, e.wait());
  CHECK_FALSE(waited);

  channel<int> a{1};
  channel<int> b{1};
  const bool selected = co_await cosync::test::throws<cosync::timed_out>(
      cosync::with_timeout(2ms, cosync::select(a.recv(), b.recv())));
  CHECK(selected);
  REQUIRE(b.try_send(3) == cosync::try_status::ok);
  auto r =
      co_await cosync::with_deadline(cosync::steady_clock::now() + 1s, cosync::select(a.recv(), b.recv()));
  CHECK(r.index() == 1);
}

COSYNC_TEST_CASE("a value handed over as the timeout fires is returned, not dropped", "[timeout][unit]") {
  // The receiver parks under a timeout on this executor; the sender, on the other executor, sends
  // around the deadline. Whatever the interleaving, a sent value is received exactly once.
  channel<int> ch{0};
  int received = 0;
  int sent = 0;
  for (int round = 0; round < 200; ++round) {
    auto receiver = [&]() -> task<void> {
      auto v = co_await cosync::move_on_after(std::chrono::microseconds{200}, ch.recv());
      if (v) {
        received += **v == round ? 1 : 1000;
      }
    };
    auto sender = [&]() -> task<bool> {
      co_await cosync::switch_to(1 - cosync::this_executor());
      co_await cosync::sleep_for(std::chrono::microseconds{150 + round % 100});
      co_return ch.try_send(round) == cosync::try_status::ok;
    };
    auto [none, ok] = co_await cosync::when_all(receiver(), sender());
    sent += ok ? 1 : 0;
  }
  CHECK(received == sent);
}

COSYNC_TEST_CASE("a cancel_scope cancels what it runs and catches its own cancellation",
                 "[cancel_scope][unit]") {
  cosync::cancel_scope scope;
  channel<int> ch{1};
  REQUIRE(ch.try_send(1) == cosync::try_status::ok);
  auto ready = co_await scope.run(ch.recv());  // not cancelled: the result
  REQUIRE(ready.has_value());
  CHECK(*ready == 1);

  auto canceller = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    scope.cancel();
  };
  auto waiting = [&]() -> task<bool> {
    auto r = co_await scope.run(ch.recv());
    co_return r.has_value();
  };
  auto [completed, none] = co_await cosync::when_all(waiting(), canceller());
  CHECK_FALSE(completed);
  CHECK(scope.cancel_requested());
  CHECK(scope.stop_token().stop_requested());

  // Already cancelled: a later run() ends at its first wait; one that needs no wait completes.
  auto again = co_await scope.run(cosync::sleep_for(1s));
  CHECK_FALSE(again);
  REQUIRE(ch.try_send(2) == cosync::try_status::ok);
  auto still = co_await scope.run(ch.recv());
  CHECK(still.has_value());

  // Cancelled from above, run() throws.
  cosync::cancel_scope inner;
  bool threw = false;
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    g.cancel();
    try {
      (void)co_await inner.run(cosync::sleep_for(1s));
    } catch (const cosync::cancelled&) {
      threw = true;
    }
  });
  CHECK(threw);
}

COSYNC_TEST_CASE("shield runs cleanup to its end inside a cancelled group", "[cancel_scope][unit]") {
  bool cleaned = false;
  bool cut = false;
  auto cleanup = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);  // would throw cancelled without the shield
    cleaned = true;
  };
  auto child = [&]() -> task<void> {
    try {
      co_await cosync::sleep_for(10s);
    } catch (const cosync::cancelled&) {
      cut = true;
    }
    co_await cosync::shield(cleanup());
  };
  const bool outcome = co_await cosync::test::throws<cosync::cancelled>(
      cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
        g.spawn(child());
        co_await cosync::sleep_for(1ms);
        g.cancel();
        co_await cosync::sleep_for(10s);  // the body is cancelled too
      }));
  CHECK(outcome);
  CHECK(cut);
  CHECK(cleaned);

  // The deadline inside the shield still works.
  auto bounded = co_await cosync::shield(cosync::move_on_after(1ms, cosync::sleep_for(10s)));
  CHECK_FALSE(bounded);
}

COSYNC_TEST_CASE("with_stop_token lets an outside stop_source cancel an operation", "[cancel_scope][unit]") {
  std::stop_source source;
  channel<int> ch{1};
  REQUIRE(ch.try_send(4) == cosync::try_status::ok);
  const std::optional<int> got = co_await cosync::with_stop_token(source.get_token(), ch.recv());
  CHECK(got == 4);

  std::jthread outside{[&] {
    std::this_thread::sleep_for(2ms);
    source.request_stop();
  }};
  const bool cancelled = co_await cosync::test::throws<cosync::cancelled>(
      cosync::with_stop_token(source.get_token(), ch.recv()));
  CHECK(cancelled);
  // Already stopped: cancelled at the first wait.
  const bool again = co_await cosync::test::throws<cosync::cancelled>(
      cosync::with_stop_token(source.get_token(), cosync::sleep_for(1s)));
  CHECK(again);
}
