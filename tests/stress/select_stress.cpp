// Selects racing everything at once: on three executors, selecting consumers (with a short
// timeout case, so timers fire mid-race), selecting producers (send cases on every channel plus a
// timeout: a send that loses or times out is retried with the very same value), plain producers
// and plain consumers share channels of random capacities (0, 1, 4), and one channel is closed
// mid-stream. Every value whose send succeeded is received exactly once (count and sum), and no
// timer is left armed at the end. Seeded (prints its seed); runs under TSan and ASan in CI.

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/select_set.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "catch.hpp"
#include "executor.hpp"
#include "stress.hpp"

using cosync::task;
using u64 = std::uint64_t;

namespace {

struct tally {
  u64 count = 0;
  u64 sum = 0;
  u64 timeouts = 0;

  void add(u64 v) {
    ++count;
    sum += v;
  }
  tally& operator+=(const tally& t) {
    count += t.count;
    sum += t.sum;
    timeouts += t.timeouts;
    return *this;
  }
};

constexpr std::size_t executors = 3;
constexpr std::size_t channels = 3;
constexpr u64 per_producer = 1000;

void run_round(std::mt19937_64& rng) {
  const std::size_t capacities[] = {0, 1, 4};
  std::array<std::size_t, channels> capacity{};
  for (auto& c : capacity) {
    c = capacities[rng() % std::size(capacities)];
  }
  const u64 round_seed = rng();
  const auto close_after = std::chrono::microseconds{200 + rng() % 2000};
  INFO("capacities " << capacity[0] << ' ' << capacity[1] << ' ' << capacity[2]);

  std::vector<std::unique_ptr<cosync::channel<u64>>> ch;
  for (std::size_t c : capacity) {
    ch.push_back(std::make_unique<cosync::channel<u64>>(c));
  }
  cosync::runtime rt{cosync::runtime_config{.executors = executors}};

  // Channels 0 and 1 stay open until every producer is done; channel 2 closes mid-stream.
  auto plain_producer = [&](u64 id) -> task<tally> {
    co_await cosync::switch_to(id % executors);
    std::mt19937_64 r{round_seed + id};
    tally t;
    for (u64 j = 0; j < per_producer; ++j) {
      const u64 v = (id << 32) | j;
      for (;;) {
        try {
          co_await ch[r() % channels]->send(u64{v});
          t.add(v);
          break;
        } catch (const cosync::channel_closed&) {
        }
      }
    }
    co_return t;
  };
  // A select whose case is a closed channel completes at once, every time (as in Go): like any
  // coroutine that never suspends, a loop around it would starve its executor. So, as real code
  // must, the selecting parties drop a channel from their select once they see it closed.
  auto selecting_producer = [&](u64 id) -> task<tally> {
    co_await cosync::switch_to(id % executors);
    std::mt19937_64 r{round_seed + id};
    tally t;
    bool two_closed = false;
    for (u64 j = 0; j < per_producer; ++j) {
      u64 v = (id << 32) | j;
      for (;;) {
        const auto timeout = std::chrono::microseconds{r() % 50};
        try {
          bool timed_out = false;
          if (two_closed) {
            timed_out = (co_await cosync::select(ch[0]->send(std::move(v)), ch[1]->send(std::move(v)),
                                                 cosync::after(timeout)))
                            .index() == 2;
          } else {
            timed_out = (co_await cosync::select(ch[0]->send(std::move(v)), ch[1]->send(std::move(v)),
                                                 ch[2]->send(std::move(v)), cosync::after(timeout)))
                            .index() == 3;
          }
          if (timed_out) {
            ++t.timeouts;
            continue;  // timed out: v is still ours, try again
          }
          t.add(v);
          break;
        } catch (const cosync::channel_closed&) {  // won by the closed channel's case: v kept
          two_closed = true;
        }
      }
    }
    co_return t;
  };
  auto plain_consumer = [&](std::size_t which, u64 id) -> task<tally> {
    co_await cosync::switch_to(id % executors);
    tally t;
    while (auto v = co_await ch[which]->recv()) {
      t.add(*v);
    }
    co_return t;
  };
  auto selecting_consumer = [&](u64 id) -> task<tally> {
    co_await cosync::switch_to(id % executors);
    std::mt19937_64 r{round_seed + id};
    tally t;
    std::array<bool, channels> drained{};
    while (!(drained[0] && drained[1] && drained[2])) {
      const auto timeout = std::chrono::microseconds{r() % 100};
      std::size_t won = 0;
      std::optional<u64> v;
      if (drained[2]) {  // (0 and 1 close only once every producer is done)
        auto res = co_await cosync::select(ch[0]->recv(), ch[1]->recv(), cosync::after(timeout));
        won = res.index() == 2 ? 3 : res.index();
        v = won == 0 ? get<0>(res) : won == 1 ? get<1>(res) : std::nullopt;
      } else {
        auto res =
            co_await cosync::select(ch[0]->recv(), ch[1]->recv(), ch[2]->recv(), cosync::after(timeout));
        won = res.index();
        v = won == 0 ? get<0>(res) : won == 1 ? get<1>(res) : won == 2 ? get<2>(res) : std::nullopt;
      }
      if (won == 3) {
        ++t.timeouts;
      } else if (v) {
        t.add(*v);
      } else {
        drained[won] = true;
      }
    }
    co_return t;
  };
  auto closer = [&]() -> task<void> {
    co_await cosync::switch_to(2);
    co_await cosync::sleep_for(close_after);
    ch[2]->close();
  };
  auto produce = [&]() -> task<tally> {
    std::vector<task<tally>> ps;
    for (u64 id = 0; id < 3; ++id) {
      ps.push_back(plain_producer(id));
    }
    for (u64 id = 3; id < 6; ++id) {
      ps.push_back(selecting_producer(id));
    }
    tally sent;
    for (const tally& t : co_await cosync::when_all(std::move(ps))) {
      sent += t;
    }
    for (auto& c : ch) {
      c->close();
    }
    co_return sent;
  };
  auto consume = [&]() -> task<tally> {
    std::vector<task<tally>> cs;
    for (u64 id = 10; id < 13; ++id) {
      cs.push_back(selecting_consumer(id));
    }
    cs.push_back(plain_consumer(0, 13));
    cs.push_back(plain_consumer(2, 14));
    tally received;
    for (const tally& t : co_await cosync::when_all(std::move(cs))) {
      received += t;
    }
    co_return received;
  };
  auto everything = [&]() -> task<std::pair<tally, tally>> {
    auto [sent, received, ignored] = co_await cosync::when_all(produce(), consume(), closer());
    co_return std::pair{sent, received};
  };
  auto armed_everywhere = [&]() -> task<std::size_t> {
    std::size_t armed = 0;
    for (std::size_t e = 0; e < executors; ++e) {
      co_await cosync::switch_to(e);
      armed += cosync::detail::current_executor()->armed_timers();
    }
    co_return armed;
  };
  const auto [sent, received] = cosync::sync_wait(rt, everything());
  CHECK(received.count == sent.count);
  CHECK(received.sum == sent.sum);
  CHECK(sent.count == 6 * per_producer);  // every producer got every value out eventually
  CHECK(cosync::sync_wait(rt, armed_everywhere()) == 0);
}

}  // namespace

