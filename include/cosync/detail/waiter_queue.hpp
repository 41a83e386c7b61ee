#pragma once

// The FIFO of cases parked in a structure whose completers decide under its lock (a channel's
// parked senders, its parked receivers): each node lives in its case, so parking allocates nothing.

#include <cosync/wait.hpp>

namespace cosync::detail {

/// A case's place in a waiter_queue. Only `queued` is initialised up front: the rest is written
/// when the case parks, which the fast path never does.
struct queued_waiter {
  waiter* who;  // set by push_back
  queued_waiter* prev;
  queued_waiter* next;
  bool queued = false;
};

/// An intrusive FIFO of parked cases; every call under the owning structure's lock.
class waiter_queue {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }

  void push_back(queued_waiter& node, waiter& w) noexcept {
    node.who = &w;
    node.prev = tail_;
    node.next = nullptr;
    (tail_ != nullptr ? tail_->next : head_) = &node;
    tail_ = &node;
    node.queued = true;
  }

  /// Removes `node` if it is queued; returns whether it was (a withdraw that says "I took it").
  bool erase(queued_waiter& node) noexcept {
    if (!node.queued) {
      return false;
    }
    (node.prev != nullptr ? node.prev->next : head_) = node.next;
    (node.next != nullptr ? node.next->prev : tail_) = node.prev;
    node.queued = false;
    return true;
  }

  /// Takes out the oldest case this caller may complete (its waiter claimed); cases whose wait
  /// was decided elsewhere are dropped on the way. Null if none.
  [[nodiscard]] queued_waiter* claim_front() noexcept {
    while (queued_waiter* node = head_) {
      erase(*node);
      if (node->who->claim()) {
        return node;
      }
    }
    return nullptr;
  }

  /// Whether a case that could still be completed is queued (drops the others from the front).
  [[nodiscard]] bool has_live() noexcept {
    while (head_ != nullptr && !head_->who->live()) {
      erase(*head_);
    }
    return head_ != nullptr;
  }

  /// Removes the oldest case, claimed or not (teardown). Null if none.
  queued_waiter* pop_front() noexcept {
    queued_waiter* node = head_;
    if (node != nullptr) {
      erase(*node);
    }
    return node;
  }

 private:
  queued_waiter* head_ = nullptr;
  queued_waiter* tail_ = nullptr;
};

}  // namespace cosync::detail
