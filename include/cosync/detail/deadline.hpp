#pragma once

// Turning a user's duration — of any representation and period: int milliseconds, double
// seconds, picoseconds — into a steady_clock deadline or duration without overflow. Comparing
// in the caller's representation wraps (the room left until time_point::max() does not fit in an
// int of microseconds), so every bound is checked in long double, which holds any integral or
// floating count and any ratio within range.

#include <chrono>

namespace cosync::detail {

using wide_nanoseconds = std::chrono::duration<long double, std::nano>;

/// `duration` as steady_clock ticks, rounded up, clamped to [0, duration::max()]; 0 for NaN.
template <class Rep, class Period>
[[nodiscard]] std::chrono::steady_clock::duration clamp_duration(
    std::chrono::duration<Rep, Period> duration) noexcept {
  using ticks = std::chrono::steady_clock::duration;
  const wide_nanoseconds wide{duration};
  if (!(wide.count() > 0)) {  // zero, negative or NaN
    return ticks::zero();
  }
  if (wide >= wide_nanoseconds{ticks::max()}) {
    return ticks::max();
  }
  return std::chrono::ceil<ticks>(wide);
}

/// Now + `duration`, saturating at the clock's end; now for zero, negative or NaN durations.
template <class Rep, class Period>
[[nodiscard]] std::chrono::steady_clock::time_point deadline_after(
    std::chrono::duration<Rep, Period> duration) noexcept {
  const auto now = std::chrono::steady_clock::now();
  const auto ticks = clamp_duration(duration);
  if (ticks >= std::chrono::steady_clock::time_point::max() - now) {
    return std::chrono::steady_clock::time_point::max();
  }
  return now + ticks;
}

}  // namespace cosync::detail
