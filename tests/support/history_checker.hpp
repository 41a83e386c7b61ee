#pragma once

// A linearizability checker for histories of channel operations: Wing & Gong's search, with the
// memoisation of Lowe's "WGL" variant, against a sequential model of a channel with Go's
// semantics. tests/stress/linearizability_test.cpp records histories from small random
// concurrent scenarios and checks them here; the same file feeds it hand-written histories that
// must fail and must pass.
//
// A history is a set of operations, each with an invocation and a response stamp from one global
// clock (history_stamp(): a fetch_add, so stamps are distinct and follow real time — an operation
// whose response stamp is below another's invocation stamp finished before the other started).
// It is linearizable if its completed operations fit in one sequence that respects real time and
// is a legal run of the model, every operation returning what it did return. The search places
// one operation at a time, choosing among those that no unplaced operation finished before (the
// "minimal" ones), and backtracks; it remembers every (operations placed, model state) pair it
// has explored, so it never explores one twice, and it gives up only once every sequence failed.
//
// The model: a FIFO buffer of capacity c and a closed flag.
//   send(v) -> ok          open, room: push v       send(v) -> closed    closed
//   recv()  -> v           v is at the front: pop   recv() -> nullopt    closed, buffer empty
//   try_send(v) -> full    open, buffer full        try_recv() -> empty  open, buffer empty
//   close()                closed (a second close is a no-op)
// At capacity 0 the buffer stays empty and a transfer is a rendezvous: a send that completed ok
// and the receive that got its value are placed as ONE step, both unplaced and both minimal, on an
// open channel. A try_send succeeds only with a blocking receive (recv, or a select without a
// default case) and a try_recv only with a blocking send: two non-blocking operations never meet.
// try_send -> full and try_recv -> empty are always allowed at capacity 0 while the channel is open
// (the model does not track who is parked). At capacity > 0 no pairing is needed: a send handed
// straight to a parked receiver is a push followed by a pop.
//
// Pending operations — still parked when the scenario ended, then cancelled (they threw
// cosync::cancelled, which by cosync's contract means they had no effect) — are left out of the
// sequence. Instead the final state of the sequence must justify that they were still waiting
// (liveness): a pending receive needs an open channel, an empty buffer and, at capacity 0, no
// other pending operation offering a send; a pending send needs an open channel and a full buffer
// or, at capacity 0, no other pending operation offering a receive. That is how a missed wakeup
// shows: a receive left parked while a value sits in the buffer.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace cosync::test {

/// The one clock of every recorded history.
inline std::atomic<std::uint64_t> history_clock{1};

/// A stamp of the history clock: taken right before an operation starts and right after it
/// returns. seq_cst: an operation that finished before another started gets the smaller stamp,
/// and everything it did happens before what the other does.
inline std::uint64_t history_stamp() noexcept {
  return history_clock.fetch_add(1, std::memory_order_seq_cst);
}

/// What an operation was.
enum class op_kind : std::uint8_t {
  send,                 ///< co_await ch.send(v)
  recv,                 ///< co_await ch.recv()
  try_send,             ///< ch.try_send(v)
  try_recv,             ///< ch.try_recv(out)
  close,                ///< ch.close()
  select_send_recv,     ///< co_await select(ch.send(v), ch.recv())
  select_recv_default,  ///< co_await select(ch.recv(), default_case): a try_recv
  select_send_default,  ///< co_await select(ch.send(v), default_case): a try_send
};

/// What an operation returned. For a select, it also says which case won.
enum class outcome : std::uint8_t {
  pending,      ///< still parked at the end, then cancelled: no effect
  sent,         ///< a send (or a select's send case) transferred its value
  send_closed,  ///< a send found the channel closed (channel_closed, or try_status::closed)
  full,         ///< try_send: full; select(send, default): the default case won
  received,     ///< a receive (or a select's receive case) got `operation::received`
  drained,      ///< a receive found the channel closed and drained (nullopt, try_status::closed)
  empty,        ///< try_recv: empty; select(recv, default): the default case won
  done,         ///< close() returned
};

/// One operation of a history.
struct operation {
  op_kind kind = op_kind::close;
  std::uint64_t value = 0;  ///< what a sending operation offers (distinct across a history)
  outcome result = outcome::pending;
  std::uint64_t received = 0;  ///< what a receiving operation got, when result == received
  std::size_t actor = 0;       ///< the coroutine that ran it (for the report only)
  std::uint64_t invoked = 0;
  std::uint64_t responded = 0;  ///< ignored while pending
};

