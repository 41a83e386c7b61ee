// Linearizability of cosync's channels. Stress tests that count messages miss ordering bugs; a
// Wing & Gong checker (support/history_checker.hpp) searches a recorded history of invocations and
// responses for an order that a sequential channel with Go's semantics could have produced.
// First, the checker itself is validated on hand-written histories that must fail and must pass.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "history_checker.hpp"

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
