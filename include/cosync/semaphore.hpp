#pragma once

/// cosync::semaphore: a count of permits coroutines acquire and release, handed out in order.
///
///     cosync::semaphore slots{4};             // at most 4 downloads at a time
///     co_await slots.acquire();
///     auto body = co_await fetch(url);
///     slots.release();

#include <cosync/detail/permit_pool.hpp>
#include <cosync/wait.hpp>
#include <cosync/waitable.hpp>

#include <cstddef>

namespace cosync {

/// A counting semaphore for coroutines.
///
/// - FIFO: permits released while coroutines wait go to them in the order they began waiting;
///   try_acquire() takes none while anybody waits (no barging that starves a waiter).
/// - try_acquire(), release(), available(): any thread, never wait. Uncontended, acquire and
///   release are one atomic compare-exchange each.
/// - At most semaphore::max() free permits (release beyond: cosync::usage_error).
/// - Must outlive the coroutines parked in it (asserted in debug builds).
class semaphore {
 public:
  /// The case acquire() awaits (a select case): completes holding one permit.
  using acquire_op = detail::permit_pool::take_op;

  /// The most free permits a semaphore can hold.
  [[nodiscard]] static constexpr std::size_t max() noexcept { return detail::permit_pool::max_permits; }

  /// Starts with `permits` free (cosync::usage_error above max()).
  explicit semaphore(std::size_t permits) : pool_{permits, max(), "cosync::semaphore"} {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// Takes a permit, waiting for one if none is free.
  ///
  /// - Lazy; completes at once if a permit is free and nobody waits.
  /// - Resumes on the awaiting coroutine's home executor.
  /// - Cancellable: a cancelled acquire throws cosync::cancelled having taken nothing; one
  ///   already handed a permit when the cancellation comes returns normally (it holds it). A
  ///   select case: `co_await cosync::select(s.acquire(), cosync::after(1s))`.
  ///
  ///     co_await s.acquire();
  [[nodiscard]] waitable<acquire_op> acquire() noexcept { return waitable<acquire_op>{pool_}; }

  /// Takes a permit if one is free and nobody waits; never waits.
  [[nodiscard]] bool try_acquire() noexcept { return pool_.try_take(); }

  /// Gives back `k` permits: to waiting coroutines first, in order, the rest free.
  void release(std::size_t k = 1) { pool_.give(k); }

  /// Free permits now (a snapshot; 0 while coroutines wait).
  [[nodiscard]] std::size_t available() const noexcept { return pool_.available(); }

 private:
  detail::permit_pool pool_;
};

}  // namespace cosync
