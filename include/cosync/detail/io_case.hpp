#pragma once

// What every I/O case (cosync/net.hpp, cosync/file.hpp) shares: it is a case of the waiting core
// (cosync/wait.hpp) whose completer is the executor's backend. park() starts the request on the
// awaiting coroutine's executor; the backend completes it there (claim, wake); withdraw() — a
// cancellation, a select won by another case, a frame destroyed — stops it and waits until the
// kernel has let go of the buffer. A request that completed anyway is reported to the derived
// case (kept(): a read keeps its bytes for the next read, an accept its connection), so a
// cancelled operation never loses what it did.

#include <cosync/config.hpp>
#include <cosync/detail/io_request.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace cosync::detail {

class io_case {
 public:
  io_case(const io_case&) = delete;
  io_case& operator=(const io_case&) = delete;
  io_case& operator=(io_case&&) = delete;

 protected:
  io_case(io_opcode opcode, int fd) noexcept {
    request_.opcode = opcode;
    request_.fd = fd;
  }
  /// Movable until it parks (so that select() can hold it).
  io_case(io_case&& other) noexcept : request_{other.request_} {
    COSYNC_ASSERT(other.request_.state != io_state::in_flight,
                  "cosync: an I/O operation moved while in flight");
  }
  ~io_case() { stop_io(request_); }

  bool try_complete() noexcept { return false; }

  bool park(waiter& w) {
    executor* home = current_executor();
    if (home == nullptr) {
      throw usage_error("cosync: an I/O operation must be awaited on an executor thread");
    }
    request_.parked = &w;
    if (!start_io(*home, request_)) {
      return true;  // in flight: the backend completes it
    }
    if (request_.on_done != nullptr && request_.on_done(request_)) {
      return true;  // finished a first part at once, the rest is in flight
    }
    return !w.claim();  // finished at once; a lost claim (another case won) is withdrawn later
  }

  /// True if it was still in flight. A request that completed without being claimed (cancelled
  /// or out-raced as it finished) is the derived case's to keep: it sees state done.
  bool withdraw() noexcept {
    const bool in_flight = request_.state == io_state::in_flight;
    stop_io(request_);
    return in_flight;
  }

  /// The completed request's result, or io_error(errno, what()).
  template <class What>
  std::int64_t take_result(What&& what) {
    request_.state = io_state::idle;
    if (request_.result < 0) {
      throw io_error(static_cast<int>(-request_.result), std::forward<What>(what)());
    }
    return request_.result;
  }

  /// A completed request that nobody was told about (withdraw found it done): true once, with
  /// a result of at least `least` (1 for bytes read, 0 for an fd accepted) for the derived case
  /// to keep.
  [[nodiscard]] bool unclaimed_success(std::int64_t least) noexcept {
    const bool kept = request_.state == io_state::done && request_.result >= least;
    request_.state = io_state::idle;
    return kept;
  }

  /// An on_done for writes that must finish: restarts the request after a short write with the
  /// rest (the buffer, its length and — for files — the offset advance) until all is written or
  /// it fails. The final result is that of the last part.
  static bool write_rest(io_request& r) {
    while (r.result > 0) {
      const auto written = static_cast<std::size_t>(r.result);
      r.buffer = static_cast<std::byte*>(r.buffer) + written;
      r.length -= written;
      r.offset += written;
      if (r.length == 0 || !start_io(*r.home, r)) {
        return r.length != 0;
      }
    }
    return false;
  }

  io_request request_;
};

}  // namespace cosync::detail
