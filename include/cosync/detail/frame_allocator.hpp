#pragma once

// Coroutine frames are allocated and freed at a high rate (one per task), often in bursts of
// thousands that live for a moment. Each thread keeps freed frames in per-size free lists and
// hands them out again, so a burst touches no fresh pages and takes no allocator lock. Frames
// freed on another thread than the one that allocated them join that thread's lists — so a
// thread that only frees (the consumer end of a pipeline, the target of spawn_on) would hoard
// without end: each thread keeps at most max_bytes, and gives the rest back to the allocator.
// (Under AddressSanitizer the cache is off, so every use-after-free is still caught.)

#include <array>
#include <cstddef>
#include <new>

namespace cosync::detail {

class frame_cache {
 public:
  // Size classes are 16 bytes apart and 8 short of a multiple of 16: glibc's malloc puts an
  // 8-byte header before each chunk and rounds chunks to 16, so a request of 16k + 8 bytes wastes
  // nothing and a frame wastes at most 15: at 10^5 suspended coroutines that is megabytes (C6
  // measures it).
  static constexpr std::size_t granule = 16;
  static constexpr std::size_t size_classes = 64;                 // frames up to 1 KiB are cached
  static constexpr std::size_t max_bytes = std::size_t{4} << 20;  // what one thread may hoard

  frame_cache() = default;
  frame_cache(const frame_cache&) = delete;
  frame_cache& operator=(const frame_cache&) = delete;

  ~frame_cache() {
    for (std::size_t c = 0; c < size_classes; ++c) {
      while (node* n = free_[c]) {
        free_[c] = n->next;
        release(n, size_of(c));
      }
    }
    bytes_ = max_bytes;  // frames freed during thread exit go straight to the allocator
  }

  void* allocate(std::size_t bytes) {
    const std::size_t c = class_of(bytes);
    if (c >= size_classes) {
      return ::operator new(bytes);
    }
    if (node* n = free_[c]) {
      free_[c] = n->next;
      bytes_ -= size_of(c);
      return n;
    }
    return ::operator new(size_of(c));
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    const std::size_t c = class_of(bytes);
    if (c >= size_classes) {
      release(p, bytes);
      return;
    }
    const std::size_t size = size_of(c);
    if (!enabled || bytes_ + size > max_bytes) {
      release(p, size);
      return;
    }
    free_[c] = new (p) node{free_[c]};
    bytes_ += size;
  }

  /// Bytes this thread keeps for reuse (tests: never above max_bytes).
  [[nodiscard]] std::size_t cached_bytes() const noexcept { return bytes_; }

 private:
  struct node {
    node* next;
  };

#if defined(__SANITIZE_ADDRESS__)
  static constexpr bool enabled = false;
#else
  static constexpr bool enabled = true;
#endif

  static constexpr std::size_t class_of(std::size_t bytes) noexcept {
    return (bytes + 7) / granule;
  }
  static constexpr std::size_t size_of(std::size_t size_class) noexcept {
    return size_class * granule + 8;
  }

  // Sized delete where the compiler provides it (GCC; Clang before 19 only with
  // -fsized-deallocation), plain delete otherwise.
  static void release(void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__cpp_sized_deallocation)
    ::operator delete(p, bytes);
#else
    ::operator delete(p);
#endif
  }

  std::array<node*, size_classes> free_{};
  std::size_t bytes_ = 0;  // in free_
};

inline thread_local frame_cache this_thread_frames;

/// Base of cosync's promise types: their coroutine frames come from the thread's frame cache.
struct recycled_frame {
  static void* operator new(std::size_t bytes) { return this_thread_frames.allocate(bytes); }
  static void operator delete(void* p, std::size_t bytes) noexcept {
    this_thread_frames.deallocate(p, bytes);
  }
};

}  // namespace cosync::detail
