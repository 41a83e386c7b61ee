// spsc_ring_bench: the ring workloads of BENCHMARKING.md, for cosync::spsc_ring and, in the same
// run, boost::lockfree::spsc_queue, moodycamel::ReaderWriterQueue (when installed) and the naive
// baseline ring. 64-bit integers throughout; one message = one push plus one pop.
//
//   R1  single thread, interleaved try_push / try_pop, N = 10^8, capacity 1024
//   R2  producer on CPU 1, consumer on CPU 0, N = 10^8, capacities 1024 and 65536
//       (single items; and batches of 256 through the bulk API where the ring has one)
//   R3  ping-pong over two rings between CPUs 0 and 1, 10^6 round trips: mean, p50, p99
//
// The workloads themselves, and the waiting policy every ring gets, are in ring_workloads.hpp.

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
#include "ring_workloads.hpp"

#if COSYNC_HAVE_BOOST_LOCKFREE
#include <boost/lockfree/spsc_queue.hpp>
#endif
#if COSYNC_HAVE_READERWRITERQUEUE
#include <readerwriterqueue/readerwriterqueue.h>
#endif

namespace {

using namespace cosync::bench;
using u64 = std::uint64_t;

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
