#pragma once

// The parked cases of a coordination primitive (event, wait_group, and under permit_pool the mutex
// and the semaphore): a FIFO under a small lock, its completers deciding under it (the waiting
// core's rules, cosync/wait.hpp). A withdraw is exact from any thread — erasing under the lock is
// the claim — so a lone wait on these needs no race word, and its cancellation withdraws it on
// the cancelling thread.

#include <cosync/config.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/detail/waiter_queue.hpp>
#include <cosync/wait.hpp>

#include <mutex>

namespace cosync::detail {

class parked_list {
 public:
  parked_list() = default;
  parked_list(const parked_list&) = delete;
  parked_list& operator=(const parked_list&) = delete;
  /// At runtime teardown the coroutines still parked are destroyed after their primitive may be:
  /// their cases are let go here, and their awaiters see `queued == false` and leave it alone.
  ~parked_list() {
    if (tearing_down()) {
      while (queue_.pop_front() != nullptr) {
      }
      return;
    }
    COSYNC_ASSERT(queue_.empty(),
                  "cosync: a mutex, semaphore, event or wait_group destroyed with coroutines parked in it");
  }

  void lock() { mutex_.lock(); }
  void unlock() noexcept { mutex_.unlock(); }

  // ---- under the lock ----
  void push(queued_waiter& node, waiter& w) noexcept { queue_.push_back(node, w); }
  /// The oldest parked case this caller won (claimed), out of the list; null if none.
  [[nodiscard]] queued_waiter* claim_front() noexcept { return queue_.claim_front(); }
  /// Claims every parked case still live and schedules its wake.
  void claim_all(wake_list& wake) noexcept {
    while (queued_waiter* node = queue_.claim_front()) {
      wake.push(*node->who);
    }
  }
  [[nodiscard]] bool empty() const noexcept { return queue_.empty(); }

  // ---- any thread ----
  /// Takes `node` out if it is still parked (true); then runs `after(*this)` under the lock.
  template <class After>
  bool withdraw(queued_waiter& node, After after) {
    if (tearing_down() && !node.queued) {
      return false;  // the primitive may be gone (see the destructor)
    }
    const std::lock_guard lock{mutex_};
    const bool erased = queue_.erase(node);
    after(*this);
    return erased;
  }
  bool withdraw(queued_waiter& node) {
    return withdraw(node, [](parked_list& /*list*/) noexcept {});
  }

 private:
  std::mutex mutex_;
  waiter_queue queue_;  // guarded by mutex_
};

/// The case "wait until `Owner` is ready" (an event set, a wait group at zero): completes at once
/// if it is, else parks in the owner's list until the owner wakes every parked case. `Owner`
/// gives it `ready()` (lock-free; acquire) and `parked_` (its parked_list), and sets what makes it
/// ready under that list's lock before claiming every parked case.
template <class Owner>
class ready_op {
 public:
  static constexpr bool withdraw_from_any_thread = true;

  explicit ready_op(Owner& owner) noexcept : owner_{&owner} {}
  ready_op(ready_op&& other) noexcept : owner_{other.owner_} {}
  ready_op& operator=(ready_op&&) = delete;
  ~ready_op() = default;

 private:
  friend struct cosync::case_access;
  static constexpr const char* wait_name = "event or wait_group";  // in a trace

  [[nodiscard]] bool try_complete() const noexcept { return owner_->ready(); }
  [[nodiscard]] void* lock_key() const noexcept { return &owner_->parked_; }
  void lock() { owner_->parked_.lock(); }
  void unlock() noexcept { owner_->parked_.unlock(); }
  [[nodiscard]] bool try_complete_locked(wake_list& /*wake*/) const noexcept { return owner_->ready(); }
  void park(waiter& w) noexcept { owner_->parked_.push(node_, w); }
  bool withdraw() { return owner_->parked_.withdraw(node_); }
  void result() const noexcept {}

  Owner* owner_;
  queued_waiter node_;
};

}  // namespace cosync::detail
