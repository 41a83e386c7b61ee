// select_bench: BENCHMARKING.md C4 and the cost of a select beside a plain receive, in one run.
//
//   C4  one consumer selecting over 4 channels (capacity 1024), each fed by its own producer,
//       with a timeout case in the same select, made afresh (re-armed) every iteration; on one
//       executor, and with the producers on executor 0 and the consumer on executor 1.
//   C1  one producer → one consumer over one channel (capacity 1024) on one executor: the consumer
//       either co_awaits recv() (the baseline) or selects over that recv() and a timeout case.
//
// Beside them, when libboost1.81-dev is installed, Boost.Asio's formulation of C4:
// `co_await (c0.async_receive() || ... || c3.async_receive() || timer.async_wait())` with
// experimental::channel on one io_context, and concurrent_channel with the consumer on a second
// thread. Every consumer counts and sums what it received; a run in which messages are lost or
// never delivered is marked unverified and the shortfall printed. (Measured with Boost 1.81:
// only channel 0 ever delivers — the receives that `||` cancels leave channels 1–3 silent, so
// 3/4 of the messages stay stranded and the consumer gives up after a second without one.)

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/when_all.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "go_peer.hpp"
#include "harness.hpp"
#include "ring_workloads.hpp"

#if COSYNC_HAVE_ASIO_CHANNEL
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>

#include "asio_peer.hpp"
#endif

