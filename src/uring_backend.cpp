// The io_uring backend: one ring per executor. While the executor sleeps, a poll of its eventfd
// is in flight; io_uring_submit_and_wait_timeout blocks for that completion, an I/O completion or
// the timer deadline in one system call.
//
// A poll, not a read: on kernels of the 5.6–5.10 era a read of a non-blocking eventfd completes
// at once with -EAGAIN instead of waiting, which would make an idle executor spin. Every
// completion's result is checked, and the opcodes used are probed when the ring is set up: a
// kernel without them makes the runtime fall back to epoll.
//
// I/O requests (detail/io_request.hpp) go into the submission queue as coroutines start them and
// are submitted once per loop turn (poll) or when the executor sleeps (wait), batched. The ring is
// set up for one thread (SINGLE_ISSUER, enabled on the executor's thread) with cooperative task
// running (COOP_TASKRUN: the kernel posts completions when the thread enters it, no interrupt) and
// TASKRUN_FLAG, which lets the idle spin see pending completions in shared memory. Each flag is
// dropped when an older kernel refuses it. The completion queue is sized for many requests in
// flight; should it overflow anyway, the kernel keeps the surplus (IORING_FEAT_NODROP) and poll()
// flushes it.
//
// Multishot accept (5.19) and multishot receive (6.0) are offered where the probe finds the
// opcodes of those releases (IORING_OP_SOCKET, IORING_OP_SEND_ZC: the flags themselves cannot be
// probed). Multishot receives pick their buffers from one provided-buffer ring per executor, set
// up on the first ask (liburing 2.3 has no io_uring_setup_buf_ring: mmap and register); a kernel
// that refuses it leaves receives single-shot.

#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "backend.hpp"

namespace cosync::detail {
namespace {

std::atomic<int> simulated_setup_error{0};
std::atomic<bool> simulated_missing_opcode{false};

// user_data of the requests that are not io_requests (whose addresses are 8-aligned).
constexpr std::uint64_t wake_tag = 1;
constexpr std::uint64_t cancel_tag = 2;

class uring_backend final : public backend {
 public:
  explicit uring_backend(bool multishot) {
    if (const int simulated = simulated_setup_error.load(std::memory_order_relaxed); simulated != 0) {
      throw_setup_failed(simulated);
    }
    setup_ring();
    try {
      require_opcodes(multishot);
      event_fd_ = make_eventfd();
    } catch (...) {
      io_uring_queue_exit(&ring_);
      throw;
    }
  }

  ~uring_backend() override {
    io_uring_queue_exit(&ring_);  // unregisters the buffer ring too
    if (buffers_ != nullptr) {
      ::munmap(buffers_, buffer_ring_bytes + buffer_count * buffer_size);
    }
    ::close(event_fd_);
  }

  uring_backend(const uring_backend&) = delete;
  uring_backend& operator=(const uring_backend&) = delete;

  backend_kind kind() const noexcept override { return backend_kind::io_uring; }

  void attach_thread() override {
    if ((ring_.flags & IORING_SETUP_R_DISABLED) != 0) {
      // The system call itself: Debian's liburing 2.3 declares io_uring_enable_rings but does
      // not export it.
      if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) != 0) {
        throw backend_error(std::string{"cosync: enabling the io_uring failed: "} + std::strerror(errno));
      }
    }
    // Saves a file-table lookup per io_uring_enter; an optimisation only, so a refusal is fine.
    registered_fd_ = io_uring_register_ring_fd(&ring_) == 1;
  }

  void detach_thread() noexcept override {
    if (in_flight_ != 0) {
      draining_ = true;
      io_uring_sqe* s = sqe();
      io_uring_prep_cancel64(s, 0, IORING_ASYNC_CANCEL_ANY);
      io_uring_sqe_set_data64(s, cancel_tag);
      // A request the kernel cannot cancel (a file read under way) finishes by itself; a kernel
      // without IORING_ASYNC_CANCEL_ANY (before 5.19) is given a bounded time.
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{2};
      while (in_flight_ != 0 && std::chrono::steady_clock::now() < give_up) {
        __kernel_timespec ts{0, 10'000'000};
        io_uring_cqe* cqe = nullptr;
        (void)io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        try {
          reap();  // completes nobody while draining; only a failed wakeup poll throws: moot now
        } catch (...) {
        }
      }
    }
    if (registered_fd_) {
      (void)io_uring_unregister_ring_fd(&ring_);
      registered_fd_ = false;
    }
  }

