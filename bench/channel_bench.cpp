// channel_bench: the channel workloads of BENCHMARKING.md for spsc_channel and the MPMC
// channel, each beside the raw spsc_ring figure it is judged against, in the same run.
//
//   C1  one producer coroutine → one consumer coroutine, capacity 1024, 10^7 messages: on one
//       executor, and with the two on executors 0 and 1 (beside the raw ring's R2 stream).
//   C2  ping-pong between two coroutines over two channels of capacity 1: round trip ns, on one
//       executor and across two (beside the raw ring's R3 round trip).
//   C3  4 producers → 4 consumers over one MPMC channel of capacity 1024, on 2 executors.
//
// Beside them, when libboost1.81-dev is installed, Boost.Asio's experimental::channel (one
// thread, one io_context) and concurrent_channel (two threads, one io_context each, pinned like
// the executors), driven by C++20 coroutines (asio::awaitable).

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/when_all.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "channel_workloads.hpp"
#include "go_peer.hpp"
#include "harness.hpp"
#include "ring_workloads.hpp"

#if COSYNC_HAVE_ASIO_CHANNEL
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include "asio_peer.hpp"
#endif

namespace {

using namespace cosync::bench;
using cosync::task;

#if COSYNC_HAVE_ASIO_CHANNEL

// C1 for an Asio channel type: a producer and a consumer coroutine, each spawned on its own
// io_context (the same one for the single-threaded channel); the consumer checks order and sum.
template <class Channel>
result asio_c1(double scale, bool two_threads) {
  const u64 n = scaled(1e7, scale);
  asio::io_context producer_ctx{1};
  asio::io_context consumer_ctx{1};
  asio::io_context& receiving = two_threads ? consumer_ctx : producer_ctx;
  Channel ch{producer_ctx, 1024};
  u64 sum = 0;
  bool in_order = true;
  asio::co_spawn(
      producer_ctx,
      [&]() -> asio::awaitable<void> {
        for (u64 i = 0; i < n; ++i) {
          co_await ch.async_send(asio_error{}, i, asio::use_awaitable);
        }
      },
      asio::detached);
  asio::co_spawn(
      receiving,
      [&]() -> asio::awaitable<void> {
        for (u64 expected = 0; expected < n; ++expected) {
          auto [ec, v] = co_await ch.async_receive(as_tuple_awaitable);
          in_order &= !ec && v == expected;
          sum += v;
        }
      },
      asio::detached);
  const auto start = steady::now();
  run_producer_consumer(producer_ctx, consumer_ctx, two_threads);
  const double rate = static_cast<double>(n) / seconds_since(start);
  return {rate / 1e6, {{"ns_per_msg", 1e9 / rate}}, in_order && sum == triangle(n)};
}

// C2 on one thread: ping-pong over two Asio channels of capacity 1.
result asio_c2(double scale) {
  using channel = asio::experimental::channel<void(asio_error, u64)>;
  const u64 n = scaled(1e6, scale);
  asio::io_context ctx{1};
  channel ping{ctx, 1};
  channel pong{ctx, 1};
  bool in_order = true;
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        for (u64 i = 0; i < n; ++i) {
          auto [ec, v] = co_await ping.async_receive(as_tuple_awaitable);
          co_await pong.async_send(asio_error{}, v, asio::use_awaitable);
        }
      },
      asio::detached);
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        for (u64 i = 0; i < n; ++i) {
          co_await ping.async_send(asio_error{}, i, asio::use_awaitable);
          auto [ec, v] = co_await pong.async_receive(as_tuple_awaitable);
          in_order &= !ec && v == i;
        }
      },
      asio::detached);
  const auto start = steady::now();
  ctx.run();
  return {seconds_since(start) * 1e9 / static_cast<double>(n), {}, in_order};
}
#endif

