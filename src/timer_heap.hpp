#pragma once

// An executor's timers: a binary min-heap of timer_node pointers ordered by deadline. Each node
// records its position, so cancelling one (select timeouts are cancelled far more often than
// they fire) is O(log n) with no search. Owned and used by one executor thread.

#include <cosync/detail/scheduler.hpp>

#include <cstddef>
#include <utility>
#include <vector>

namespace cosync::detail {

class timer_heap {
 public:
  [[nodiscard]] bool empty() const noexcept { return nodes_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
  [[nodiscard]] timer_node& top() const noexcept { return *nodes_.front(); }

  /// Strong guarantee: if the heap cannot grow (std::bad_alloc), `node` is left unarmed.
  void push(timer_node& node) {
    nodes_.push_back(&node);
    node.heap_index = nodes_.size() - 1;
    sift_up(node.heap_index);
  }

  /// Removes `node`, which must be in this heap.
  void remove(timer_node& node) noexcept {
    const std::size_t i = node.heap_index;
    node.heap_index = timer_node::not_armed;
    timer_node* last = nodes_.back();
    nodes_.pop_back();
    if (i == nodes_.size()) {
      return;  // it was the last element
    }
    place(i, last);
    sift_down(i);
    sift_up(i);
  }

 private:
  static bool earlier(const timer_node* a, const timer_node* b) noexcept { return a->deadline < b->deadline; }

  void place(std::size_t i, timer_node* node) noexcept {
    nodes_[i] = node;
    node->heap_index = i;
  }

  void sift_up(std::size_t i) noexcept {
    timer_node* node = nodes_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!earlier(node, nodes_[parent])) {
        break;
      }
      place(i, nodes_[parent]);
      i = parent;
    }
    place(i, node);
  }

  void sift_down(std::size_t i) noexcept {
    timer_node* node = nodes_[i];
    const std::size_t n = nodes_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) {
        break;
      }
      if (child + 1 < n && earlier(nodes_[child + 1], nodes_[child])) {
        ++child;
      }
      if (!earlier(nodes_[child], node)) {
        break;
      }
      place(i, nodes_[child]);
      i = child;
    }
    place(i, node);
  }

  std::vector<timer_node*> nodes_;
};

}  // namespace cosync::detail
