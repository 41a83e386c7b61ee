// Contract: spsc_ring::pop() on an empty ring is a caller bug and must abort with a message.
#include <cosync/spsc_ring.hpp>

int main() {
  cosync::spsc_ring<int> ring{8};
  ring.pop();
  return 0;
}