// C3: 4 producers and 4 consumers, alternating between executors 0 and 1, over one channel of
// capacity 1024; every value is counted and summed.
result c3_mpmc(double scale) {
  constexpr std::size_t sides = 4;
  const u64 per_producer = scaled(2.5e6, scale);
  cosync::runtime rt{pinned(2)};
  cosync::channel<u64> ch{1024};
  auto producer = [&](std::size_t p) -> task<void> {
    co_await cosync::switch_to(p % 2);
    for (u64 j = 0; j < per_producer; ++j) {
      co_await ch.send(u64{j});
    }
  };
  auto consumer = [&](std::size_t c) -> task<std::pair<u64, u64>> {
    co_await cosync::switch_to(c % 2);
    u64 count = 0;
    u64 sum = 0;
    while (auto v = co_await ch.recv()) {
      ++count;
      sum += *v;
    }
    co_return std::pair{count, sum};
  };
  auto all = [&]() -> task<result> {
    std::vector<task<void>> producers;
    std::vector<task<std::pair<u64, u64>>> consumers;
    for (std::size_t i = 0; i < sides; ++i) {
      producers.push_back(producer(i));
      consumers.push_back(consumer(i));
    }
    auto produce = [&]() -> task<void> {
      co_await cosync::when_all(std::move(producers));
      ch.close();
    };
    auto consume = [&]() -> task<std::vector<std::pair<u64, u64>>> {
      co_return co_await cosync::when_all(std::move(consumers));
    };
    const auto start = steady::now();
    auto [ignored, tallies] = co_await cosync::when_all(produce(), consume());
    const double rate = static_cast<double>(sides * per_producer) / seconds_since(start);
    u64 count = 0;
    u64 sum = 0;
    for (const auto& [c, s] : tallies) {
      count += c;
      sum += s;
    }
    co_return result{rate / 1e6,
                     {{"ns_per_msg", 1e9 / rate}},
                     count == sides * per_producer && sum == sides * triangle(per_producer)};
  };
  return cosync::sync_wait(rt, all());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<bench_case> cases;
  cases.push_back({"C1 stream, 1 executor", "spsc_channel", "M msg/s", true, false, role::ours,
                   [](double scale) { return c1_stream<cosync::spsc_channel<u64>>(scale, 1); }});
  cases.push_back({"C1 stream, 2 executors", "raw spsc_ring (R2 cap=1024)", "M msg/s", true, true,
                   role::baseline, [](double scale) { return r2_stream<cosync_ring>(scale, 1024); }});
  cases.push_back({"C1 stream, 2 executors", "spsc_channel", "M msg/s", true, true, role::ours,
                   [](double scale) { return c1_stream<cosync::spsc_channel<u64>>(scale, 2); }});
  cases.push_back({"C2 ping-pong, 1 executor", "spsc_channel", "ns/round trip", false, false, role::ours,
                   [](double scale) { return c2_ping_pong<cosync::spsc_channel<u64>>(scale, 1); }});
  cases.push_back({"C2 ping-pong, 2 executors", "raw spsc_ring (R3)", "ns/round trip", false, true,
                   role::baseline, r3_ping_pong<cosync_ring>});
  cases.push_back({"C2 ping-pong, 2 executors", "spsc_channel", "ns/round trip", false, true, role::ours,
                   [](double scale) { return c2_ping_pong<cosync::spsc_channel<u64>>(scale, 2); }});
  cases.push_back({"C1 stream, 1 executor", "channel (MPMC)", "M msg/s", true, false, role::ours,
                   [](double scale) { return c1_stream<cosync::channel<u64>>(scale, 1); }});
  cases.push_back({"C1 stream, 2 executors", "channel (MPMC)", "M msg/s", true, true, role::ours,
                   [](double scale) { return c1_stream<cosync::channel<u64>>(scale, 2); }});
  cases.push_back({"C2 ping-pong, 1 executor", "channel (MPMC)", "ns/round trip", false, false, role::ours,
                   [](double scale) { return c2_ping_pong<cosync::channel<u64>>(scale, 1); }});
  cases.push_back({"C2 ping-pong, 2 executors", "channel (MPMC)", "ns/round trip", false, true, role::ours,
                   [](double scale) { return c2_ping_pong<cosync::channel<u64>>(scale, 2); }});
  cases.push_back({"C3 4x4 MPMC, 2 executors", "channel (MPMC)", "M msg/s", true, true, role::ours, c3_mpmc});
#if COSYNC_HAVE_ASIO_CHANNEL
  using asio_channel = asio::experimental::channel<void(asio_error, u64)>;
  using asio_concurrent = asio::experimental::concurrent_channel<void(asio_error, u64)>;
  cases.push_back({"C1 stream, 1 executor", "asio::experimental::channel", "M msg/s", true, false, role::peer,
                   [](double scale) { return asio_c1<asio_channel>(scale, false); }});
  cases.push_back({"C1 stream, 2 executors", "asio concurrent_channel", "M msg/s", true, true, role::peer,
                   [](double scale) { return asio_c1<asio_concurrent>(scale, true); }});
  cases.push_back({"C2 ping-pong, 1 executor", "asio::experimental::channel", "ns/round trip", false, false,
                   role::peer, asio_c2});
#else
  std::fputs("note: Boost.Asio channels skipped (apt-get install libboost1.81-dev)\n", stderr);
#endif
  if (have_go_peer()) {
    cases.push_back({"C1 stream, 1 executor", "Go channel", "M msg/s", true, false, role::peer,
                     [](double scale) { return go_peer("c1", scaled(1e7, scale), 1); }});
    cases.push_back({"C1 stream, 2 executors", "Go channel", "M msg/s", true, true, role::peer,
                     [](double scale) { return go_peer("c1", scaled(1e7, scale), 2); }});
    cases.push_back({"C2 ping-pong, 1 executor", "Go channel", "ns/round trip", false, false, role::peer,
                     [](double scale) { return go_peer("c2", scaled(1e6, scale), 1); }});
    cases.push_back({"C2 ping-pong, 2 executors", "Go channel", "ns/round trip", false, true, role::peer,
                     [](double scale) { return go_peer("c2", scaled(1e6, scale), 2); }});
    cases.push_back({"C3 4x4 MPMC, 2 executors", "Go channel", "M msg/s", true, true, role::peer,
                     [](double scale) { return go_peer("c3", scaled(2.5e6, scale), 2); }});
  } else {
    std::fputs("note: the Go peer skipped (apt-get install golang-go)\n", stderr);
  }
  std::stable_sort(cases.begin(), cases.end(),
                   [](const bench_case& a, const bench_case& b) { return a.workload < b.workload; });
  return run_main(argc, argv, cases);
}
