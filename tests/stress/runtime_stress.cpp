// 10^6 coroutine hops across every ordered pair of executors (through the mesh), with a count
// and a checksum; and many threads feeding one executor's inbox at once. Runs under TSan in CI.

#include <cosync/detail/mpsc_inbox.hpp>
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/when_all.hpp>

#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "stress.hpp"

using cosync::task;
using cosync::test::mix;

namespace {

struct hop_result {
  std::uint64_t hops = 0;
  std::uint64_t checksum = 0;
  bool always_where_asked = true;
};

// Walks a seeded random route over the executors, so every ordered pair is used many times.
task<hop_result> traveller(std::uint64_t seed, std::size_t executors, std::uint64_t hops) {
  std::mt19937_64 rng{seed};
  hop_result r;
  for (std::uint64_t i = 0; i < hops; ++i) {
    const std::size_t from = cosync::this_executor();
    std::size_t to = static_cast<std::size_t>(rng() % (executors - 1));
    to += to >= from ? 1 : 0;  // never "hop" in place: every hop crosses a ring
    co_await cosync::switch_to(to);
    r.always_where_asked &= cosync::this_executor() == to;
    r.checksum = mix(r.checksum, from * executors + to);
    ++r.hops;
  }
  co_return r;
}

}  // namespace

TEST_CASE("10^6 hops across every ordered pair of executors arrive with a matching checksum",
          "[runtime][stress]") {
  const std::uint64_t seed = cosync::test::stress_seed("runtime hop stress");
  constexpr std::size_t executors = 4;  // 12 ordered pairs, more executors than cores
  constexpr std::size_t travellers = 1000;
  constexpr std::uint64_t hops_each = 1000;

  // What the routes must produce, computed without the runtime.
  std::uint64_t expected_checksum = 0;
  for (std::size_t t = 0; t < travellers; ++t) {
    std::mt19937_64 rng{seed + t};
    std::uint64_t sum = 0;
    std::size_t at = t % executors;
    for (std::uint64_t i = 0; i < hops_each; ++i) {
      std::size_t to = static_cast<std::size_t>(rng() % (executors - 1));
      to += to >= at ? 1 : 0;
      sum = mix(sum, at * executors + to);
      at = to;
    }
    expected_checksum ^= sum;
  }

  cosync::runtime rt{cosync::runtime_config{.executors = executors, .mesh_ring_capacity = 64}};
  auto all = [&]() -> task<std::vector<hop_result>> {
    std::vector<task<hop_result>> tasks;
    for (std::size_t t = 0; t < travellers; ++t) {
      tasks.push_back([](std::size_t start, std::uint64_t s) -> task<hop_result> {
        co_await cosync::switch_to(start);
        co_return co_await traveller(s, executors, hops_each);
      }(t % executors, seed + t));
    }
    co_return co_await cosync::when_all(std::move(tasks));
  };
  const std::vector<hop_result> results = cosync::sync_wait(rt, all());

  std::uint64_t hops = 0;
  std::uint64_t checksum = 0;
  bool where_asked = true;
  for (const hop_result& r : results) {
    hops += r.hops;
    checksum ^= r.checksum;
    where_asked &= r.always_where_asked;
  }
  CHECK(hops == travellers * hops_each);
  CHECK(where_asked);
  CHECK(checksum == expected_checksum);
}

TEST_CASE("many threads feed one inbox and every node arrives once, in each sender's order",
          "[inbox][stress]") {
  struct node {
    node* next = nullptr;
    std::uint32_t sender = 0;
    std::uint32_t sequence = 0;
  };
  (void)cosync::test::stress_seed("mpsc_inbox stress");
  constexpr std::uint32_t senders = 4;
  constexpr std::uint32_t per_sender = 200'000;
  std::vector<node> nodes(senders * per_sender);
  cosync::detail::mpsc_inbox<node> inbox;
  std::vector<std::thread> threads;
  for (std::uint32_t s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      for (std::uint32_t i = 0; i < per_sender; ++i) {
        node& n = nodes[s * per_sender + i];
        n.sender = s;
        n.sequence = i;
        inbox.push(&n);
      }
    });
  }
  std::vector<std::uint32_t> next(senders, 0);
  std::uint64_t received = 0;
  bool in_order = true;
  cosync::test::spin_wait wait;
  while (received < std::uint64_t{senders} * per_sender) {
    node* n = inbox.take_all();
    if (n == nullptr) {
      wait();
      continue;
    }
    wait.reset();
    for (; n != nullptr; n = n->next) {
      in_order &= n->sequence == next[n->sender];
      ++next[n->sender];
      ++received;
    }
  }
  for (std::thread& t : threads) {
    t.join();
  }
  CHECK(in_order);
  CHECK(received == std::uint64_t{senders} * per_sender);
  CHECK(inbox.take_all() == nullptr);
}

TEST_CASE("a runtime destroyed mid-traffic destroys every hopping coroutine without a leak",
          "[runtime][stress]") {
  (void)cosync::test::stress_seed("shutdown under traffic");
  std::atomic<std::uint64_t> hops{0};
  auto hopper = [](std::atomic<std::uint64_t>& count, std::size_t executors) -> task<void> {
    std::vector<int> owned(16, 7);  // heap memory in the frame: LSan reports it if the frame leaks
    for (std::size_t next = 0;; next = (next + 1) % executors) {
      co_await cosync::switch_to(next);
      count.fetch_add(1, std::memory_order_relaxed);
      if (owned.size() != 16) {
        co_return;
      }
    }
  };
  for (int round = 0; round < 5; ++round) {
    cosync::runtime rt{cosync::runtime_config{.executors = 3, .mesh_ring_capacity = 8}};
    for (std::size_t i = 0; i < 200; ++i) {
      rt.spawn(hopper(hops, 3), i % 3);
    }
    const std::uint64_t before = hops.load();
    while (hops.load() < before + 10'000) {
      std::this_thread::yield();
    }
  }  // each ~runtime with coroutines in ready queues, rings and overflow lists
  CHECK(hops.load() >= 50'000);
}

TEST_CASE("many threads sync_wait on one runtime at once", "[runtime][stress]") {
  (void)cosync::test::stress_seed("concurrent sync_wait");
  cosync::runtime rt{cosync::runtime_config{.executors = 2}};
  auto work = [](int id) -> task<int> {
    co_await cosync::switch_to(static_cast<std::size_t>(id) % 2);
    co_await cosync::yield();
    co_return id * 2;
  };
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const int id = t * 10'000 + i;
        if (cosync::sync_wait(rt, work(id)) != id * 2) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  CHECK(wrong.load() == 0);
}
