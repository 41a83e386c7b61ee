// libFuzzer target: the channel's differential check (tests/support/channel_model.hpp) with the
// fuzzer choosing the capacity and every operation. Built by the `fuzz` preset (clang):
//
//   cmake --workflow --preset fuzz && build/fuzz/tests/fuzz/channel_fuzz -max_total_time=60
//
// The same check runs as a seeded randomized test in every other preset (channel_test).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "channel_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  static cosync::runtime rt{cosync::runtime_config{.executors = 1}};
  const std::size_t capacity = data[0] % 4;
  std::size_t next = 1;
  const bool agrees = cosync::test::channel_agrees_with_model(rt, capacity, [&]() -> std::optional<unsigned> {
    if (next == size || next > 200) {
      return std::nullopt;
    }
    return data[next++];
  });
  if (!agrees) {
    std::abort();  // libFuzzer saves the input that disagreed with the model
  }
  return 0;
}
