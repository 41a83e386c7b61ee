// Must NOT compile: a select with no case would never complete, so it is rejected by a
// static_assert that says why (CTest checks the compiler's message).
#include <cosync/select.hpp>

int main() {
  auto never = cosync::select();
  return static_cast<int>(sizeof(never));
}
