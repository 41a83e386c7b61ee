#pragma once

// completion_task: a coroutine that runs a body and, once suspended at its end, calls a completion
// function with a context pointer. It is how work started on behalf of someone reports back:
// a when_all child to its counter, sync_wait's root to the blocked thread, a spawned task to its
// runtime's registry. The body catches its own exceptions (they belong to whoever waits), so one
// escaping is a bug and terminates.

#include <cosync/cancellation.hpp>
#include <cosync/detail/frame_allocator.hpp>

#include <coroutine>
#include <exception>
#include <utility>

namespace cosync::detail {

class completion_task {
 public:
  /// Called when the body has finished, with the frame suspended (the function may destroy it).
  /// Returns the coroutine to resume next by symmetric transfer (std::noop_coroutine() for none).
  using on_done_fn = std::coroutine_handle<> (*)(void* context, std::coroutine_handle<> self) noexcept;

  struct promise_type : recycled_frame {
    on_done_fn on_done = nullptr;
    void* context = nullptr;
    cancel_scope* scope_ = nullptr;  // passed on to what the body awaits
    cancel_slot slot_;               // the hook of whatever the body is parked in

    [[nodiscard]] cancel_scope* scope() const noexcept { return scope_; }
    [[nodiscard]] cancel_slot* slot() noexcept { return &slot_; }

    completion_task get_return_object() noexcept {
      return completion_task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) const noexcept {
          const promise_type& p = self.promise();
          return p.on_done(p.context, self);
        }
        void await_resume() const noexcept {}
      };
      return final_awaiter{};
    }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };

  completion_task(completion_task&& other) noexcept : handle_{std::exchange(other.handle_, {})} {}
  completion_task& operator=(completion_task&&) = delete;
  ~completion_task() {
    if (handle_) {
      handle_.destroy();
    }
  }

  /// Says whom to tell at the end; call before the body first runs.
  void on_done(on_done_fn fn, void* context) noexcept {
    handle_.promise().on_done = fn;
    handle_.promise().context = context;
  }

  /// The cancel scope the body's awaits run under; call before the body first runs.
  void set_scope(cancel_scope* scope) noexcept { handle_.promise().scope_ = scope; }

  [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept { return handle_; }

  /// Gives up ownership: the completion function becomes responsible for destroying the frame.
  [[nodiscard]] std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, {}); }

 private:
  explicit completion_task(std::coroutine_handle<promise_type> handle) noexcept : handle_{handle} {}
  std::coroutine_handle<promise_type> handle_;
};

}  // namespace cosync::detail
