// Contract: a task that has started must run to completion before it is destroyed (only the
// runtime's shutdown may destroy suspended frames). Destroying one mid-flight must abort.
#include <cosync/task.hpp>

#include <coroutine>

namespace {

cosync::task<void> parks_forever() {
  co_await std::suspend_always{};
}

}  // namespace

int main() {
  cosync::task<void> t = parks_forever();
  auto awaiter = t.operator co_await();
  (void)awaiter.await_ready();
  awaiter.await_suspend(std::noop_coroutine()).resume();  // starts it; it parks
  return 0;                                               // ~task: still running
}
