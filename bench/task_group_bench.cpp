// task_group_bench: BENCHMARKING.md C5.
//
//   skynet      10^6 leaf tasks in a 10-ary tree of depth 6: each leaf returns its number, each
//               parent awaits its 10 children (when_all) and sums them. On one executor; and on
//               two, where the root spreads its 10 subtrees over both executors with a task group
//               (spawn_anywhere) and every subtree below runs on the executor it landed on.
//   skynet with groups  the same tree written the way structured code is: with_task_group at
//               every inner node, its 10 children spawned into it (the cost of a group and its
//               children beside when_all's, in the same run).
//   flat spawn  10^6 trivial children spawned into one task group on one executor, until the
//               group has joined them all.
// Reported: ms for the whole run (lower is better), and tasks/s beside it.

#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/when_all.hpp>

#include <array>
#include <cstdint>
#include <vector>

#include "harness.hpp"
#include "ring_workloads.hpp"

namespace {

using namespace cosync::bench;
using cosync::task;

constexpr u64 fan_out = 10;

// The skynet subtree rooted at `number`, `size` leaves wide.
task<u64> skynet(u64 number, u64 size) {
  if (size == 1) {
    co_return number;
  }
  const u64 child_size = size / fan_out;
  std::vector<task<u64>> children;
  children.reserve(fan_out);
  for (u64 i = 0; i < fan_out; ++i) {
    children.push_back(skynet(number + i * child_size, child_size));
  }
  u64 sum = 0;
  for (u64 v : co_await cosync::when_all(std::move(children))) {
    sum += v;
  }
  co_return sum;
}

// The same subtree with one task group per inner node, a spawned child per subtree; a child
// leaves its sum where its parent reads it (a group's children return nothing).
task<void> skynet_grouped(u64 number, u64 size, u64& out) {
  if (size == 1) {
    out = number;
    co_return;
  }
  const u64 child_size = size / fan_out;
  std::array<u64, fan_out> sums{};
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    for (u64 i = 0; i < fan_out; ++i) {
      g.spawn(skynet_grouped(number + i * child_size, child_size, sums[i]));
    }
    co_return;
  });
  u64 sum = 0;
  for (u64 s : sums) {
    sum += s;
  }
  out = sum;
}

enum class shape { when_all, groups };

// The root's subtrees spread over the executors by a task group.
task<u64> skynet_spread(u64 size, shape how) {
  std::array<u64, fan_out> sums{};
  const u64 child_size = size / fan_out;
  auto subtree = [&](u64 i) -> task<void> {
    if (how == shape::when_all) {
      sums[i] = co_await skynet(i * child_size, child_size);
    } else {
      co_await skynet_grouped(i * child_size, child_size, sums[i]);
    }
  };
  co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
    for (u64 i = 0; i < fan_out; ++i) {
      g.spawn_anywhere(subtree(i));
    }
    co_return;
  });
  u64 sum = 0;
  for (u64 s : sums) {
    sum += s;
  }
  co_return sum;
}

result run_skynet(double scale, std::size_t executors, shape how) {
  // Scaling shrinks the tree by whole levels (10^6 leaves at scale 1).
  u64 leaves = 1'000'000;
  while (leaves > 10 && static_cast<double>(leaves) > 1e6 * scale * 1.0001) {
    leaves /= fan_out;
  }
  cosync::runtime rt{cosync::runtime_config{.executors = executors, .pin_threads = true}};
  auto timed = [&]() -> task<result> {
    const auto start = steady::now();
    u64 sum = 0;
    if (executors > 1) {
      sum = co_await skynet_spread(leaves, how);
    } else if (how == shape::when_all) {
      sum = co_await skynet(0, leaves);
    } else {
      co_await skynet_grouped(0, leaves, sum);
    }
    const double s = seconds_since(start);
    const double tasks = static_cast<double>(leaves) * 1.111111;  // every node of the tree is a task
    co_return result{s * 1e3, {{"M_tasks_per_s", tasks / s / 1e6}}, sum == leaves * (leaves - 1) / 2};
  };
  return cosync::sync_wait(rt, timed());
}

result run_flat_spawn(double scale) {
  const u64 n = scaled(1e6, scale);
  cosync::runtime rt{cosync::runtime_config{.executors = 1, .pin_threads = true}};
  u64 ran = 0;
  auto trivial = [&]() -> task<void> {
    ++ran;
    co_return;
  };
  auto timed = [&]() -> task<result> {
    const auto start = steady::now();
    co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
      for (u64 i = 0; i < n; ++i) {
        g.spawn(trivial());
      }
      co_return;
    });
    const double s = seconds_since(start);
    co_return result{s * 1e3, {{"M_tasks_per_s", static_cast<double>(n) / s / 1e6}}, ran == n};
  };
  return cosync::sync_wait(rt, timed());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<bench_case> cases;
  cases.push_back({"C5 skynet 10^6, 1 executor", "cosync (when_all)", "ms", false, false, role::ours,
                   [](double scale) { return run_skynet(scale, 1, shape::when_all); }});
  cases.push_back({"C5 skynet 10^6, 1 executor", "cosync (task group at every node)", "ms", false, false,
                   role::ours, [](double scale) { return run_skynet(scale, 1, shape::groups); }});
  cases.push_back({"C5 skynet 10^6, 2 executors", "cosync (task_group + when_all)", "ms", false, true,
                   role::ours, [](double scale) { return run_skynet(scale, 2, shape::when_all); }});
  cases.push_back({"C5 skynet 10^6, 2 executors", "cosync (task group at every node)", "ms", false, true,
                   role::ours, [](double scale) { return run_skynet(scale, 2, shape::groups); }});
  cases.push_back({"C5 flat spawn 10^6, 1 executor", "cosync task_group", "ms", false, false, role::ours,
                   run_flat_spawn});
  return run_main(argc, argv, cases);
}
