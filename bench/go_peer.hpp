#pragma once

// The Go peer (bench/peers/go_channels.go, built by CMake when golang-go is installed): a case
// runs the program with GOMAXPROCS set to the number of executors and reads its figure and its
// own verification back. One executor: the program is pinned to CPU 0, as cosync's executor is;
// two: it may use CPUs 0 and 1, which is all this machine has.

#include <cstdio>
#include <optional>
#include <string>

#include "harness.hpp"
#include "ring_workloads.hpp"

#ifndef COSYNC_GO_PEER
#define COSYNC_GO_PEER ""
#endif

namespace cosync::bench {

/// Whether the Go peer was built (its cases are skipped with a note otherwise).
inline bool have_go_peer() {
  return COSYNC_GO_PEER[0] != '\0';
}

/// Runs workload `name` ("c1" … "c4") of size `n` on `procs` Go processors.
inline result go_peer(const char* name, u64 n, int procs) {
  std::optional<scoped_pin> pin;
  if (procs == 1) {
    pin.emplace(0);  // the program inherits this thread's CPU set
  }
  const std::string command =
      "GOMAXPROCS=" + std::to_string(procs) + " '" + COSYNC_GO_PEER + "' " + name + " " + std::to_string(n);
  FILE* out = ::popen(command.c_str(), "r");
  if (out == nullptr) {
    std::fprintf(stderr, "go peer: cannot run %s\n", COSYNC_GO_PEER);
    return {};
  }
  double value = 0;
  int verified = 0;
  const int fields = std::fscanf(out, "%lf %d", &value, &verified);
  const int status = ::pclose(out);
  return result{value, {}, fields == 2 && verified == 1 && status == 0};
}

}  // namespace cosync::bench
