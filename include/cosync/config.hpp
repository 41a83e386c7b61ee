#pragma once

/// Project-wide constants and the contract-check macro. Depends on nothing but the C library so
/// that the lock-free headers stay free of runtime machinery.

#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace cosync {

/// The unit of false sharing. 128 rather than 64 on x86-64 and AArch64: their L2 spatial
/// prefetchers fetch lines in adjacent pairs, so two hot variables 64 bytes apart still
/// interfere. (std::hardware_destructive_interference_size is avoided on purpose: GCC warns that
/// its value depends on -mtune, which would make the layout differ between translation units.)
#if defined(__x86_64__) || defined(__aarch64__)
inline constexpr std::size_t cache_line_size = 128;
#else
inline constexpr std::size_t cache_line_size = 64;
#endif

/// A value alone on its own cache line(s): nothing else is placed before or after it on a line.
template <class T>
struct alignas(cache_line_size) cache_padded {
  /// The padded value (value-initialised).
  T value{};
};

namespace detail {

/// Called when a COSYNC_ASSERT fails: a contract was broken by the caller. Prints and aborts.
[[noreturn]] inline void assertion_failed(const char* condition, const char* message, const char* file,
                                          int line) noexcept {
  std::fprintf(stderr, "cosync: contract violation at %s:%d: %s\n  (failed: %s)\n", file, line, message,
               condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail
}  // namespace cosync

/// COSYNC_ASSERT(condition, message) checks a caller's contract (popping an empty ring, awaiting a
/// task twice). On in debug builds (no NDEBUG) or when COSYNC_ENABLE_ASSERTIONS is defined; free
/// otherwise.
#if !defined(NDEBUG) || defined(COSYNC_ENABLE_ASSERTIONS)
#define COSYNC_ASSERT(condition, message) \
  ((condition) ? void(0) : ::cosync::detail::assertion_failed(#condition, message, __FILE__, __LINE__))
#else
#define COSYNC_ASSERT(condition, message) void(0)
#endif
