#pragma once

// counted: a lifetime probe. Every construction and destruction is tallied, so a test can prove
// that each element was destroyed exactly once (live() returns to zero, nothing destroyed twice).

#include <atomic>
#include <cstdint>
#include <utility>

namespace cosync::test {

class counted {
 public:
  explicit counted(std::uint64_t value = 0) noexcept : value_{value} { ++constructed_; }
  counted(const counted& other) noexcept : value_{other.value_} { ++constructed_; }
  counted(counted&& other) noexcept : value_{std::exchange(other.value_, moved_from)} { ++constructed_; }
  counted& operator=(const counted& other) noexcept = default;
  counted& operator=(counted&& other) noexcept {
    value_ = std::exchange(other.value_, moved_from);
    return *this;
  }
  ~counted() { ++destroyed_; }

  [[nodiscard]] std::uint64_t value() const noexcept { return value_; }

  /// Objects alive now: constructions minus destructions.
  static std::int64_t live() noexcept { return constructed_.load() - destroyed_.load(); }
  static void reset() noexcept {
    constructed_ = 0;
    destroyed_ = 0;
  }

  static constexpr std::uint64_t moved_from = ~std::uint64_t{0};

 private:
  std::uint64_t value_;
  static inline std::atomic<std::int64_t> constructed_{0};
  static inline std::atomic<std::int64_t> destroyed_{0};
};

}  // namespace cosync::test
