// The physical reference for N1: a minimal echo server written directly on liburing, the way
// io_uring is meant to be used at its best — one thread, SINGLE_ISSUER + DEFER_TASKRUN, multishot
// accept, multishot receive into a provided-buffer ring, and each received buffer sent back
// straight from where the kernel put it (returned to the ring once sent). No abstraction, no
// coroutines, no cancellation: what a runtime's echo server is compared against.
//
//   uring_echo --port P

#include <liburing.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr unsigned buffer_count = 4096;  // a power of two
constexpr unsigned buffer_size = 2048;
constexpr int group = 0;

enum kind : std::uint64_t { accept_op = 0, recv_op = 1, send_op = 2 };

// user_data: the kind in the low 2 bits, the fd above, the buffer id above that.
std::uint64_t tag(kind k, int fd, unsigned bid = 0) {
  return static_cast<std::uint64_t>(k) | (static_cast<std::uint64_t>(fd) << 2) |
         (static_cast<std::uint64_t>(bid) << 34);
}

volatile std::sig_atomic_t stop = 0;

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  if (argc == 3 && std::strcmp(argv[1], "--port") == 0) {
    port = std::atoi(argv[2]);
  }
  std::signal(SIGINT, [](int) { stop = 1; });
  std::signal(SIGTERM, [](int) { stop = 1; });

  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener, 4096) != 0) {
    std::perror("uring_echo: bind/listen");
    return 1;
  }
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);

  io_uring ring{};
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  params.cq_entries = 65536;
  if (const int rc = io_uring_queue_init_params(4096, &ring, &params); rc < 0) {
    std::fprintf(stderr, "uring_echo: io_uring_queue_init: %s\n", std::strerror(-rc));
    return 1;
  }
  // The provided-buffer ring (liburing 2.3 has no io_uring_setup_buf_ring: mmap + register).
  const std::size_t ring_bytes = buffer_count * sizeof(io_uring_buf);
  auto* buffers_ring = static_cast<io_uring_buf_ring*>(
      mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0));
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(buffers_ring);
  reg.ring_entries = buffer_count;
  reg.bgid = group;
  if (const int rc = io_uring_register_buf_ring(&ring, &reg, 0); rc < 0) {
    std::fprintf(stderr, "uring_echo: io_uring_register_buf_ring: %s\n", std::strerror(-rc));
    return 1;
  }
  std::vector<char> memory(static_cast<std::size_t>(buffer_count) * buffer_size);
  io_uring_buf_ring_init(buffers_ring);
  const int mask = io_uring_buf_ring_mask(buffer_count);
  for (unsigned i = 0; i < buffer_count; ++i) {
    io_uring_buf_ring_add(buffers_ring, memory.data() + i * buffer_size, buffer_size,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buffers_ring, static_cast<int>(buffer_count));

  auto submit_recv = [&](int fd) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
    io_uring_sqe_set_data64(sqe, tag(recv_op, fd));
  };
  auto give_back = [&](unsigned bid) {
    io_uring_buf_ring_add(buffers_ring, memory.data() + bid * buffer_size, buffer_size,
                          static_cast<unsigned short>(bid), mask, 0);
    io_uring_buf_ring_advance(buffers_ring, 1);
  };
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  io_uring_prep_multishot_accept(sqe, listener, nullptr, nullptr, 0);
  io_uring_sqe_set_data64(sqe, tag(accept_op, listener));

  std::printf("uring_echo: listening on port %u\n", ntohs(address.sin_port));
  std::fflush(stdout);
  while (stop == 0) {
    if (io_uring_submit_and_wait(&ring, 1) < 0 && stop == 0) {
      continue;
    }
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const std::uint64_t data = io_uring_cqe_get_data64(cqe);
      const auto k = static_cast<kind>(data & 3);
      const int fd = static_cast<int>((data >> 2) & 0xffffffff);
      if (k == accept_op) {
        if (cqe->res >= 0) {
          setsockopt(cqe->res, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
          submit_recv(cqe->res);
        }
        if ((cqe->flags & IORING_CQE_F_MORE) == 0) {  // re-arm a finished multishot accept
          io_uring_sqe* again = io_uring_get_sqe(&ring);
          io_uring_prep_multishot_accept(again, listener, nullptr, nullptr, 0);
          io_uring_sqe_set_data64(again, tag(accept_op, listener));
        }
      } else if (k == recv_op) {
        if (cqe->res <= 0) {
          if ((cqe->flags & IORING_CQE_F_BUFFER) != 0) {
            give_back(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          }
          if (cqe->res == -ENOBUFS) {
            submit_recv(fd);  // out of buffers for a moment: receive again
          } else if ((cqe->flags & IORING_CQE_F_MORE) == 0) {
            close(fd);
          }
          continue;
        }
        const unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        io_uring_sqe* send = io_uring_get_sqe(&ring);
        io_uring_prep_send(send, fd, memory.data() + bid * buffer_size, static_cast<std::size_t>(cqe->res),
                           MSG_NOSIGNAL);
        io_uring_sqe_set_data64(send, tag(send_op, fd, bid));
        if ((cqe->flags & IORING_CQE_F_MORE) == 0) {
          submit_recv(fd);
        }
      } else {
        give_back(static_cast<unsigned>(data >> 34));  // sent (a short send of 64 bytes never happens here)
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
  std::printf("uring_echo: stopped\n");
  io_uring_queue_exit(&ring);
  return 0;
}
