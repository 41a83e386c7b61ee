#pragma once

/// cosync::spsc_ring<T>: a bounded, lock-free, wait-free single-producer single-consumer ring.
///
/// Roles: exactly one producer thread calls the producer-side members (`try_push`,
/// `try_emplace`, `try_push_n`) and exactly one consumer thread calls the consumer-side members
/// (`try_pop`, `front`, `pop`, `try_pop_n`); the observers may be called from anywhere. Any other
/// use is undefined. The roles may move between threads only across a synchronisation that
/// orders the old owner's last call before the new owner's first (a thread join, a mutex).
///
/// Algorithm: Lamport's ring with free-running indices and a cached copy of the other side's
/// index on each side (rigtorp/SPSCQueue, Seastar); every index and cache on its own line. The
/// layout and why are in docs/design/ring.md; the ordering argument is here, next to the code.
///
/// Memory ordering (the only edges; every other access is relaxed or private):
///   (P1) producer: construct slots_[t], then store-release tail_ = t + 1.
///        Pairs with (C1): what the consumer sees in tail_ is fully constructed.
///   (C1) consumer: load-acquire tail_ before reading any slot below it.
///   (C2) consumer: move out and destroy slots_[h], then store-release head_ = h + 1.
///        Pairs with (P2): the consumer is done with a slot before the producer reuses it.
///   (P2) producer: load-acquire head_ before constructing into any slot it frees.
/// Each side loads its own index relaxed: it is the only writer, so it always sees its last
/// store. The cached copies are plain variables owned by one thread.

#include <cosync/config.hpp>
#include <cosync/error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

namespace cosync {

/// A bounded lock-free ring for exactly one producer thread and one consumer thread.
///
/// No operation blocks, allocates or makes a system call after construction. Elements may be
/// move-only and non-trivial; those still in the ring when it is destroyed are destroyed exactly
/// once.
///
///     cosync::spsc_ring<int> ring{1024};
///     (void)ring.try_push(42);                  // producer thread
///     if (auto v = ring.try_pop()) use(*v);     // consumer thread
template <class T>
class spsc_ring {
  static_assert(!std::is_reference_v<T> && !std::is_const_v<T> && std::is_object_v<T>,
                "cosync::spsc_ring<T>: T must be a non-const object type");
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "cosync::spsc_ring<T>: T's move constructor may throw. Elements are moved into and "
                "out of slots, and a move that failed halfway would leave a value neither in the "
                "ring nor with the caller. Mark the move constructor noexcept, or store a "
                "std::unique_ptr<T>.");
  static_assert(std::is_nothrow_destructible_v<T>, "cosync::spsc_ring<T>: T's destructor must not throw");

 public:
  /// The element type, as a standard container names it.
  using value_type = T;
  /// The type of capacity() and size_approx().
  using size_type = std::size_t;

  /// The largest capacity whose buffer can be represented: a power of two no larger than 2^62
  /// (so free-running indices never become ambiguous) whose byte size fits in std::ptrdiff_t.
  [[nodiscard]] static constexpr size_type max_capacity() noexcept {
    constexpr size_type by_bytes = static_cast<size_type>(PTRDIFF_MAX) / sizeof(T);
    constexpr size_type by_index = size_type{1} << 62;
    return std::bit_floor(std::min(by_bytes, by_index));
  }

  /// Makes a ring holding `capacity` elements, rounded up to a power of two.
  /// Throws cosync::capacity_error for 0 or above max_capacity(), and
  /// std::bad_alloc if the buffer cannot be allocated. This is the ring's only allocation.
  explicit spsc_ring(size_type capacity) : ro_{allocate(checked_capacity(capacity))} {}

  spsc_ring(const spsc_ring&) = delete;
  spsc_ring& operator=(const spsc_ring&) = delete;
  spsc_ring(spsc_ring&&) = delete;  // the two threads hold its address
  spsc_ring& operator=(spsc_ring&&) = delete;

