// Two coroutines on two executors streaming through an spsc_channel: the producer parks when the
// channel is full, the consumer when it is empty, and each is woken by the other's operation.
// close() is how the producer says "no more": recv() then drains and returns std::nullopt.
#include <cosync/runtime.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/when_all.hpp>

#include <cstdint>
#include <cstdio>

cosync::task<void> produce(cosync::spsc_channel<std::uint64_t>& ch, std::uint64_t count) {
  for (std::uint64_t i = 1; i <= count; ++i) {
    co_await ch.send(std::uint64_t{i});  // suspends while the channel is full
  }
  ch.close();
}

cosync::task<std::uint64_t> consume(cosync::spsc_channel<std::uint64_t>& ch) {
  co_await cosync::switch_to(1);  // the consumer runs on executor 1
  std::uint64_t sum = 0;
  while (auto value = co_await ch.recv()) {  // nullopt once closed and drained
    sum += *value;
  }
  co_return sum;
}

cosync::task<int> async_main() {
  constexpr std::uint64_t count = 100'000;
  cosync::spsc_channel<std::uint64_t> ch{64};
  auto [ignored, sum] = co_await cosync::when_all(produce(ch, count), consume(ch));
  std::printf("received %llu values, sum %llu\n", static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(sum));
  co_return sum == count*(count + 1) / 2 ? 0 : 1;
}

int main() {
  return cosync::run(async_main(), cosync::runtime_config{.executors = 2});
}
