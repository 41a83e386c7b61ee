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
  // Multishot (io_uring only, where the backend says multishot()): one request, many
  // completions, each handed to on_done; it stays in flight until a completion ends it.
  accept_multishot,  // each completion: an accepted fd (the peer's address is not asked for)
  recv_multishot,    // each completion: bytes in the provided buffer `buffer_id` (0: end of stream)
};

enum class io_state : std::uint8_t {
  idle,       // not started, or finished and its result taken
  in_flight,  // the kernel (or the epoll backend's fd table) holds it: buffer and request stay put
  done,       // result is final; nothing refers to the request any more
};

struct io_request {
  io_opcode opcode = io_opcode::recv;
  io_state state = io_state::idle;
  std::uint16_t buffer_id = 0;       // recv_multishot: the provided buffer holding the bytes
  std::uint32_t address_length = 0;  // accept (in/out), connect (in)
  int fd = -1;
  bool draining = false;  // a multishot completion while the executor shuts down: wake nobody
  void* buffer = nullptr;
  std::size_t length = 0;
  std::uint64_t offset = 0;
  std::int64_t result = 0;   // once done: the system call's result, or -errno
  executor* home = nullptr;  // where it was started: completions and cancellation happen there
  /// Home thread, once done: decides what the completion means. Returns true if it started the
  /// request again (a write_all with bytes left) and nobody is to be woken yet; otherwise the
  /// backend claims `parked` and wakes it. A multishot request's on_done sees every completion
  /// (state still in_flight unless it is the last) and does all the waking itself.
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

/// Home thread: whether `home`'s backend takes this multishot opcode (io_uring where the kernel
/// has it; probed once per executor, the provided-buffer ring set up on the first ask).
[[nodiscard]] bool supports_multishot(executor& home, io_opcode opcode);

/// Home thread: asks the kernel to end an in-flight multishot request, without waiting; its
/// last completion (usually -ECANCELED) follows.
void end_multishot(io_request& r);

/// Home thread, in a recv_multishot completion: the bytes of provided buffer `id`, and handing
/// it back to the kernel once they are copied out.
[[nodiscard]] const std::byte* provided_buffer(executor& home, std::uint16_t id) noexcept;
void recycle_buffer(executor& home, std::uint16_t id) noexcept;

/// Work handed to an executor from another thread (an object with a multishot request in flight
/// destroyed away from its home: the home must stop it). `run` owns the job once called.
struct remote_job {
  remote_job* next = nullptr;
  void (*run)(remote_job&) noexcept = nullptr;
};

/// Any thread: runs `job` on `home`'s thread soon (at the latest when its runtime shuts down).
void run_on(executor& home, remote_job& job) noexcept;

}  // namespace cosync::detail
