// A program that uses cosync the way an outside project does.
#include <cosync/cosync.hpp>

#include <cstdio>
#include <thread>

int main() {
  cosync::spsc_ring<long> ring{64};
  constexpr long count = 100000;
  std::thread producer{[&] {
    for (long i = 1; i <= count; ++i) {
      while (!ring.try_push(i)) {
      }
    }
  }};
  long sum = 0;
  for (long received = 0; received < count;) {
    if (auto value = ring.try_pop()) {
      sum += *value;
      ++received;
    }
  }
  producer.join();
  std::printf("consumer: sum %ld\n", sum);
  return sum == count * (count + 1) / 2 ? 0 : 1;
}
