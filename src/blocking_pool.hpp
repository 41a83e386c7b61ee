#pragma once

// The runtime's pool of plain threads for blocking calls (cosync::spawn_blocking): started on
// demand up to runtime_config::blocking_threads, idle ones waiting on a condition variable, jobs
// served in FIFO order. Stopped before the runtime destroys the coroutines still suspended, so
// that no running call outlives the operation it reports to.

#include <cosync/detail/blocking_job.hpp>

#include <sched.h>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace cosync::detail {

class blocking_pool {
 public:
  /// Call on the thread constructing the runtime: the pool's threads will run on the CPUs that
  /// thread may use (not on a pinned executor's single CPU, which they would otherwise inherit
  /// from the executor starting them).
  explicit blocking_pool(std::size_t max_threads) noexcept;
  ~blocking_pool() { stop(); }
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  void submit(blocking_job& job);
  [[nodiscard]] bool withdraw(blocking_job& job) noexcept;

  /// Refuses new jobs, forgets the queued ones (their coroutines are destroyed by the teardown
  /// that follows) and waits for the running calls to return. Idempotent.
  void stop() noexcept;

  /// Threads started so far (tests).
  [[nodiscard]] std::size_t threads();

 private:
  void serve();

  const std::size_t max_threads_;
  cpu_set_t cpus_{};  // where the pool's threads may run
  bool cpus_known_ = false;
  std::mutex mutex_;
  std::condition_variable work_;
  // ---- guarded by mutex_ ----
  blocking_job* head_ = nullptr;
  blocking_job* tail_ = nullptr;
  std::size_t idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cosync::detail
