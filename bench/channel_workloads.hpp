#pragma once

// C1 and C2 for cosync's two channel kinds, shared by channel_bench (timed, beside the peers) and
// channel_instructions (one workload in this process, for valgrind --tool=callgrind).

#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/when_all.hpp>

#include <cstddef>
#include <utility>

#include "harness.hpp"
#include "ring_workloads.hpp"

namespace cosync::bench {

inline cosync::runtime_config pinned(std::size_t executors) {
  return cosync::runtime_config{.executors = executors, .pin_threads = true};
}

template <class Channel>
result c1_stream(double scale, std::size_t executors) {
  const u64 n = scaled(1e7, scale);
  cosync::runtime rt{pinned(executors)};
  Channel ch{1024};
  auto producer = [&]() -> task<void> {
    for (u64 i = 0; i < n; ++i) {
      co_await ch.send(u64{i});
    }
    ch.close();
  };
  auto consumer = [&]() -> task<std::pair<u64, bool>> {
    co_await cosync::switch_to(executors - 1);
    u64 sum = 0;
    u64 expected = 0;
    bool in_order = true;
    while (auto v = co_await ch.recv()) {
      in_order &= *v == expected++;
      sum += *v;
    }
    co_return std::pair{sum, in_order && expected == n};
  };
  auto both = [&]() -> task<result> {
    const auto start = steady::now();
    auto [ignored, outcome] = co_await cosync::when_all(producer(), consumer());
    const double rate = static_cast<double>(n) / seconds_since(start);
    co_return result{
        rate / 1e6, {{"ns_per_msg", 1e9 / rate}}, outcome.second && outcome.first == triangle(n)};
  };
  return cosync::sync_wait(rt, both());
}

template <class Channel>
result c2_ping_pong(double scale, std::size_t executors) {
  const u64 n = scaled(1e6, scale);
  cosync::runtime rt{pinned(executors)};
  Channel ping{1};
  Channel pong{1};
  auto echo = [&]() -> task<void> {
    co_await cosync::switch_to(executors - 1);
    while (auto v = co_await ping.recv()) {
      co_await pong.send(u64{*v});
    }
  };
  auto driver = [&]() -> task<result> {
    bool in_order = true;
    const auto start = steady::now();
    for (u64 i = 0; i < n; ++i) {
      co_await ping.send(u64{i});
      auto v = co_await pong.recv();
      in_order &= v.has_value() && *v == i;
    }
    const double s = seconds_since(start);
    ping.close();
    co_return result{s * 1e9 / static_cast<double>(n), {}, in_order};
  };
  auto both = [&]() -> task<result> {
    auto [r, ignored] = co_await cosync::when_all(driver(), echo());
    co_return r;
  };
  return cosync::sync_wait(rt, both());
}

}  // namespace cosync::bench
