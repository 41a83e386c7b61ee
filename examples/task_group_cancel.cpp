// A fan-out under a deadline, twice:
// 1. Eight workers on both executors fetch "pages" (a sleep stands in for the I/O) and send the
//    results to a collector; worker 5 fails. The failure cancels every other worker wherever it
//    is waiting — a sleep, a full channel — and with_task_group rethrows it.
// 2. The same fan-out, without the failure but with pages too slow for a 30 ms deadline:
//    with_timeout cancels the whole group and throws cosync::timed_out.
// Either way, when the call returns no worker is still running.
#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

struct counts {
  std::atomic<int> fetched{0};
  std::atomic<int> cancelled{0};
};

cosync::task<void> worker(int id, std::chrono::milliseconds page_time, bool fails, cosync::channel<int>& out,
                          counts& c) {
  try {
    for (int page = 0; page < 100; ++page) {
      co_await cosync::sleep_for(page_time);
      if (fails && page == 2) {
        throw std::runtime_error("worker " + std::to_string(id) + ": page 2 is corrupt");
      }
      co_await out.send(id * 1000 + page);
      c.fetched.fetch_add(1);
    }
  } catch (const cosync::cancelled&) {
    c.cancelled.fetch_add(1);  // stopped at a sleep or a full channel: nothing half-sent
    throw;
  }
}

cosync::task<void> collect(cosync::channel<int>& in) {
  while (auto page = co_await in.recv()) {
    co_await cosync::sleep_for(1ms);  // a slow consumer: the channel fills, senders wait
  }
}

// Eight workers and a collector in one group.
cosync::task<void> fan_out(std::chrono::milliseconds page_time, int failing, counts& c) {
  cosync::channel<int> pages{4};
  co_await cosync::with_task_group([&](cosync::task_group& g) -> cosync::task<void> {
    g.spawn_anywhere(collect(pages));
    for (int id = 0; id < 8; ++id) {
      g.spawn_anywhere(worker(id, page_time, id == failing, pages, c));
    }
    co_return;
  });
}

cosync::task<int> async_main() {
  counts first;
  try {
    co_await cosync::with_timeout(2s, fan_out(2ms, 5, first));
    std::printf("1: finished?! (unexpected)\n");
  } catch (const std::runtime_error& e) {
    std::printf("1: failed: %s\n   %d pages fetched, %d workers cancelled\n", e.what(), first.fetched.load(),
                first.cancelled.load());
  }

  counts second;
  bool timed_out = false;
  try {
    co_await cosync::with_timeout(30ms, fan_out(5ms, -1, second));
  } catch (const cosync::timed_out&) {
    timed_out = true;
    std::printf("2: timed out after 30 ms: %d pages fetched, %d workers cancelled\n", second.fetched.load(),
                second.cancelled.load());
  }
  co_return first.cancelled.load() == 7 && timed_out&& second.cancelled.load() == 8 ? 0 : 1;
}

int main() {
  return cosync::run(async_main(), cosync::runtime_config{.executors = 2});
}
