// The waiting core's extension point, used as a user outside the library would: only public
// headers. A counter whose "reaches(n)" operation implements the case interface of cosync/wait.hpp
// is awaited on its own, selected among channel operations, cancelled and timed out; spsc_channel's
// operations are select cases; a select_set selects over cases chosen at run time.

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/select_set.hpp>
#include <cosync/spsc_channel.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>
#include <cosync/when_all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "await_helpers.hpp"
#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::channel;
using cosync::spsc_channel;
using cosync::task;
using cosync::try_status;
using namespace std::chrono_literals;

namespace {

// A user's primitive: a counter that coroutines can wait on until it reaches a target.
class counter {
 public:
  // The case: completes once the counter is at least `target`, with the value it saw.
  class reach_op {
   public:
    reach_op(counter& c, long target) noexcept : counter_{&c}, target_{target} {}
    reach_op(reach_op&&) noexcept = default;
    reach_op& operator=(reach_op&&) = delete;
    ~reach_op() = default;

   private:
    friend struct cosync::case_access;
    friend counter;

    bool try_complete() noexcept {
      const long now = counter_->value_.load(std::memory_order_acquire);
      return now >= target_ && (seen_ = now, true);
    }
    void* lock_key() const noexcept { return counter_; }
    void lock() { counter_->mutex_.lock(); }
    void unlock() noexcept { counter_->mutex_.unlock(); }
    bool try_complete_locked(cosync::wake_list& /*wake*/) noexcept { return try_complete(); }
    void park(cosync::waiter& w) {
      waiter_ = &w;
      counter_->parked_.push_back(this);  // may throw: nothing registered then
    }
    bool withdraw() {
      const std::lock_guard lock{counter_->mutex_};
      const auto it = std::find(counter_->parked_.begin(), counter_->parked_.end(), this);
      if (it == counter_->parked_.end()) {
        return false;
      }
      counter_->parked_.erase(it);
      return true;
    }
    long result() const noexcept { return seen_; }

    counter* counter_;
    long target_;
    long seen_ = 0;
    cosync::waiter* waiter_ = nullptr;
  };

  cosync::waitable<reach_op> reaches(long target) { return cosync::waitable<reach_op>{*this, target}; }

  // Any thread. Completes every parked wait whose target is now reached (rule 1: out, then claim).
  void add(long n) {
    cosync::wake_list wake;  // declared before the lock: the waits wake once it is released
    const std::lock_guard lock{mutex_};
    const long now = value_.fetch_add(n, std::memory_order_acq_rel) + n;
    std::erase_if(parked_, [&](reach_op* op) {
      if (now < op->target_) {
        return false;
      }
      if (op->waiter_->claim()) {
        op->seen_ = now;
        wake.push(*op->waiter_);
      }
      return true;  // taken out either way: a wait decided elsewhere is only withdrawn
    });
  }

  [[nodiscard]] std::size_t parked() {
    const std::lock_guard lock{mutex_};
    return parked_.size();
  }

 private:
  std::atomic<long> value_{0};
  std::mutex mutex_;
  std::vector<reach_op*> parked_;  // guarded by mutex_
};

static_assert(cosync::select_case<counter::reach_op>);

}  // namespace

COSYNC_TEST_CASE("a user-defined case is awaitable on its own and resumes on its home", "[wait][unit]") {
  counter c;
  const long at_once = co_await c.reaches(0);  // ready at once
  CHECK(at_once == 0);
  const std::size_t home = cosync::this_executor();
  auto waiter = [&]() -> task<long> {
    const long seen = co_await c.reaches(3);
    CHECK(cosync::this_executor() == home);
    co_return seen;
  };
  auto adder = [&]() -> task<void> {
    co_await cosync::switch_to(1 - home);
    for (int i = 0; i < 3; ++i) {
      co_await cosync::sleep_for(1ms);
      c.add(1);
    }
  };
  auto [seen, done] = co_await cosync::when_all(waiter(), adder());
  CHECK(seen == 3);
  CHECK(c.parked() == 0);
}

COSYNC_TEST_CASE("a user-defined case is a select case, and withdrawn when another case wins",
                 "[wait][unit]") {
  counter c;
  channel<int> ch{1};
  auto r = co_await cosync::select(c.reaches(5), ch.recv(), cosync::after(2ms));
  CHECK(r.index() == 2);  // neither the counter nor the channel: the timer
  CHECK(c.parked() == 0);

  auto selector = [&]() -> task<std::size_t> {
    auto won = co_await cosync::select(c.reaches(5), ch.recv());
    co_return won.index();
  };
  auto sender = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    co_await ch.send(1);
  };
  auto [index, sent] = co_await cosync::when_all(selector(), sender());
  CHECK(index == 1);
  CHECK(c.parked() == 0);  // the counter case left the counter

  auto counted = [&]() -> task<long> {
    auto won = co_await cosync::select_ordered(ch.recv(), c.reaches(5));
    co_return get<1>(won);
  };
  auto adder = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    c.add(7);
  };
  auto [seen, added] = co_await cosync::when_all(counted(), adder());
  CHECK(seen == 7);
  CHECK(ch.try_send(3) == try_status::ok);  // the losing recv consumed nothing
  CHECK(ch.try_recv() == std::optional<int>{3});
}

