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
  struct promise_type {
    generator get_return_object() noexcept {
      return generator{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    /// Refers to `value` until the body resumes (a temporary lives until then too).
    std::suspend_always yield_value(std::remove_reference_t<T>& value) noexcept {
      current = std::addressof(value);
      return {};
    }
    std::suspend_always yield_value(std::remove_reference_t<T>&& value) noexcept {
      current = std::addressof(value);
      return {};
    }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }
    template <class U>
    std::suspend_never await_transform(U&& /*awaitable*/) =
        delete;  // a synchronous generator cannot co_await

    value_ptr current = nullptr;
    std::exception_ptr error;
  };

  class iterator {
   public:
    using value_type = std::remove_cvref_t<T>;
    using difference_type = std::ptrdiff_t;

    iterator() noexcept = default;
    explicit iterator(std::coroutine_handle<promise_type> h) noexcept : h_{h} {}

    T&& operator*() const noexcept { return static_cast<T&&>(*h_.promise().current); }
    iterator& operator++() {
      advance(h_);
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t /*end*/) noexcept {
      return it.h_ == nullptr || it.h_.done();
    }

   private:
    std::coroutine_handle<promise_type> h_;
  };

  generator(generator&& other) noexcept : h_{std::exchange(other.h_, {})} {}
  generator& operator=(generator&& other) noexcept {
    if (this != &other) {
      destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
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
