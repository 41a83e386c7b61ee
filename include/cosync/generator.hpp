#pragma once

/// cosync::generator<T>: a lazy sequence written as a coroutine with co_yield, iterated with a
/// range-for (C++23's std::generator, which GCC 12 lacks). Synchronous: its body cannot co_await —
/// for a sequence produced by waiting (reading a socket, receiving from channels) use
/// cosync::async_generator.
///
///     cosync::generator<int> countdown(int n) { while (n > 0) co_yield n--; }
///     for (int i : countdown(3)) std::printf("%d\n", i);   // 3 2 1

#include <cosync/config.hpp>

#include <coroutine>
#include <exception>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>

namespace cosync {

/// A lazy, move-only sequence of T produced by a coroutine body (see the file comment).
///
/// - The body starts at the first begin() and runs until each co_yield; the value yielded is
///   referred to (not copied) while the iterator points at it.
/// - An exception escaping the body is rethrown from the begin() or ++ that resumed it.
/// - Destroying the generator destroys a suspended body (its destructors run).
/// - Input range: iterate it once.
template <class T>
class [[nodiscard]] generator {
  using value_ptr = std::add_pointer_t<std::remove_reference_t<T>>;

 public:
  /// The body's promise: points at the value last yielded and keeps an escaping exception for
  /// begin() or ++ to rethrow.
  struct promise_type {
    ///@{
    /// Promise protocol (called by the compiler, not by users): the generator owns the frame; the
    /// body starts lazily, at begin(), and suspends at its end for the generator to destroy it.
    generator get_return_object() noexcept {
      return generator{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    ///@}
    ///@{
    /// Refers to `value` until the body resumes (a temporary lives until then too).
    std::suspend_always yield_value(std::remove_reference_t<T>& value) noexcept {
      current = std::addressof(value);
      return {};
    }
    std::suspend_always yield_value(std::remove_reference_t<T>&& value) noexcept {
      current = std::addressof(value);
      return {};
    }
    ///@}
    ///@{
    /// Promise protocol (called by the compiler, not by users): the body's end, and an exception
    /// escaping it, kept in `error`.
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }
    ///@}
    template <class U>
    std::suspend_never await_transform(U&& /*awaitable*/) =
        delete;  // a synchronous generator cannot co_await

    /// The value last yielded (null before the first).
    value_ptr current = nullptr;
    /// An exception that escaped the body, until begin() or ++ rethrows it.
    std::exception_ptr error;
  };

  /// What begin() returns: an input iterator over the body's values, equal to end() once the body
  /// has ended.
  class iterator {
   public:
    /// T without reference or cv (what std::iter_value_t reports).
    using value_type = std::remove_cvref_t<T>;
    /// Required of an input iterator (std::weakly_incrementable); no arithmetic is offered.
    using difference_type = std::ptrdiff_t;

    iterator() noexcept = default;
    /// Made by begin() for the body behind `h`.
    explicit iterator(std::coroutine_handle<promise_type> h) noexcept : h_{h} {}

    /// The current value, referred to (not copied) until the next ++; as `T&&`, so a value type may
    /// be moved from.
    T&& operator*() const noexcept { return static_cast<T&&>(*h_.promise().current); }
    /// Resumes the body to its next co_yield or its end; rethrows an exception escaping it.
    iterator& operator++() {
      advance(h_);
      return *this;
    }
    /// As ++it; returns nothing (an input iterator has no old position to return).
    void operator++(int) { ++*this; }
    /// True once the body has ended (or for a default-made iterator): `it == g.end()`.
    friend bool operator==(const iterator& it, std::default_sentinel_t /*end*/) noexcept {
      return it.h_ == nullptr || it.h_.done();
    }

   private:
    std::coroutine_handle<promise_type> h_;
  };

  ///@{
  /// Movable: the moved-from generator is empty; assigning destroys the body this one held first.
  generator(generator&& other) noexcept : h_{std::exchange(other.h_, {})} {}
  generator& operator=(generator&& other) noexcept {
    if (this != &other) {
      destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  ///@}
  generator(const generator&) = delete;
  generator& operator=(const generator&) = delete;
  ~generator() { destroy(); }

  /// Starts the body; the iterator refers to the first value (or equals end()).
  iterator begin() {
    COSYNC_ASSERT(h_ && !started_, "cosync::generator: begin() called twice (it is an input range)");
    started_ = true;
    advance(h_);
    return iterator{h_};
  }
  /// The sentinel an iterator equals once the body has ended.
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

 private:
  explicit generator(std::coroutine_handle<promise_type> h) noexcept : h_{h} {}

  static void advance(std::coroutine_handle<promise_type> h) {
    h.resume();
    if (h.promise().error) {
      std::rethrow_exception(std::exchange(h.promise().error, nullptr));
    }
  }

  void destroy() noexcept {
    if (h_) {
      h_.destroy();
    }
  }

  std::coroutine_handle<promise_type> h_;
  bool started_ = false;
};

}  // namespace cosync