/// The operations of one scenario on one channel.
struct history {
  std::size_t capacity = 0;
  std::vector<operation> ops;
};

/// The checker's answer; on failure, why, with the history written out.
struct verdict {
  bool linearizable = true;
  std::string explanation;
};

namespace history_detail {

inline bool blocking(op_kind k) noexcept {
  return k == op_kind::send || k == op_kind::recv || k == op_kind::select_send_recv;
}

// Whether a pending operation of this kind still offers a send / a receive.
inline bool offers_send(op_kind k) noexcept {
  return k == op_kind::send || k == op_kind::select_send_recv;
}
inline bool offers_recv(op_kind k) noexcept {
  return k == op_kind::recv || k == op_kind::select_send_recv;
}

inline bool sends(op_kind k) noexcept {
  return k == op_kind::send || k == op_kind::try_send || k == op_kind::select_send_recv ||
         k == op_kind::select_send_default;
}

inline bool allowed(op_kind k, outcome r) noexcept {
  switch (k) {
    case op_kind::send:
      return r == outcome::sent || r == outcome::send_closed || r == outcome::pending;
    case op_kind::recv:
      return r == outcome::received || r == outcome::drained || r == outcome::pending;
    case op_kind::try_send:
    case op_kind::select_send_default:
      return r == outcome::sent || r == outcome::send_closed || r == outcome::full;
    case op_kind::try_recv:
    case op_kind::select_recv_default:
      return r == outcome::received || r == outcome::drained || r == outcome::empty;
    case op_kind::close:
      return r == outcome::done;
    case op_kind::select_send_recv:
      return r == outcome::sent || r == outcome::send_closed || r == outcome::received ||
             r == outcome::drained || r == outcome::pending;
  }
  return false;
}

inline std::string call_of(const operation& op) {
  const std::string v = std::to_string(op.value);
  switch (op.kind) {
    case op_kind::send:
      return "send(" + v + ")";
    case op_kind::recv:
      return "recv()";
    case op_kind::try_send:
      return "try_send(" + v + ")";
    case op_kind::try_recv:
      return "try_recv()";
    case op_kind::close:
      return "close()";
    case op_kind::select_send_recv:
      return "select(send(" + v + "), recv())";
    case op_kind::select_recv_default:
      return "select(recv(), default)";
    case op_kind::select_send_default:
      return "select(send(" + v + "), default)";
  }
  return "?";
}

inline std::string result_of(const operation& op) {
  const bool select = op.kind == op_kind::select_send_recv || op.kind == op_kind::select_recv_default ||
                      op.kind == op_kind::select_send_default;
  switch (op.result) {
    case outcome::pending:
      return "PENDING (cancelled at the end)";
    case outcome::sent:
      return select ? "send case: sent" : "sent";
    case outcome::send_closed:
      return select ? "send case: closed" : "closed";
    case outcome::full:
      return select ? "default" : "full";
    case outcome::received:
      return (select ? "recv case: " : "") + std::to_string(op.received);
    case outcome::drained:
      return select ? "recv case: nullopt (closed)" : "nullopt (closed)";
    case outcome::empty:
      return select ? "default" : "empty";
    case outcome::done:
      return "done";
  }
  return "?";
}

}  // namespace history_detail

/// One operation, readably: "send(3) -> sent", "recv() -> PENDING (cancelled at the end)".
inline std::string describe(const operation& op) {
  return history_detail::call_of(op) + " -> " + history_detail::result_of(op);
}

/// The whole history, one operation a line, in invocation order, numbered as the checker's
/// report numbers them.
inline std::string describe(const history& h) {
  std::vector<operation> ops = h.ops;
  std::stable_sort(ops.begin(), ops.end(),
                   [](const operation& a, const operation& b) { return a.invoked < b.invoked; });
  std::ostringstream out;
  out << "history: capacity " << h.capacity << ", " << ops.size()
      << " operations by invocation, [invoked, responded] on the history clock:\n";
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const operation& op = ops[i];
    out << "  #" << i << (i < 10 ? "  " : " ") << "actor " << op.actor << "  [" << op.invoked << ", ";
    if (op.result == outcome::pending) {
      out << "-";
    } else {
      out << op.responded;
    }
    out << "]  " << describe(op) << '\n';
  }
  return out.str();
}

namespace history_detail {

// The search itself (see the file comment). Operations are numbered in invocation order.
class wgl_search {
 public:
  explicit wgl_search(history h) : capacity_{h.capacity}, ops_{std::move(h.ops)} {
    std::stable_sort(ops_.begin(), ops_.end(),
                     [](const operation& a, const operation& b) { return a.invoked < b.invoked; });
  }

