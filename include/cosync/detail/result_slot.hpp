#pragma once

// Where a coroutine leaves its result for someone else to take: a value (references are kept as
// pointers), and for result_slot also the exception it ended with.

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace cosync::detail {

template <class T>
class value_slot {
  using stored = std::conditional_t<std::is_reference_v<T>, std::add_pointer_t<T>, T>;

 public:
  template <class U>
  void set(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    if constexpr (std::is_reference_v<T>) {
      T ref = std::forward<U>(value);
      value_.emplace(std::addressof(ref));
    } else {
      value_.emplace(std::forward<U>(value));
    }
  }

  /// Moves the value out (returns the reference for reference types). Set must have been called.
  T take() {
    if constexpr (std::is_reference_v<T>) {
      return static_cast<T>(**value_);
    } else {
      return std::move(*value_);
    }
  }

 private:
  std::optional<stored> value_;
};

template <class T>
class result_slot : public value_slot<T> {
 public:
  void set_error(std::exception_ptr e) noexcept { error_ = std::move(e); }
  [[nodiscard]] const std::exception_ptr& error() const noexcept { return error_; }

 private:
  std::exception_ptr error_;
};

/// A void result (std::monostate) has no value to keep: only the exception, 8 bytes per child of
/// a large fan-out.
template <>
class result_slot<std::monostate> {
 public:
  void set(std::monostate) noexcept {}
  void set_error(std::exception_ptr e) noexcept { error_ = std::move(e); }
  [[nodiscard]] const std::exception_ptr& error() const noexcept { return error_; }
  std::monostate take() const noexcept { return {}; }

 private:
  std::exception_ptr error_;
};

}  // namespace cosync::detail
