// Must NOT compile: a ring of elements whose move constructor may throw is rejected by a
// static_assert that says why (CTest checks the compiler's message).
#include <cosync/spsc_ring.hpp>

struct throwing_move {
  throwing_move() = default;
  throwing_move(throwing_move&&) noexcept(false) {}
};

int main() {
  cosync::spsc_ring<throwing_move> ring{8};
  return static_cast<int>(ring.capacity());
}