COSYNC_TEST_CASE("a user-defined wait is a cancellation point (timeouts, task groups)", "[wait][unit]") {
  counter c;
  auto wait_for = [&](long target) -> task<long> { co_return co_await c.reaches(target); };
  auto moved_on = co_await cosync::move_on_after(2ms, wait_for(100));
  CHECK_FALSE(moved_on.has_value());
  CHECK(c.parked() == 0);

  const bool threw1 =
      co_await cosync::test::throws<cosync::timed_out>(cosync::with_timeout(2ms, wait_for(100)));
  CHECK(threw1);
  CHECK(c.parked() == 0);

  const bool cancelled = co_await cosync::test::cancelled_while_waiting(c.reaches(100));
  CHECK(cancelled);
  CHECK(c.parked() == 0);
}

COSYNC_TEST_CASE("spsc_channel receives are select cases", "[wait][spsc_channel][unit]") {
  spsc_channel<int> fast{4};
  channel<std::string> control{1};
  CHECK(fast.try_send(1) == try_status::ok);
  auto ready = co_await cosync::select(fast.recv(), control.recv());
  REQUIRE(ready.index() == 0);
  CHECK(get<0>(ready) == std::optional<int>{1});

  // Parked in both, woken by the spsc side from another executor.
  const std::size_t home = cosync::this_executor();
  auto selector = [&]() -> task<int> {
    auto r = co_await cosync::select(fast.recv(), control.recv());
    CHECK(cosync::this_executor() == home);
    co_return r.index() == 0 ? *get<0>(r) : -1;
  };
  auto producer = [&]() -> task<void> {
    co_await cosync::switch_to(1 - home);
    co_await cosync::sleep_for(2ms);
    co_await fast.send(42);
  };
  auto [got, sent] = co_await cosync::when_all(selector(), producer());
  CHECK(got == 42);

  // Parked in both, won by the other channel: the spsc case leaves its spot, a later receive works.
  auto won_elsewhere = [&]() -> task<std::size_t> {
    auto r = co_await cosync::select(fast.recv(), control.recv());
    co_return r.index();
  };
  auto commander = [&]() -> task<void> {
    co_await cosync::sleep_for(2ms);
    co_await control.send("stop");
  };
  auto [index, commanded] = co_await cosync::when_all(won_elsewhere(), commander());
  CHECK(index == 1);
  CHECK(fast.try_send(5) == try_status::ok);
  const std::optional<int> five = co_await fast.recv();
  CHECK(five == std::optional<int>{5});

  // Closed and drained: the recv case wins with nullopt.
  fast.close();
  auto closed = co_await cosync::select(fast.recv(), cosync::after(1h));
  REQUIRE(closed.index() == 0);
  CHECK_FALSE(get<0>(closed).has_value());
}

COSYNC_TEST_CASE("spsc_channel sends are select cases that keep a value they did not send",
                 "[wait][spsc_channel][unit]") {
  spsc_channel<std::unique_ptr<int>> ch{1};
  CHECK(ch.try_send(std::make_unique<int>(1)) == try_status::ok);  // full now
  auto value = std::make_unique<int>(2);
  auto timed = co_await cosync::select(ch.send(std::move(value)), cosync::after(2ms));
  CHECK(timed.index() == 1);
  REQUIRE(value != nullptr);  // given back: the send lost
  CHECK(*value == 2);

  auto selector = [&]() -> task<std::size_t> {
    auto r = co_await cosync::select(ch.send(std::move(value)), cosync::after(1h));
    co_return r.index();
  };
  auto receiver = [&]() -> task<int> {
    co_await cosync::sleep_for(2ms);
    auto first = co_await ch.recv();  // makes room: the parked send case wins
    co_return **first;
  };
  auto [index, first] = co_await cosync::when_all(selector(), receiver());
  CHECK(index == 0);
  CHECK(first == 1);
  CHECK(value == nullptr);
  auto second = co_await ch.recv();
  CHECK(**second == 2);
}

