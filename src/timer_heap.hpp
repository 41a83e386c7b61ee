#pragma once

// An executor's timers: a binary min-heap of timer_node pointers ordered by deadline. Each node
// records its position, so cancelling one (select timeouts are cancelled far more often than
// they fire) is O(log n) with no search. Owned and used by one executor thread.
//
// The array grows with realloc rather than as a std::vector: past malloc's mmap threshold a
// realloc moves pages (mremap) instead of copying them, so growing never holds the old and the
// new array in memory at once (10^5 sleepers: ~0.8 MiB at peak instead of ~1.5).

#include <cosync/detail/scheduler.hpp>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

namespace cosync::detail {

class timer_heap {
 public:
  timer_heap() = default;
  timer_heap(const timer_heap&) = delete;
  timer_heap& operator=(const timer_heap&) = delete;
  ~timer_heap() { std::free(nodes_); }

  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] timer_node& top() const noexcept { return *nodes_[0]; }

  /// Strong guarantee: if the heap cannot grow (std::bad_alloc), `node` is left unarmed.
  void push(timer_node& node) {
    if (size_ == capacity_) {
      const std::size_t capacity = capacity_ == 0 ? 64 : 2 * capacity_;
      void* grown = std::realloc(static_cast<void*>(nodes_), capacity * sizeof(timer_node*));
      if (grown == nullptr) {
        throw std::bad_alloc{};
      }
      nodes_ = static_cast<timer_node**>(grown);
      capacity_ = capacity;
    }
    nodes_[size_] = &node;
    node.heap_index = size_++;
    sift_up(node.heap_index);
  }

  /// Removes `node`, which must be in this heap.
  void remove(timer_node& node) noexcept {
    const std::size_t i = node.heap_index;
    node.heap_index = timer_node::not_armed;
    timer_node* last = nodes_[--size_];
    if (i == size_) {
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
    const std::size_t n = size_;
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

  timer_node** nodes_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace cosync::detail
