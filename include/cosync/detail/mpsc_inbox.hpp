#pragma once

/// cosync::detail::mpsc_inbox: a lock-free intrusive inbox for many producer threads and one
/// consumer thread (the executor that owns it).
///
/// Roles: any number of threads call push(); exactly one thread calls take_all(). Nodes are
/// owned by the caller until pushed and by the consumer once taken.
///
/// Algorithm: a Treiber stack whose consumer takes the whole stack with one exchange and
/// reverses it, so items come out oldest first. Taking everything at once removes the ABA
/// problem of a popping Treiber stack: a node is never re-examined after it leaves the stack.
///
/// Memory ordering:
///   (P1) push: write the node, then CAS-release head_ to it. Pairs with (C1).
///   (C1) take_all: exchange-acquire head_ to null: every node taken, and everything its pusher
///        wrote before pushing it, is visible.
/// Executors are woken after a push by the sleep/wake protocol (src/wakeup.hpp), not by this
/// structure.

#include <atomic>

namespace cosync::detail {

template <class Node>  // Node has a member `Node* next`
class mpsc_inbox {
 public:
  mpsc_inbox() = default;
  mpsc_inbox(const mpsc_inbox&) = delete;
  mpsc_inbox& operator=(const mpsc_inbox&) = delete;

  /// Any thread: adds `node`.
  void push(Node* node) noexcept {
    Node* head = head_.load(std::memory_order_relaxed);
    do {
      node->next = head;
    } while (!head_.compare_exchange_weak(head, node, std::memory_order_release,  // (P1)
                                          std::memory_order_relaxed));
  }

  /// Consumer: removes every node and returns them as a list, oldest first (nullptr if none).
  [[nodiscard]] Node* take_all() noexcept {
    Node* newest = head_.exchange(nullptr, std::memory_order_acquire);  // (C1)
    Node* oldest = nullptr;
    while (newest != nullptr) {
      Node* next = newest->next;
      newest->next = oldest;
      oldest = newest;
      newest = next;
    }
    return oldest;
  }

  /// Whether the inbox looked empty at some moment during the call.
  [[nodiscard]] bool empty_approx() const noexcept {
    return head_.load(std::memory_order_acquire) == nullptr;
  }

 private:
  std::atomic<Node*> head_{nullptr};
};

}  // namespace cosync::detail
