// A three-stage pipeline on three threads joined by two spsc_rings:
//
//   generate ──ring──▶ transform ──ring──▶ aggregate
//
// The generator emits 0, 1, 2, ...; the transformer hashes each number; the aggregator folds the
// hashes into a checksum. On a terminal it shows live progress; at the end it prints the
// checksum, checks it against a single-threaded recomputation, and reports the throughput.
//
//   ring_pipeline [--items N]     (default 500,000,000)
//
// Each stage waits on an empty or full ring by spinning briefly and then yielding, so the
// pipeline still flows when it has more threads than the machine has cores. (examples/pipeline.cpp
// is the same pipeline as coroutines on cosync's channels, which park instead.)

#include <cosync/spsc_ring.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <thread>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t ring_capacity = 4096;
constexpr std::size_t batch = 64;  // items moved per ring operation

// The transform stage: a strong 64-bit mix (splitmix64's finaliser).
std::uint64_t transform(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The aggregate stage's fold: order-sensitive, so a lost, duplicated or reordered item shows.
std::uint64_t fold(std::uint64_t sum, std::uint64_t value) noexcept {
  return sum * 31 + value;
}

void wait_a_little(unsigned& idle) noexcept {
  if (++idle > 64) {
    std::this_thread::yield();
  }
}

// Pushes all of `items` into `ring`, waiting while it is full.
void push_all(cosync::spsc_ring<std::uint64_t>& ring, std::span<const std::uint64_t> items) {
  unsigned idle = 0;
  while (!items.empty()) {
    const std::size_t pushed = ring.try_push_n(items);
    if (pushed == 0) {
      wait_a_little(idle);
    } else {
      idle = 0;
    }
    items = items.subspan(pushed);
  }
}

// Pops up to `out.size()` items, waiting while the ring is empty; returns how many.
std::size_t pop_some(cosync::spsc_ring<std::uint64_t>& ring, std::span<std::uint64_t> out) {
  unsigned idle = 0;
  for (;;) {
    if (const std::size_t n = ring.try_pop_n(out)) {
      return n;
    }
    wait_a_little(idle);
  }
}

std::uint64_t parse_items(int argc, char** argv) {
  std::uint64_t items = 500'000'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--items") == 0 && i + 1 < argc) {
      char* end = nullptr;
      items = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0' || items == 0) {
        std::fprintf(stderr, "ring_pipeline: --items wants a positive integer\n");
        std::exit(2);
      }
    } else {
      std::fprintf(stderr, "usage: ring_pipeline [--items N]\n");
      std::exit(2);
    }
  }
  return items;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t items = parse_items(argc, argv);
  cosync::spsc_ring<std::uint64_t> generated{ring_capacity};
  cosync::spsc_ring<std::uint64_t> transformed{ring_capacity};
  std::atomic<std::uint64_t> progress{0};  // relaxed: only read for the progress line
  std::uint64_t checksum = 0;

  const auto start = clock_type::now();
  std::thread generator{[&] {
    std::uint64_t buffer[batch];
    for (std::uint64_t next = 0; next < items;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(batch, items - next));
      for (std::size_t i = 0; i < n; ++i) {
        buffer[i] = next++;
      }
      push_all(generated, {buffer, n});
    }
  }};
  std::thread transformer{[&] {
    std::uint64_t buffer[batch];
    for (std::uint64_t done = 0; done < items;) {
      const std::size_t n = pop_some(generated, buffer);
      for (std::size_t i = 0; i < n; ++i) {
        buffer[i] = transform(buffer[i]);
      }
      push_all(transformed, {buffer, n});
      done += n;
    }
  }};
  std::thread aggregator{[&] {
    std::uint64_t buffer[batch];
    std::uint64_t sum = 0;
    for (std::uint64_t done = 0; done < items;) {
      const std::size_t n = pop_some(transformed, buffer);
      for (std::size_t i = 0; i < n; ++i) {
        sum = fold(sum, buffer[i]);
      }
      done += n;
      progress.store(done, std::memory_order_relaxed);
    }
    checksum = sum;
  }};

  // Live progress on a terminal only: logs and CI get just the final lines.
  if (isatty(STDOUT_FILENO) != 0) {
    while (progress.load(std::memory_order_relaxed) < items) {
      std::this_thread::sleep_for(std::chrono::milliseconds{200});
      const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
      const auto done = progress.load(std::memory_order_relaxed);
      std::printf("\r%12llu / %llu items  %7.1f M items/s", static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(items), static_cast<double>(done) / seconds / 1e6);
      std::fflush(stdout);
    }
    std::printf("\n");
  }
  generator.join();
  transformer.join();
  aggregator.join();
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();

  std::uint64_t expected = 0;
  for (std::uint64_t i = 0; i < items; ++i) {
    expected = fold(expected, transform(i));
  }
  std::printf("items      %llu\n", static_cast<unsigned long long>(items));
  std::printf("checksum   %016llx (%s)\n", static_cast<unsigned long long>(checksum),
              checksum == expected ? "matches" : "MISMATCH");
  std::printf("throughput %.1f M items/s (%.3f s, 3 threads, 2 rings of %zu)\n",
              static_cast<double>(items) / seconds / 1e6, seconds, ring_capacity);
  return checksum == expected ? EXIT_SUCCESS : EXIT_FAILURE;
}
