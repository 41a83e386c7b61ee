// The eventfd both backends block on: any thread adds to it to wake an executor.

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "backend.hpp"

namespace cosync::detail {

int make_eventfd() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    throw backend_error(std::string{"cosync: eventfd: "} + std::strerror(errno));
  }
  return fd;
}

void signal_eventfd(int fd) noexcept {
  const std::uint64_t one = 1;
  // EAGAIN only when the counter is about to overflow: the fd is readable then anyway.
  [[maybe_unused]] const ssize_t r = ::write(fd, &one, sizeof one);
}

void reset_eventfd(int fd) noexcept {
  std::uint64_t count = 0;
  // Non-blocking: EAGAIN when nothing was signalled since the last reset, which is fine.
  [[maybe_unused]] const ssize_t r = ::read(fd, &count, sizeof count);
}

}  // namespace cosync::detail
