// Allocation failures and throwing element types inside a channel's locked steps and a select's
// parking: for every N over a scenario, the N-th allocation on the calling thread fails. Whatever
// throws, nobody is left parked, no value is lost or duplicated beyond the one the caller's code
// refused, and nothing leaks (ASan/LSan in CI).

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include "catch.hpp"
#include "executor.hpp"  // src/: armed_timers()

// ---------------------------------------------------------------- the failing allocator

// NOTE: GCC 12 sees operator delete's free() inlined after new[] and warns of a mismatch; every
// form here goes through the same malloc/free pair, which ASan checks for real.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

thread_local long allocations_until_failure = -1;  // -1: never fail
thread_local bool failure_injected = false;

/// Fails the n-th (0-based) allocation made by this thread from now on, until disarmed.
void fail_allocation(long n) {
  failure_injected = false;
  allocations_until_failure = n;
}

/// Stops injecting; returns whether a failure was injected.
bool stop_failing() {
  allocations_until_failure = -1;
  return failure_injected;
}

}  // namespace

void* operator new(std::size_t size) {
  if (allocations_until_failure >= 0 && allocations_until_failure-- == 0) {
    failure_injected = true;
    throw std::bad_alloc{};
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc{};
}

// Every other form this program may use goes through the two above, so that each allocation is
// counted and each deallocation matches (ASan checks the pairs).
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  try {
    return ::operator new(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return ::operator new(size, tag);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  ::operator delete(p);
}
void operator delete(void* p, std::size_t /*size*/) noexcept {
  ::operator delete(p);
}
void operator delete[](void* p, std::size_t /*size*/) noexcept {
  ::operator delete(p);
}
void operator delete(void* p, const std::nothrow_t& /*tag*/) noexcept {
  ::operator delete(p);
}
void operator delete[](void* p, const std::nothrow_t& /*tag*/) noexcept {
  ::operator delete(p);
}

using cosync::channel;
using cosync::task;
using cosync::try_status;

namespace {

// ---------------------------------------------------------------- hand-driven coroutines

/// A coroutine driven by hand on the test thread: runs eagerly until it parks; a channel resumes
/// it inline (it has no executor).
struct manual {
  struct promise_type {
    manual get_return_object() noexcept {
      return manual{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
  explicit manual(std::coroutine_handle<promise_type> h) noexcept : handle{h} {}
  manual(manual&& other) noexcept : handle{std::exchange(other.handle, {})} {}
  manual& operator=(manual&&) = delete;
  ~manual() {
    if (handle) {
      handle.destroy();
    }
  }
  [[nodiscard]] bool done() const { return handle.done(); }

  std::coroutine_handle<promise_type> handle;
};

// oom: the woken coroutine's own code (building the exception it throws) ran out of memory.
enum class outcome { pending, sent, closed, oom };

manual parked_send(channel<int>& ch, int value, outcome& result) {
  try {
    co_await ch.send(int{value});
    result = outcome::sent;
  } catch (const cosync::channel_closed&) {
    result = outcome::closed;
  } catch (const std::bad_alloc&) {
    result = outcome::oom;
  }
}

}  // namespace

TEST_CASE("close with a failing allocation wakes every parked sender", "[channel][fault][unit]") {
  for (long n = 0;; ++n) {
    channel<int> ch{1};
    REQUIRE(ch.try_send(0) == try_status::ok);
    std::vector<outcome> results(5, outcome::pending);
    std::vector<manual> senders;
    senders.reserve(results.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      senders.push_back(parked_send(ch, static_cast<int>(i) + 1, results[i]));
    }
    fail_allocation(n);
    try {
      ch.close();
    } catch (const std::bad_alloc&) {
    }
    const bool injected = stop_failing();
    for (std::size_t i = 0; i < senders.size(); ++i) {
      INFO("allocation " << n << ", sender " << i);
      CHECK(senders[i].done());
      CHECK((results[i] == outcome::closed || results[i] == outcome::oom));
    }
    CHECK(ch.try_recv() == std::optional<int>{0});
    if (!injected) {
      break;  // close allocates nothing at all: the first round already covered it
    }
  }
}

TEST_CASE("try_recv_n into a back_inserter that cannot grow strands no sender, loses at most its value",
          "[channel][fault][unit]") {
  for (long n = 0;; ++n) {
    channel<int> ch{2};
    REQUIRE(ch.try_send(0) == try_status::ok);
    REQUIRE(ch.try_send(1) == try_status::ok);
    std::vector<outcome> results(3, outcome::pending);
    std::vector<manual> senders;
    senders.reserve(results.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      senders.push_back(parked_send(ch, static_cast<int>(i) + 2, results[i]));  // 2, 3, 4 park
    }
    std::vector<int> got;  // starts without capacity: the first writes allocate
    bool threw = false;
    fail_allocation(n);
    try {
      (void)ch.try_recv_n(std::back_inserter(got), 10);
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    const bool injected = stop_failing();
    INFO("allocation " << n);
    while (auto v = ch.try_recv()) {
      got.push_back(*v);
    }
    for (std::size_t i = 0; i < senders.size(); ++i) {
      CHECK(senders[i].done());
      CHECK(results[i] == outcome::sent);
    }
    // In order, no duplicate, and only the value whose write failed is missing.
    CHECK(std::is_sorted(got.begin(), got.end()));
    CHECK(std::set<int>(got.begin(), got.end()).size() == got.size());
    CHECK(got.size() == (threw ? 4U : 5U));
    if (!injected) {
      break;
    }
  }
}

namespace {

/// Moves construct without throwing (a channel requires that) but move-assign throws on demand.
struct touchy {
  static inline int assignments_until_throw = -1;
  int value = 0;
  explicit touchy(int v = 0) noexcept : value{v} {}
  touchy(touchy&& other) noexcept : value{other.value} {}
  touchy& operator=(touchy&& other) {
    if (assignments_until_throw >= 0 && assignments_until_throw-- == 0) {
      throw std::runtime_error("touchy");
    }
    value = other.value;
    return *this;
  }
};

manual parked_touchy_send(channel<touchy>& ch, int value, outcome& result) {
  try {
    co_await ch.send(touchy{value});
    result = outcome::sent;
  } catch (const cosync::channel_closed&) {
    result = outcome::closed;
  }
}

}  // namespace

TEST_CASE("try_recv_n whose element assignment throws strands no sender", "[channel][fault][unit]") {
  for (int k = 0; k < 5; ++k) {
    channel<touchy> ch{2};
    REQUIRE(ch.try_send(touchy{0}) == try_status::ok);
    REQUIRE(ch.try_send(touchy{1}) == try_status::ok);
    std::vector<outcome> results(3, outcome::pending);
    std::vector<manual> senders;
    senders.reserve(results.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      senders.push_back(parked_touchy_send(ch, static_cast<int>(i) + 2, results[i]));
    }
    std::vector<touchy> out(10);
    touchy::assignments_until_throw = k;
    std::size_t written = 0;
    bool threw = false;
    try {
      written = ch.try_recv_n(out.begin(), out.size());
    } catch (const std::runtime_error&) {
      threw = true;
      written = static_cast<std::size_t>(k);
    }
    touchy::assignments_until_throw = -1;
    INFO("assignment " << k << " throws");
    CHECK(threw);
    std::vector<int> got;
    for (std::size_t i = 0; i < written; ++i) {
      got.push_back(out[i].value);
    }
    touchy rest;
    while (ch.try_recv(rest) == try_status::ok) {
      got.push_back(rest.value);
    }
    for (std::size_t i = 0; i < senders.size(); ++i) {
      CHECK(senders[i].done());
      CHECK(results[i] == outcome::sent);
    }
    CHECK(std::is_sorted(got.begin(), got.end()));
    CHECK(got.size() == 4U);  // the one whose assignment threw is gone; nothing else
  }
}

TEST_CASE("a select whose timer cannot be armed withdraws its cases and throws bad_alloc",
          "[select][fault][unit]") {
  for (long n = 0;; ++n) {
    cosync::runtime rt{cosync::runtime_config{.executors = 1}};  // a fresh, empty timer heap
    auto scenario = [](long fail_at) -> task<bool> {
      channel<int> ch{1};
      bool threw = false;
      fail_allocation(fail_at);  // on this executor's thread
      try {
        auto r = co_await cosync::select(ch.recv(), cosync::after(std::chrono::milliseconds{1}));
        CHECK(r.index() == 1);
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      const bool injected = stop_failing();
      // The receive case was withdrawn: a value sent now stays in the channel, and no timer is left.
      CHECK(ch.try_send(7) == try_status::ok);
      CHECK(ch.try_recv() == std::optional<int>{7});
      CHECK(cosync::detail::current_executor()->armed_timers() == 0);
      CHECK(threw == injected);
      co_return injected;
    };
    INFO("allocation " << n);
    if (!cosync::sync_wait(rt, scenario(n))) {
      break;
    }
  }
}
