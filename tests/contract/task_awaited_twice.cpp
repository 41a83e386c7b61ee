// Contract: a task is awaited at most once; a second co_await must abort with a message.
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>

namespace {

cosync::task<int> value() {
  co_return 1;
}

cosync::task<int> await_twice() {
  cosync::task<int> t = value();
  int a = co_await t;
  int b = co_await t;  // contract violation
  co_return a + b;
}

}  // namespace

int main() {
  return cosync::run(await_twice(), cosync::runtime_config{.executors = 1});
}
