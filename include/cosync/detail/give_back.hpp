#pragma once

// Handing an unsent value back to the object it was moved from: how a send awaiter that owns its
// value (so that storing it never leaves a dangling pointer) still never drops a value it did not
// send when it is awaited in the expression that made it.

#include <coroutine>
#include <type_traits>
#include <utility>

namespace cosync::detail {

/// Moves `value` back into `*source` (if there is one). A type whose move assignment may throw
/// keeps the value where it is instead: a destructor must not throw.
template <class T>
void give_back(T& value, T* source) noexcept {
  if constexpr (std::is_nothrow_move_assignable_v<T>) {
    if (source != nullptr) {
      *source = std::move(value);
    }
  }
}

/// The value a send case owns (both channels' send cases): moved or copied in once, and handed
/// back to the object it was moved from when the send did not happen — but only if the send was
/// awaited in the expression that made it (`co_await ch.send(...)`, or a select awaited where it
/// is made), where that object is known to be alive still.
template <class T>
class owned_value {
 public:
  /// Awaited where it was made: a value not sent may go back (cosync::case_access calls it).
  void allow_give_back() noexcept { give_back_ = true; }

 protected:
  owned_value(T&& value, T* source) noexcept : value_{std::move(value)}, source_{source} {}
  explicit owned_value(const T& value) : value_{value} {}
  owned_value(owned_value&& other) noexcept
      : value_{std::move(other.value_)},
        source_{std::exchange(other.source_, nullptr)},
        give_back_{other.give_back_} {}
  owned_value& operator=(owned_value&&) = delete;
  ~owned_value() = default;

  /// For the case's destructor: hands the value back if it was not sent.
  void give_back_unless_sent(bool sent) noexcept {
    if (give_back_ && !sent) {
      give_back(value_, source_);
    }
  }

  T value_;

 private:
  T* source_ = nullptr;     // what value_ was moved from (null for a copy)
  bool give_back_ = false;  // awaited where it was made: source_ is alive at destruction
};

/// What `operator co_await` returns for an awaiter that must stay where it is (its address is
/// registered while it waits): a by-value forwarder to it. (NOTE: GCC 12 copies an awaiter that
/// operator co_await returns by reference, which a non-copyable awaiter cannot allow.)
template <class Awaiter>
class awaiter_ref {
 public:
  explicit awaiter_ref(Awaiter& awaiter) noexcept : awaiter_{&awaiter} {}
  bool await_ready() { return awaiter_->await_ready(); }
  template <class Promise>
  auto await_suspend(std::coroutine_handle<Promise> h) {
    return awaiter_->await_suspend(h);
  }
  decltype(auto) await_resume() { return awaiter_->await_resume(); }

 private:
  Awaiter* awaiter_;
};

}  // namespace cosync::detail
