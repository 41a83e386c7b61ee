#pragma once

/// cosync::mutex: mutual exclusion between coroutines, held across co_await without blocking a
/// thread.
///
///     cosync::mutex m;
///     {
///       auto guard = co_await m.lock();   // unlocks when it goes out of scope
///       co_await write_both(a, b);
///     }

#include <cosync/detail/permit_pool.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <mutex>
#include <utility>

namespace cosync {

class mutex;

/// Ownership of a locked cosync::mutex: move-only, unlocks when destroyed (or by unlock()).
class [[nodiscard]] mutex_guard {
 public:
  mutex_guard() noexcept = default;
  /// Adopts a lock the caller holds (from try_lock()).
  mutex_guard(mutex& m, std::adopt_lock_t /*tag*/) noexcept : mutex_{&m} {}
  ///@{
  /// Movable: the moved-from guard holds no lock; assigning first unlocks what this one held.
  mutex_guard(mutex_guard&& other) noexcept : mutex_{std::exchange(other.mutex_, nullptr)} {}
  mutex_guard& operator=(mutex_guard&& other) noexcept {
    if (this != &other) {
      unlock();
      mutex_ = std::exchange(other.mutex_, nullptr);
    }
    return *this;
  }
  ///@}
  mutex_guard(const mutex_guard&) = delete;
  mutex_guard& operator=(const mutex_guard&) = delete;
  ~mutex_guard() { unlock(); }

  /// Unlocks now (nothing if it holds no lock).
  void unlock() noexcept;
  /// Whether it holds a lock (false once unlocked, moved from, or default-made).
  [[nodiscard]] bool owns_lock() const noexcept { return mutex_ != nullptr; }
  /// owns_lock().
  explicit operator bool() const noexcept { return owns_lock(); }

 private:
  mutex* mutex_ = nullptr;
};

/// A mutex for coroutines: a waiting lock() suspends the coroutine, not the thread.
///
/// - FIFO hand-off: unlock() with coroutines waiting hands the lock to the oldest, which resumes
///   on its home executor holding it; try_lock() never takes it from a waiter.
/// - Not recursive, and not owned by a thread: any coroutine or thread may unlock (the guard
///   does it for you). unlock() of an unlocked mutex: cosync::usage_error.
/// - Uncontended, lock and unlock are one atomic compare-exchange each.
/// - Must outlive the coroutines parked in it (asserted in debug builds).
class mutex {
 public:
  /// The case behind lock(): completes with the guard.
  class lock_op : public detail::permit_pool::take_op {
   public:
    /// A lock of `m`; made by lock().
    explicit lock_op(mutex& m) noexcept : take_op{m.pool_}, mutex_{&m} {}

   private:
    friend struct cosync::case_access;
    static constexpr const char* wait_name = "mutex lock";  // in a trace
    mutex_guard result() const noexcept { return mutex_guard{*mutex_, std::adopt_lock}; }

    mutex* mutex_;
  };

  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  /// Locks, waiting while another holds the lock; returns the guard that unlocks.
  ///
  /// - Lazy; completes at once if the mutex is free and nobody waits.
  /// - Resumes on the awaiting coroutine's home executor.
  /// - Cancellable: a cancelled wait throws cosync::cancelled without the lock; one already
  ///   handed the lock when the cancellation comes returns the guard. A select case.
  ///
  ///     auto guard = co_await m.lock();
  [[nodiscard]] waitable<lock_op> lock() noexcept { return waitable<lock_op>{*this}; }
  /// lock(), by the name some code bases use for the guard-returning form.
  [[nodiscard]] waitable<lock_op> scoped_lock() noexcept { return lock(); }

  /// Takes the lock if it is free and nobody waits; never waits. Pair with unlock(), or adopt it:
  /// `cosync::mutex_guard g{m, std::adopt_lock};`.
  [[nodiscard]] bool try_lock() noexcept { return pool_.try_take(); }

  /// Releases the lock: to the oldest waiting coroutine if any. Any thread.
  void unlock() { pool_.give(1); }

  /// Whether it is locked now (a snapshot).
  [[nodiscard]] bool is_locked() const noexcept { return pool_.available() == 0; }

 private:
  detail::permit_pool pool_{1, 1, "cosync::mutex"};
};

inline void mutex_guard::unlock() noexcept {
  if (mutex* m = std::exchange(mutex_, nullptr)) {
    m->unlock();  // cannot throw: the guard held the lock
  }
}

}  // namespace cosync
