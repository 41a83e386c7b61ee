#pragma once

/// cosync::broadcast_result<T>: what a broadcast subscriber's recv or try_recv found — a value,
/// a lag report, or the end (cosync/broadcast.hpp).

#include <cosync/config.hpp>
#include <cosync/error.hpp>

#include <cstdint>
#include <optional>
#include <utility>

namespace cosync {

/// What a subscriber's recv or try_recv found.
enum class broadcast_status : unsigned char {
  value,   ///< the next value
  lagged,  ///< values were overwritten before this subscriber got them: missed() of them
  empty,   ///< try_recv only: nothing new yet
  closed,  ///< the broadcast is closed and this subscriber has received everything kept
};

namespace detail {
template <class T>
class broadcast_core;
}  // namespace detail

/// The outcome of a broadcast subscriber's recv (or try_recv): a value, a lag report, or the end.
///
///     for (;;) {
///       auto r = co_await sub.recv();
///       if (r) use(*r); else if (r.lagged()) log_missed(r.missed()); else break;  // closed
///     }
template <class T>
class broadcast_result {
 public:
  /// Empty (what try_recv returns when there is nothing new).
  broadcast_result() noexcept = default;

  /// Which outcome this is: a value, lagged, empty or closed.
  [[nodiscard]] broadcast_status status() const noexcept { return status_; }
  /// True for a value.
  [[nodiscard]] bool has_value() const noexcept { return status_ == broadcast_status::value; }
  /// True for a value, as has_value(): `if (r) use(*r);`.
  explicit operator bool() const noexcept { return has_value(); }
  /// True when the subscriber fell behind: missed() values were skipped.
  [[nodiscard]] bool lagged() const noexcept { return status_ == broadcast_status::lagged; }
  /// How many values a lagged subscriber skipped (0 otherwise).
  [[nodiscard]] std::uint64_t missed() const noexcept { return missed_; }
  /// True once the broadcast is closed and everything kept was received.
  [[nodiscard]] bool closed() const noexcept { return status_ == broadcast_status::closed; }
  /// True for a try_recv that found nothing new.
  [[nodiscard]] bool empty() const noexcept { return status_ == broadcast_status::empty; }

  ///@{
  /// The value; only when has_value() (asserted in debug builds).
  T& operator*() & noexcept { return checked(*this); }
  const T& operator*() const& noexcept { return checked(*this); }
  T&& operator*() && noexcept { return std::move(checked(*this)); }
  T* operator->() noexcept { return &checked(*this); }
  const T* operator->() const noexcept { return &checked(*this); }
  ///@}

  ///@{
  /// The value; cosync::usage_error when there is none.
  T& value() & { return thrown(*this); }
  const T& value() const& { return thrown(*this); }
  T&& value() && { return std::move(thrown(*this)); }
  ///@}

 private:
  friend class detail::broadcast_core<T>;

  static broadcast_result of(const T& value) {
    broadcast_result r;
    r.value_.emplace(value);
    r.status_ = broadcast_status::value;
    return r;
  }
  static broadcast_result lagged_by(std::uint64_t missed) noexcept {
    broadcast_result r;
    r.missed_ = missed;
    r.status_ = broadcast_status::lagged;
    return r;
  }
  static broadcast_result end() noexcept {
    broadcast_result r;
    r.status_ = broadcast_status::closed;
    return r;
  }

  template <class Self>
  static auto& checked(Self& self) noexcept {
    COSYNC_ASSERT(self.has_value(), "cosync::broadcast_result: no value (lagged, empty or closed)");
    return *self.value_;
  }
  template <class Self>
  static auto& thrown(Self& self) {
    if (!self.has_value()) {
      throw usage_error("cosync::broadcast_result: no value (lagged, empty or closed)");
    }
    return *self.value_;
  }

  std::optional<T> value_;
  std::uint64_t missed_ = 0;
  broadcast_status status_ = broadcast_status::empty;
};

}  // namespace cosync