  void wait(std::optional<std::chrono::nanoseconds> timeout) override {
    rethrow_deferred();
    if (!poll_armed_) {
      io_uring_sqe* s = sqe();
      io_uring_prep_poll_add(s, event_fd_, POLLIN);
      io_uring_sqe_set_data64(s, wake_tag);
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
    check_enter(rc, "wait");
    reap();
    if (readable_) {
      readable_ = false;
      reset_eventfd(event_fd_);
    }
  }

  void wake() noexcept override { signal_eventfd(event_fd_); }

  bool start(io_request& r) override {
    io_uring_sqe* s = sqe();
    const auto length = static_cast<unsigned>(std::min<std::size_t>(r.length, max_transfer));
    switch (r.opcode) {
      case io_opcode::accept:
        io_uring_prep_accept(s, r.fd, static_cast<sockaddr*>(r.buffer), &r.address_length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
        break;
      case io_opcode::connect:
        io_uring_prep_connect(s, r.fd, static_cast<const sockaddr*>(r.buffer), r.address_length);
        break;
      case io_opcode::recv:
        io_uring_prep_recv(s, r.fd, r.buffer, length, 0);
        break;
      case io_opcode::send:
        io_uring_prep_send(s, r.fd, r.buffer, length, MSG_NOSIGNAL);
        break;
      case io_opcode::read_at:
        io_uring_prep_read(s, r.fd, r.buffer, length, r.offset);
        break;
      case io_opcode::write_at:
        io_uring_prep_write(s, r.fd, r.buffer, length, r.offset);
        break;
      case io_opcode::fsync:
        io_uring_prep_fsync(s, r.fd, 0);
        break;
      case io_opcode::accept_multishot:
        io_uring_prep_multishot_accept(s, r.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        break;
      case io_opcode::recv_multishot:
        io_uring_prep_recv_multishot(s, r.fd, nullptr, 0, 0);
        s->flags |= IOSQE_BUFFER_SELECT;
        s->buf_group = buffer_group;
        break;
    }
    io_uring_sqe_set_data(s, &r);
    r.state = io_state::in_flight;
    ++in_flight_;
    return false;
  }

  // A failure while stopping — another request's completion that throws (out of memory while
  // queueing its wakeup), the wakeup poll failing — is kept and thrown by the next poll() or
  // wait(), where the executor fails as a whole; the stop itself goes on. Only a ring that
  // refuses the cancellation itself ends the process (noexcept): returning would let the caller
  // free a buffer the kernel may still write.
  void stop(io_request& r) noexcept override {
    if (r.state != io_state::in_flight) {
      return;
    }
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel(s, &r, 0);  // after r itself if r is not submitted yet: in order
    io_uring_sqe_set_data64(s, cancel_tag);
    while (r.state == io_state::in_flight) {
      check_enter(io_uring_submit_and_wait(&ring_, 1), "cancel");
      try {
        reap();
      } catch (...) {
        deferred_ = deferred_ ? deferred_ : std::current_exception();
      }
    }
  }

  bool multishot(io_opcode opcode) override {
    if (opcode == io_opcode::accept_multishot) {
      return multishot_accept_;
    }
    return opcode == io_opcode::recv_multishot && multishot_recv_ && provide_buffers();
  }

  void end(io_request& r) override {
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel(s, &r, 0);
    io_uring_sqe_set_data64(s, cancel_tag);
  }

  const std::byte* provided(std::uint16_t id) const noexcept override { return buffer_at(id); }

  void recycle(std::uint16_t id) noexcept override {
    io_uring_buf_ring_add(buffer_ring(), buffer_at(id), buffer_size, id, io_uring_buf_ring_mask(buffer_count),
                          0);
    io_uring_buf_ring_advance(buffer_ring(), 1);
  }

  bool busy() const noexcept override { return in_flight_ != 0; }

  void poll() override {
    rethrow_deferred();
    if (io_uring_sq_ready(&ring_) != 0 || !knows_taskrun_ || taskrun_pending() ||
        io_uring_cq_has_overflow(&ring_)) {
      check_enter(io_uring_submit_and_get_events(&ring_), "submit");
    }
    reap();
  }

  bool sees_completions() const noexcept override { return true; }

  bool completions_pending() const noexcept override {
    return io_uring_cq_ready(&ring_) != 0 || taskrun_pending();
  }

 private:
  static constexpr unsigned entries = 256;
  static constexpr unsigned completion_entries = 16384;
  static constexpr std::size_t max_transfer = 1U << 30;  // one request's bytes fit the SQE's 32 bits
  // The provided-buffer ring of multishot receives: 1 MiB per executor, mapped on first use. A
  // buffer is copied out and handed back as soon as its completion is seen, so it only has to
  // cover what arrives within one loop turn; when it runs dry the kernel ends a multishot
  // receive (ENOBUFS) and the stream starts a new one.
  static constexpr unsigned buffer_count = 256;
  static constexpr unsigned buffer_size = 4096;
  static constexpr std::uint16_t buffer_group = 0;
  static constexpr std::size_t buffer_ring_bytes = buffer_count * sizeof(io_uring_buf);

  [[noreturn]] static void throw_setup_failed(int error) {
    throw uring_setup_failed(error, std::string{"io_uring_setup: "} + std::strerror(error));
  }

  // The most capable flags this kernel accepts (each one is newer than the next).
  void setup_ring() {
    constexpr unsigned tries[] = {
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_R_DISABLED,                            // 6.0
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,  // 5.19
        0,
    };
    int rc = -EINVAL;
    for (const unsigned flags : tries) {
      io_uring_params params{};
      params.flags = flags | IORING_SETUP_CQSIZE;
      params.cq_entries = completion_entries;
      rc = io_uring_queue_init_params(entries, &ring_, &params);
      if (rc != -EINVAL) {
        knows_taskrun_ = (flags & IORING_SETUP_TASKRUN_FLAG) != 0;
        break;
      }
    }
    if (rc < 0) {
      throw_setup_failed(-rc);
    }
  }

  // The opcodes this backend submits, or uring_setup_failed (ENOSYS: "not available here").
  void require_opcodes(bool multishot) {
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    bool ok = probe != nullptr;
    for (const int op :
         {IORING_OP_POLL_ADD, IORING_OP_TIMEOUT, IORING_OP_ASYNC_CANCEL, IORING_OP_ACCEPT, IORING_OP_CONNECT,
          IORING_OP_RECV, IORING_OP_SEND, IORING_OP_READ, IORING_OP_WRITE, IORING_OP_FSYNC}) {
      ok = ok && io_uring_opcode_supported(probe, op) != 0;
    }
    multishot_accept_ = ok && multishot && io_uring_opcode_supported(probe, IORING_OP_SOCKET) != 0;
    multishot_recv_ = ok && multishot && io_uring_opcode_supported(probe, IORING_OP_SEND_ZC) != 0;
    io_uring_free_probe(probe);
    if (simulated_missing_opcode.load(std::memory_order_relaxed) || !ok) {
      throw uring_setup_failed(ENOSYS, "io_uring lacks an opcode cosync needs (5.6 or later has them all)");
    }
  }

  // Sets up the provided-buffer ring once; false (and multishot receives off) if the kernel
  // refuses it. The ring's entries come first in the mapping, page-aligned as the kernel wants.
  bool provide_buffers() {
    if (buffers_ != nullptr) {
      return true;
    }
    void* memory = ::mmap(nullptr, buffer_ring_bytes + buffer_count * buffer_size, PROT_READ | PROT_WRITE,
                          MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (memory == MAP_FAILED) {
      multishot_recv_ = false;
      return false;
    }
    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
    registration.ring_entries = buffer_count;
    registration.bgid = buffer_group;
    if (io_uring_register_buf_ring(&ring_, &registration, 0) != 0) {
      ::munmap(memory, buffer_ring_bytes + buffer_count * buffer_size);
      multishot_recv_ = false;
      return false;
    }
    buffers_ = memory;
    io_uring_buf_ring_init(buffer_ring());
    for (unsigned id = 0; id < buffer_count; ++id) {
      recycle(static_cast<std::uint16_t>(id));  // every buffer starts out given to the kernel
    }
    return true;
  }

  io_uring_buf_ring* buffer_ring() const noexcept { return static_cast<io_uring_buf_ring*>(buffers_); }
  std::byte* buffer_at(std::uint16_t id) const noexcept {
    return static_cast<std::byte*>(buffers_) + buffer_ring_bytes + std::size_t{id} * buffer_size;
  }

  // A free submission entry, submitting what is queued if the queue is full.
  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (s == nullptr) {
      const int rc = io_uring_submit_and_get_events(&ring_);
      check_enter(rc, "submit");
      if (rc == -EBUSY || rc == -EAGAIN) {
        reap();  // completions the kernel could not post (older kernels) block submission: make room
      }
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }

  void rethrow_deferred() {
    if (deferred_) {
      std::rethrow_exception(std::exchange(deferred_, nullptr));
    }
  }

  static void check_enter(int rc, const char* what) {
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      throw backend_error(std::string{"cosync: io_uring "} + what + " failed: " + std::strerror(-rc));
    }
  }

  bool taskrun_pending() const noexcept {
    return knows_taskrun_ && (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN) != 0;
  }

  // Completes what the completion queue holds, without entering the kernel (poll() and wait()
  // did that). Each batch is copied out and consumed before it is acted on; a completion that
  // throws (out of memory while queueing a wakeup) stops neither the others nor their consumption,
  // and the first such error is rethrown at the end (the executor then fails as a whole).
  void reap() {
    struct completion {
      std::uint64_t tag;
      int res;
      unsigned flags;
    };
    std::array<completion, 64> batch;
    int failed = 0;
    std::exception_ptr error;
    for (;;) {
      std::size_t n = 0;
      unsigned head = 0;
      io_uring_cqe* cqe = nullptr;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        batch[n++] = {io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags};
        if (n == batch.size()) {
          break;
        }
      }
      if (n == 0) {
        break;
      }
      io_uring_cq_advance(&ring_, static_cast<unsigned>(n));
      for (std::size_t i = 0; i < n; ++i) {
        const auto [tag, res, flags] = batch[i];
        if (tag == wake_tag) {
          poll_armed_ = false;  // one-shot: re-armed at the next wait
          if (res >= 0) {
            readable_ = true;
          } else if (res != -ECANCELED && res != -EINTR) {
            failed = -res;
          }
        } else if (tag != cancel_tag && tag != LIBURING_UDATA_TIMEOUT) {
          // (LIBURING_UDATA_TIMEOUT: on kernels before 5.11, io_uring_submit_and_wait_timeout
          // queues a timeout request of its own, whose completion may land behind ours.)
          auto& r = *reinterpret_cast<io_request*>(static_cast<std::uintptr_t>(tag));
          r.result = res;
          if (r.opcode == io_opcode::accept_multishot || r.opcode == io_opcode::recv_multishot) {
            complete_multishot(r, flags, error);
            continue;
          }
          r.state = io_state::done;
          --in_flight_;
          if (!draining_) {
            try {
              complete_io(r);
            } catch (...) {
              error = error ? error : std::current_exception();
            }
          }
        }
      }
    }
    if (error) {
      std::rethrow_exception(error);
    }
    if (failed != 0) {
      throw backend_error(std::string{"cosync: io_uring poll of the wakeup eventfd failed: "} +
                          std::strerror(failed));
    }
  }

  // One completion of a multishot request: it ends unless the kernel says more follow. Its
  // owner sees every completion, also while draining (an accepted fd must still be closed).
  void complete_multishot(io_request& r, unsigned flags, std::exception_ptr& error) {
    r.buffer_id = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    if ((flags & IORING_CQE_F_BUFFER) == 0 && r.result > 0 && r.opcode == io_opcode::recv_multishot) {
      r.result = -EIO;  // bytes without a buffer: cannot happen; never read garbage
    }
    if ((flags & IORING_CQE_F_MORE) == 0) {
      r.state = io_state::done;
      --in_flight_;
    }
    r.draining = draining_;
    try {
      r.on_done(r);
    } catch (...) {
      error = error ? error : std::current_exception();
    }
  }

  io_uring ring_{};
  int event_fd_ = -1;
  void* buffers_ = nullptr;    // the provided-buffer ring and its buffers, once set up
  std::size_t in_flight_ = 0;  // io_requests submitted or queued, not yet completed
  bool poll_armed_ = false;
  bool readable_ = false;       // the poll completed: read the eventfd to reset it
  bool knows_taskrun_ = false;  // IORING_SQ_TASKRUN tells when completions wait in the kernel
  bool registered_fd_ = false;
  bool multishot_accept_ = false;
  bool multishot_recv_ = false;
  bool draining_ = false;        // detach_thread: completions wake nobody
  std::exception_ptr deferred_;  // a failure met while stopping a request, for the loop
};

}  // namespace

std::unique_ptr<backend> make_uring_backend(bool multishot) {
  return std::make_unique<uring_backend>(multishot);
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
