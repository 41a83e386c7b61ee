// A worker that waits on two channels and a clock at once, with cosync::select_ordered:
// - `control` comes first: a "pause", "resume" or "stop" is obeyed before any queued job;
// - `jobs` are processed in order while not paused;
// - when nothing arrives for 20 ms, the timeout case wins and the worker sends a heartbeat.
// A job or command that loses a round of the select is not consumed: it waits for the next one.
#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

using namespace std::chrono_literals;

struct report {
  int jobs_done = 0;
  int heartbeats = 0;
};

cosync::task<report> worker(cosync::channel<std::string>& control, cosync::channel<int>& jobs) {
  report r;
  bool paused = false;
  // A command (std::nullopt: the control channel was closed); true means stop.
  auto obey = [&](const std::optional<std::string>& received) {
    const std::string command = received.value_or("stop");
    std::printf("  control: %s\n", command.c_str());
    paused = command == "pause";
    return command == "stop";
  };
  auto heartbeat = [&] {
    ++r.heartbeats;
    std::printf("  heartbeat (%s)\n", paused ? "paused" : "idle");
  };
  for (;;) {
    if (paused) {  // while paused, only a command or the clock can wake us
      auto got = co_await cosync::select_ordered(control.recv(), cosync::after(20ms));
      if (got.index() == 1) {
        heartbeat();
      } else if (obey(get<0>(got))) {
        co_return r;
      }
      continue;
    }
    auto got = co_await cosync::select_ordered(control.recv(), jobs.recv(), cosync::after(20ms));
    if (got.index() == 0) {
      if (obey(get<0>(got))) {
        co_return r;
      }
    } else if (got.index() == 1) {
      if (auto job = get<1>(got)) {
        ++r.jobs_done;
        std::printf("  job %d\n", *job);
      }
    } else {
      heartbeat();
    }
  }
}

cosync::task<void> boss(cosync::channel<std::string>& control, cosync::channel<int>& jobs) {
  co_await cosync::switch_to(1);  // commands and jobs come from the other executor
  for (int i = 1; i <= 3; ++i) {
    co_await jobs.send(int{i});
  }
  co_await cosync::sleep_for(50ms);  // the worker goes idle: heartbeats
  co_await control.send(std::string{"pause"});
  co_await jobs.send(4);  // queued while paused: waits in the channel
  co_await cosync::sleep_for(30ms);
  co_await control.send(std::string{"resume"});
  co_await cosync::sleep_for(10ms);
  co_await control.send(std::string{"stop"});
}

cosync::task<int> async_main() {
  cosync::channel<std::string> control{1};
  cosync::channel<int> jobs{8};
  auto [r, ignored] = co_await cosync::when_all(worker(control, jobs), boss(control, jobs));
  std::printf("%d jobs done, %d heartbeats\n", r.jobs_done, r.heartbeats);
  co_return r.jobs_done == 4 && r.heartbeats >= 2 ? 0 : 1;
}

int main() {
  return cosync::run(async_main(), cosync::runtime_config{.executors = 2});
}
