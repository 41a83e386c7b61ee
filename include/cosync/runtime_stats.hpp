#pragma once

/// cosync::executor_stats: what one executor has done since its runtime started, as read by
/// cosync::runtime::stats() — from any thread, while the executors run or after they stopped.
///
///     for (const cosync::executor_stats& s : rt.stats()) {
///       if (s.mesh_overflows != 0) { /* a ring between two executors filled up */ }
///     }
///     std::fputs(cosync::stats_table(rt.stats()).c_str(), stderr);
///
/// Each counter is written only by its own executor's thread (a relaxed store to a line no other
/// thread writes), so counting costs the hot paths no shared-line traffic; a snapshot is a set of
/// relaxed loads, each counter exact, the set not taken at one instant.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cosync {

/// One executor's counters (every count since the runtime started).
struct executor_stats {
  std::size_t executor = 0;  ///< its index in the runtime

  std::uint64_t resumed = 0;           ///< coroutines its loop resumed (ready queue and mesh arrivals)
  std::uint64_t ready_high_water = 0;  ///< most coroutines ever waiting in its ready queue at once

  std::uint64_t sleeps = 0;        ///< times it blocked in its backend, nothing left to run
  std::uint64_t woken = 0;         ///< of those, times another thread's wakeup ended the block
  std::uint64_t wakeups_sent = 0;  ///< times it woke a sleeping peer to hand it work

  std::uint64_t mesh_sent = 0;         ///< coroutines it pushed into its peers' rings
  std::uint64_t mesh_received = 0;     ///< coroutines it took from its own inbound rings
  std::uint64_t mesh_overflows = 0;    ///< pushes that found a peer's ring full (the rest waited)
  std::uint64_t foreign_received = 0;  ///< coroutines handed over by threads outside the runtime

  std::uint64_t timers_armed = 0;     ///< deadlines armed here (sleeps, timeouts, select timers)
  std::uint64_t timers_fired = 0;     ///< of those, deadlines that passed
  std::uint64_t timers_disarmed = 0;  ///< of those, deadlines withdrawn first (the wait ended)

  std::uint64_t io_submitted = 0;  ///< I/O operations started on its backend
  std::uint64_t io_completed = 0;  ///< completions it handled (a multishot operation has several)

  ///@{
  /// Time spent looking for work or blocked (idle) and everything else (busy), since the runtime
  /// started; busy + idle is the executor's age (its whole life once it stopped).
  std::chrono::nanoseconds busy{0};
  std::chrono::nanoseconds idle{0};
  ///@}
};

/// A fixed-width text table of `stats`, one row per executor and a header, for a log or a
/// terminal (examples/pipeline --stats prints one).
[[nodiscard]] std::string stats_table(const std::vector<executor_stats>& stats);

}  // namespace cosync
