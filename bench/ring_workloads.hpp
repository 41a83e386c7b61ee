#pragma once

// The ring workloads of BENCHMARKING.md (R1 interleaved, R2 streaming and bulk, R3 ping-pong)
// as templates over a ring adapter, shared by spsc_ring_bench (cosync against its peers) and
// runtime_bench (the raw ring as the baseline of the mesh and the cross-executor hop).
//
// A ring adapter has `explicit Q(std::size_t capacity)`, `bool push(u64)`, `bool pop(u64&)`, and
// for the bulk workload `std::size_t push_n(const u64*, std::size_t)` / `pop_n(u64*, std::size_t)`,
// plus `static constexpr const char* name` and `static constexpr role who`.
//
// Both sides of every two-thread workload wait the same way whichever ring runs: the streaming
// workloads back off exponentially (1 to 64 pauses) after a failed attempt; the latency workload
// (R3) spins with one pause per failed attempt.

#include <cosync/spsc_ring.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace cosync::bench {

using u64 = std::uint64_t;
using steady = std::chrono::steady_clock;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// The one waiting policy every implementation gets on a failed push or pop: exponential backoff
// from 1 to 64 pause instructions, reset by a success. (A single pause per failure lets a
// caught-up consumer re-read the producer's index hundreds of times per message; see
// docs/benchmarks.md for how that shifts the far-placement ranking.)
class backoff {
 public:
  void wait() noexcept {
    for (unsigned i = 0; i < pauses_; ++i) {
      cpu_relax();
    }
    pauses_ = pauses_ < 64 ? pauses_ * 2 : 64;
  }
  void reset() noexcept { pauses_ = 1; }

 private:
  unsigned pauses_ = 1;
};

inline u64 ticks() noexcept {
#if defined(__x86_64__)
  return __builtin_ia32_rdtsc();
#else
  return static_cast<u64>(steady::now().time_since_epoch().count());
#endif
}

inline double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

inline u64 scaled(double base, double scale) {
  return std::max<u64>(1000, static_cast<u64>(base * scale));
}

// ---------------------------------------------------------------- adapters: one interface

struct cosync_ring {
  static constexpr const char* name = "cosync::spsc_ring";
  static constexpr role who = role::ours;
  cosync::spsc_ring<u64> q;
  explicit cosync_ring(std::size_t capacity) : q{capacity} {}
  bool push(u64 v) noexcept { return q.try_push(v); }
  bool pop(u64& v) noexcept { return q.try_pop(v); }
  std::size_t push_n(const u64* p, std::size_t n) noexcept { return q.try_push_n(p, n); }
  std::size_t pop_n(u64* p, std::size_t n) noexcept { return q.try_pop_n(p, n); }
};

// ---------------------------------------------------------------- workloads

// Sum of 0..n-1: what the consumer's sum must be.
constexpr u64 triangle(u64 n) {
  return n * (n - 1) / 2;
}

template <class Q>
result r1_interleaved(double scale) {
  const scoped_pin pin{0};
  const u64 n = scaled(1e8, scale);
  Q q{1024};
  u64 sent = 0;
  u64 received = 0;
  u64 sum = 0;
  bool in_order = true;
  const auto start = steady::now();
  while (received < n) {
    if (sent < n && q.push(sent)) {
      ++sent;
    }
    u64 v;
    if (q.pop(v)) {
      in_order &= v == received;
      sum += v;
      ++received;
    }
  }
  const double s = seconds_since(start);
  const double rate = static_cast<double>(n) / s;
  return {rate / 1e6,
          {{"ns_per_msg", 1e9 / rate}, {"M_ops_per_s", 2 * rate / 1e6}},
          in_order && sum == triangle(n)};
}

// Runs `produce` on CPU 1 and `consume` on CPU 0, starting together; returns the seconds taken.
template <class Produce, class Consume>
double two_threads(Produce produce, Consume consume) {
  std::atomic<bool> go{false};
  std::thread producer{[&] {
    pin_to_cpu(1);
    while (!go.load(std::memory_order_acquire)) {
    }
    produce();
  }};
  const scoped_pin pin{0};
  const auto start = steady::now();
  go.store(true, std::memory_order_release);
  consume();
  const double s = seconds_since(start);
  producer.join();
  return s;
}

