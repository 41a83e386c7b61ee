#pragma once

// One I/O operation as the executor's backend sees it (src/uring_backend.cpp submits it to the
// ring; src/epoll_backend.cpp performs it when its fd is ready), and the three entry points the
// I/O cases of <cosync/detail/io_case.hpp> use. It lives inside the awaiting operation, in the
// suspended coroutine's frame, so starting one allocates nothing.

#include <cstddef>
#include <cstdint>

namespace cosync {
class waiter;
}

namespace cosync::detail {

class executor;

enum class io_opcode : std::uint8_t {
  accept,    // buffer: a sockaddr_storage for the peer's address, address_length its size
  connect,   // buffer: the sockaddr, address_length its size
  recv,      // buffer/length: where to read
  send,      // buffer/length: what to write
  read_at,   // a file: buffer/length at offset
  write_at,  // a file: buffer/length at offset
  fsync,     // a file
};

enum class io_state : std::uint8_t {
  idle,       // not started, or finished and its result taken
  in_flight,  // the kernel (or the epoll backend's fd table) holds it: buffer and request stay put
  done,       // result is final; nothing refers to the request any more
};

struct io_request {
  io_opcode opcode = io_opcode::recv;
  io_state state = io_state::idle;
  std::uint32_t address_length = 0;  // accept (in/out), connect (in)
  int fd = -1;
  void* buffer = nullptr;
  std::size_t length = 0;
  std::uint64_t offset = 0;
  std::int64_t result = 0;   // once done: the system call's result, or -errno
  executor* home = nullptr;  // where it was started: completions and cancellation happen there
  /// Home thread, once done: decides what the completion means. Returns true if it started the
  /// request again (a write_all with bytes left) and nobody is to be woken yet; otherwise the
  /// backend claims `parked` and wakes it.
  bool (*on_done)(io_request&) = nullptr;
  waiter* parked = nullptr;
};

/// Home thread (the calling thread's executor, `home`): starts `r`. True if it finished at once
/// (the epoll backend's first attempt; files there), its result set and nobody woken; false if it is
/// in flight, and the backend completes it on `home`'s thread later (on_done, then claim and wake).
bool start_io(executor& home, io_request& r);

/// Home thread: makes sure the kernel is done with `r` before its buffer may go away. An in-flight
/// request is cancelled, and this waits (driving the backend, which only queues the wakeups it
/// finds) until it finished; then r.state is done, with r.result -ECANCELED unless it completed
/// anyway (bytes read, a connection accepted: the caller keeps them). Nothing is claimed or woken
/// for `r` itself.
void stop_io(io_request& r) noexcept;

/// The backend's completion step for `r` (it has just become done, result set): on_done, then
/// claim and wake the waiter unless a cancellation or another case won.
void complete_io(io_request& r);

}  // namespace cosync::detail
