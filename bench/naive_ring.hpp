#pragma once

// The baseline: an SPSC ring in the style cosync descends from. Head and tail sit on separate
// cache lines, but every slot carries a sequence number and every operation loads both indices
// with acquire (no cached copies), so each push and pop touches the other side's line.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace cosync::bench {

template <class T>
class naive_ring {
 public:
  explicit naive_ring(std::size_t capacity)
      : capacity_{capacity}, slots_{std::make_unique<slot[]>(capacity)} {
    for (std::size_t i = 0; i < capacity; ++i) {
      slots_[i].sequence.store(i, std::memory_order_relaxed);
    }
  }

  bool try_push(const T& value) noexcept {
    const std::size_t tail = tail_.load(std::memory_order_acquire);
    const std::size_t head = head_.load(std::memory_order_acquire);
    if (tail - head == capacity_) {
      return false;
    }
    slot& s = slots_[tail % capacity_];
    if (s.sequence.load(std::memory_order_acquire) != tail) {
      return false;
    }
    s.value = value;
    s.sequence.store(tail + 1, std::memory_order_release);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  bool try_pop(T& out) noexcept {
    const std::size_t head = head_.load(std::memory_order_acquire);
    const std::size_t tail = tail_.load(std::memory_order_acquire);
    if (head == tail) {
      return false;
    }
    slot& s = slots_[head % capacity_];
    if (s.sequence.load(std::memory_order_acquire) != head + 1) {
      return false;
    }
    out = s.value;
    s.sequence.store(head + capacity_, std::memory_order_release);
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

 private:
  struct slot {
    std::atomic<std::size_t> sequence;
    T value;
  };
  std::size_t capacity_;
  std::unique_ptr<slot[]> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

}  // namespace cosync::bench
