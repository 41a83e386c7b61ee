#pragma once

// What an awaitable yields under co_await, for the facilities that take any awaitable
// (when_all, sync_wait).

#include <type_traits>
#include <utility>
#include <variant>

namespace cosync::detail {

/// The awaiter an awaitable yields under `co_await` (member operator co_await, or itself).
template <class A>
decltype(auto) get_awaiter(A&& awaitable) {
  if constexpr (requires { std::forward<A>(awaitable).operator co_await(); }) {
    return std::forward<A>(awaitable).operator co_await();
  } else {
    return std::forward<A>(awaitable);
  }
}

template <class A>
using await_result_t = decltype(std::declval<decltype(get_awaiter(std::declval<A>()))&>().await_resume());

/// A result as when_all returns it: void becomes std::monostate, references stay references.
template <class A>
using when_all_value_t =
    std::conditional_t<std::is_void_v<await_result_t<A>>, std::monostate, await_result_t<A>>;

}  // namespace cosync::detail

namespace cosync::detail {

/// Whatever `co_await` accepts (an awaiter, or a type with operator co_await).
template <class A>
concept awaitable = requires {
  typename await_result_t<A>;
};

}  // namespace cosync::detail
