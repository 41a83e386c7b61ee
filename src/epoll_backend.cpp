// The epoll backend, for hosts where io_uring is not allowed (Docker's default seccomp profile,
// kernel.io_uring_disabled): an epoll set holding the executor's eventfd, waited on with
// epoll_pwait2 for nanosecond timeouts (epoll_wait with the timeout rounded up where the kernel
// lacks it).

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "backend.hpp"

namespace cosync::detail {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw backend_error(std::string{"cosync: "} + what + ": " + std::strerror(errno));
}

bool is_file_op(io_opcode op) noexcept {
  return op == io_opcode::read_at || op == io_opcode::write_at || op == io_opcode::fsync;
}

bool is_read_op(io_opcode op) noexcept {
  return op == io_opcode::accept || op == io_opcode::recv;
}

// The system call `r` stands for, without blocking: its result, or -errno (-EAGAIN: not ready).
std::int64_t attempt(io_request& r) noexcept {
  ssize_t n = 0;
  do {
    switch (r.opcode) {
      case io_opcode::accept: {
        socklen_t length = r.address_length;
        n = ::accept4(r.fd, static_cast<sockaddr*>(r.buffer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        r.address_length = length;
        break;
      }
      case io_opcode::connect:
        if (r.state == io_state::in_flight) {  // writable again: the connection's outcome is known
          int error = 0;
          socklen_t length = sizeof error;
          n = ::getsockopt(r.fd, SOL_SOCKET, SO_ERROR, &error, &length);
          return n < 0 ? -errno : -error;
        }
        n = ::connect(r.fd, static_cast<const sockaddr*>(r.buffer), r.address_length);
        if (n < 0 && (errno == EINPROGRESS || errno == EINTR)) {
          return -EAGAIN;  // under way: writable once it is decided (EINTR too: it goes on)
        }
        if (n < 0 && errno == EAGAIN) {
          return -EADDRNOTAVAIL;  // TCP's EAGAIN: no local port left. Not "wait": it never becomes writable
        }
        break;
      case io_opcode::recv:
        n = ::recv(r.fd, r.buffer, r.length, MSG_DONTWAIT);
        break;
      case io_opcode::send:
        n = ::send(r.fd, r.buffer, r.length, MSG_DONTWAIT | MSG_NOSIGNAL);
        break;
      case io_opcode::read_at:
        n = ::pread(r.fd, r.buffer, r.length, static_cast<off_t>(r.offset));
        break;
      case io_opcode::write_at:
        n = ::pwrite(r.fd, r.buffer, r.length, static_cast<off_t>(r.offset));
        break;
      case io_opcode::fsync:
        n = ::fsync(r.fd);
        break;
      case io_opcode::accept_multishot:
      case io_opcode::recv_multishot:
        return -EINVAL;  // never started here: multishot() says false
    }
  } while (n < 0 && errno == EINTR && r.opcode != io_opcode::connect);
  return n < 0 ? -errno : n;
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
    epoll_event events[max_events];
    int n = 0;
    if (has_pwait2_) {
      timespec ts{};
      if (timeout) {
        ts.tv_sec = static_cast<time_t>(timeout->count() / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(timeout->count() % 1'000'000'000);
      }
      n = ::epoll_pwait2(epoll_fd_, events, max_events, timeout ? &ts : nullptr, nullptr);
      // ENOSYS: a kernel before 5.11. EPERM/EACCES: a seccomp profile that refuses the syscalls
      // it does not know (container runtimes do). Either way epoll_wait does the job.
      if (n < 0 && (errno == ENOSYS || errno == EPERM || errno == EACCES)) {
        has_pwait2_ = false;
      }
    }
    if (!has_pwait2_) {
      n = ::epoll_wait(epoll_fd_, events, max_events, timeout ? milliseconds_rounded_up(*timeout) : -1);
    }
    if (n < 0) {
      if (errno == EINTR) {
        return;
      }
      throw_errno("epoll wait");
    }
    dispatch(events, n);
  }

  void wake() noexcept override { signal_eventfd(event_fd_); }

  void detach_thread() noexcept override {
    for (fd_entry& e : fds_) {
      for (io_request** slot : {&e.reader, &e.writer}) {
        if (io_request* r = std::exchange(*slot, nullptr)) {
          r->result = -ECANCELED;
          r->state = io_state::done;
        }
      }
    }
    in_flight_ = 0;
  }

  bool start(io_request& r) override {
    std::int64_t result = attempt(r);
    if (result == -EAGAIN && !is_file_op(r.opcode)) {
      fd_entry& e = entry(r.fd);
      io_request*& slot = is_read_op(r.opcode) ? e.reader : e.writer;
      if (slot != nullptr) {
        result = -EBUSY;  // another read (or write) of this socket is waiting on this executor
      } else {
        slot = &r;
        if (const int error = arm(r.fd); error != 0) {
          slot = nullptr;
          result = -error;
        } else {
          r.state = io_state::in_flight;
          ++in_flight_;
          return false;
        }
      }
    }
    r.result = result;
    r.state = io_state::done;
    return true;
  }

  void stop(io_request& r) noexcept override {
    if (r.state != io_state::in_flight) {
      return;
    }
    fd_entry& e = fds_[static_cast<std::size_t>(r.fd)];
    (e.reader == &r ? e.reader : e.writer) = nullptr;
    r.result = -ECANCELED;
    r.state = io_state::done;
    --in_flight_;
    if (e.reader != nullptr || e.writer != nullptr) {
      (void)arm(r.fd);  // for the other direction only; an error reaches it at its next event
    }
  }

  bool busy() const noexcept override { return in_flight_ != 0; }

  void poll() override {
    epoll_event events[max_events];
    const int n = ::epoll_wait(epoll_fd_, events, max_events, 0);
    if (n < 0 && errno != EINTR) {
      throw_errno("epoll_wait");
    }
    dispatch(events, n);
  }

 private:
  static constexpr int max_events = 64;

  // The requests waiting for one fd's readiness on this executor (its epoll set).
  struct fd_entry {
    io_request* reader = nullptr;  // accept, recv
    io_request* writer = nullptr;  // connect, send
    bool registered = false;       // in the epoll set (as far as we know: a close removes it)
  };

  fd_entry& entry(int fd) {
    const auto index = static_cast<std::size_t>(fd);
    if (index >= fds_.size()) {
      fds_.resize(std::max(index + 1, fds_.size() * 2));
    }
    return fds_[index];
  }

  // Arms `fd` (one-shot) for what its waiting requests need; 0 or the errno.
  int arm(int fd) noexcept {
    fd_entry& e = fds_[static_cast<std::size_t>(fd)];
    epoll_event event{};
    event.events = EPOLLONESHOT | (e.reader != nullptr ? EPOLLIN | EPOLLRDHUP : 0U) |
                   (e.writer != nullptr ? EPOLLOUT : 0U);
    event.data.fd = fd;
    int op = e.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    int rc = ::epoll_ctl(epoll_fd_, op, fd, &event);
    if (rc != 0 && (errno == ENOENT || errno == EEXIST)) {
      // ENOENT: the fd was closed (the kernel dropped it from the set) and its number reused.
      op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
      rc = ::epoll_ctl(epoll_fd_, op, fd, &event);
    }
    if (rc != 0) {
      return errno;
    }
    e.registered = true;
    return 0;
  }

  void dispatch(const epoll_event* events, int n) {
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == event_fd_) {
        reset_eventfd(event_fd_);
        continue;
      }
      const std::uint32_t ready = events[i].events;
      if ((ready & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
        finish(fd, &fd_entry::reader);
      }
      if ((ready & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) {
        finish(fd, &fd_entry::writer);
      }
      const fd_entry& e = fds_[static_cast<std::size_t>(fd)];
      if (e.reader != nullptr || e.writer != nullptr) {
        if (const int error = arm(fd); error != 0) {
          throw backend_error(std::string{"cosync: epoll_ctl failed: "} + std::strerror(error));
        }
      }
    }
  }

  // `fd` is ready for the request in `slot` (if any): performs it, and completes it unless the
  // readiness was spurious.
  void finish(int fd, io_request* fd_entry::*slot) {
    io_request* r = fds_[static_cast<std::size_t>(fd)].*slot;
    if (r == nullptr) {
      return;
    }
    const std::int64_t result = attempt(*r);
    if (result == -EAGAIN) {
      return;
    }
    fds_[static_cast<std::size_t>(fd)].*slot = nullptr;
    r->result = result;
    r->state = io_state::done;
    --in_flight_;
    complete_io(*r);  // may start it again (a write with bytes left), or another request
  }

  static int milliseconds_rounded_up(std::chrono::nanoseconds timeout) noexcept {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    return static_cast<int>(std::min<long long>(ms, std::numeric_limits<int>::max()));
  }

  int epoll_fd_;
  int event_fd_ = -1;
  bool has_pwait2_ = true;
  std::vector<fd_entry> fds_;  // by fd number
  std::size_t in_flight_ = 0;
};

}  // namespace

std::unique_ptr<backend> make_epoll_backend() {
  return std::make_unique<epoll_backend>();
}

}  // namespace cosync::detail