  verdict run() {
    if (std::optional<std::string> bad = malformed()) {
      return fail(*bad);
    }
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].result == outcome::pending) {
        pending_.push_back(i);
      } else {
        completed_.push_back(i);
        all_ |= bit(i);
      }
    }
    for (std::size_t i : pending_) {
      if (!blocking(ops_[i].kind)) {
        return fail("#" + std::to_string(i) + " " + call_of(ops_[i]) +
                    " never returned, yet it must not block");
      }
    }
    if (search(0, model{})) {
      return {};
    }
    std::ostringstream why;
    if (!liveness_.empty()) {
      why << "every legal order of the completed operations ends in a state where a pending operation"
             " could have completed (a missed wakeup?): "
          << liveness_;
    } else {
      why << "no legal order of the completed operations exists. Longest legal prefix found ("
          << placed_count(best_) << " of " << completed_.size() << " operations): ";
      write_path(why, best_);
      why << "; the state after it: " << state_of(best_state_) << ". No unplaced operation can go next.";
    }
    return fail(why.str());
  }

 private:
  static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_ops = 64;

  struct model {
    std::vector<std::uint64_t> buffer;  // oldest first
    bool closed = false;
  };

  // One step of a linearization: an operation, and at capacity 0 the send it met.
  struct step {
    std::size_t op;
    std::size_t partner;
  };

  static std::uint64_t bit(std::size_t i) noexcept { return std::uint64_t{1} << i; }

  std::optional<std::string> malformed() {
    if (ops_.size() > max_ops) {
      return "the checker takes at most 64 operations per history";
    }
    std::unordered_set<std::uint64_t> stamps;
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      const operation& op = ops_[i];
      const std::string name = "#" + std::to_string(i) + " " + describe(op);
      if (!allowed(op.kind, op.result)) {
        return "malformed history: " + name + " is not an outcome of that operation";
      }
      if (!stamps.insert(op.invoked).second) {
        return "malformed history: stamps must be distinct (" + name + ")";
      }
      if (op.result != outcome::pending) {
        if (op.responded <= op.invoked || !stamps.insert(op.responded).second) {
          return "malformed history: " + name + " has a bad or repeated response stamp";
        }
      }
      if (sends(op.kind) && op.result == outcome::sent && !sender_of_.emplace(op.value, i).second) {
        return "malformed history: the value " + std::to_string(op.value) + " was sent twice";
      }
    }
    return std::nullopt;
  }

  bool search(std::uint64_t placed, const model& m) {
    if (placed == all_) {
      if (std::optional<std::string> stuck = liveness_violation(m)) {
        if (liveness_.empty()) {
          std::ostringstream why;
          why << *stuck << ". Final state " << state_of(m) << " after the order ";
          write_path(why, path_);
          liveness_ = why.str();
        }
        return false;
      }
      return true;
    }
    if (!seen_.insert(key(placed, m)).second) {
      return false;
    }
    // An unplaced operation may go next only if it started before every unplaced one finished.
    std::uint64_t horizon = std::numeric_limits<std::uint64_t>::max();
    for (std::size_t i : completed_) {
      if ((placed & bit(i)) == 0) {
        horizon = std::min(horizon, ops_[i].responded);
      }
    }
    for (std::size_t i : completed_) {
      if ((placed & bit(i)) != 0 || ops_[i].invoked > horizon) {
        continue;
      }
      model next = m;
      std::size_t partner = none;
      if (!apply(i, next, placed, horizon, partner)) {
        continue;
      }
      path_.push_back({i, partner});
      if (placed_count(path_) > placed_count(best_)) {
        best_ = path_;
        best_state_ = next;
      }
      if (search(placed | bit(i) | (partner == none ? 0 : bit(partner)), next)) {
        return true;
      }
      path_.pop_back();
    }
    return false;
  }

  // Runs operation i on the model, if its outcome is legal there (at capacity 0 a receive that
  // got a value brings its send along as `partner`).
  bool apply(std::size_t i, model& m, std::uint64_t placed, std::uint64_t horizon,
             std::size_t& partner) const {
    const operation& op = ops_[i];
    switch (op.result) {
      case outcome::sent:
        if (capacity_ == 0) {
          return false;  // placed together with the receive that took the value
        }
        if (m.closed || m.buffer.size() >= capacity_) {
          return false;
        }
        m.buffer.push_back(op.value);
        return true;
      case outcome::send_closed:
        return m.closed;
      case outcome::full:
        return !m.closed && (capacity_ == 0 || m.buffer.size() == capacity_);
      case outcome::received: {
        if (capacity_ > 0) {
          if (m.buffer.empty() || m.buffer.front() != op.received) {
            return false;
          }
          m.buffer.erase(m.buffer.begin());
          return true;
        }
        const auto s = sender_of_.find(op.received);
        if (s == sender_of_.end() || m.closed) {
          return false;
        }
        const std::size_t j = s->second;
        if (j == i || (placed & bit(j)) != 0 || ops_[j].invoked > horizon) {
          return false;
        }
        if (!blocking(op.kind) && !blocking(ops_[j].kind)) {
          return false;  // two non-blocking operations never meet
        }
        partner = j;
        return true;
      }
      case outcome::drained:
        return m.closed && m.buffer.empty();
      case outcome::empty:
        return !m.closed && (capacity_ == 0 || m.buffer.empty());
      case outcome::done:
        m.closed = true;
        return true;
      case outcome::pending:
        break;
    }
    return false;
  }

  // Why some pending operation could have completed in the final state `m`, if one could.
  std::optional<std::string> liveness_violation(const model& m) const {
    for (std::size_t p : pending_) {
      const std::string name = "pending #" + std::to_string(p) + " " + call_of(ops_[p]);
      if (m.closed) {
        return name + " is parked on a closed channel";
      }
      if (offers_send(ops_[p].kind)) {
        if (capacity_ > 0 && m.buffer.size() < capacity_) {
          return name + " is parked although the buffer has room";
        }
        for (std::size_t q : pending_) {
          if (capacity_ == 0 && q != p && offers_recv(ops_[q].kind)) {
            return name + " and pending #" + std::to_string(q) + " " + call_of(ops_[q]) +
                   " are both parked: they should have met";
          }
        }
      }
      if (offers_recv(ops_[p].kind) && !m.buffer.empty()) {
        return name + " is parked although " + std::to_string(m.buffer.front()) + " is buffered";
      }
    }
    return std::nullopt;
  }

  static std::string key(std::uint64_t placed, const model& m) {
    std::string k(sizeof placed + 1 + m.buffer.size() * sizeof(std::uint64_t), '\0');
    std::copy_n(reinterpret_cast<const char*>(&placed), sizeof placed, k.begin());
    k[sizeof placed] = m.closed ? '\1' : '\0';
    std::copy_n(reinterpret_cast<const char*>(m.buffer.data()), m.buffer.size() * sizeof(std::uint64_t),
                k.begin() + sizeof placed + 1);
    return k;
  }

  static std::size_t placed_count(const std::vector<step>& path) noexcept {
    std::size_t n = 0;
    for (const step& s : path) {
      n += s.partner == none ? 1 : 2;
    }
    return n;
  }

  void write_path(std::ostream& out, const std::vector<step>& path) const {
    if (path.empty()) {
      out << "(nothing)";
    }
    for (std::size_t k = 0; k < path.size(); ++k) {
      out << (k == 0 ? "" : ", ");
      if (path[k].partner != none) {
        out << "{#" << path[k].partner << " meets #" << path[k].op << "}";
      } else {
        out << '#' << path[k].op;
      }
    }
  }

  static std::string state_of(const model& m) {
    std::string s = "buffer [";
    for (std::size_t k = 0; k < m.buffer.size(); ++k) {
      s += (k == 0 ? "" : " ") + std::to_string(m.buffer[k]);
    }
    return s + (m.closed ? "], closed" : "], open");
  }

  verdict fail(const std::string& why) const {
    return {false, "NOT LINEARIZABLE: " + why + "\n" + describe(history{capacity_, ops_})};
  }

  const std::size_t capacity_;
  std::vector<operation> ops_;  // by invocation
  std::vector<std::size_t> completed_;
  std::vector<std::size_t> pending_;
  std::uint64_t all_ = 0;                           // every completed operation
  std::map<std::uint64_t, std::size_t> sender_of_;  // a sent value -> the operation that sent it
  std::unordered_set<std::string> seen_;            // explored (placed, model state) pairs
  std::vector<step> path_;                          // the order being tried
  std::vector<step> best_;                          // the longest legal order found
  model best_state_;
  std::string liveness_;  // the first liveness violation met
};

}  // namespace history_detail

/// Whether `h` is linearizable against the channel model, pending operations included (see the
/// file comment). On failure the explanation says why and lists the history.
inline verdict check_linearizable(history h) {
  return history_detail::wgl_search{std::move(h)}.run();
}

}  // namespace cosync::test
