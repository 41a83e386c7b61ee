// Unix signals as awaitable events: waits resume on their home with the signal's number, a
// signal_set misses nothing between waits, stop_on_signal cancels an operation, the previous
// disposition comes back when nobody listens, and refused signals are a usage_error.

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/signal.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <csignal>

#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::task;
using namespace std::chrono_literals;

namespace {

// Raises `sig` for the whole process after `delay` (from this executor: the kernel picks a thread).
task<void> raise_after(std::chrono::milliseconds delay, int sig) {
  co_await cosync::sleep_for(delay);
  ::kill(::getpid(), sig);
}

std::atomic<int> default_handler_runs{0};
extern "C" void counting_handler(int /*sig*/) {
  default_handler_runs.fetch_add(1);
}

}  // namespace

COSYNC_TEST_CASE("a signal wait resumes on its home with the signal delivered", "[signal][unit]") {
  const std::size_t home = cosync::this_executor();
  auto waiter = [&]() -> task<int> { co_return co_await cosync::signal(SIGUSR1, SIGUSR2); };
  auto [sig, none] = co_await cosync::when_all(waiter(), raise_after(2ms, SIGUSR2));
  CHECK(sig == SIGUSR2);
  CHECK(cosync::this_executor() == home);
}

COSYNC_TEST_CASE("a signal_set sees deliveries between its waits", "[signal][unit]") {
  cosync::signal_set set{SIGUSR1};
  CHECK(set.try_wait() == 0);
  ::kill(::getpid(), SIGUSR1);  // before anybody waits
  int first = 0;
  for (int i = 0; i < 1000 && first == 0; ++i) {
    co_await cosync::sleep_for(1ms);  // the handler runs on some thread
    first = set.try_wait();
  }
  CHECK(first == SIGUSR1);
  auto [second, none] = co_await cosync::when_all(set.wait(), raise_after(1ms, SIGUSR1));
  CHECK(second == SIGUSR1);
  // A select case, and cancellable.
  auto r = co_await cosync::select(set.wait(), cosync::after(1ms));
  CHECK(r.index() == 1);
  bool cancelled = false;
  auto waits = [&]() -> task<void> {  // outlives the child (not in the body's frame)
    try {
      (void)co_await set.wait();
    } catch (const cosync::cancelled&) {
      cancelled = true;
    }
  };
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    g.spawn(waits());
    co_await cosync::sleep_for(1ms);
    g.cancel();
  });
  CHECK(cancelled);
}

COSYNC_TEST_CASE("stop_on_signal cancels an operation when a signal arrives", "[signal][unit]") {
  cosync::channel<int> never{1};
  auto stopped = [&]() -> task<bool> {
    auto r = co_await cosync::stop_on_signal(never.recv(), SIGUSR1, SIGUSR2);
    co_return r.has_value();
  };
  auto [completed, none] = co_await cosync::when_all(stopped(), raise_after(2ms, SIGUSR1));
  CHECK_FALSE(completed);
  REQUIRE(never.try_send(3) == cosync::try_status::ok);
  auto done = co_await cosync::stop_on_signal(never.recv(), SIGUSR1);
  REQUIRE(done.has_value());
  CHECK(*done == 3);
}

TEST_CASE("the previous disposition of a signal comes back when nobody listens", "[signal][unit]") {
  struct sigaction action {};
  action.sa_handler = &counting_handler;
  sigemptyset(&action.sa_mask);
  struct sigaction saved {};
  REQUIRE(::sigaction(SIGUSR2, &action, &saved) == 0);
  {
    const cosync::signal_set set{SIGUSR2};
    ::raise(SIGUSR2);  // cosync's handler now: the user's does not run
  }
  CHECK(default_handler_runs.load() == 0);
  ::raise(SIGUSR2);  // the user's handler is back
  CHECK(default_handler_runs.load() == 1);
  ::sigaction(SIGUSR2, &saved, nullptr);

  CHECK_THROWS_AS(cosync::signal_set{SIGKILL}, cosync::usage_error);
  CHECK_THROWS_AS(cosync::signal_set{SIGSEGV}, cosync::usage_error);
  CHECK_THROWS_AS((cosync::signal_set{SIGUSR1, 0}), cosync::usage_error);
}
