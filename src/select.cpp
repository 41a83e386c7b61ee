// select's out-of-line half: the seed of each thread's fair-order generator.

#include <cosync/select.hpp>

#include <chrono>
#include <cstdint>
#include <random>

namespace cosync::detail {

std::uint64_t fresh_seed() noexcept {
  // The clock differs per run, the address of a thread-local per thread; random_device adds
  // entropy where it is cheap and cannot fail (it may throw where no source exists).
  thread_local const char anchor = 0;
  std::uint64_t seed =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  seed ^= reinterpret_cast<std::uintptr_t>(&anchor) * 0x9E3779B97F4A7C15ULL;
  try {
    seed ^= std::uint64_t{std::random_device{}()} << 32;
  } catch (...) {  // no entropy source: the clock and the address still differ per run and thread
  }
  // splitmix64's finaliser spreads the bits; `| 1` keeps xorshift's state non-zero.
  seed = (seed ^ (seed >> 30)) * 0xBF58476D1CE4E5B9ULL;
  seed = (seed ^ (seed >> 27)) * 0x94D049BB133111EBULL;
  return (seed ^ (seed >> 31)) | 1;
}

}  // namespace cosync::detail