  /// Destroys the elements still in the ring, each exactly once. Neither side may be running.
  ~spsc_ring() {
    const size_type tail = tail_.value.load(std::memory_order_relaxed);
    for (size_type i = head_.value.load(std::memory_order_relaxed); i != tail; ++i) {
      std::destroy_at(slot(i));
    }
    ::operator delete (ro_.value.slots, std::align_val_t{cache_line_size});
  }

  // ---------------------------------------------------------------- producer side

  /// Copies `value` in; false (and nothing changes) when the ring is full.
  [[nodiscard]] bool try_push(const T& value) noexcept(
      std::is_nothrow_copy_constructible_v<T>) requires std::is_copy_constructible_v<T> {
    return try_emplace(value);
  }

  /// Moves `value` in; false when the ring is full, in which case `value` is left untouched.
  [[nodiscard]] bool try_push(T&& value) noexcept { return try_emplace(std::move(value)); }

  /// Constructs an element in place from `args`; false when the ring is full (nothing is
  /// constructed then). If the constructor throws, the ring is unchanged.
  template <class... Args>
  requires std::is_constructible_v<T, Args&&...>
  [[nodiscard]] bool try_emplace(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args&&...>) {
    const size_type tail = tail_.value.load(std::memory_order_relaxed);
    if (tail - head_cache_.value > ro_.value.mask && refresh_head(tail) == 0) {
      return false;
    }
    std::construct_at(slot(tail), std::forward<Args>(args)...);
    tail_.value.store(tail + 1, std::memory_order_release);  // (P1)
    return true;
  }

  /// Pushes up to `count` elements constructed from `*first`, `*++first`, ... and returns how
  /// many were pushed (possibly 0, or fewer than `count` when the ring fills). They become
  /// visible to the consumer together, after one index publication. Pass a
  /// std::move_iterator to move elements in. If a constructor throws, the elements before it
  /// are published and the exception propagates.
  template <std::input_iterator It>
  requires std::is_constructible_v<T, std::iter_reference_t<It>> size_type try_push_n(It first,
                                                                                      size_type count)
  noexcept(std::is_nothrow_constructible_v<T, std::iter_reference_t<It>>) {
    const size_type tail = tail_.value.load(std::memory_order_relaxed);
    size_type space = capacity() - (tail - head_cache_.value);
    if (space < count) {
      space = refresh_head(tail);
    }
    const size_type n = std::min(count, space);
    size_type done = 0;
    const auto construct_all = [&] {
      for (const std::span<T> run : runs(tail, n)) {
        if constexpr (bitwise_transfer<It>()) {
          if (run.size() >= memcpy_threshold) {
            std::memcpy(run.data(), std::to_address(first), run.size_bytes());
            first += static_cast<std::iter_difference_t<It>>(run.size());
            continue;
          }
        }
        for (T& element : run) {
          std::construct_at(&element, *first);
          ++first;
          ++done;
        }
      }
    };
    if constexpr (std::is_nothrow_constructible_v<T, std::iter_reference_t<It>>) {
      construct_all();
    } else {
      try {
        construct_all();
      } catch (...) {
        tail_.value.store(tail + done, std::memory_order_release);  // (P1)
        throw;
      }
    }
    tail_.value.store(tail + n, std::memory_order_release);  // (P1)
    return n;
  }

  /// Copies as many of `items` as fit, in order; returns how many were pushed.
  size_type try_push_n(std::span<const T> items) noexcept(
      std::is_nothrow_copy_constructible_v<T>) requires std::is_copy_constructible_v<T> {
    return try_push_n(items.begin(), items.size());
  }

  // ---------------------------------------------------------------- consumer side

