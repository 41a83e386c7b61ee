// The io_uring backend: one ring per executor. While the executor sleeps, a read of its eventfd
// is in flight; io_uring_submit_and_wait_timeout blocks for that completion or the timer
// deadline in one system call.

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "backend.hpp"

namespace cosync::detail {
namespace {

std::atomic<int> simulated_setup_error{0};

constexpr std::uint64_t wake_tag = 1;

class uring_backend final : public backend {
 public:
  uring_backend() {
    if (const int simulated = simulated_setup_error.load(std::memory_order_relaxed); simulated != 0) {
      throw_setup_failed(simulated);
    }
    // COOP_TASKRUN: completions are processed when this thread enters the kernel, not by an
    // interrupt (kernel 5.19+); retried without it on older kernels.
    int rc = io_uring_queue_init(entries, &ring_, IORING_SETUP_COOP_TASKRUN);
    if (rc == -EINVAL) {
      rc = io_uring_queue_init(entries, &ring_, 0);
    }
    if (rc < 0) {
      throw_setup_failed(-rc);
    }
    try {
      event_fd_ = make_eventfd();
    } catch (...) {
      io_uring_queue_exit(&ring_);
      throw;
    }
  }

  ~uring_backend() override {
    io_uring_queue_exit(&ring_);
    ::close(event_fd_);
  }

  uring_backend(const uring_backend&) = delete;
  uring_backend& operator=(const uring_backend&) = delete;

  backend_kind kind() const noexcept override { return backend_kind::io_uring; }

  void wait(std::optional<std::chrono::nanoseconds> timeout) override {
    if (!read_armed_) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      io_uring_prep_read(sqe, event_fd_, &event_count_, sizeof event_count_, 0);
      io_uring_sqe_set_data64(sqe, wake_tag);
      read_armed_ = true;
    }
    io_uring_cqe* cqe = nullptr;
    int rc = 0;
    if (timeout) {
      __kernel_timespec ts{};
      ts.tv_sec = static_cast<long long>(timeout->count() / 1'000'000'000);
      ts.tv_nsec = static_cast<long long>(timeout->count() % 1'000'000'000);
      rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    } else {
      rc = io_uring_submit_and_wait(&ring_, 1);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      throw backend_error(std::string{"cosync: io_uring wait failed: "} + std::strerror(-rc));
    }
    reap();
  }

  void wake() noexcept override { signal_eventfd(event_fd_); }

 private:
  static constexpr unsigned entries = 64;

  [[noreturn]] static void throw_setup_failed(int error) {
    throw uring_setup_failed(error, std::string{"io_uring_setup: "} + std::strerror(error));
  }

  void reap() noexcept {
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (io_uring_cqe_get_data64(cqe) == wake_tag) {
        read_armed_ = false;  // the eventfd was read (and so reset); re-armed at the next wait
      }
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
  }

  io_uring ring_{};
  int event_fd_ = -1;
  std::uint64_t event_count_ = 0;  // the in-flight eventfd read lands here
  bool read_armed_ = false;
};

}  // namespace

std::unique_ptr<backend> make_uring_backend() {
  return std::make_unique<uring_backend>();
}

void simulate_uring_setup_failure(int error) noexcept {
  simulated_setup_error.store(error, std::memory_order_relaxed);
}

bool uring_unavailable(int error) noexcept {
  return error == EPERM || error == EACCES || error == ENOSYS || error == ENOMEM;
}

}  // namespace cosync::detail
