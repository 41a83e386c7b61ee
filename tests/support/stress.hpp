#pragma once

// Helpers for stress tests: a printed, overridable seed and a polite spin-wait.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

namespace cosync::test {

/// The seed of a stress run: $COSYNC_SEED when set (to replay a failure), otherwise fresh.
/// Printed either way so that any failure can be reproduced.
inline std::uint64_t stress_seed(const char* test_name) {
  std::uint64_t seed = 0;
  if (const char* env = std::getenv("COSYNC_SEED"); env != nullptr && *env != '\0') {
    seed = std::stoull(env);
  } else {
    seed = (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  }
  std::printf("%s: seed %llu (replay with COSYNC_SEED=%llu)\n", test_name,
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

/// Waits for the other thread without starving it: spins briefly, then yields the CPU, since
/// CI runs several tests at once on two cores and a pure spin can hold the core its peer needs.
class spin_wait {
 public:
  void operator()() noexcept {
    if (++spins_ < 64) {
      return;
    }
    std::this_thread::yield();
  }
  void reset() noexcept { spins_ = 0; }

 private:
  unsigned spins_ = 0;
};

/// The checksum both sides of a stream compute: order-sensitive, so a reordering, a loss or a
/// duplicate changes it.
inline std::uint64_t mix(std::uint64_t sum, std::uint64_t value) noexcept {
  return (sum ^ value) * 0x100000001b3ULL + (value >> 7);
}

}  // namespace cosync::test
