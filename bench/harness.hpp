#pragma once

// The benchmark harness shared by every cosync benchmark (BENCHMARKING.md):
//  - each measurement runs in a fresh child process, and the implementations are interleaved
//    within every repetition, so each gets its share of the VM's "near" and "far" vCPU placements;
//  - two-thread cases pin their threads to CPUs 0 and 1 and time a cache-line ping-pong between
//    them first (the placement probe), so results are labelled near or far;
//  - every case verifies its own result; a wrong answer fails the run;
//  - the output is a table of median/min/max per case (and per placement), with ratios against
//    the best peer, or with --json one object per measurement.

#include <sched.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace cosync::bench {

/// What one run of a case reports.
struct result {
  double value = 0;                     // the primary metric, in the case's unit
  std::map<std::string, double> extra;  // secondary metrics (p50, p99, ...), same direction
  bool verified = false;                // the case checked its own count and checksum
};

/// Who an implementation is: cosync's own, a peer it must keep up with, or the naive baseline it
/// descends from. Ratios are printed for ours against the best peer and against the baseline.
enum class role { ours, peer, baseline };

/// One workload run by one implementation.
struct bench_case {
  std::string workload;   // e.g. "R2 stream cap=1024"
  std::string impl;       // e.g. "cosync", "boost::lockfree"
  std::string unit;       // e.g. "M msg/s" or "ns/round trip"
  bool higher_is_better;  // throughput yes, latency no
  bool two_threads;       // pinned to CPUs 0 and 1, with a placement probe
  role who;
  std::function<result(double scale)> run;  // scale multiplies the workload's size (--scale)
};

/// Pins the calling thread to `cpu` (no-op with a warning once if the affinity call fails).
void pin_to_cpu(int cpu) noexcept;

/// Pins the calling thread to `cpu` for its lifetime, then restores the thread's previous CPU
/// set, so that a runtime created later still sees every CPU the process may use.
class scoped_pin {
 public:
  explicit scoped_pin(int cpu) noexcept;
  ~scoped_pin();
  scoped_pin(const scoped_pin&) = delete;
  scoped_pin& operator=(const scoped_pin&) = delete;

 private:
  cpu_set_t saved_;
  bool restore_ = false;
};

/// Mean nanoseconds of one cache-line round trip between threads pinned to CPUs 0 and 1.
double placement_probe();

/// Defeats dead-code elimination of a computed value.
template <class T>
inline void keep(const T& value) noexcept {
  asm volatile("" : : "g"(&value) : "memory");
}

/// The program: parses the command line, runs the cases (as child processes unless
/// --in-process), prints the table or JSON. Returns the process exit code.
int run_main(int argc, char** argv, const std::vector<bench_case>& cases);

}  // namespace cosync::bench
