// task_group's out-of-line half: starting children, their frames, failures, the end.

#include <cosync/detail/continuation.hpp>
#include <cosync/detail/frame_allocator.hpp>
#include <cosync/task_group.hpp>

#include <exception>
#include <string>

namespace cosync {
namespace detail {

/// The coroutine that runs one child of a group: awaits the child under the group's scope,
/// hands any exception to the group, and at its end leaves the group and destroys itself.
struct group_child {
  using promise_type = group_child_promise;
  std::coroutine_handle<group_child_promise> handle;
};

struct group_child_promise : recycled_frame {
  task_group* group = nullptr;
  cancel_scope* scope_ = nullptr;
  group_child_promise* prev = nullptr;  // the group's list of live children, for shutdown
  group_child_promise* next = nullptr;
  cancel_slot slot_;

  [[nodiscard]] cancel_scope* scope() const noexcept { return scope_; }
  [[nodiscard]] cancel_slot* slot() noexcept { return &slot_; }
  group_child get_return_object() noexcept {
    return group_child{std::coroutine_handle<group_child_promise>::from_promise(*this)};
  }
  std::suspend_always initial_suspend() const noexcept { return {}; }
  struct finished {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<group_child_promise> self) const noexcept {
      self.promise().group->child_finished(self.promise());
    }
    void await_resume() const noexcept {}
  };
  finished final_suspend() const noexcept { return {}; }
  void return_void() const noexcept {}
  void unhandled_exception() const noexcept { std::terminate(); }  // run_group_child catches everything

  static void fail(task_group& group, std::exception_ptr e) { group.note_failure(std::move(e)); }
};

namespace {

group_child run_group_child(task<void> child, task_group& group) {
  try {
    co_await child;
  } catch (...) {
    group_child_promise::fail(group, std::current_exception());
  }
}

std::coroutine_handle<group_child_promise> handle_of(group_child_promise& p) noexcept {
  return std::coroutine_handle<group_child_promise>::from_promise(p);
}

}  // namespace
}  // namespace detail

task_group::~task_group() {
  // acquire: the children's last writes, if they have all ended.
  if (live_.load(std::memory_order_acquire) > 1 || children_ != nullptr) {
    COSYNC_ASSERT(detail::tearing_down(), "cosync::task_group destroyed while children still run");
    while (children_ != nullptr) {  // shutdown: every executor thread has stopped
      detail::group_child_promise* child = children_;
      unlink(*child);
      detail::handle_of(*child).destroy();
    }
  }
}

detail::executor& task_group::home() {
  detail::executor* e = detail::current_executor();
  if (e == nullptr) {
    throw usage_error("cosync::task_group: spawn from an executor thread");
  }
  return *e;
}

void task_group::start(detail::executor& target, task<void> child, bool eager) {
  if (!child.valid()) {
    throw usage_error("cosync::task_group: spawn of an empty task");
  }
  if (live_.load(std::memory_order_relaxed) == 0) {  // relaxed: only the joiner sets it to 0
    throw usage_error("cosync::task_group: spawn into a group that has ended");
  }
  if (scope_.stop_requested()) {
    throw cancelled{};
  }
  detail::set_scope(child, &scope_);
  const auto h = detail::run_group_child(std::move(child), *this).handle;
  h.promise().group = this;
  h.promise().scope_ = &scope_;
  {
    const std::lock_guard lock{mutex_};
    link(h.promise());
  }
  live_.fetch_add(1, std::memory_order_relaxed);  // relaxed: sequenced before our own decrement
  if (!eager) {
    detail::post(target, h);
  } else if (detail::transfer_to(h) == h) {  // (on a deep stack it is queued to run next instead)
    h.resume();  // runs until its first suspension (or its end: its frame is recycled at once)
  }
}

void task_group::note_failure(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const cancelled&) {
    return;  // a cancellation is not a failure
  } catch (...) {
  }
  {
    const std::lock_guard lock{mutex_};
    failures_.push_back(std::move(e));
  }
  if (!supervising_) {
    scope_.request_stop();  // fail fast: everything else in the group stops
  }
}

void task_group::child_finished(detail::group_child_promise& child) noexcept {
  {
    const std::lock_guard lock{mutex_};
    unlink(child);
  }
  detail::handle_of(child).destroy();
  // acq_rel: the last decrement acquires every child's work and releases it to the joiner.
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    joiner_.resume();
  }
}

void task_group::rethrow_failures() {
  const std::lock_guard lock{mutex_};
  if (failures_.empty()) {
    return;
  }
  if (!supervising_ && failures_.size() == 1) {
    std::rethrow_exception(failures_.front());
  }
  throw task_group_error{std::move(failures_)};
}

void task_group::link(detail::group_child_promise& child) noexcept {
  child.prev = nullptr;
  child.next = children_;
  if (children_ != nullptr) {
    children_->prev = &child;
  }
  children_ = &child;
}

void task_group::unlink(detail::group_child_promise& child) noexcept {
  (child.prev != nullptr ? child.prev->next : children_) = child.next;
  if (child.next != nullptr) {
    child.next->prev = child.prev;
  }
}

}  // namespace cosync
