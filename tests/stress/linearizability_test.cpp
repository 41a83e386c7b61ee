// Linearizability of cosync's channels. Stress tests that count messages miss ordering bugs; here
// thousands of small random scenarios — 2 or 3 coroutines on two executors, each doing a few
// random operations (blocking and try sends and receives, selects, close) on one channel of
// capacity 0–3 — record a history of invocations and responses, and a Wing & Gong checker
// (support/history_checker.hpp) searches for an order of it that a sequential channel with Go's
// semantics could have produced. Operations still parked once the system is quiescent are then
// cancelled and must have been genuinely blocked (that catches a missed wakeup).
//
// Quiescence is found without sleeping: a probe hops 0 -> 1 -> 0, yielding on each executor,
// until the history clock has not moved over a whole round trip. Every coroutine made runnable
// before the probe left runs before the probe comes back (ready queues and mesh rings are FIFO),
// and each one stamps the clock as soon as it runs, so a still clock means everybody has finished
// or is parked. A scenario that never gets there (an executor stuck in a loop) is caught by a
// watchdog, which prints the scenario and its history so far, then aborts.
//
// First, the checker itself is validated on hand-written histories that must fail and must pass.
// Seeded (prints its seed); COSYNC_LINEARIZABILITY_ROUNDS overrides the number of scenarios.

#include <cosync/channel.hpp>
#include <cosync/error.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "history_checker.hpp"
#include "stress.hpp"

using cosync::task;
using cosync::test::history;
using cosync::test::op_kind;
using cosync::test::operation;
using cosync::test::outcome;
using u64 = std::uint64_t;

// ---------------------------------------------------------------- the checker, on known histories

namespace {

// Hand-written operations: [invoked, responded] on a made-up clock; `pending_*` never responded.
operation op(op_kind kind, u64 value, u64 invoked, u64 responded, outcome result, u64 received = 0) {
  return {.kind = kind,
          .value = value,
          .result = result,
          .received = received,
          .actor = 0,
          .invoked = invoked,
          .responded = responded};
}
operation send(u64 v, u64 a, u64 b, outcome r = outcome::sent) {
  return op(op_kind::send, v, a, b, r);
}
operation recv(u64 a, u64 b, u64 got) {
  return op(op_kind::recv, 0, a, b, outcome::received, got);
}
operation recv_nullopt(u64 a, u64 b) {
  return op(op_kind::recv, 0, a, b, outcome::drained);
}
operation try_send(u64 v, u64 a, u64 b, outcome r = outcome::sent) {
  return op(op_kind::try_send, v, a, b, r);
}
operation try_recv(u64 a, u64 b, u64 got) {
  return op(op_kind::try_recv, 0, a, b, outcome::received, got);
}
operation try_recv_empty(u64 a, u64 b) {
  return op(op_kind::try_recv, 0, a, b, outcome::empty);
}
operation close(u64 a, u64 b) {
  return op(op_kind::close, 0, a, b, outcome::done);
}
operation pending_send(u64 v, u64 a) {
  return op(op_kind::send, v, a, 0, outcome::pending);
}
operation pending_recv(u64 a) {
  return op(op_kind::recv, 0, a, 0, outcome::pending);
}

bool linearizable(std::size_t capacity, std::vector<operation> ops) {
  const cosync::test::verdict v = cosync::test::check_linearizable(history{capacity, std::move(ops)});
  INFO(v.explanation);
  CHECK(v.explanation.empty() == v.linearizable);
  return v.linearizable;
}

}  // namespace