  /// Moves the oldest element into `out`; false (and `out` untouched) when the ring is empty.
  /// If the move assignment throws, the element stays in the ring.
  [[nodiscard]] bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
    const size_type head = head_.value.load(std::memory_order_relaxed);
    if (head == tail_cache_.value && refresh_tail(head) == 0) {
      return false;
    }
    T* const element = slot(head);
    out = std::move(*element);
    std::destroy_at(element);
    head_.value.store(head + 1, std::memory_order_release);  // (C2)
    return true;
  }

  /// Takes the oldest element out, or returns std::nullopt when the ring is empty.
  [[nodiscard]] std::optional<T> try_pop() noexcept {
    const size_type head = head_.value.load(std::memory_order_relaxed);
    if (head == tail_cache_.value && refresh_tail(head) == 0) {
      return std::nullopt;
    }
    T* const element = slot(head);
    std::optional<T> result{std::move(*element)};
    std::destroy_at(element);
    head_.value.store(head + 1, std::memory_order_release);  // (C2)
    return result;
  }

  /// The oldest element, read in place without a copy, or nullptr when the ring is empty. It
  /// stays valid until this thread calls pop().
  [[nodiscard]] T* front() noexcept {
    const size_type head = head_.value.load(std::memory_order_relaxed);
    if (head == tail_cache_.value && refresh_tail(head) == 0) {
      return nullptr;
    }
    return slot(head);
  }

  /// Destroys the oldest element, the one front() returned. The ring must not be empty: a
  /// contract violation, checked by an assertion in debug builds.
  void pop() noexcept {
    const size_type head = head_.value.load(std::memory_order_relaxed);
    COSYNC_ASSERT(head != tail_cache_.value || refresh_tail(head) != 0,
                  "spsc_ring::pop() called on an empty ring (call front() first)");
    std::destroy_at(slot(head));
    head_.value.store(head + 1, std::memory_order_release);  // (C2)
  }

  /// Moves up to `max` of the oldest elements to `out`, in order, and returns how many. The
  /// slots are released together, after one index publication. If an assignment to `out`
  /// throws, the elements before it are consumed, that one stays in the ring, and the exception
  /// propagates.
  template <class Out>
  requires std::output_iterator<Out, T> size_type try_pop_n(Out out, size_type max)
  noexcept(noexcept(*std::declval<Out&>() = std::declval<T>()) && noexcept(++std::declval<Out&>())) {
    const size_type head = head_.value.load(std::memory_order_relaxed);
    size_type available = tail_cache_.value - head;
    if (available < max) {
      available = refresh_tail(head);
    }
    const size_type n = std::min(max, available);
    size_type done = 0;
    const auto move_all = [&] {
      for (const std::span<T> run : runs(head, n)) {
        if constexpr (bitwise_transfer<Out>()) {
          if (run.size() >= memcpy_threshold) {
            std::memcpy(std::to_address(out), run.data(), run.size_bytes());
            out += static_cast<std::iter_difference_t<Out>>(run.size());
            continue;
          }
        }
        for (T& element : run) {
          *out = std::move(element);
          ++out;
          std::destroy_at(&element);
          ++done;
        }
      }
    };
    if constexpr (noexcept(*std::declval<Out&>() = std::declval<T>())&& noexcept(++std::declval<Out&>())) {
      move_all();
    } else {
      try {
        move_all();
      } catch (...) {
        head_.value.store(head + done, std::memory_order_release);  // (C2)
        throw;
      }
    }
    head_.value.store(head + n, std::memory_order_release);  // (C2)
    return n;
  }

  /// Moves up to `out.size()` of the oldest elements into `out`; returns how many.
  size_type try_pop_n(std::span<T> out) noexcept(std::is_nothrow_move_assignable_v<T>) {
    return try_pop_n(out.begin(), out.size());
  }

  // ---------------------------------------------------------------- observers

  /// How many elements the ring holds when full: the constructor's argument rounded up to a
  /// power of two.
  [[nodiscard]] size_type capacity() const noexcept { return ro_.value.mask + 1; }

  /// The number of elements at some moment during the call. Exact when called by either side
  /// with the other idle; otherwise a snapshot that may already be stale.
  [[nodiscard]] size_type size_approx() const noexcept {
    // Acquire on head_ first: the consumer read a tail_ at least as large before publishing this
    // head_ (C2), so the tail_ loaded next cannot be smaller and the difference cannot underflow.
    const size_type head = head_.value.load(std::memory_order_acquire);
    const size_type tail = tail_.value.load(std::memory_order_acquire);
    return std::min(tail - head, capacity());
  }

  /// Whether size_approx() is 0, with the same caveat.
  [[nodiscard]] bool empty_approx() const noexcept { return size_approx() == 0; }

 private:
  struct read_only {
    T* slots;
    size_type mask;
  };

  static size_type checked_capacity(size_type requested) {
    if (requested == 0) {
      throw capacity_error("cosync::spsc_ring: capacity must be at least 1");
    }
    if (requested > max_capacity()) {
      throw capacity_error("cosync::spsc_ring: capacity " + std::to_string(requested) +
                           " exceeds max_capacity() = " + std::to_string(max_capacity()) +
                           " for this element size");
    }
    return std::bit_ceil(requested);
  }

  static size_type buffer_bytes(size_type capacity) noexcept {
    // Rounded up to whole lines so that no other allocation shares the buffer's last line.
    return (capacity * sizeof(T) + cache_line_size - 1) / cache_line_size * cache_line_size;
  }

  static read_only allocate(size_type capacity) {
    void* const raw = ::operator new (buffer_bytes(capacity), std::align_val_t{cache_line_size});
    return {static_cast<T*>(raw), capacity - 1};
  }

  /// Whether a bulk operation between the slots and the contiguous range at `It` may be one
  /// memcpy per run: plain bytes on both sides, nothing to construct or destroy, cannot throw.
  // Below this many elements a plain loop beats the call into memcpy (a mesh flush is often 1).
  static constexpr size_type memcpy_threshold = 16;

  template <class It>
  static consteval bool bitwise_transfer() {
    if constexpr (std::contiguous_iterator<It>) {
      return std::is_trivially_copyable_v<T> && std::is_same_v<std::iter_value_t<It>, T>;
    } else {
      return false;
    }
  }

  T* slot(size_type index) const noexcept { return ro_.value.slots + (index & ro_.value.mask); }

  /// The slots of indices [index, index + n) as at most two contiguous runs (the second is
  /// empty unless the range wraps), so bulk loops walk plain pointers.
  std::array<std::span<T>, 2> runs(size_type index, size_type n) const noexcept {
    const size_type offset = index & ro_.value.mask;
    const size_type first = std::min(n, capacity() - offset);
    return {std::span<T>{ro_.value.slots + offset, first}, std::span<T>{ro_.value.slots, n - first}};
  }

  /// Producer: reloads head_ into the cache and returns the free space it implies.
  size_type refresh_head(size_type tail) noexcept {
    head_cache_.value = head_.value.load(std::memory_order_acquire);  // (P2)
    return capacity() - (tail - head_cache_.value);
  }

  /// Consumer: reloads tail_ into the cache and returns the element count it implies.
  size_type refresh_tail(size_type head) noexcept {
    tail_cache_.value = tail_.value.load(std::memory_order_acquire);  // (C1)
    return tail_cache_.value - head;
  }

  // Read-only after construction: shared by both sides without traffic.
  cache_padded<read_only> ro_;

  // ---- written by the producer ----
  cache_padded<std::atomic<size_type>> tail_{0};
  cache_padded<size_type> head_cache_{0};

  // ---- written by the consumer ----
  cache_padded<std::atomic<size_type>> head_{0};
  cache_padded<size_type> tail_cache_{0};

  static_assert(std::atomic<size_type>::is_always_lock_free);
  static_assert(sizeof(cache_padded<std::atomic<size_type>>) == cache_line_size);
  static_assert(sizeof(cache_padded<size_type>) == cache_line_size);
  static_assert(sizeof(cache_padded<read_only>) == cache_line_size);
};

}  // namespace cosync
