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
