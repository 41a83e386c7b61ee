// The io_uring backend: one ring per executor. While the executor sleeps, a poll of its eventfd
// is in flight; io_uring_submit_and_wait_timeout blocks for that completion or the timer
// deadline in one system call.
//
// A poll, not a read: on kernels of the 5.6–5.10 era a read of a non-blocking eventfd completes
// at once with -EAGAIN instead of waiting, which would make an idle executor spin. Every
// completion's result is checked, and the opcodes used are probed when the ring is set up: a
// kernel without them makes the runtime fall back to epoll.

#include <liburing.h>
#include <poll.h>
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
std::atomic<bool> simulated_missing_opcode{false};

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
      require_opcodes();
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
    if (!poll_armed_) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      io_uring_prep_poll_add(sqe, event_fd_, POLLIN);
      io_uring_sqe_set_data64(sqe, wake_tag);
      poll_armed_ = true;
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
    if (readable_) {
      readable_ = false;
      reset_eventfd(event_fd_);
    }
  }

  void wake() noexcept override { signal_eventfd(event_fd_); }

 private:
  static constexpr unsigned entries = 64;

  [[noreturn]] static void throw_setup_failed(int error) {
    throw uring_setup_failed(error, std::string{"io_uring_setup: "} + std::strerror(error));
  }

  // The opcodes this backend submits, or uring_setup_failed (ENOSYS: "not available here").
  void require_opcodes() {
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    const bool ok = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_POLL_ADD) != 0 &&
                    io_uring_opcode_supported(probe, IORING_OP_TIMEOUT) != 0;
    io_uring_free_probe(probe);
    if (simulated_missing_opcode.load(std::memory_order_relaxed) || !ok) {
      throw uring_setup_failed(
          ENOSYS, "io_uring lacks IORING_OP_POLL_ADD or IORING_OP_TIMEOUT (or cannot be probed)");
    }
  }

  void reap() {
    unsigned head = 0;
    unsigned seen = 0;
    int failed = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (io_uring_cqe_get_data64(cqe) == wake_tag) {
        poll_armed_ = false;  // one-shot: re-armed at the next wait
        if (cqe->res >= 0) {
          readable_ = true;
        } else if (cqe->res != -ECANCELED && cqe->res != -EINTR) {
          failed = -cqe->res;
        }
      }
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    if (failed != 0) {
      throw backend_error(std::string{"cosync: io_uring poll of the wakeup eventfd failed: "} +
                          std::strerror(failed));
    }
  }

  io_uring ring_{};
  int event_fd_ = -1;
  bool poll_armed_ = false;
  bool readable_ = false;  // the poll completed: read the eventfd to reset it
};

}  // namespace

std::unique_ptr<backend> make_uring_backend() {
  return std::make_unique<uring_backend>();
}

void simulate_uring_setup_failure(int error) noexcept {
  simulated_setup_error.store(error, std::memory_order_relaxed);
}

void simulate_uring_missing_opcode(bool missing) noexcept {
  simulated_missing_opcode.store(missing, std::memory_order_relaxed);
}

bool uring_unavailable(int error) noexcept {
  return error == EPERM || error == EACCES || error == ENOSYS || error == ENOMEM;
}

}  // namespace cosync::detail
