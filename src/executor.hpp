#pragma once

// One executor: a thread with a ready queue, a timer heap, an I/O backend and the receiving ends
// of its mesh rings. Everything under "owner thread" is touched only by the executor's thread
// (and by the runtime's destructor after that thread has been joined).

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/mpsc_inbox.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/spsc_ring.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "backend.hpp"
#include "stat_counters.hpp"
#include "timer_heap.hpp"
#include "trace.hpp"
#include "wakeup.hpp"

namespace cosync::detail {

class runtime_state;

/// A coroutine handed to an executor by a thread that is not one of the runtime's executors.
struct inbox_node {
  inbox_node* next = nullptr;
  std::coroutine_handle<> handle;
};

class executor {
 public:
  /// How many ready coroutines run before the executor looks at its rings, timers and backend.
  static constexpr std::size_t ready_batch = 256;
  /// Up to how many coroutines arriving through one ring at once run as soon as they are seen.
  static constexpr std::size_t run_on_arrival = 16;

  executor(runtime_state& runtime, std::size_t index, std::unique_ptr<backend> backend,
           std::chrono::nanoseconds idle_spin);
  ~executor();
  executor(const executor&) = delete;
  executor& operator=(const executor&) = delete;

  /// Creates the inbound ring from every executor (itself included, unused); before any thread.
  void connect(std::size_t executors, std::size_t ring_capacity);

  /// The thread body: the loop, until request_stop().
  void run();

  /// Any thread: makes run() return soon.
  void request_stop() noexcept;

  /// Queues `h` here, from whichever thread calls (see detail::post).
  void post(std::coroutine_handle<> h);

  /// Any thread: runs `job` on the owner thread soon (detail::run_on).
  void run_job(remote_job& job) noexcept;

  /// Owner thread: queues `h` to run next (used to unwind a deep stack).
  void defer(std::coroutine_handle<> h);

  /// Owner thread: runs the hook of every coroutine parked here directly under `scope` (a root's,
  /// which shutdown has just cancelled): each withdraws its operation and posts its coroutine.
  void cancel_parked(const cancel_scope& scope);

  void arm(timer_node& node);
  /// Owner thread: how many timers are armed (tests check that none leaks).
  [[nodiscard]] std::size_t armed_timers() const noexcept { return timers_.size(); }
  void disarm(timer_node& node) noexcept;

  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  [[nodiscard]] runtime_state& runtime() const noexcept { return runtime_; }
  [[nodiscard]] backend& io() noexcept { return *backend_; }
  /// Before the thread starts: record this executor's timeline into `buffer` (src/trace.hpp).
  void record_trace(trace_buffer& buffer) noexcept { trace_ = &buffer; }

  /// Its counters: added to by its own thread only, read by any (runtime::stats()).
  [[nodiscard]] stat_counters& stats() noexcept { return stats_; }
  [[nodiscard]] const stat_counters& stats() const noexcept { return stats_; }

 private:
  void run_ready();
  /// Resumes `h` between a run's begin and end in the trace.
  void resume_traced(std::coroutine_handle<> h);
  /// Runs the coroutines the peers' rings hold, queues the inbox's, runs handed-over jobs: true if
  /// there was any.
  bool drain_inbound();
  void flush_outbound();
  void fire_timers();
  void sleep();
  /// Polls for work for idle_spin from `clock` (a reading of steady_clock, kept up to date with
  /// each reading it takes); true if some arrived.
  bool spin_for_work(std::chrono::steady_clock::time_point& clock) const noexcept;
  bool has_inbound_work() const noexcept;
  /// Wakes the executor if it sleeps; true if it did.
  bool notify() noexcept;
  void run_jobs() noexcept;

  // ---- read-only once the threads run ----
  runtime_state& runtime_;
  const std::size_t index_;
  std::unique_ptr<backend> backend_;
  const std::chrono::nanoseconds idle_spin_;
  // inbound_[from]: the ring executor `from` pushes into (exactly one producer, this consumer).
  std::vector<std::unique_ptr<spsc_ring<void*>>> inbound_;

  // ---- written by other threads: each on its own line, away from the owner's hot fields ----
  alignas(cache_line_size) mpsc_inbox<inbox_node> inbox_;
  mpsc_inbox<remote_job> jobs_;  // rare (run_on): shares the inbox's line
  std::mutex jobs_lock_;
  bool jobs_closed_ = false;  // under jobs_lock_: the loop has ended, run_job runs jobs itself
  alignas(cache_line_size) sleep_gate gate_;
  alignas(cache_line_size) std::atomic<bool> stop_{false};
  std::atomic<int> foreign_posts_{0};  // post() calls from outside the runtime under way

  // ---- owner thread ----
  alignas(cache_line_size) std::deque<std::coroutine_handle<>> ready_;
  // outbound_[to]: coroutines bound for executor `to`, pushed into its ring once per loop
  // iteration; what does not fit stays here (the overflow list) until the ring drains.
  std::vector<std::vector<void*>> outbound_;
  std::vector<std::size_t> outbound_dirty_;  // executors with something in outbound_
  timer_heap timers_;
  std::vector<void*> drain_buffer_;
  parked_hook* parked_hooks_ = nullptr;  // coroutines parked here under a root's scope
  trace_buffer* trace_ = nullptr;        // set while the runtime records a trace

  // ---- written by the owner thread, read by any (stats()): lines of their own ----
  alignas(cache_line_size) stat_counters stats_;
};

/// Lets the current thread act as `e` (set for the executor's thread, null elsewhere).
void set_current_executor(executor* e) noexcept;

/// Marks the calling thread as destroying suspended frames at shutdown (see tearing_down()).
void set_tearing_down(bool on) noexcept;

}  // namespace cosync::detail