TEST_CASE("the history checker rejects histories no channel could produce", "[linearizability][checker]") {
  SECTION("a value received twice") {
    CHECK_FALSE(linearizable(1, {send(1, 1, 2), recv(3, 4, 1), recv(5, 6, 1)}));
    CHECK_FALSE(linearizable(0, {send(1, 1, 6), recv(2, 5, 1), recv(3, 4, 1)}));
  }
  SECTION("a value never sent") {
    CHECK_FALSE(linearizable(1, {recv(1, 2, 7)}));
    CHECK_FALSE(linearizable(2, {send(1, 1, 2, outcome::send_closed), close(3, 4), recv(5, 6, 1)}));
  }
  SECTION("FIFO order reversed") {
    CHECK_FALSE(linearizable(2, {send(1, 1, 2), send(2, 3, 4), recv(5, 6, 2), recv(7, 8, 1)}));
  }
  SECTION("nullopt before close, or before the buffer is drained") {
    CHECK_FALSE(linearizable(1, {recv_nullopt(1, 2), close(3, 4)}));
    CHECK_FALSE(linearizable(1, {send(1, 1, 2), close(3, 4), recv_nullopt(5, 6)}));
  }
  SECTION("a send after close that succeeded; one before close that failed") {
    CHECK_FALSE(linearizable(1, {close(1, 2), send(1, 3, 4)}));
    CHECK_FALSE(linearizable(1, {send(1, 1, 2, outcome::send_closed), close(3, 4)}));
  }
  SECTION("a rendezvous send that nobody received") {
    CHECK_FALSE(linearizable(0, {send(1, 1, 2)}));
    CHECK_FALSE(linearizable(0, {send(1, 1, 2), recv(3, 4, 1)}));  // they never overlapped
  }
  SECTION("two non-blocking operations never meet at capacity 0") {
    CHECK_FALSE(linearizable(0, {try_send(1, 1, 4), try_recv(2, 3, 1)}));
  }
  SECTION("full with room, empty with a value") {
    CHECK_FALSE(linearizable(2, {send(1, 1, 2), try_send(2, 3, 4, outcome::full)}));
    CHECK_FALSE(linearizable(1, {send(1, 1, 2), try_recv_empty(3, 4)}));
    CHECK_FALSE(linearizable(0, {close(1, 2), try_recv_empty(3, 4)}));
  }
  SECTION("a missed wakeup: a receive parked while a value sits in the buffer") {
    CHECK_FALSE(linearizable(1, {pending_recv(1), send(1, 2, 3)}));
    CHECK_FALSE(linearizable(3, {send(1, 1, 2), pending_recv(3)}));
  }
  SECTION("a missed wakeup: a send parked with room, or parked on a closed channel") {
    CHECK_FALSE(linearizable(2, {send(1, 1, 2), pending_send(2, 3)}));
    CHECK_FALSE(linearizable(1, {send(1, 1, 2), pending_send(2, 3), close(4, 5)}));
    CHECK_FALSE(linearizable(0, {pending_send(1, 1), close(2, 3)}));
  }
  SECTION("a missed wakeup: a send and a receive both parked at capacity 0") {
    CHECK_FALSE(linearizable(0, {pending_send(1, 1), pending_recv(2)}));
    CHECK_FALSE(linearizable(0, {op(op_kind::select_send_recv, 1, 1, 0, outcome::pending),
                                 op(op_kind::select_send_recv, 2, 2, 0, outcome::pending)}));
  }
  SECTION("a select of a send and a receive parked although one of them is always ready") {
    CHECK_FALSE(linearizable(2, {op(op_kind::select_send_recv, 1, 1, 0, outcome::pending)}));
  }
  SECTION("a non-blocking operation that never returned") {
    CHECK_FALSE(linearizable(1, {op(op_kind::try_recv, 0, 1, 0, outcome::pending)}));
  }
  SECTION("a select outcome of the wrong case, and a malformed history") {
    CHECK_FALSE(linearizable(1, {op(op_kind::select_recv_default, 0, 1, 2, outcome::full)}));
    CHECK_FALSE(linearizable(1, {send(1, 1, 2), send(1, 3, 4)}));  // the same value sent twice
  }
}

