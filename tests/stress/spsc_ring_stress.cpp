// Two threads push and pop at least 10^7 items through one ring; the consumer checks the exact
// sequence and both sides compute an order-sensitive checksum. Runs under ThreadSanitizer in CI.

#include <cosync/spsc_ring.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "stress.hpp"

using cosync::spsc_ring;
using cosync::test::mix;
using cosync::test::spin_wait;

namespace {

constexpr std::uint64_t item_count = 10'000'000;

std::size_t pick_capacity(std::mt19937_64& rng) {
  // Small rings wrap constantly and hit full/empty on almost every operation.
  const std::size_t choices[] = {1, 2, 3, 16, 1000, 4096};
  return choices[rng() % std::size(choices)];
}

}  // namespace

TEST_CASE("10^7 single items cross two threads in order with a matching checksum", "[spsc_ring][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("spsc_ring single-item stress")};
  spsc_ring<std::uint64_t> ring{pick_capacity(rng)};

  std::uint64_t sent_sum = 0;
  std::thread producer{[&] {
    spin_wait wait;
    for (std::uint64_t i = 0; i < item_count; ++i) {
      while (!ring.try_push(i)) {
        wait();
      }
      wait.reset();
      sent_sum = mix(sent_sum, i);
    }
  }};

  std::uint64_t received_sum = 0;
  std::uint64_t expected = 0;
  std::uint64_t out_of_order = 0;
  spin_wait wait;
  while (expected < item_count) {
    std::uint64_t value = 0;
    if (!ring.try_pop(value)) {
      wait();
      continue;
    }
    wait.reset();
    out_of_order += value != expected;
    received_sum = mix(received_sum, value);
    ++expected;
  }
  producer.join();

  CHECK(out_of_order == 0);
  CHECK(received_sum == sent_sum);
  CHECK(ring.empty_approx());
}

TEST_CASE("10^7 items cross two threads in bulk batches in order with a matching checksum",
          "[spsc_ring][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("spsc_ring bulk stress")};
  spsc_ring<std::uint64_t> ring{pick_capacity(rng)};
  const std::size_t push_batch = 1 + rng() % 100;
  const std::size_t pop_batch = 1 + rng() % 100;

  std::uint64_t sent_sum = 0;
  std::thread producer{[&] {
    std::vector<std::uint64_t> batch(push_batch);
    spin_wait wait;
    std::uint64_t next = 0;
    while (next < item_count) {
      const std::size_t n = std::min<std::uint64_t>(push_batch, item_count - next);
      for (std::size_t i = 0; i < n; ++i) {
        batch[i] = next + i;
      }
      std::size_t pushed = 0;
      while (pushed < n) {
        const std::size_t k =
            ring.try_push_n(batch.begin() + static_cast<std::ptrdiff_t>(pushed), n - pushed);
        if (k == 0) {
          wait();
        } else {
          wait.reset();
        }
        pushed += k;
      }
      for (std::size_t i = 0; i < n; ++i) {
        sent_sum = mix(sent_sum, batch[i]);
      }
      next += n;
    }
  }};

  std::vector<std::uint64_t> batch(pop_batch);
  std::uint64_t received_sum = 0;
  std::uint64_t expected = 0;
  std::uint64_t out_of_order = 0;
  spin_wait wait;
  while (expected < item_count) {
    const std::size_t n = ring.try_pop_n(std::span<std::uint64_t>{batch});
    if (n == 0) {
      wait();
      continue;
    }
    wait.reset();
    for (std::size_t i = 0; i < n; ++i) {
      out_of_order += batch[i] != expected;
      received_sum = mix(received_sum, batch[i]);
      ++expected;
    }
  }
  producer.join();

  CHECK(out_of_order == 0);
  CHECK(received_sum == sent_sum);
  CHECK(ring.empty_approx());
}

TEST_CASE("move-only heap payloads cross two threads without a leak or a double free",
          "[spsc_ring][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("spsc_ring move-only stress")};
  constexpr std::uint64_t count = 1'000'000;
  std::uint64_t received_sum = 0;
  std::uint64_t sent_sum = 0;
  {
    spsc_ring<std::unique_ptr<std::uint64_t>> ring{pick_capacity(rng)};
    std::thread producer{[&] {
      spin_wait wait;
      // Pushes more than the consumer takes: the rest is left for the ring's destructor.
      for (std::uint64_t i = 0; i < count + ring.capacity(); ++i) {
        auto payload = std::make_unique<std::uint64_t>(i);
        while (!ring.try_push(std::move(payload))) {
          wait();
        }
        wait.reset();
        if (i < count) {
          sent_sum = mix(sent_sum, i);
        }
      }
    }};
    spin_wait wait;
    for (std::uint64_t received = 0; received < count;) {
      if (auto payload = ring.try_pop()) {
        wait.reset();
        received_sum = mix(received_sum, **payload);
        ++received;
      } else {
        wait();
      }
    }
    producer.join();
    CHECK(ring.size_approx() == ring.capacity());
  }  // ASan/LSan report any payload the destructor failed to free
  CHECK(received_sum == sent_sum);
}
