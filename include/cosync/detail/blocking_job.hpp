#pragma once

// A call handed to the runtime's pool of blocking threads (cosync/spawn_blocking.hpp): the job
// lives in the awaiting operation, so submitting allocates nothing; the pool (src/blocking_pool.cpp)
// runs it on one of its threads and wakes the waiter.

#include <cosync/wait.hpp>

namespace cosync::detail {

class executor;
class blocking_pool;

struct blocking_job {
  void (*run)(blocking_job& job) noexcept;  // calls the function, keeps its outcome (a pool thread)
  waiter* who = nullptr;                    // set by park
  blocking_job* next = nullptr;             // the pool's queue
  bool queued = false;                      // under the pool's lock
};

/// The pool of `home`'s runtime.
[[nodiscard]] blocking_pool& blocking_pool_of(executor& home) noexcept;

/// Queues `job`, starting a thread if none is idle and the pool is below its size. Throws (and
/// queues nothing) if the runtime is shutting down or a thread cannot be started.
void submit_blocking(blocking_pool& pool, blocking_job& job);

/// Takes `job` back if no thread has started it: true; false once it runs (its waiter is woken
/// when it returns) or has run.
[[nodiscard]] bool withdraw_blocking(blocking_pool& pool, blocking_job& job) noexcept;

}  // namespace cosync::detail