TEST_CASE("the history checker accepts every history some order explains", "[linearizability][checker]") {
  SECTION("overlapping operations, in either order") {
    CHECK(linearizable(1, {send(1, 1, 4), recv(2, 3, 1)}));  // the receive returns first
    CHECK(linearizable(2, {send(1, 1, 5), send(2, 2, 6), recv(7, 8, 2), recv(9, 10, 1)}));
    CHECK(linearizable(2, {send(1, 1, 5), send(2, 2, 6), recv(7, 8, 1), recv(9, 10, 2)}));
    CHECK(linearizable(1, {send(1, 1, 10), try_recv_empty(2, 3), recv(4, 11, 1)}));
  }
  SECTION("only a later choice explains it: the search backtracks") {
    // send(1) and send(2) overlap; the buffer of 1 forces send(2) first, since recv -> 2
    // finishes before send(1) does.
    CHECK(linearizable(1, {send(1, 1, 8), send(2, 2, 5), recv(3, 6, 2), recv(9, 10, 1)}));
  }
  SECTION("rendezvous pairs at capacity 0") {
    CHECK(linearizable(0, {send(1, 1, 4), recv(2, 3, 1)}));
    CHECK(linearizable(0, {send(1, 1, 4), recv(2, 6, 1), send(2, 5, 8), recv(7, 9, 2)}));
    CHECK(linearizable(0, {try_send(1, 2, 3), recv(1, 4, 1)}));
    CHECK(linearizable(0, {send(1, 1, 4), try_recv(2, 3, 1)}));
    CHECK(linearizable(0, {op(op_kind::select_send_recv, 1, 1, 4, outcome::received, 2),
                           op(op_kind::select_send_recv, 2, 2, 3, outcome::sent)}));
    CHECK(linearizable(0, {try_send(1, 1, 2, outcome::full), try_recv_empty(3, 4), pending_recv(5)}));
  }
  SECTION("close racing sends, then the buffer drains") {
    CHECK(linearizable(1, {send(1, 1, 6), send(2, 2, 7, outcome::send_closed), close(3, 4), recv(8, 9, 1),
                           recv_nullopt(10, 11)}));
    CHECK(
        linearizable(0, {send(1, 1, 5, outcome::send_closed), close(2, 3), close(4, 6), recv_nullopt(7, 8)}));
  }
  SECTION("pending operations that were genuinely blocked") {
    CHECK(linearizable(1, {send(1, 1, 2), pending_send(2, 3)}));
    CHECK(linearizable(1, {pending_recv(1), send(1, 2, 4), recv(3, 5, 1)}));
    CHECK(linearizable(0, {pending_recv(1), pending_recv(2), try_send(1, 3, 4, outcome::full)}));
    CHECK(linearizable(0, {op(op_kind::select_send_recv, 1, 1, 0, outcome::pending)}));
  }
  SECTION("selects with a default case behave like try operations") {
    CHECK(linearizable(1, {op(op_kind::select_recv_default, 0, 1, 2, outcome::empty), send(1, 3, 4),
                           op(op_kind::select_recv_default, 0, 5, 6, outcome::received, 1)}));
    CHECK(linearizable(1, {send(1, 1, 2), op(op_kind::select_send_default, 2, 3, 4, outcome::full)}));
  }
}

TEST_CASE("the history checker's report shows the history", "[linearizability][checker]") {
  const cosync::test::verdict v =
      cosync::test::check_linearizable(history{1, {pending_recv(1), send(5, 2, 3)}});
  CHECK_FALSE(v.linearizable);
  CHECK(v.explanation.find("missed wakeup") != std::string::npos);
  CHECK(v.explanation.find("recv() -> PENDING") != std::string::npos);
  CHECK(v.explanation.find("send(5) -> sent") != std::string::npos);
}

// ---------------------------------------------------------------- random scenarios

namespace {

constexpr std::size_t executors = 2;

struct planned_op {
  op_kind kind;
  u64 value;        // for the sending kinds
  unsigned jitter;  // pauses before it, so that the two executors interleave differently
};

struct actor_plan {
  std::size_t executor;
  std::vector<planned_op> ops;
};

struct scenario {
  std::size_t capacity;
  std::vector<actor_plan> actors;
};

// Lines the actors of both executors up before their first operation (a bounded wait: an executor
// may be slow to wake up, and two actors on one executor cannot wait for each other).
struct start_gate {
  std::atomic<unsigned> arrived{0};  // one bit per executor
  unsigned expected = 0;

  void pass(std::size_t executor) {
    arrived.fetch_or(1u << executor, std::memory_order_relaxed);
    cosync::test::spin_wait spin;
    for (int i = 0; i < 4000 && arrived.load(std::memory_order_relaxed) != expected; ++i) {
      spin();
    }
  }
};

void jitter_pause(unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }
}

// A select on an MPMC channel (spsc_channel has no select support).
task<void> perform_select(cosync::channel<u64>& ch, const planned_op& p, operation& rec) {
  u64 v = p.value;
  try {
    if (p.kind == op_kind::select_send_recv) {
      auto r = co_await cosync::select(ch.send(std::move(v)), ch.recv());
      const std::optional<u64> got = r.index() == 1 ? std::get<1>(r) : std::nullopt;
      rec.result = r.index() == 0 ? outcome::sent : got ? outcome::received : outcome::drained;
      rec.received = got.value_or(0);
    } else if (p.kind == op_kind::select_recv_default) {
      auto r = co_await cosync::select(ch.recv(), cosync::default_case);
      const std::optional<u64> got = r.index() == 0 ? std::get<0>(r) : std::nullopt;
      rec.result = r.index() == 1 ? outcome::empty : got ? outcome::received : outcome::drained;
      rec.received = got.value_or(0);
    } else {
      auto r = co_await cosync::select(ch.send(std::move(v)), cosync::default_case);
      rec.result = r.index() == 0 ? outcome::sent : outcome::full;
    }
  } catch (const cosync::channel_closed&) {  // a send case won on a closed channel
    rec.result = outcome::send_closed;
  }
}

