// A producer coroutine on one executor and a consumer on the other stream through an
// spsc_channel of a random small capacity, parking and waking each other across the mesh; the
// consumer checks the exact sequence and a checksum, then sees the close. Runs under TSan in CI.

#include <cosync/runtime.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/when_all.hpp>

#include <cstdint>
#include <memory>
#include <random>

#include "catch.hpp"
#include "stress.hpp"

using cosync::task;
using cosync::test::mix;

namespace {

struct stream_result {
  std::uint64_t received = 0;
  std::uint64_t checksum = 0;
  bool in_order = true;
};

template <class Make, class Read>
stream_result stream(std::uint64_t seed, std::uint64_t count, Make make, Read read) {
  std::mt19937_64 rng{seed};
  const std::size_t capacities[] = {1, 2, 3, 16, 1024};
  cosync::spsc_channel<decltype(make(0))> ch{capacities[rng() % std::size(capacities)]};
  cosync::runtime rt{cosync::runtime_config{.executors = 2}};
  auto producer = [&]() -> task<void> {
    co_await cosync::switch_to(0);
    for (std::uint64_t i = 0; i < count; ++i) {
      co_await ch.send(make(i));
    }
    ch.close();
  };
  auto consumer = [&]() -> task<stream_result> {
    co_await cosync::switch_to(1);
    stream_result r;
    while (auto v = co_await ch.recv()) {
      const std::uint64_t value = read(*v);
      r.in_order &= value == r.received;
      r.checksum = mix(r.checksum, value);
      ++r.received;
    }
    co_return r;
  };
  auto both = [&]() -> task<stream_result> {
    auto [ignored, r] = co_await cosync::when_all(producer(), consumer());
    co_return r;
  };
  return cosync::sync_wait(rt, both());
}

std::uint64_t expected_checksum(std::uint64_t count) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    sum = mix(sum, i);
  }
  return sum;
}

}  // namespace

TEST_CASE("200000 values stream between executors through a small spsc_channel in order",
          "[spsc_channel][stress]") {
  const std::uint64_t seed = cosync::test::stress_seed("spsc_channel stress");
  constexpr std::uint64_t count = 200'000;
  const stream_result r = stream(
      seed, count, [](std::uint64_t i) { return i; }, [](std::uint64_t v) { return v; });
  CHECK(r.received == count);
  CHECK(r.in_order);
  CHECK(r.checksum == expected_checksum(count));
}

TEST_CASE("move-only payloads stream between executors without a leak", "[spsc_channel][stress]") {
  const std::uint64_t seed = cosync::test::stress_seed("spsc_channel move-only stress");
  constexpr std::uint64_t count = 200'000;
  const stream_result r = stream(
      seed, count, [](std::uint64_t i) { return std::make_unique<std::uint64_t>(i); },
      [](const std::unique_ptr<std::uint64_t>& v) { return *v; });
  CHECK(r.received == count);
  CHECK(r.in_order);
  CHECK(r.checksum == expected_checksum(count));
}
