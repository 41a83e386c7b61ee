#pragma once

// Turning a user's duration — of any representation and period: int milliseconds, double
// seconds, picoseconds — into a steady_clock deadline or duration without overflow. Comparing
// in the caller's representation wraps (the room left until time_point::max() does not fit in an
// int of microseconds), so an integral count of a whole number of ticks is multiplied with an
// overflow check, and everything else (floating counts, periods finer than a tick) is compared in
// long double, which holds any integral or floating count and any ratio within range.

#include <chrono>
#include <ratio>
#include <type_traits>

namespace cosync::detail {

using wide_nanoseconds = std::chrono::duration<long double, std::nano>;

/// `duration` as steady_clock ticks, rounded up, clamped to [0, duration::max()]; 0 for NaN.
template <class Rep, class Period>
[[nodiscard]] std::chrono::steady_clock::duration clamp_duration(
    std::chrono::duration<Rep, Period> duration) noexcept {
  using ticks = std::chrono::steady_clock::duration;
  using to_ticks = std::ratio_divide<Period, ticks::period>;
  if constexpr (std::is_integral_v<Rep> && to_ticks::den == 1) {
    // The common case (an integral count of ms, s, ns...): exact in integers, one multiply with
    // an overflow check. (long double arithmetic costs ~100 cycles: a select's after(d) or a
    // sleep_for pays it on every call where the compiler does not fold it.)
    if (duration.count() <= 0) {
      return ticks::zero();
    }
    ticks::rep count = 0;
    if (__builtin_mul_overflow(duration.count(), to_ticks::num, &count)) {
      return ticks::max();
    }
    return ticks{count};
  }
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
