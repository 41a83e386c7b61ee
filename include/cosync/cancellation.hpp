#pragma once

/// Cooperative cancellation: std::stop_token is the currency.
///
/// Task groups and timeouts own *cancel scopes*, linked into a tree (a nested scope is cancelled
/// with its parent). Every cosync::task awaited inside a scope carries a pointer to it, inherited
/// from whoever awaits it, so cancellation reaches every suspension point below: a parked channel
/// send or receive, a select, a sleep, a when_all, a nested group. A cancelled operation throws
/// cosync::cancelled and consumes nothing (docs/design/cancellation.md has the rules).
///
///     std::stop_token token = co_await cosync::current_stop_token();
///     while (!token.stop_requested()) crunch();   // a CPU loop checks for itself

#include <cosync/detail/scheduler.hpp>
#include <cosync/error.hpp>

#include <coroutine>
#include <new>
#include <optional>
#include <stop_token>
#include <utility>

namespace cosync {
namespace detail {

struct parked_hook;

/// The executor thread's list of hooks parked under root scopes (null on other threads).
inline thread_local parked_hook** this_thread_parked_hooks = nullptr;

/// A node of the cancellation tree: a stop_source, cancelled with its parent's (if any). Owned by
/// a task group or a timeout, which outlive every task that points at it — or, for a *root*
/// scope, by the runtime's record of a root (a spawned task, a sync_wait), cancelled only by
/// shutdown.
class cancel_scope {
 public:
  struct root_t {};
  cancel_scope() = default;
  /// A root's scope: coroutines parked directly under it keep their hooks in their executor's
  /// list instead of a std::stop_callback (see cancel_slot).
  explicit cancel_scope(root_t /*tag*/) noexcept : root_{true} {}
  explicit cancel_scope(const cancel_scope* parent) {
    if (parent != nullptr) {
      link_.emplace(parent->source_.get_token(), forward{&source_});
    }
  }
  cancel_scope(const cancel_scope&) = delete;
  cancel_scope& operator=(const cancel_scope&) = delete;

  /// Makes this scope (made without a parent) a child of `parent` from now on. Allocates nothing.
  void link_to(const cancel_scope& parent) noexcept {
    link_.emplace(parent.source_.get_token(), forward{&source_});
  }

  /// Any thread. Runs every registered cancellation hook of this scope and the scopes below.
  void request_stop() noexcept { source_.request_stop(); }
  [[nodiscard]] bool stop_requested() const noexcept { return source_.stop_requested(); }
  [[nodiscard]] std::stop_token token() const noexcept { return source_.get_token(); }
  [[nodiscard]] bool is_root() const noexcept { return root_; }

 private:
  struct forward {
    std::stop_source* target;
    void operator()() const noexcept { target->request_stop(); }
  };

  std::stop_source source_;
  std::optional<std::stop_callback<forward>> link_;  // parent cancelled → this one too
  bool root_ = false;
};

/// A hook armed under a root scope: linked into its executor's list (that thread only, no
/// atomics), where shutdown's per-executor sweep finds it (src/executor.cpp, cancel_parked).
struct parked_hook {
  parked_hook* prev;
  parked_hook* next;
  parked_hook** head;  // the list it is in (its executor's), null once unlinked
  void (*fn)(void*);
  void* context;
  const cancel_scope* scope;

  void link(parked_hook*& list) noexcept {
    prev = nullptr;
    next = list;
    if (list != nullptr) {
      list->prev = this;
    }
    list = this;
    head = &list;
  }
  void unlink() noexcept {
    (prev != nullptr ? prev->next : *head) = next;
    if (next != nullptr) {
      next->prev = prev;
    }
    head = nullptr;
  }
};

/// The cancel scope of the coroutine behind `h` (its promise's), or nullptr if it has none or is
/// not a cosync coroutine.
template <class Promise>
[[nodiscard]] cancel_scope* scope_of(std::coroutine_handle<Promise> h) noexcept {
  if constexpr (requires { h.promise().scope(); }) {
    return h.promise().scope();
  } else {
    return nullptr;
  }
}

/// Where a parked coroutine's cancellation hook lives: one per coroutine, in its promise (a
/// coroutine waits on one thing at a time), so that awaiters — made and destroyed on every
/// operation, most of which never wait — carry no std::stop_callback of their own.
///
/// Under a task group's or a timeout's scope the hook is a std::stop_callback (cancelled from any
/// thread). Under a root's scope — every coroutine not inside a group or timeout, cancelled only
/// by shutdown — it is a parked_hook in the executor's own list: two plain pointer writes to arm
/// and to disarm, where a std::stop_callback costs its atomics and lock on every park.
class cancel_slot {
 public:
  cancel_slot() noexcept {}  // the union starts with no member alive
  cancel_slot(const cancel_slot&) = delete;
  cancel_slot& operator=(const cancel_slot&) = delete;
  ~cancel_slot() { disarm(); }

