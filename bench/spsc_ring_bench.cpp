// spsc_ring_bench: the ring workloads of BENCHMARKING.md, for cosync::spsc_ring and, in the same
// run, boost::lockfree::spsc_queue, moodycamel::ReaderWriterQueue (when installed) and the naive
// baseline ring. 64-bit integers throughout; one message = one push plus one pop.
//
//   R1  single thread, interleaved try_push / try_pop, N = 10^8, capacity 1024
//   R2  producer on CPU 1, consumer on CPU 0, N = 10^8, capacities 1024 and 65536
//       (single items; and batches of 256 through the bulk API where the ring has one)
//   R3  ping-pong over two rings between CPUs 0 and 1, 10^6 round trips: mean, p50, p99
//
// Both sides of every two-thread workload wait the same way whichever ring runs: the streaming
// workloads back off exponentially (1 to 64 pauses) after a failed attempt; the latency workload
// (R3) spins with one pause per failed attempt.

#include <cosync/spsc_ring.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "naive_ring.hpp"

#if COSYNC_HAVE_BOOST_LOCKFREE
#include <boost/lockfree/spsc_queue.hpp>
#endif
#if COSYNC_HAVE_READERWRITERQUEUE
#include <readerwriterqueue/readerwriterqueue.h>
#endif

namespace {

using namespace cosync::bench;
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

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

u64 scaled(double base, double scale) {
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

struct naive_baseline {
  static constexpr const char* name = "naive (ancestor style)";
  static constexpr role who = role::baseline;
  naive_ring<u64> q;
  explicit naive_baseline(std::size_t capacity) : q{capacity} {}
  bool push(u64 v) noexcept { return q.try_push(v); }
  bool pop(u64& v) noexcept { return q.try_pop(v); }
};

#if COSYNC_HAVE_BOOST_LOCKFREE
struct boost_ring {
  static constexpr const char* name = "boost::lockfree";
  static constexpr role who = role::peer;
  boost::lockfree::spsc_queue<u64> q;
  explicit boost_ring(std::size_t capacity) : q{capacity} {}
  bool push(u64 v) noexcept { return q.push(v); }
  bool pop(u64& v) noexcept { return q.pop(v); }
  std::size_t push_n(const u64* p, std::size_t n) noexcept { return q.push(p, n); }
  std::size_t pop_n(u64* p, std::size_t n) noexcept { return q.pop(p, n); }
};
#endif

#if COSYNC_HAVE_READERWRITERQUEUE
struct moodycamel_ring {
  static constexpr const char* name = "moodycamel::RWQueue";
  static constexpr role who = role::peer;
  moodycamel::ReaderWriterQueue<u64> q;
  explicit moodycamel_ring(std::size_t capacity) : q{capacity} {}
  bool push(u64 v) noexcept { return q.try_enqueue(v); }  // never allocates
  bool pop(u64& v) noexcept { return q.try_dequeue(v); }
};
#endif

// ---------------------------------------------------------------- workloads

// Sum of 0..n-1: what the consumer's sum must be.
constexpr u64 triangle(u64 n) {
  return n * (n - 1) / 2;
}

template <class Q>
result r1_interleaved(double scale) {
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
  pin_to_cpu(0);
  const auto start = steady::now();
  go.store(true, std::memory_order_release);
  consume();
  const double s = seconds_since(start);
  producer.join();
  return s;
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
  const double rate = static_cast<double>(n) / s;
  return {rate / 1e6, {{"ns_per_msg", 1e9 / rate}}, in_order && sum == triangle(n)};
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
  const double rate = static_cast<double>(n) / s;
  return {rate / 1e6, {{"ns_per_msg", 1e9 / rate}}, in_order && sum == triangle(n)};
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

// ---------------------------------------------------------------- registration

template <class Q>
void add_single_item_cases(std::vector<bench_case>& cases) {
  cases.push_back({"R1 interleaved cap=1024", Q::name, "M msg/s", true, false, Q::who, r1_interleaved<Q>});
  for (std::size_t capacity : {std::size_t{1024}, std::size_t{65536}}) {
    cases.push_back({"R2 stream cap=" + std::to_string(capacity), Q::name, "M msg/s", true, true, Q::who,
                     [capacity](double scale) { return r2_stream<Q>(scale, capacity); }});
  }
  cases.push_back({"R3 ping-pong", Q::name, "ns/round trip", false, true, Q::who, r3_ping_pong<Q>});
}

template <class Q>
void add_bulk_cases(std::vector<bench_case>& cases) {
  for (std::size_t capacity : {std::size_t{1024}, std::size_t{65536}}) {
    cases.push_back({"R2 bulk x256 cap=" + std::to_string(capacity), Q::name, "M msg/s", true, true, Q::who,
                     [capacity](double scale) { return r2_bulk<Q>(scale, capacity); }});
  }
}

}  // namespace

int main(int argc, char** argv) {
#if !COSYNC_HAVE_BOOST_LOCKFREE
  std::fputs("note: boost::lockfree::spsc_queue skipped (apt-get install libboost-dev)\n", stderr);
#endif
#if !COSYNC_HAVE_READERWRITERQUEUE
  std::fputs("note: moodycamel::ReaderWriterQueue skipped (apt-get install libreaderwriterqueue-dev)\n",
             stderr);
#endif
  std::vector<bench_case> cases;
  add_single_item_cases<cosync_ring>(cases);
#if COSYNC_HAVE_BOOST_LOCKFREE
  add_single_item_cases<boost_ring>(cases);
#endif
#if COSYNC_HAVE_READERWRITERQUEUE
  add_single_item_cases<moodycamel_ring>(cases);
#endif
  add_single_item_cases<naive_baseline>(cases);
  add_bulk_cases<cosync_ring>(cases);
#if COSYNC_HAVE_BOOST_LOCKFREE
  add_bulk_cases<boost_ring>(cases);
#endif
  // Interleave implementations within each workload, in registration order per repetition.
  std::stable_sort(cases.begin(), cases.end(),
                   [](const bench_case& a, const bench_case& b) { return a.workload < b.workload; });
  return run_main(argc, argv, cases);
}
