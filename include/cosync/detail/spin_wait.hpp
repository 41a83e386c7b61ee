#pragma once

// Waiting out another thread's few-instruction step (a slot being written, a waiter being looked
// at) without a lock.

#include <thread>

namespace cosync::detail {

/// Waits for another thread's few-instruction step: pause a while, then give up the CPU (the
/// other thread may have been preempted).
class spin_wait {
 public:
  void pause() noexcept {
    if (++count_ < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#elif defined(__aarch64__)
      asm volatile("yield");
#endif
    } else {
      std::this_thread::yield();
    }
  }

 private:
  unsigned count_ = 0;
};

}  // namespace cosync::detail
