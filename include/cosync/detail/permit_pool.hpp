#pragma once

// The engine of cosync::semaphore and cosync::mutex: a count of permits, handed out FIFO.
//
// One word holds the free permits and a *waiting* bit:  [ permits ... | waiting ]
// - While nobody waits (the bit clear), taking and giving a permit is one CAS on the word: an
//   uncontended lock/unlock never touches the lock.
// - A taker that finds no permit parks under the list's lock and sets the bit; from then on every
//   give() goes through the lock and hands its permits straight to the oldest parked takers. So a
//   newcomer cannot take a permit a parked taker is owed (no barging: FIFO), and while the bit is
//   set the word holds no free permits (invariant), nobody changes it without the lock, and the
//   last parked taker to leave clears the bit.
//
// Memory ordering: (T) a take's successful CAS is an acquire, (G) a give's a release: a permit
// taken after a give carries what the giver did before giving (a mutex's critical section). A
// permit handed to a parked taker is carried by the claim (acq_rel) and the wake that follows. The
// bit's set and clear are read-modify-writes of the same word, so every give either sees the bit
// (and takes the lock, behind the parking taker) or lands before it (and the parking taker's CAS
// sees the permit): no lost wakeup, no fence.

#include <cosync/config.hpp>
#include <cosync/detail/parked_list.hpp>
#include <cosync/detail/waiter_queue.hpp>
#include <cosync/error.hpp>
#include <cosync/wait.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>

namespace cosync::detail {

class permit_pool {
 public:
  /// The most permits a pool can hold.
  static constexpr std::size_t max_permits = ~std::size_t{0} >> 1;

  /// `permits` free to begin with, at most `limit` free at any time (a give beyond it is a
  /// usage_error: a mutex unlocked twice).
  permit_pool(std::size_t permits, std::size_t limit, const char* name) : limit_{limit}, name_{name} {
    if (permits > limit) {
      throw usage_error(std::string{name} + ": more initial permits than its limit");
    }
    word_.store(permits * unit, std::memory_order_relaxed);  // relaxed: before any sharing
  }
  permit_pool(const permit_pool&) = delete;
  permit_pool& operator=(const permit_pool&) = delete;

  /// Takes a free permit if one is free and nobody waits for one. Lock-free.
  [[nodiscard]] bool try_take() noexcept {
    std::size_t word = word_.load(std::memory_order_relaxed);
    while (word >= unit && (word & waiting) == 0) {
      // (T) acquire: pairs with (G).
      if (word_.compare_exchange_weak(word, word - unit, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  /// Gives `k` permits back: to the oldest parked takers first (each resumed on its home), the
  /// rest free. Lock-free while nobody waits.
  void give(std::size_t k) {
    if (k == 0) {
      return;
    }
    if (give_free(k)) {
      return;
    }
    wake_list wake;  // wakes once the lock is released
    const std::lock_guard lock{parked_};
    if (give_free(k)) {  // the last parked taker left meanwhile
      return;
    }
    // The bit is set and only lock holders change the word now; it holds no free permit.
    while (k > 0) {
      queued_waiter* node = parked_.claim_front();
      if (node == nullptr) {
        break;
      }
      wake.push(*node->who);
      --k;
    }
    if (parked_.empty()) {
      check_limit(0, k);
      word_.store(k * unit, std::memory_order_release);  // (G) release; clears the bit
    }
  }

  /// Free permits now (a snapshot).
  [[nodiscard]] std::size_t available() const noexcept {
    return word_.load(std::memory_order_relaxed) / unit;  // relaxed: an observation
  }

  /// The case "take one permit" (cosync/wait.hpp): FIFO among parked takers, and none while
  /// anybody is parked.
  class take_op {
   public:
    static constexpr bool withdraw_from_any_thread = true;

    explicit take_op(permit_pool& pool) noexcept : pool_{&pool} {}
    take_op(take_op&& other) noexcept : pool_{other.pool_} {}
    take_op& operator=(take_op&&) = delete;
    ~take_op() = default;

   protected:
    friend struct cosync::case_access;
    static constexpr const char* wait_name = "semaphore";  // in a trace

    [[nodiscard]] permit_pool& pool() const noexcept { return *pool_; }

    [[nodiscard]] bool try_complete() noexcept { return pool_->try_take(); }
    [[nodiscard]] void* lock_key() const noexcept { return &pool_->parked_; }
    void lock() { pool_->parked_.lock(); }
    void unlock() noexcept { pool_->parked_.unlock(); }
    [[nodiscard]] bool try_complete_locked(wake_list& /*wake*/) noexcept { return pool_->try_take(); }
    bool park(waiter& w) { return pool_->park(node_, w); }
    bool withdraw() { return pool_->withdraw(node_); }
    void result() const noexcept {}

   private:
    permit_pool* pool_;
    queued_waiter node_;
  };

 private:
  static constexpr std::size_t waiting = 1;
  static constexpr std::size_t unit = 2;

  void check_limit(std::size_t free, std::size_t k) const {
    if (k > limit_ - free) {
      throw usage_error(std::string{name_} + ": more permits given back than taken");
    }
  }

  // Adds `k` free permits while nobody waits; false (nothing done) once the bit is set.
  bool give_free(std::size_t k) {
    std::size_t word = word_.load(std::memory_order_relaxed);
    while ((word & waiting) == 0) {
      check_limit(word / unit, k);
      // (G) release: pairs with (T).
      if (word_.compare_exchange_weak(word, word + k * unit, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  // Under the lock (the case's lock()). Queues `w`, then sets the bit — unless a permit was given
  // since try_complete_locked looked: then it takes that one instead (false: completed, not
  // parked). If a competing case of w's select won meanwhile, the permit goes back and nothing
  // is parked (true: the select resumes for that case and withdrawing finds nothing).
  bool park(queued_waiter& node, waiter& w) {
    std::size_t word = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (word >= unit) {  // the bit is clear: a giver found nobody waiting
        // (T) acquire: pairs with (G).
        if (word_.compare_exchange_weak(word, word - unit, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
          if (w.claim()) {
            return false;
          }
          (void)give_free(1);  // the bit is still clear: only this lock holder sets it
          return true;
        }
      } else if (word_.compare_exchange_weak(word, word | waiting, std::memory_order_relaxed)) {
        break;  // relaxed: the bit publishes nothing; the lock orders what the giver reads
      }
    }
    parked_.push(node, w);
    return true;
  }

  bool withdraw(queued_waiter& node) {
    return parked_.withdraw(node, [this](parked_list& list) noexcept {
      if (list.empty()) {
        // relaxed: no permits move (the word holds none while the bit is set).
        word_.fetch_and(~waiting, std::memory_order_relaxed);
      }
    });
  }

  std::atomic<std::size_t> word_;
  const std::size_t limit_;
  const char* const name_;
  parked_list parked_;
};

}  // namespace cosync::detail