COSYNC_TEST_CASE("a select over spsc cases is cancelled like any select", "[wait][spsc_channel][unit]") {
  spsc_channel<int> a{2};
  spsc_channel<int> b{2};
  auto waiter = [&]() -> task<void> { (void)co_await cosync::select(a.recv(), b.recv()); };
  auto outcome = co_await cosync::move_on_after(2ms, waiter());
  CHECK_FALSE(outcome);
  CHECK(a.try_send(1) == try_status::ok);  // nothing left parked, nothing consumed
  const std::optional<int> one = co_await a.recv();
  CHECK(one == std::optional<int>{1});
  CHECK(b.try_send(2) == try_status::ok);
  const std::optional<int> two = co_await b.recv();
  CHECK(two == std::optional<int>{2});
}

COSYNC_TEST_CASE("a select_set selects over cases chosen at run time, of mixed types",
                 "[wait][select][unit]") {
  std::vector<std::unique_ptr<channel<int>>> inputs;
  for (int i = 0; i < 5; ++i) {
    inputs.push_back(std::make_unique<channel<int>>(1));
  }
  channel<std::string> words{1};
  CHECK(inputs[3]->try_send(30) == try_status::ok);

  {
    cosync::select_set set;
    std::vector<cosync::select_set::case_id<std::optional<int>>> ids;
    for (auto& ch : inputs) {
      ids.push_back(set.add(ch->recv()));
    }
    const auto word = set.add(words.recv());
    const auto timeout = set.add(cosync::after(1h));
    CHECK(set.size() == 7);
    const std::size_t won = co_await set.select();
    CHECK(won == ids[3].index);
    CHECK(set.take(ids[3]) == std::optional<int>{30});
    CHECK_THROWS_AS(set.take(word), cosync::usage_error);  // did not win
    CHECK(timeout.index == 6);
  }

  {  // A timer among them; nothing ready: the timer wins, the others consume nothing.
    cosync::select_set set;
    for (auto& ch : inputs) {
      (void)set.add(ch->recv());
    }
    const auto timeout = set.add(cosync::after(2ms));
    const std::size_t won = co_await set.select();
    CHECK(won == timeout.index);
  }

  {  // A default case makes it non-blocking.
    cosync::select_set set;
    (void)set.add(inputs[0]->recv());
    const auto otherwise = set.add(cosync::default_case);
    CHECK_THROWS_AS(set.add(cosync::default_case), cosync::usage_error);
    const std::size_t won = co_await set.select();
    CHECK(won == otherwise.index);
    const bool threw2 = co_await cosync::test::throws<cosync::usage_error>(set.select());  // selected once
    CHECK(threw2);
  }

  {  // Woken from another executor by a value on one of the channels.
    cosync::select_set set;
    std::vector<cosync::select_set::case_id<std::optional<int>>> ids;
    for (auto& ch : inputs) {
      ids.push_back(set.add(ch->recv()));
    }
    auto sender = [&]() -> task<void> {
      co_await cosync::switch_to(1 - cosync::this_executor());
      co_await cosync::sleep_for(2ms);
      co_await inputs[1]->send(11);
    };
    auto selecting = [&]() -> task<std::size_t> { co_return co_await set.select(); };
    auto [won, sent] = co_await cosync::when_all(selecting(), sender());
    CHECK(won == ids[1].index);
    CHECK(set.take(ids[1]) == std::optional<int>{11});
  }

  cosync::select_set empty;
  const bool threw3 = co_await cosync::test::throws<cosync::usage_error>(empty.select());
  CHECK(threw3);
}

COSYNC_TEST_CASE("a select_set's send cases keep unsent values, and select_ordered gives priority",
                 "[wait][select][unit]") {
  channel<std::unique_ptr<int>> full{1};
  CHECK(full.try_send(std::make_unique<int>(0)) == try_status::ok);
  channel<int> ready{1};
  CHECK(ready.try_send(1) == try_status::ok);

  cosync::select_set set;
  const auto send = set.add(full.send(std::make_unique<int>(9)));
  const auto recv = set.add(ready.recv());
  const std::size_t won = co_await set.select();
  CHECK(won == recv.index);
  std::unique_ptr<int>* kept = set.unsent(send);
  REQUIRE(kept != nullptr);
  CHECK(**kept == 9);

  channel<int> a{1};
  channel<int> b{1};
  for (int round = 0; round < 20; ++round) {
    CHECK(a.try_send(1) == try_status::ok);
    CHECK(b.try_send(2) == try_status::ok);
    cosync::select_set ordered;
    const auto first = ordered.add(b.recv());
    (void)ordered.add(a.recv());
    const std::size_t won_first = co_await ordered.select_ordered();
    CHECK(won_first == first.index);  // b, added first, always wins
    CHECK(a.try_recv() == std::optional<int>{1});
  }

  channel<int> closed{1};
  closed.close();
  cosync::select_set failing;
  (void)failing.add(closed.send(1));
  const bool threw4 = co_await cosync::test::throws<cosync::channel_closed>(failing.select());
  CHECK(threw4);
}
