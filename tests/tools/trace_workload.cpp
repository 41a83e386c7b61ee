// A program whose trace holds every kind of event, for tests/tools/trace_check.py: labelled
// children, a coroutine hopping between the executors, values handed to a receiver parked on the
// other executor, a select that parks, and a sleep that is cancelled.
//
//   trace_workload TRACE_FILE EVENTS_PER_EXECUTOR

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using cosync::task;
using namespace std::chrono_literals;

constexpr int values = 20;

task<void> receive(cosync::channel<int>& ch, long& sum) {
  while (auto v = co_await ch.recv()) {
    sum += *v;
  }
}

task<void> send(cosync::channel<int>& ch) {
  for (int i = 1; i <= values; ++i) {
    co_await cosync::sleep_for(200us);  // the receiver parks again meanwhile
    co_await ch.send(i);
  }
  ch.close();
}

task<void> hop() {
  for (int i = 0; i < 10; ++i) {
    co_await cosync::switch_to(1);
    co_await cosync::switch_to(0);
  }
}

task<void> wait_for_either(cosync::channel<int>& quiet) {
  // Nothing is ever sent on `quiet`: the select parks until its timer wins.
  const auto r = co_await cosync::select(quiet.recv(), cosync::after(2ms));
  if (r.index() != 1) {
    std::fputs("trace_workload: the select should have timed out\n", stderr);
    std::exit(1);
  }
}

task<void> oversleep() {
  // The hour-long sleep parks; the timeout cancels it. (Awaited into a variable: GCC 12 evaluates
  // a co_await in an if condition twice.)
  const bool slept = co_await cosync::move_on_after(3ms, cosync::sleep_for(1h));
  if (slept) {
    std::fputs("trace_workload: the sleep should have been cancelled\n", stderr);
    std::exit(1);
  }
}

task<long> body() {
  cosync::channel<int> ch{1};
  cosync::channel<int> quiet{1};
  long sum = 0;
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    g.spawn_on(1, receive(ch, sum), "receiver");
    g.spawn(send(ch), "sender");
    g.spawn(hop(), "hopper");
    g.spawn(wait_for_either(quiet), "selector");
    g.spawn(oversleep(), "sleeper");
    co_return;
  });
  co_return sum;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fputs("usage: trace_workload TRACE_FILE EVENTS_PER_EXECUTOR\n", stderr);
    return 2;
  }
  cosync::runtime rt{
      cosync::runtime_config{.executors = 2, .trace_path = argv[1], .trace_events = std::stoul(argv[2])}};
  const long sum = cosync::sync_wait(rt, body());
  if (sum != values * (values + 1) / 2) {
    std::fprintf(stderr, "trace_workload: received %ld\n", sum);
    return 1;
  }
  return 0;
}