// A streaming workload's result: M msg/s, with ns/msg beside it.
inline result stream_result(u64 n, double seconds, bool verified) {
  const double rate = static_cast<double>(n) / seconds;
  return {rate / 1e6, {{"ns_per_msg", 1e9 / rate}}, verified};
}

template <class Q>
result r2_stream(double scale, std::size_t capacity) {
  const u64 n = scaled(1e8, scale);
  Q q{capacity};
  u64 sum = 0;
  bool in_order = true;
  const double s = two_threads(
      [&] {
        backoff idle;
        for (u64 i = 0; i < n; ++i) {
          while (!q.push(i)) {
            idle.wait();
          }
          idle.reset();
        }
      },
      [&] {
        backoff idle;
        for (u64 expected = 0; expected < n;) {
          u64 v;
          if (q.pop(v)) {
            idle.reset();
            in_order &= v == expected;
            sum += v;
            ++expected;
          } else {
            idle.wait();
          }
        }
      });
  return stream_result(n, s, in_order && sum == triangle(n));
}

template <class Q>
result r2_bulk(double scale, std::size_t capacity) {
  constexpr std::size_t batch = 256;
  const u64 n = scaled(1e8, scale);
  Q q{capacity};
  u64 sum = 0;
  bool in_order = true;
  const double s = two_threads(
      [&] {
        backoff idle;
        u64 buffer[batch];
        for (u64 next = 0; next < n;) {
          const std::size_t k = static_cast<std::size_t>(std::min<u64>(batch, n - next));
          for (std::size_t i = 0; i < k; ++i) {
            buffer[i] = next + i;
          }
          for (std::size_t pushed = 0; pushed < k;) {
            const std::size_t m = q.push_n(buffer + pushed, k - pushed);
            if (m == 0) {
              idle.wait();
            } else {
              idle.reset();
            }
            pushed += m;
          }
          next += k;
        }
      },
      [&] {
        backoff idle;
        u64 buffer[batch];
        for (u64 expected = 0; expected < n;) {
          const std::size_t m = q.pop_n(buffer, batch);
          if (m == 0) {
            idle.wait();
          } else {
            idle.reset();
          }
          for (std::size_t i = 0; i < m; ++i) {
            in_order &= buffer[i] == expected;
            sum += buffer[i];
            ++expected;
          }
        }
      });
  return stream_result(n, s, in_order && sum == triangle(n));
}

template <class Q>
result r3_ping_pong(double scale) {
  const u64 n = scaled(1e6, scale);
  Q ping{1024};
  Q pong{1024};
  std::vector<u64> round_trip(n);
  bool in_order = true;
  u64 tick_total = 0;
  const double s = two_threads(
      [&] {
        for (u64 i = 0; i < n; ++i) {
          u64 v;
          while (!ping.pop(v)) {
            cpu_relax();
          }
          while (!pong.push(v)) {
            cpu_relax();
          }
        }
      },
      [&] {
        const u64 first = ticks();
        for (u64 i = 0; i < n; ++i) {
          const u64 t0 = ticks();
          while (!ping.push(i)) {
            cpu_relax();
          }
          u64 v;
          while (!pong.pop(v)) {
            cpu_relax();
          }
          in_order &= v == i;
          round_trip[i] = ticks() - t0;
        }
        tick_total = ticks() - first;
      });
  const double ns_per_tick = s * 1e9 / static_cast<double>(std::max<u64>(tick_total, 1));
  std::sort(round_trip.begin(), round_trip.end());
  const auto pct = [&](double p) {
    return static_cast<double>(round_trip[static_cast<std::size_t>(p * static_cast<double>(n - 1))]) *
           ns_per_tick;
  };
  return {s * 1e9 / static_cast<double>(n), {{"p50_ns", pct(0.50)}, {"p99_ns", pct(0.99)}}, in_order};
}

}  // namespace cosync::bench
