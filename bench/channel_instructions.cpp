// channel_instructions: one channel workload on one executor, in this process, for
// valgrind --tool=callgrind, whose instruction counts are exact where timings on a shared VM are
// not. Two sizes give the cost per message without the setup:
//
//   COSYNC_BACKEND=epoll valgrind --tool=callgrind channel_instructions c1-spsc 0.01
//   COSYNC_BACKEND=epoll valgrind --tool=callgrind channel_instructions c1-spsc 0.02
//   → (Ir at 0.02 − Ir at 0.01) / 10^5 messages; c2-* counts round trips (10^4 per 0.01)
//
// (epoll: valgrind does not model io_uring.) Workloads: c1-spsc, c1-mpmc, c2-spsc, c2-mpmc.

#include <cosync/channel.hpp>
#include <cosync/spsc_channel.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "channel_workloads.hpp"

int main(int argc, char** argv) {
  using namespace cosync::bench;
  const std::string_view workload = argc == 3 ? argv[1] : "";
  const double scale = argc == 3 ? std::strtod(argv[2], nullptr) : 0;
  result r{};
  if (workload == "c1-spsc") {
    r = c1_stream<cosync::spsc_channel<u64>>(scale, 1);
  } else if (workload == "c1-mpmc") {
    r = c1_stream<cosync::channel<u64>>(scale, 1);
  } else if (workload == "c2-spsc") {
    r = c2_ping_pong<cosync::spsc_channel<u64>>(scale, 1);
  } else if (workload == "c2-mpmc") {
    r = c2_ping_pong<cosync::channel<u64>>(scale, 1);
  } else {
    std::fputs("usage: channel_instructions c1-spsc|c1-mpmc|c2-spsc|c2-mpmc SCALE\n", stderr);
    return 2;
  }
  std::printf("%s: %.3f (%s)\n", argv[1], r.value, r.verified ? "verified" : "NOT VERIFIED");
  return r.verified ? 0 : 1;
}
