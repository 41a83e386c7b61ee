#pragma once

// The I/O backend an executor blocks in when it has nothing to do: io_uring (src/uring_backend.cpp)
// or its epoll twin (src/epoll_backend.cpp). Both wait on an eventfd that other threads write to
// wake the executor, with a timeout that is the executor's earliest timer deadline; and both
// carry the I/O operations of <cosync/detail/io_request.hpp>, completing them on the executor's
// thread only (during wait() and poll()).

#include <cosync/detail/io_request.hpp>
#include <cosync/runtime.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace cosync::detail {

class backend {
 public:
  virtual ~backend() = default;

  [[nodiscard]] virtual backend_kind kind() const noexcept = 0;

  /// Blocks until wake() is called (by any thread, before or during the wait), or `timeout`
  /// elapses (std::nullopt: no timeout). Returns early on spurious wakeups; callers re-check.
  virtual void wait(std::optional<std::chrono::nanoseconds> timeout) = 0;

  /// Any thread: makes the current or next wait() return.
  virtual void wake() noexcept = 0;

  /// The executor's thread, once, before its loop: binds the backend to that thread.
  virtual void attach_thread() {}

  /// The executor's thread, once, after its loop: cancels every request still in flight and
  /// waits until the kernel is done with all of them (none is completed or woken), so that the
  /// frames holding them may be destroyed. Then releases what attach_thread() took.
  virtual void detach_thread() noexcept {}

  /// As detail::start_io and detail::stop_io (the executor's thread).
  virtual bool start(io_request& r) = 0;
  virtual void stop(io_request& r) noexcept = 0;

  /// Multishot requests (io_request.hpp): whether start() takes `opcode`; the executor's thread.
  [[nodiscard]] virtual bool multishot(io_opcode /*opcode*/) { return false; }
  /// Without waiting: asks the kernel to end the multishot request `r`.
  virtual void end(io_request& /*r*/) {}
  /// The provided buffer `id` of a recv_multishot completion, and giving it back.
  [[nodiscard]] virtual const std::byte* provided(std::uint16_t /*id*/) const noexcept { return nullptr; }
  virtual void recycle(std::uint16_t /*id*/) noexcept {}

  /// Whether requests are in flight: the executor then calls poll() once per loop turn.
  [[nodiscard]] virtual bool busy() const noexcept = 0;

  /// Without blocking: submits what start() queued and completes what finished.
  virtual void poll() = 0;

  /// Whether poll() would find completions, read without a system call (the executor's idle spin
  /// checks it). A backend that cannot tell says false, and the executor does not spin while its
  /// requests are in flight: it blocks in wait(), which sees both.
  [[nodiscard]] virtual bool sees_completions() const noexcept { return false; }
  [[nodiscard]] virtual bool completions_pending() const noexcept { return false; }
};

/// Thrown by make_uring_backend when io_uring cannot be set up; `error` is the errno.
class uring_setup_failed : public backend_error {
 public:
  uring_setup_failed(int error, const std::string& what) : backend_error{what}, error_{error} {}
  [[nodiscard]] int error() const noexcept { return error_; }

 private:
  int error_;
};

/// `multishot`: offer multishot accept and receive where the kernel has them.
[[nodiscard]] std::unique_ptr<backend> make_uring_backend(bool multishot = true);
[[nodiscard]] std::unique_ptr<backend> make_epoll_backend();

/// Whether an io_uring setup failure means "not allowed or not available here" (fall back to
/// epoll) rather than a real error: EPERM and EACCES (seccomp, kernel.io_uring_disabled, LSMs),
/// ENOSYS (no io_uring in this kernel), ENOMEM (RLIMIT_MEMLOCK on kernels before 5.12).
[[nodiscard]] bool uring_unavailable(int error) noexcept;

/// Testing aid: while non-zero, make_uring_backend fails as if io_uring_setup returned this errno.
void simulate_uring_setup_failure(int error) noexcept;

/// Testing aid: while true, make_uring_backend finds an opcode it needs missing (an old kernel).
void simulate_uring_missing_opcode(bool missing) noexcept;

/// Testing aid: while true, every backend's next wait() fails with a backend_error (the way a
/// kernel or seccomp policy might refuse a syscall the backend needs mid-run).
void simulate_backend_wait_failure(bool fail) noexcept;

/// Creates a non-blocking eventfd, or throws backend_error.
[[nodiscard]] int make_eventfd();

/// Adds one to an eventfd (the wake signal); safe from any thread.
void signal_eventfd(int fd) noexcept;

/// Clears an eventfd's count once a wait has seen it readable.
void reset_eventfd(int fd) noexcept;

}  // namespace cosync::detail