namespace {

using namespace cosync::bench;
using namespace std::chrono_literals;
using cosync::task;

constexpr std::size_t fan_in = 4;
constexpr auto timeout = 1s;  // never fires while messages flow: it is re-armed and withdrawn

// The sum of what `fan_in` producers send: producer p sends p*per + j for j in [0, per).
u64 c4_expected_sum(u64 per) {
  const u64 n = fan_in * per;
  return n * (n - 1) / 2;
}

result c4_cosync(double scale, std::size_t executors) {
  const u64 per = scaled(2.5e6, scale);
  cosync::runtime rt{cosync::runtime_config{.executors = executors, .pin_threads = true}};
  std::array<std::unique_ptr<cosync::channel<u64>>, fan_in> ch;
  for (auto& c : ch) {
    c = std::make_unique<cosync::channel<u64>>(1024);
  }
  auto producer = [&](std::size_t p) -> task<void> {
    for (u64 j = 0; j < per; ++j) {
      co_await ch[p]->send(p * per + j);
    }
  };
  auto consumer = [&]() -> task<std::pair<u64, u64>> {
    co_await cosync::switch_to(executors - 1);
    u64 count = 0;
    u64 sum = 0;
    u64 timeouts = 0;
    while (count < fan_in * per) {
      auto r = co_await cosync::select(ch[0]->recv(), ch[1]->recv(), ch[2]->recv(), ch[3]->recv(),
                                       cosync::after(timeout));
      std::optional<u64> v;
      switch (r.index()) {
        case 0:
          v = get<0>(r);
          break;
        case 1:
          v = get<1>(r);
          break;
        case 2:
          v = get<2>(r);
          break;
        case 3:
          v = get<3>(r);
          break;
        default:
          ++timeouts;
      }
      if (v) {
        ++count;
        sum += *v;
      }
    }
    co_return std::pair{count, timeouts == 0 ? sum : 0};
  };
  auto all = [&]() -> task<result> {
    const auto start = steady::now();
    auto [a, b, c, d, got] =
        co_await cosync::when_all(producer(0), producer(1), producer(2), producer(3), consumer());
    const double rate = static_cast<double>(got.first) / seconds_since(start);
    co_return result{rate / 1e6, {{"ns_per_msg", 1e9 / rate}}, got.second == c4_expected_sum(per)};
  };
  return cosync::sync_wait(rt, all());
}

// C1 on one executor, the consumer receiving with recv() or with select(recv(), after(timeout)).
result c1_recv_or_select(double scale, bool with_select) {
  const u64 n = scaled(1e7, scale);
  cosync::runtime rt{cosync::runtime_config{.executors = 1, .pin_threads = true}};
  cosync::channel<u64> ch{1024};
  auto producer = [&]() -> task<void> {
    for (u64 i = 0; i < n; ++i) {
      co_await ch.send(u64{i});
    }
    ch.close();
  };
  auto consumer = [&]() -> task<u64> {
    u64 sum = 0;
    for (;;) {
      std::optional<u64> v;
      if (with_select) {
        auto r = co_await cosync::select(ch.recv(), cosync::after(timeout));
        v = r.index() == 0 ? get<0>(r) : std::nullopt;
      } else {
        v = co_await ch.recv();
      }
      if (!v) {
        co_return sum;
      }
      sum += *v;
    }
  };
  auto all = [&]() -> task<result> {
    const auto start = steady::now();
    auto [ignored, sum] = co_await cosync::when_all(producer(), consumer());
    const double rate = static_cast<double>(n) / seconds_since(start);
    co_return result{rate / 1e6, {{"ns_per_msg", 1e9 / rate}}, sum == triangle(n)};
  };
  return cosync::sync_wait(rt, all());
}

#if COSYNC_HAVE_ASIO_CHANNEL
using namespace asio::experimental::awaitable_operators;

// C4 with Asio: four producers on the first io_context, the consumer on the second (the same one
// for the single-threaded channel). The consumer stops after every message, or when a timeout
// wins with messages missing: then the run is unverified.
template <class Channel>
result c4_asio(double scale, bool two_threads) {
  const u64 per = scaled(2.5e5, scale);
  asio::io_context producer_ctx{1};
  asio::io_context consumer_ctx{1};
  asio::io_context& receiving = two_threads ? consumer_ctx : producer_ctx;
  std::array<std::unique_ptr<Channel>, fan_in> ch;
  for (auto& c : ch) {
    c = std::make_unique<Channel>(producer_ctx, 1024);
  }
  for (std::size_t p = 0; p < fan_in; ++p) {
    asio::co_spawn(
        producer_ctx,
        [&, p]() -> asio::awaitable<void> {
          for (u64 j = 0; j < per; ++j) {
            co_await ch[p]->async_send(asio_error{}, p * per + j, asio::use_awaitable);
          }
        },
        asio::detached);
  }
  u64 count = 0;
  u64 sum = 0;
  auto last = steady::now();  // when the last message arrived (a lossy run then waits a second)
  asio::co_spawn(
      receiving,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer{receiving};
        while (count < fan_in * per) {
          timer.expires_after(timeout);
          auto r = co_await (
              ch[0]->async_receive(asio::use_awaitable) || ch[1]->async_receive(asio::use_awaitable) ||
              ch[2]->async_receive(asio::use_awaitable) || ch[3]->async_receive(asio::use_awaitable) ||
              timer.async_wait(as_tuple_awaitable));
          if (r.index() == 4) {
            co_return;  // a second without a message: the rest will not come
          }
          std::visit(
              [&](auto v) {
                if constexpr (std::is_same_v<decltype(v), u64>) {
                  ++count;
                  sum += v;
                  last = steady::now();
                }
              },
              r);
        }
      },
      asio::detached);
  const auto start = steady::now();
  run_producer_consumer(producer_ctx, consumer_ctx, two_threads);
  const double rate = static_cast<double>(count) / std::chrono::duration<double>(last - start).count();
  if (count != fan_in * per) {
    std::fprintf(stderr,
                 "\nasio ||: %llu of %llu messages never delivered (%.2f M msg/s until the last one)\n",
                 static_cast<unsigned long long>(fan_in * per - count),
                 static_cast<unsigned long long>(fan_in * per), rate / 1e6);
  }
  return {rate / 1e6, {{"ns_per_msg", 1e9 / rate}}, count == fan_in * per && sum == c4_expected_sum(per)};
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::vector<bench_case> cases;
  cases.push_back({"C4 select 4 channels + timeout, 1 executor", "cosync::select", "M msg/s", true, false,
                   role::ours, [](double scale) { return c4_cosync(scale, 1); }});
  cases.push_back({"C4 select 4 channels + timeout, 2 executors", "cosync::select", "M msg/s", true, true,
                   role::ours, [](double scale) { return c4_cosync(scale, 2); }});
  cases.push_back({"C1 with select, 1 executor", "recv() alone", "M msg/s", true, false, role::baseline,
                   [](double scale) { return c1_recv_or_select(scale, false); }});
  cases.push_back({"C1 with select, 1 executor", "select(recv(), after())", "M msg/s", true, false,
                   role::ours, [](double scale) { return c1_recv_or_select(scale, true); }});
#if COSYNC_HAVE_ASIO_CHANNEL
  using asio_channel = asio::experimental::channel<void(asio_error, u64)>;
  using asio_concurrent = asio::experimental::concurrent_channel<void(asio_error, u64)>;
  cases.push_back({"C4 select 4 channels + timeout, 1 executor", "asio channel ||", "M msg/s", true, false,
                   role::peer, [](double scale) { return c4_asio<asio_channel>(scale, false); }});
  cases.push_back({"C4 select 4 channels + timeout, 2 executors", "asio concurrent_channel ||", "M msg/s",
                   true, true, role::peer,
                   [](double scale) { return c4_asio<asio_concurrent>(scale, true); }});
#else
  std::fputs("note: Boost.Asio channels skipped (apt-get install libboost1.81-dev)\n", stderr);
#endif
  if (have_go_peer()) {
    cases.push_back({"C4 select 4 channels + timeout, 1 executor", "Go select", "M msg/s", true, false,
                     role::peer, [](double scale) { return go_peer("c4", scaled(2.5e6, scale), 1); }});
    cases.push_back({"C4 select 4 channels + timeout, 2 executors", "Go select", "M msg/s", true, true,
                     role::peer, [](double scale) { return go_peer("c4", scaled(2.5e6, scale), 2); }});
  } else {
    std::fputs("note: the Go peer skipped (apt-get install golang-go)\n", stderr);
  }
  std::stable_sort(cases.begin(), cases.end(),
                   [](const bench_case& a, const bench_case& b) { return a.workload < b.workload; });
  return run_main(argc, argv, cases);
}
