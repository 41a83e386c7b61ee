// The README's first sample: one producer thread, one consumer thread, one spsc_ring.
#include <cosync/spsc_ring.hpp>

#include <thread>

int main() {
  cosync::spsc_ring<int> ring{1024};  // capacity rounds up to a power of two
  std::thread producer{[&] {
    for (int i = 0; i < 1000; ++i) {
      while (!ring.try_push(i)) {  // false: full, try again
      }
    }
  }};
  long sum = 0;
  for (int received = 0; received < 1000;) {
    if (auto value = ring.try_pop()) {
      sum += *value;
      ++received;
    }
  }
  producer.join();
  return sum == 999 * 1000 / 2 ? 0 : 1;
}