// One operation, stamped and recorded into `rec`; cosync::cancelled escapes (it stays pending).
template <class Channel>
task<void> perform(Channel& ch, const planned_op& p, operation& rec) {
  rec.invoked = cosync::test::history_stamp();
  switch (p.kind) {
    case op_kind::send: {
      u64 v = p.value;
      try {
        co_await ch.send(std::move(v));
        rec.result = outcome::sent;
      } catch (const cosync::channel_closed&) {
        rec.result = outcome::send_closed;
      }
      break;
    }
    case op_kind::recv: {
      const std::optional<u64> got = co_await ch.recv();
      rec.result = got ? outcome::received : outcome::drained;
      rec.received = got.value_or(0);
      break;
    }
    case op_kind::try_send: {
      const cosync::try_status s = ch.try_send(u64{p.value});
      rec.result = s == cosync::try_status::ok     ? outcome::sent
                   : s == cosync::try_status::full ? outcome::full
                                                   : outcome::send_closed;
      break;
    }
    case op_kind::try_recv: {
      u64 got = 0;
      const cosync::try_status s = ch.try_recv(got);
      rec.result = s == cosync::try_status::ok      ? outcome::received
                   : s == cosync::try_status::empty ? outcome::empty
                                                    : outcome::drained;
      rec.received = got;
      break;
    }
    case op_kind::close:
      ch.close();
      rec.result = outcome::done;
      break;
    default:
      if constexpr (std::is_same_v<Channel, cosync::channel<u64>>) {
        co_await perform_select(ch, p, rec);
        break;
      } else {
        throw cosync::usage_error("spsc_channel has no select support");
      }
  }
  rec.responded = cosync::test::history_stamp();
}

// What one actor has done: ops[i] is its i-th planned operation; ops[0, done) are final, so the
// watchdog may read them while the actor still runs.
struct actor_log {
  std::vector<operation> ops;
  std::atomic<std::size_t> done{0};
};

// One coroutine of a scenario: its operations in order, each logged; an operation cancelled at the
// end (it was parked) stays pending and ends the actor.
template <class Channel>
task<void> run_actor(Channel& ch, const actor_plan& plan, std::size_t id, start_gate& gate, actor_log& log) {
  gate.pass(plan.executor);
  for (std::size_t i = 0; i < plan.ops.size(); ++i) {
    const planned_op& p = plan.ops[i];
    jitter_pause(p.jitter);
    operation& rec = log.ops[i];
    rec = {.kind = p.kind, .value = p.value, .actor = id};
    bool cancelled = false;
    try {
      co_await perform(ch, p, rec);
    } catch (const cosync::cancelled&) {
      cancelled = true;
    }
    log.done.store(i + 1, std::memory_order_release);  // release: publishes ops[i] to the watchdog
    if (cancelled) {
      break;
    }
  }
}

// Returns once every actor has finished or is parked (see the file comment).
task<void> until_quiescent() {
  u64 seen = cosync::test::history_clock.load();
  for (;;) {
    co_await cosync::switch_to(0);
    co_await cosync::yield();
    co_await cosync::switch_to(1);
    co_await cosync::yield();
    co_await cosync::switch_to(0);
    co_await cosync::yield();
    const u64 now = cosync::test::history_clock.load();
    if (now == seen) {
      co_return;
    }
    seen = now;
  }
}

std::string describe(const scenario& s) {
  std::string out = "capacity " + std::to_string(s.capacity) + "; actors:";
  for (std::size_t a = 0; a < s.actors.size(); ++a) {
    out += "\n  actor " + std::to_string(a) + " on executor " + std::to_string(s.actors[a].executor) + ":";
    for (const planned_op& p : s.actors[a].ops) {
      out += ' ' + cosync::test::history_detail::call_of({.kind = p.kind, .value = p.value}) + ';';
    }
  }
  return out;
}

// A scenario that does not become quiescent hangs its sync_wait, most likely with an executor
// stuck in a loop: the watchdog then prints the scenario and what its actors have done so far, and
// aborts (the runtime could not be shut down anyway).
class watchdog {
 public:
  explicit watchdog(std::chrono::seconds limit) : limit_{limit}, thread_{[this] { watch(); }} {}
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  ~watchdog() {
    {
      const std::lock_guard lock{mutex_};
      stop_ = true;
    }
    changed_.notify_one();
    thread_.join();
  }

