#pragma once

/// cosync::async_generator<T>: a stream of values produced by a coroutine that may wait between
/// them — co_yield to produce, co_await anything in between — consumed one value at a time.
///
///     cosync::async_generator<line> lines(connection& c) {
///       while (auto l = co_await c.read_line()) co_yield std::move(*l);
///     }
///     auto g = lines(conn);
///     while (auto l = co_await g.next()) handle(*l);

#include <cosync/cancellation.hpp>
#include <cosync/config.hpp>
#include <cosync/detail/continuation.hpp>
#include <cosync/detail/frame_allocator.hpp>
#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace cosync {

/// A lazy, move-only stream of T (see the file comment).
///
/// - `co_await g.next()`: resumes the body until its next co_yield (std::optional holding the
///   value, moved out) or its end (std::nullopt); an exception escaping the body is rethrown here.
///   The body runs on the consumer's executor (unless it switches) and the consumer resumes on its
///   own home, by symmetric transfer when both are the same executor.
/// - Cancellation: the body runs under the cancel scope of the coroutine awaiting next(), so a
///   cancelled consumer cancels the wait the body is in; cosync::cancelled then comes out of
///   next(), and the stream is over.
/// - Destroying the generator between two next() destroys the suspended body (its destructors
///   run). One next() at a time.
template <class T>
class [[nodiscard]] async_generator {
  static_assert(!std::is_reference_v<T>, "cosync::async_generator<T>: T is a value type (it is moved out)");

 public:
  /// The type of the values the body yields and next() hands out.
  using value_type = T;

  /// The body's promise: keeps the yielded value, the body's exception and the consumer to resume.
  class promise_type : public detail::recycled_frame {
   public:
    ///@{
    /// Promise protocol (called by the compiler, not by users): the generator owns the frame; the
    /// body starts lazily, at the first next().
    async_generator get_return_object() noexcept {
      return async_generator{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    ///@}

    /// Back to the consumer, on its home: after a co_yield and at the end.
    struct to_consumer {
      ///@{
      /// Awaiter protocol (called by `co_await`, not by users): always suspends the body and
      /// resumes the consumer by symmetric transfer.
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) const noexcept {
        return self.promise().consumer_.transfer();
      }
      void await_resume() const noexcept {}
      ///@}
    };
    ///@{
    /// Promise protocol (called by the compiler, not by users): a co_yield stores the value and,
    /// like the end, transfers back to the consumer; an escaping exception is kept for next().
    to_consumer final_suspend() const noexcept { return {}; }

    template <class U = T>
    requires std::is_constructible_v<T, U&&> to_consumer yield_value(U&& value)
    noexcept(std::is_nothrow_constructible_v<T, U&&>) {
      value_.emplace(std::forward<U>(value));
      return {};
    }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { error_ = std::current_exception(); }
    ///@}

    /// The consumer's cancel scope (cancellation.hpp), for what the body awaits.
    [[nodiscard]] detail::cancel_scope* scope() const noexcept { return scope_; }
    /// Where the body's cancellation hook lives while it waits (one per coroutine, cancellation.hpp).
    [[nodiscard]] detail::cancel_slot* slot() noexcept { return &slot_; }

   private:
    friend async_generator;

    detail::continuation consumer_;
    detail::cancel_scope* scope_ = nullptr;
    detail::cancel_slot slot_;
    std::optional<T> value_;
    std::exception_ptr error_;
  };

  /// What next() returns: resumes the body, completes with its next value or its end.
  class [[nodiscard]] next_awaiter {
   public:
    /// Made by next() for the body behind `h` (null for an empty generator).
    explicit next_awaiter(std::coroutine_handle<promise_type> h) noexcept : h_{h} {}

    ///@{
    /// Awaiter protocol (called by `co_await`, not by users): throws usage_error on an empty
    /// generator, completes at once if the body has ended, else resumes the body; returns its next
    /// value, or nullopt at its end, or rethrows its exception.
    bool await_ready() const {
      if (!h_) {
        throw usage_error("cosync::async_generator: next() on an empty (moved-from) generator");
      }
      return h_.done();  // ended: nullopt at once
    }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> consumer) noexcept {
      promise_type& p = h_.promise();
      p.consumer_ = detail::continuation::here(consumer);
      p.scope_ = detail::scope_of(consumer);  // cancellation flows from whoever awaits now
      return detail::transfer_to(h_);
    }
    std::optional<T> await_resume() {
      promise_type& p = h_.promise();
      if (p.error_) {
        std::rethrow_exception(std::exchange(p.error_, nullptr));
      }
      std::optional<T> out;
      if (p.value_) {
        out.emplace(std::move(*p.value_));
        p.value_.reset();
      }
      return out;
    }
    ///@}

   private:
    std::coroutine_handle<promise_type> h_;
  };

  async_generator() noexcept = default;
  ///@{
  /// Movable: the moved-from generator is empty (awaiting its next() throws usage_error).
  async_generator(async_generator&& other) noexcept : h_{std::exchange(other.h_, {})} {}
  async_generator& operator=(async_generator&& other) noexcept {
    if (this != &other) {
      destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  ///@}
  async_generator(const async_generator&) = delete;
  async_generator& operator=(const async_generator&) = delete;
  ~async_generator() { destroy(); }

  /// The next value, or std::nullopt once the body has ended (see the class comment).
  next_awaiter next() noexcept { return next_awaiter{h_}; }

 private:
  explicit async_generator(std::coroutine_handle<promise_type> h) noexcept : h_{h} {}

  void destroy() noexcept {
    if (h_) {
      h_.destroy();
    }
  }

  std::coroutine_handle<promise_type> h_;
};

}  // namespace cosync
