#pragma once

/// Every exception cosync throws for its own reasons derives from cosync::error, which derives from
/// std::runtime_error: `catch (const cosync::error&)` catches all of them, and each carries a
/// message that says what went wrong and, where there is one, what to do instead.

#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace cosync {

/// The base of every cosync exception.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A runtime_config that cannot work: zero executors, too many, an unknown CPU to pin to.
class config_error : public error {
 public:
  using error::error;
};

/// A capacity that cannot work: 0 where a structure must buffer (spsc_ring, spsc_channel), or
/// above its type's max_capacity().
class capacity_error : public error {
 public:
  using error::error;
};

/// An I/O backend could not be set up (a forced io_uring that the kernel refuses, epoll or
/// eventfd failing), or failed while running.
class backend_error : public error {
 public:
  using error::error;
};

/// An operation used where it cannot work: switch_to() an executor that does not exist,
/// sync_wait() from inside an executor (it would block the thread that must run the work).
class usage_error : public error {
 public:
  using error::error;
};

/// A send on a channel that is closed, or that was closed while the send waited. The value sent
/// is not lost: a send awaited where it was made gives it back to the caller's object, a stored
/// send keeps it (unsent()).
class channel_closed : public error {
 public:
  channel_closed() : error{"cosync: send on a closed channel"} {}
};

/// An operation that was cancelled before it completed (a cancelled select, and — with task
/// groups — any cancelled suspension point). Nothing it was moving is lost: a cancelled send
/// keeps its value, a cancelled receive consumed nothing.
class cancelled : public error {
 public:
  cancelled() : error{"cosync: operation cancelled"} {}
};

/// An operation given a deadline (cosync::with_timeout, with_deadline) that did not finish in
/// time: it was cancelled, and this is what the caller sees. A failure, not a cancellation: a
/// task group treats it like any other error.
class timed_out : public error {
 public:
  timed_out() : error{"cosync: operation timed out"} {}
};

/// An I/O operation the system refused (cosync/net.hpp, cosync/file.hpp): code() holds the errno
/// (std::system_category), what() names the operation — "cosync: connect 127.0.0.1:1: Connection
/// refused". Compare with std::errc: `e.code() == std::errc::connection_reset`.
class io_error : public error {
 public:
  /// The failure `errno_value` of the operation `what` (say "connect 127.0.0.1:1"), which what()
  /// then reads as "cosync: <what>: <strerror text>".
  io_error(int errno_value, const std::string& what)
      : error{"cosync: " + what + ": " + std::system_category().message(errno_value)},
        code_{errno_value, std::system_category()} {}

  /// The errno, as a std::error_code of std::system_category.
  [[nodiscard]] const std::error_code& code() const noexcept { return code_; }

 private:
  std::error_code code_;
};

/// Several failures from one task group (or any failure from a supervising one): every exception
/// its children and body threw, other than cosync::cancelled, in the order they happened.
class task_group_error : public error {
 public:
  /// Collects `errors`, in the order they happened; what() says how many there were.
  explicit task_group_error(std::vector<std::exception_ptr> errors)
      : error{"cosync: " + std::to_string(errors.size()) + " task(s) in a task group failed"},
        errors_{std::move(errors)} {}

  /// Each failure, in order: rethrow one with std::rethrow_exception to inspect it.
  [[nodiscard]] const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }

 private:
  std::vector<std::exception_ptr> errors_;
};

}  // namespace cosync