  /// Registers `fn(context)` to run when `scope` is cancelled: a std::stop_callback runs it at
  /// once, on this thread, if the scope already is; a root hook is run by shutdown's sweep on this
  /// executor. Call after the operation is parked, outside any lock, on its home executor.
  void arm(cancel_scope& scope, void (*fn)(void*), void* context) {
    disarm();  // a slot holds one hook: its coroutine waits on one thing at a time
    if (scope.is_root()) {
      if (parked_hook** list = this_thread_parked_hooks) {  // on an executor: its list
        new (&hook_) parked_hook{nullptr, nullptr, nullptr, fn, context, &scope};
        hook_.link(*list);
        state_ = state::hook;
        return;
      }
    }
    new (&callback_) std::stop_callback<call>(scope.token(), call{fn, context});
    state_ = state::callback;
  }

  /// Deregisters (safe to call again). A std::stop_callback running on another thread at this
  /// moment is waited for; a root hook is only ever run on this thread.
  void disarm() noexcept {
    if (state_ == state::callback) {
      callback_.~stop_callback();
    } else if (state_ == state::hook && hook_.head != nullptr) {
      hook_.unlink();
    }
    state_ = state::none;
  }

 private:
  struct call {
    void (*fn)(void*);
    void* context;
    void operator()() const { fn(context); }
  };
  enum class state : unsigned char { none, callback, hook };

  union {
    std::stop_callback<call> callback_;
    parked_hook hook_;
  };
  state state_ = state::none;
};

/// The one "may this coroutine wait?" check: not once its scope is cancelled. (An operation that
/// can complete without waiting does, cancelled or not: only waiting is refused.)
[[nodiscard]] inline bool may_wait(const cancel_scope* scope) noexcept {
  return scope == nullptr || !scope->stop_requested();
}

/// The cancel slot of the coroutine behind `h`, or nullptr if it has none (not a cosync
/// coroutine: it cannot be cancelled while it waits).
template <class Promise>
[[nodiscard]] cancel_slot* slot_of(std::coroutine_handle<Promise> h) noexcept {
  if constexpr (requires { h.promise().slot(); }) {
    return h.promise().slot();
  } else {
    return nullptr;
  }
}

/// What a waiting awaiter (cosync::waitable, a select) keeps: which slot it armed, if any (a
/// pointer, nothing to destroy). `Hook` is a one-pointer functor built from the awaiter when the
/// hook runs: it tries to win the wait for the cancellation and, if it does, wakes the coroutine.
template <class Hook>
class cancel_hook {
 public:
  /// Arms the awaiting coroutine's slot with `Hook{owner}` if it runs under a scope.
  template <class Promise, class Owner>
  void arm(std::coroutine_handle<Promise> h, cancel_scope* scope, Owner* owner) {
    cancel_slot* slot = slot_of(h);
    if (scope != nullptr && slot != nullptr) {
      slot_ = slot;
      slot->arm(*scope, &run<Owner>, owner);
    }
  }
  /// Deregisters if armed (safe to call again).
  void disarm() noexcept {
    if (slot_ != nullptr) {
      slot_->disarm();
      slot_ = nullptr;
    }
  }

 private:
  template <class Owner>
  static void run(void* owner) {
    Hook{static_cast<Owner*>(owner)}();
  }

  cancel_slot* slot_ = nullptr;
};

/// co_await it for the awaiting coroutine's own cancel scope (nullptr outside any); completes at
/// once. How a scope-owning coroutine (a task group, a timeout) links its scope to its parent's.
class [[nodiscard]] this_scope {
 public:
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    scope_ = scope_of(h);
    return false;
  }
  [[nodiscard]] cancel_scope* await_resume() const noexcept { return scope_; }

 private:
  cancel_scope* scope_ = nullptr;
};

}  // namespace detail

/// co_await it for the stop_token of the innermost task group or timeout around the awaiting
/// coroutine; outside any, its root's (a spawned task's or a sync_wait's), which the runtime's
/// shutdown stops. Completes at once.
class [[nodiscard]] current_stop_token_awaiter {
 public:
  ///@{
  /// Awaiter protocol (called by `co_await`, not by users): never suspends; reads the awaiting
  /// coroutine's scope and returns its token (one that never stops if it has no scope: not a
  /// cosync coroutine).
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
    if (detail::cancel_scope* scope = detail::scope_of(h)) {
      token_ = scope->token();
    }
    return false;  // never suspends: it only looks at the awaiting coroutine
  }
  [[nodiscard]] std::stop_token await_resume() noexcept { return std::move(token_); }
  ///@}

 private:
  std::stop_token token_;
};

/// The stop_token the awaiting coroutine is cancelled by: `co_await cosync::current_stop_token()`
/// (see current_stop_token_awaiter), for code that polls or registers a std::stop_callback.
[[nodiscard]] inline current_stop_token_awaiter current_stop_token() noexcept {
  return {};
}

}  // namespace cosync
