#pragma once

// The differential check of cosync::channel against a reference model of Go's channel
// semantics, shared by the seeded randomized unit test (tests/unit/channel_test.cpp) and the
// libFuzzer target (tests/fuzz/channel_fuzz.cpp). On one executor, each awaited send or receive
// runs in its own spawned coroutine that records its outcome; after every operation the driver
// yields until everything runnable has run, then every outcome must match the model's.

#include <cosync/channel.hpp>
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace cosync::test {

// The reference model for the differential test: Go's channel semantics, written plainly.
struct channel_model {
  static constexpr int pending = -1;
  static constexpr int closed_out = -2;  // a send that threw, a recv that returned nullopt
  static constexpr int sent = -3;

  std::size_t capacity;
  std::deque<int> buffer;
  std::deque<std::pair<int, int>> senders;  // (id, value), oldest first
  std::deque<int> receivers;                // ids, oldest first
  bool closed = false;
  std::vector<int> outcome;  // by operation id

  // A send (try or await): returns the try_status, or parks (await) when full.
  try_status send(int id, int v, bool await) {
    if (closed) {
      outcome[static_cast<std::size_t>(id)] = closed_out;
      return try_status::closed;
    }
    if (!receivers.empty()) {
      outcome[static_cast<std::size_t>(receivers.front())] = v;
      receivers.pop_front();
      outcome[static_cast<std::size_t>(id)] = sent;
      return try_status::ok;
    }
    if (senders.empty() && buffer.size() < capacity) {
      buffer.push_back(v);
      outcome[static_cast<std::size_t>(id)] = sent;
      return try_status::ok;
    }
    if (await) {
      senders.emplace_back(id, v);
    }
    return try_status::full;
  }

  // A receive: the value (and ok), or empty/closed; parks (await) when empty and open.
  try_status recv(int id, bool await, int& value) {
    if (!buffer.empty()) {
      value = buffer.front();
      buffer.pop_front();
      if (!senders.empty()) {
        buffer.push_back(senders.front().second);
        outcome[static_cast<std::size_t>(senders.front().first)] = sent;
        senders.pop_front();
      }
    } else if (!senders.empty()) {
      value = senders.front().second;
      outcome[static_cast<std::size_t>(senders.front().first)] = sent;
      senders.pop_front();
    } else if (closed) {
      outcome[static_cast<std::size_t>(id)] = closed_out;
      return try_status::closed;
    } else {
      if (await) {
        receivers.push_back(id);
      }
      return try_status::empty;
    }
    outcome[static_cast<std::size_t>(id)] = value;
    return try_status::ok;
  }

  void close() {
    closed = true;
    for (const auto& [id, v] : senders) {
      outcome[static_cast<std::size_t>(id)] = closed_out;
    }
    for (int id : receivers) {
      outcome[static_cast<std::size_t>(id)] = closed_out;
    }
    senders.clear();
    receivers.clear();
  }
};

/// Runs the operations `next_op` yields (until it returns nullopt) on a fresh channel of
/// `capacity` and on the model; true when every status, value and outcome agreed.
template <class NextOp>
bool channel_agrees_with_model(runtime& rt, std::size_t capacity, NextOp next_op) {
  channel<int> ch{capacity};
  channel_model model{capacity, {}, {}, {}, false, {}};
  std::vector<int> outcome;  // written by the spawned coroutines, read by the driver
  bool mismatch = false;
  auto driver = [&]() -> task<void> {
    auto settle = []() -> task<void> {
      for (int i = 0; i < 4; ++i) {
        co_await yield();
      }
    };
    while (const std::optional<unsigned> op = next_op()) {
      const int id = static_cast<int>(outcome.size());
      outcome.push_back(channel_model::pending);
      model.outcome.push_back(channel_model::pending);
      const unsigned kind = *op % 20;
      if (kind < 6) {  // await send
        (void)model.send(id, id, true);
        rt.spawn([](channel<int>& c, std::vector<int>& out, int i) -> task<void> {
          try {
            co_await c.send(int{i});
            out[static_cast<std::size_t>(i)] = channel_model::sent;
          } catch (const channel_closed&) {
            out[static_cast<std::size_t>(i)] = channel_model::closed_out;
          }
        }(ch, outcome, id));
      } else if (kind < 12) {  // await recv
        int ignored = 0;
        (void)model.recv(id, true, ignored);
        rt.spawn([](channel<int>& c, std::vector<int>& out, int i) -> task<void> {
          auto v = co_await c.recv();
          out[static_cast<std::size_t>(i)] = v ? *v : channel_model::closed_out;
        }(ch, outcome, id));
      } else if (kind < 15) {  // try send
        const try_status expected = model.send(id, id, false);
        const try_status got = ch.try_send(int{id});
        mismatch |= got != expected;
        if (got == try_status::ok) {
          outcome[static_cast<std::size_t>(id)] = channel_model::sent;
        } else if (got == try_status::closed) {
          outcome[static_cast<std::size_t>(id)] = channel_model::closed_out;
        }
      } else if (kind < 19) {  // try recv
        int expected_value = 0;
        const try_status expected = model.recv(id, false, expected_value);
        int got_value = 0;
        const try_status got = ch.try_recv(got_value);
        mismatch |= got != expected || (got == try_status::ok && got_value != expected_value);
        if (got == try_status::ok) {
          outcome[static_cast<std::size_t>(id)] = got_value;
        } else if (got == try_status::closed) {
          outcome[static_cast<std::size_t>(id)] = channel_model::closed_out;
        }
      } else {
        model.close();
        ch.close();
      }
      co_await settle();
      mismatch |= outcome != model.outcome;
    }
    model.close();
    ch.close();  // releases everything still parked
    co_await settle();
    mismatch |= outcome != model.outcome;
  };
  sync_wait(rt, driver());
  return !mismatch;
}

}  // namespace cosync::test
