// The epoll backend, for hosts where io_uring is not allowed (Docker's default seccomp profile,
// kernel.io_uring_disabled): an epoll set holding the executor's eventfd, waited on with
// epoll_pwait2 for nanosecond timeouts (epoll_wait with the timeout rounded up where the kernel
// lacks it).

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "backend.hpp"

namespace cosync::detail {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw backend_error(std::string{"cosync: "} + what + ": " + std::strerror(errno));
}

class epoll_backend final : public backend {
 public:
  epoll_backend() : epoll_fd_{::epoll_create1(EPOLL_CLOEXEC)} {
    if (epoll_fd_ < 0) {
      throw_errno("epoll_create1");
    }
    try {
      event_fd_ = make_eventfd();
    } catch (...) {
      ::close(epoll_fd_);
      throw;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = event_fd_;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &event) != 0) {
      ::close(event_fd_);
      ::close(epoll_fd_);
      throw_errno("epoll_ctl");
    }
  }

  ~epoll_backend() override {
    ::close(event_fd_);
    ::close(epoll_fd_);
  }

  epoll_backend(const epoll_backend&) = delete;
  epoll_backend& operator=(const epoll_backend&) = delete;

  backend_kind kind() const noexcept override { return backend_kind::epoll; }

  void wait(std::optional<std::chrono::nanoseconds> timeout) override {
    epoll_event events[8];
    int n = 0;
    if (has_pwait2_) {
      timespec ts{};
      if (timeout) {
        ts.tv_sec = static_cast<time_t>(timeout->count() / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(timeout->count() % 1'000'000'000);
      }
      n = ::epoll_pwait2(epoll_fd_, events, 8, timeout ? &ts : nullptr, nullptr);
      // ENOSYS: a kernel before 5.11. EPERM/EACCES: a seccomp profile that refuses the syscalls
      // it does not know (container runtimes do). Either way epoll_wait does the job.
      if (n < 0 && (errno == ENOSYS || errno == EPERM || errno == EACCES)) {
        has_pwait2_ = false;
      }
    }
    if (!has_pwait2_) {
      n = ::epoll_wait(epoll_fd_, events, 8, timeout ? milliseconds_rounded_up(*timeout) : -1);
    }
    if (n < 0) {
      if (errno == EINTR) {
        return;
      }
      throw_errno("epoll wait");
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == event_fd_) {
        reset_eventfd(event_fd_);
      }
    }
  }

  void wake() noexcept override { signal_eventfd(event_fd_); }

 private:
  static int milliseconds_rounded_up(std::chrono::nanoseconds timeout) noexcept {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    return static_cast<int>(std::min<long long>(ms, std::numeric_limits<int>::max()));
  }

  int epoll_fd_;
  int event_fd_ = -1;
  bool has_pwait2_ = true;
};

}  // namespace

std::unique_ptr<backend> make_epoll_backend() {
  return std::make_unique<epoll_backend>();
}

}  // namespace cosync::detail