TEST_CASE("selects, plain operations, timeouts and a close race without losing or duplicating a value",
          "[select][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("select stress")};
  for (int round = 0; round < 6; ++round) {
    run_round(rng);
  }
}

namespace {

// SPSC channels in selects: a producer per channel on executor 1 sends through plain sends and
// through selects of a send case against a short timer (a send that loses is retried with the
// same value), then closes its channel; one consumer on executor 0 selects over the receives of
// the channels still open, an MPMC channel and a timer, through a select_set rebuilt every round,
// and some of its selects are cut short by move_on_after (a cancelled select consumed nothing; a
// select whose case had won returns its value).
void run_spsc_round(std::mt19937_64& rng) {
  constexpr std::size_t spsc_channels = 3;
  constexpr u64 per_channel = 2000;
  const u64 round_seed = rng();
  std::vector<std::unique_ptr<cosync::spsc_channel<u64>>> spsc;
  for (std::size_t i = 0; i < spsc_channels; ++i) {
    spsc.push_back(std::make_unique<cosync::spsc_channel<u64>>(1 + rng() % 2));
  }
  cosync::channel<u64> mpmc{1};
  cosync::runtime rt{cosync::runtime_config{.executors = 2}};

  auto producer = [&](std::size_t c) -> task<tally> {
    co_await cosync::switch_to(1);
    std::mt19937_64 r{round_seed + c};
    tally t;
    for (u64 j = 0; j < per_channel; ++j) {
      const u64 v = (u64{c + 1} << 32) | j;
      if (r() % 2 == 0) {
        co_await spsc[c]->send(u64{v});
      } else {
        auto value = v;
        for (;;) {
          auto sent = co_await cosync::select(spsc[c]->send(std::move(value)),
                                              cosync::after(std::chrono::microseconds{20}));
          if (sent.index() == 0) {
            break;
          }
          ++t.timeouts;  // lost to the timer: `value` was given back, retried as it is
        }
      }
      t.add(v);
    }
    spsc[c]->close();
    co_return t;
  };
  auto mpmc_producer = [&]() -> task<tally> {
    co_await cosync::switch_to(1);
    tally t;
    for (u64 j = 0; j < per_channel; ++j) {
      co_await mpmc.send(u64{j});
      t.add(j);
    }
    mpmc.close();
    co_return t;
  };
  auto consumer = [&]() -> task<tally> {
    std::mt19937_64 r{round_seed ^ 0x5eed};
    tally t;
    std::vector<bool> open(spsc_channels + 1, true);
    auto any_open = [&] { return std::find(open.begin(), open.end(), true) != open.end(); };
    auto one_select = [&]() -> task<std::optional<u64>> {
      cosync::select_set set;
      std::vector<std::size_t> which;  // set index -> channel (spsc_channels = the MPMC one)
      std::vector<cosync::select_set::case_id<std::optional<u64>>> ids;
      for (std::size_t c = 0; c <= spsc_channels; ++c) {
        if (open[c]) {
          ids.push_back(c < spsc_channels ? set.add(spsc[c]->recv()) : set.add(mpmc.recv()));
          which.push_back(c);
        }
      }
      const auto timeout = set.add(cosync::after(std::chrono::microseconds{50}));
      const std::size_t won = co_await set.select();
      if (won == timeout.index) {
        co_return std::nullopt;
      }
      std::optional<u64> v = set.take(ids[won]);
      if (!v) {
        open[which[won]] = false;  // closed and drained
      }
      co_return v;
    };
    while (any_open()) {
      std::optional<u64> v;
      if (r() % 4 == 0) {  // cut short: a cancelled select consumed nothing
        if (auto got = co_await cosync::move_on_after(std::chrono::microseconds{r() % 30}, one_select())) {
          v = *got;
        } else {
          ++t.timeouts;
        }
      } else {
        v = co_await one_select();
      }
      if (v) {
        t.add(*v);
      }
    }
    co_return t;
  };
  auto all_producers = [&]() -> task<tally> {
    std::vector<task<tally>> producers;
    for (std::size_t c = 0; c < spsc_channels; ++c) {
      producers.push_back(producer(c));
    }
    producers.push_back(mpmc_producer());
    tally total;
    for (const tally& p : co_await cosync::when_all(std::move(producers))) {
      total += p;
    }
    co_return total;
  };
  auto run_all = [&]() -> task<std::pair<tally, tally>> {
    auto [sent, received] = co_await cosync::when_all(all_producers(), consumer());
    co_return std::pair{sent, received};
  };
  const auto [sent, received] = cosync::sync_wait(rt, run_all());
  CHECK(received.count == sent.count);
  CHECK(received.sum == sent.sum);
  CHECK(sent.count == (spsc_channels + 1) * per_channel);
}

}  // namespace

TEST_CASE("selects over spsc_channel cases, select_sets and cancellations lose and duplicate nothing",
          "[select][spsc_channel][stress]") {
  std::mt19937_64 rng{cosync::test::stress_seed("spsc select stress")};
  for (int round = 0; round < 4; ++round) {
    run_spsc_round(rng);
  }
}