  // Until the returned guard is destroyed: abort, printing `report()`, if it takes too long.
  class [[nodiscard]] armed {
   public:
    explicit armed(watchdog& w) : watchdog_{w} {}
    armed(const armed&) = delete;
    armed& operator=(const armed&) = delete;
    ~armed() { watchdog_.disarm(); }

   private:
    watchdog& watchdog_;
  };
  armed arm(std::function<std::string()> report) {
    const std::lock_guard lock{mutex_};
    report_ = std::move(report);
    ++generation_;
    changed_.notify_one();
    return armed{*this};
  }

 private:
  void disarm() {
    const std::lock_guard lock{mutex_};
    report_ = nullptr;
    ++generation_;
  }

  void watch() {
    std::unique_lock lock{mutex_};
    while (!stop_) {
      const std::size_t generation = generation_;
      if (!changed_.wait_for(lock, limit_, [&] { return stop_ || generation_ != generation; }) && report_) {
        std::fprintf(stderr, "HANG: a scenario did not become quiescent within %llds\n%s\n",
                     static_cast<long long>(limit_.count()), report_().c_str());
        std::fflush(stderr);
        std::abort();
      }
    }
  }

  const std::chrono::seconds limit_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<std::string()> report_;
  std::size_t generation_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

// Runs `s` on a fresh channel: the actors in a task group; once quiescent, the group is cancelled
// (parked operations throw cosync::cancelled) and the merged history is returned.
template <class Channel>
history run_scenario(cosync::runtime& rt, const scenario& s, watchdog& dog, const std::string& title) {
  Channel ch{s.capacity};
  std::vector<actor_log> logs(s.actors.size());
  start_gate gate;
  for (std::size_t i = 0; i < s.actors.size(); ++i) {
    logs[i].ops.resize(s.actors[i].ops.size());
    gate.expected |= 1u << s.actors[i].executor;
  }
  auto so_far = [&] {
    history h{ch.capacity(), {}};
    for (const actor_log& log : logs) {
      const std::size_t done = log.done.load(std::memory_order_acquire);  // acquire: see run_actor
      h.ops.insert(h.ops.end(), log.ops.begin(), log.ops.begin() + static_cast<std::ptrdiff_t>(done));
    }
    return h;
  };
  const watchdog::armed watched = dog.arm([&] {
    std::string in_flight;
    for (std::size_t a = 0; a < logs.size(); ++a) {
      const std::size_t done = logs[a].done.load(std::memory_order_acquire);
      if (done < s.actors[a].ops.size()) {
        in_flight +=
            "\n  actor " + std::to_string(a) + ": operation " + std::to_string(done) + " (or its start)";
      }
    }
    return title + "\n" + describe(s) + "\nnot finished:" + in_flight + "\nfinished " +
           cosync::test::describe(so_far());
  });
  auto body = [&](cosync::task_group& g) -> task<void> {
    for (std::size_t i = 0; i < s.actors.size(); ++i) {
      g.spawn_on(s.actors[i].executor, run_actor(ch, s.actors[i], i, gate, logs[i]));
    }
    co_await until_quiescent();
    g.cancel();
  };
  cosync::sync_wait(rt, cosync::with_task_group(body));
  return so_far();
}

template <class T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& from) {
  return from[rng() % from.size()];
}

planned_op plan_op(std::mt19937_64& rng, op_kind kind, u64& next_value) {
  const bool sends = kind == op_kind::send || kind == op_kind::try_send ||
                     kind == op_kind::select_send_recv || kind == op_kind::select_send_default;
  return {kind, sends ? next_value++ : 0, static_cast<unsigned>(rng() % 4 == 0 ? 0 : rng() % 100)};
}

// MPMC: 2–3 actors, each 2–4 operations of any kind (close rarely) on a channel of capacity 0–3.
scenario plan_mpmc(std::mt19937_64& rng) {
  static const std::vector<op_kind> kinds = {
      op_kind::send,
      op_kind::send,
      op_kind::send,
      op_kind::recv,
      op_kind::recv,
      op_kind::recv,
      op_kind::try_send,
      op_kind::try_send,
      op_kind::try_recv,
      op_kind::try_recv,
      op_kind::select_send_recv,
      op_kind::select_send_recv,
      op_kind::select_recv_default,
      op_kind::select_send_default,
      op_kind::close,
  };
  scenario s{rng() % 4, {}};
  u64 next_value = 1;
  s.actors.resize(2 + rng() % 2);
  for (actor_plan& a : s.actors) {
    a.executor = rng() % executors;
    for (std::size_t n = 2 + rng() % 3; n != 0; --n) {
      a.ops.push_back(plan_op(rng, pick(rng, kinds), next_value));
    }
  }
  return s;
}

