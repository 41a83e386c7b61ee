// Tasks and executors in one page: run() from main, when_all to wait for several tasks at once,
// switch_to to move between executors, and sleep_for for timers.
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

// A task is lazy: it starts when awaited, on the awaiting coroutine's executor.
cosync::task<int> square_on(std::size_t executor, int x) {
  co_await cosync::switch_to(executor);  // continue on that executor's thread
  co_await cosync::sleep_for(1ms);       // a timer on that executor
  const int squared = x * x;
  std::printf("  %d squared on executor %zu\n", x, cosync::this_executor());
  co_return squared;
}

cosync::task<int> async_main() {
  std::printf("main task starts on executor %zu\n", cosync::this_executor());
  // Both run concurrently; the awaiting coroutine comes back to its own executor.
  auto [a, b] = co_await cosync::when_all(square_on(0, 3), square_on(1, 4));
  std::printf("back on executor %zu: %d + %d = %d\n", cosync::this_executor(), a, b, a + b);
  co_return a + b == 25 ? 0 : 1;
}

int main() {
  return cosync::run(async_main(), cosync::runtime_config{.executors = 2});
}
