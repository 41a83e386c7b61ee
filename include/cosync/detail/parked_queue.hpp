#pragma once

// Coroutines parked in a channel: the queue node each blocked operation carries, the FIFO queue
// of them, and the list of coroutines to resume once the channel's lock is released.

#include <cosync/detail/scheduler.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <limits>

namespace cosync::detail {

/// A select's verdict, shared by its cases: `undecided` until one case (its index) or a
/// cancellation wins it with a single CAS. Whoever wins completes; every other party that
/// reaches for the select afterwards finds it decided and leaves it alone.
using select_race = std::atomic<std::size_t>;
inline constexpr std::size_t race_undecided = std::numeric_limits<std::size_t>::max();
inline constexpr std::size_t race_cancelled = race_undecided - 1;

/// A blocked operation waiting in a channel's queue: whom to resume, where, and — for a select
/// case — the race it must win first. Lives inside the operation's awaiter (no allocation).
///
/// Only `race` and `queued` are initialised up front: the rest is written when the operation
/// parks, which the fast path never does (seven stores per operation saved).
struct parked_party {
  std::coroutine_handle<> waiter;  // set by record()
  executor* home;                  // set by record()
  select_race* race = nullptr;     // null for a plain operation, which needs no race
  std::size_t case_index;          // meaningful only with a race

  // Owned by the queue, under the channel's lock; prev and next are set by push_back.
  parked_party* prev;
  parked_party* next;
  bool queued = false;

  /// Records the suspending coroutine and its executor.
  void record(std::coroutine_handle<> h) noexcept {
    waiter = h;
    home = current_executor();
  }

  /// Takes on a select's identity for this case: its coroutine, executor, race and case index.
  void adopt(const parked_party& as) noexcept {
    waiter = as.waiter;
    home = as.home;
    race = as.race;
    case_index = as.case_index;
  }

  /// Takes the right to complete this operation: always for a plain one, for a select case only
  /// if no other case (or a cancellation) has won.
  [[nodiscard]] bool claim() const noexcept {
    if (race == nullptr) {
      return true;
    }
    std::size_t expected = race_undecided;
    // acq_rel: acquire sees the select's setup of its cases; release publishes, with the wake
    // that follows, whatever the winner hands over.
    return race->compare_exchange_strong(expected, case_index, std::memory_order_acq_rel);
  }

  /// False once another case of its select has won: the node only waits to be withdrawn.
  [[nodiscard]] bool live() const noexcept {
    return race == nullptr ||
           race->load(std::memory_order_acquire) == race_undecided;  // acquire: as in claim
  }
};

/// An intrusive FIFO of parked parties; every call under the channel's lock.
class parked_queue {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }

  void push_back(parked_party& p) noexcept {
    p.prev = tail_;
    p.next = nullptr;
    (tail_ != nullptr ? tail_->next : head_) = &p;
    tail_ = &p;
    p.queued = true;
  }

  /// Removes `p` if it is queued; returns whether it was.
  bool erase(parked_party& p) noexcept {
    if (!p.queued) {
      return false;
    }
    (p.prev != nullptr ? p.prev->next : head_) = p.next;
    (p.next != nullptr ? p.next->prev : tail_) = p.prev;
    p.queued = false;
    return true;
  }

  /// Removes and returns the oldest party that this caller may complete (see claim()); parties
  /// whose select was won elsewhere are dropped on the way. Null if none.
  [[nodiscard]] parked_party* claim_front() noexcept {
    while (parked_party* p = head_) {
      erase(*p);
      if (p->claim()) {
        return p;
      }
    }
    return nullptr;
  }

  /// Whether a party that could still be completed is queued (drops the others from the front).
  [[nodiscard]] bool has_live() noexcept {
    while (head_ != nullptr && !head_->live()) {
      erase(*head_);
    }
    return head_ != nullptr;
  }

  /// Removes and returns the oldest party, claimed or not (close and shutdown). Null if none.
  [[nodiscard]] parked_party* pop_front() noexcept {
    parked_party* p = head_;
    if (p != nullptr) {
      erase(*p);
    }
    return p;
  }

 private:
  parked_party* head_ = nullptr;
  parked_party* tail_ = nullptr;
};

/// Resumes a parked coroutine: posted to its executor, or inline if it has none (never under a
/// channel's lock).
inline void resume_on_home(std::coroutine_handle<> waiter, executor* home) {
  if (home != nullptr) {
    post(*home, waiter);
  } else {
    waiter.resume();
  }
}

/// The coroutines a channel operation unblocked, resumed once its lock is released (a party
/// parked off any executor resumes inline, which must not happen under the lock). Intrusive: a
/// claimed party has left its queue, so its `next` link is free to chain it here — collecting
/// wakeups never allocates and so never fails halfway. The destructor resumes whoever is still
/// listed, so an exception thrown by the locked step (after it claimed parties) strands nobody.
class wake_list {
 public:
  wake_list() = default;
  wake_list(const wake_list&) = delete;
  wake_list& operator=(const wake_list&) = delete;
  ~wake_list() { resume_all(); }

  /// `p` must have been claimed and taken out of its queue.
  void push(parked_party& p) noexcept {
    p.next = nullptr;
    (tail_ != nullptr ? tail_->next : head_) = &p;
    tail_ = &p;
  }

  /// Posts each coroutine to its executor (resumes it here if it has none). Out of memory while
  /// queueing a wakeup is fatal (std::terminate): a lost wakeup would hang the program instead.
  void resume_all() noexcept {
    while (parked_party* p = head_) {
      head_ = p->next;  // read before resuming: the party's coroutine may destroy it at once
      if (head_ == nullptr) {
        tail_ = nullptr;
      }
      resume_on_home(p->waiter, p->home);
    }
  }

 private:
  parked_party* head_ = nullptr;
  parked_party* tail_ = nullptr;
};

}  // namespace cosync::detail