// SPSC: one sending actor (sends and try_sends, sometimes a close last) and one receiving actor,
// 2–4 operations each, capacity 1–3 (rounded up to 1, 2 or 4).
scenario plan_spsc(std::mt19937_64& rng) {
  scenario s{1 + rng() % 3, {}};
  u64 next_value = 1;
  s.actors.resize(2);
  actor_plan& sender = s.actors[0];
  actor_plan& receiver = s.actors[1];
  sender.executor = rng() % executors;
  receiver.executor = rng() % executors;
  const std::size_t sends = 2 + rng() % 3;
  for (std::size_t n = 0; n < sends; ++n) {
    const bool close_last = n + 1 == sends && n >= 2 && rng() % 2 == 0;
    const op_kind kind = close_last ? op_kind::close : rng() % 2 == 0 ? op_kind::send : op_kind::try_send;
    sender.ops.push_back(plan_op(rng, kind, next_value));
  }
  for (std::size_t n = 2 + rng() % 3; n != 0; --n) {
    receiver.ops.push_back(plan_op(rng, rng() % 3 == 0 ? op_kind::try_recv : op_kind::recv, next_value));
  }
  return s;
}

// Scenarios per test case: a Debug build runs them in a few seconds; sanitizers run fewer.
std::size_t rounds() {
  if (const char* env = std::getenv("COSYNC_LINEARIZABILITY_ROUNDS"); env != nullptr && *env != '\0') {
    return std::stoul(env);
  }
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  return 2000;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
  return 2000;
#else
  return 4000;
#endif
#else
  return 4000;
#endif
}

struct coverage {
  std::size_t ops = 0;
  std::size_t pending = 0;
  std::size_t received = 0;
  std::size_t closed = 0;  // operations that saw the channel closed
};

template <class Channel>
coverage run_scenarios(const char* name, scenario (*plan)(std::mt19937_64&)) {
  const u64 seed = cosync::test::stress_seed(name);
  std::mt19937_64 rng{seed};
  cosync::runtime rt{cosync::runtime_config{.executors = executors}};
  watchdog dog{std::chrono::seconds{30}};
  coverage seen;
  const std::size_t n = rounds();
  for (std::size_t round = 0; round < n; ++round) {
    const scenario s = plan(rng);
    const history h = run_scenario<Channel>(
        rt, s, dog,
        "seed " + std::to_string(seed) + ", scenario " + std::to_string(round) + " of " + std::to_string(n));
    const cosync::test::verdict v = cosync::test::check_linearizable(h);
    if (!v.linearizable) {
      FAIL("seed " << seed << ", scenario " << round << " of " << n << "\n"
                   << describe(s) << '\n'
                   << v.explanation);
    }
    for (const operation& o : h.ops) {
      ++seen.ops;
      seen.pending += o.result == outcome::pending ? 1 : 0;
      seen.received += o.result == outcome::received ? 1 : 0;
      seen.closed += o.result == outcome::send_closed || o.result == outcome::drained ? 1 : 0;
    }
  }
  return seen;
}

}  // namespace

TEST_CASE("random concurrent scenarios on an MPMC channel are linearizable", "[stress][linearizability]") {
  const coverage c = run_scenarios<cosync::channel<u64>>("linearizability (channel)", plan_mpmc);
  INFO(c.ops << " operations: " << c.pending << " pending, " << c.received << " received, " << c.closed
             << " saw the channel closed");
  CHECK(c.pending > 0);
  CHECK(c.received > 0);
  CHECK(c.closed > 0);
}

TEST_CASE("random concurrent scenarios on an spsc_channel are linearizable", "[stress][linearizability]") {
  const coverage c = run_scenarios<cosync::spsc_channel<u64>>("linearizability (spsc_channel)", plan_spsc);
  INFO(c.ops << " operations: " << c.pending << " pending, " << c.received << " received, " << c.closed
             << " saw the channel closed");
  CHECK(c.pending > 0);
  CHECK(c.received > 0);
  CHECK(c.closed > 0);
}
