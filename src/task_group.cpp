// task_group's out-of-line half: starting children, their registry, failures, the end.

#include <cosync/detail/continuation.hpp>
#include <cosync/task_group.hpp>

#include <bit>
#include <cstdint>
#include <exception>
#include <string>

namespace cosync {
namespace detail {

int child_registry::chunk::claim() noexcept {
  std::uint64_t u = used.load(std::memory_order_relaxed);
  while (u != full) {
    const int bit = std::countr_one(u);
    if (used.compare_exchange_weak(u, u | (std::uint64_t{1} << bit), std::memory_order_acquire,
                                   std::memory_order_relaxed)) {
      return bit;
    }
  }
  return -1;
}

child_registry::~child_registry() {
  chunk* c = newest_.load(std::memory_order_relaxed);
  while (c != &first_) {
    delete std::exchange(c, c->next);
  }
}

child_registry::chunk* child_registry::push(std::uint64_t used) {
  auto* c = new chunk;
  c->used.store(used, std::memory_order_relaxed);  // its slots are taken before anyone sees it
  c->next = newest_.load(std::memory_order_relaxed);
  // release: the chunk's contents before it is seen; a lost race retries with the new head.
  while (!newest_.compare_exchange_weak(c->next, c, std::memory_order_release, std::memory_order_relaxed)) {
  }
  hint_.store(c, std::memory_order_relaxed);
  return c;
}

void child_registry::reserve() {
  // Relaxed hint: any chunk will do, a stale one only costs a look. Acquire on newest_: the
  // chunk's construction (release in push).
  if (!hint_.load(std::memory_order_relaxed)->has_room() &&
      !newest_.load(std::memory_order_acquire)->has_room()) {
    (void)push(0);
  }
}

void* child_registry::add(void* frame) noexcept {
  const auto place = [frame](chunk* c, int bit) {
    c->frames[bit] = frame;
    return static_cast<void*>(reinterpret_cast<char*>(c) + bit);
  };
  for (chunk* c : {hint_.load(std::memory_order_relaxed), newest_.load(std::memory_order_acquire)}) {
    if (const int bit = c->claim(); bit >= 0) {
      return place(c, bit);
    }
  }
  return place(push(1), 0);  // slot 0 is this child's
}

void child_registry::remove(void* place) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(place);
  auto* c = reinterpret_cast<chunk*>(address & ~std::uintptr_t{15});
  const auto bit = static_cast<int>(address & 15);
  // release: whatever the child did is before its bit is free for another.
  c->used.fetch_and(~(std::uint64_t{1} << bit), std::memory_order_release);
  if (hint_.load(std::memory_order_relaxed) != c) {  // relaxed: a hint (no write when unchanged)
    hint_.store(c, std::memory_order_relaxed);
  }
}

bool child_registry::empty() const noexcept {
  for (const chunk* c = newest_.load(std::memory_order_acquire); c != nullptr; c = c->next) {
    if (c->used.load(std::memory_order_acquire) != 0) {
      return false;
    }
  }
  return true;
}

void child_registry::destroy_all() noexcept {
  for (chunk* c = newest_.load(std::memory_order_acquire); c != nullptr; c = c->next) {
    std::uint64_t u = c->used.exchange(0, std::memory_order_acquire);
    while (u != 0) {
      const int bit = std::countr_zero(u);
      u &= u - 1;
      std::coroutine_handle<>::from_address(c->frames[bit]).destroy();
    }
  }
}

}  // namespace detail

namespace {

// The frame of the child a spawn on this thread is running for the first time. A child that ends
// within that first run (synchronously, on this thread: the common case, a leaf of a tree) was
// never counted nor registered, and its end says so by clearing this: a spawn costs no atomic
// operation then. One that suspends is counted and registered when its first run returns — in
// time, because nothing can resume it before this thread is back in its loop: its wakeups go to
// its home (this executor), and a move to another executor (switch_to) is flushed to that
// executor's ring only at the end of this loop turn (executor::flush_outbound).
thread_local void* first_run = nullptr;

}  // namespace

task_group::~task_group() {
  if (!children_.empty()) {
    COSYNC_ASSERT(detail::tearing_down(), "cosync::task_group destroyed while children still run");
    children_.destroy_all();  // shutdown: every executor thread has stopped
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
  children_.reserve();  // may throw: nothing has started
  const auto h = detail::release(child);
  h.promise().start(*this);
  // On a deep stack transfer_to queues the child to run next on this thread instead: it cannot
  // start before this spawn returns, so it is registered below in time, as a posted one is.
  const bool run_now = eager && detail::transfer_to(h) == h;
  if (run_now) {
    void* const outer = std::exchange(first_run, h.address());
    h.resume();  // until its first suspension, or its end (its frame is recycled at once)
    const bool ended = first_run == nullptr;
    first_run = outer;
    if (!ended) {
      adopt(h);
    }
    return;
  }
  adopt(h);
  if (!eager) {
    detail::post(target, h);
  }
}

void task_group::adopt(std::coroutine_handle<detail::task_promise<void>> child) noexcept {
  live_.fetch_add(1, std::memory_order_relaxed);  // relaxed: sequenced before our own decrement
  // Whatever resumes the child later receives it through a queue or a ring, which publishes this.
  child.promise().set_sink_word(children_.add(child.address()));
}

void task_group::note_failure(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const cancelled&) {
    return;  // a cancellation is not a failure
  } catch (...) {
  }
  {
    const std::lock_guard lock{mutex_};
    failures_.push_back(e);
  }
  if (!supervising_) {
    scope_.request_stop();  // fail fast: everything else in the group stops
  }
}

std::coroutine_handle<> task_group::task_done(detail::task_promise_base& child) noexcept {
  if (child.failed()) {
    note_failure(child.exception());
  }
  // The group runs only task<void> children.
  const auto frame = std::coroutine_handle<detail::task_promise<void>>::from_promise(
      static_cast<detail::task_promise<void>&>(child));
  if (first_run == frame.address()) {  // within its first run: never counted nor registered
    first_run = nullptr;
    frame.destroy();
    return std::noop_coroutine();
  }
  COSYNC_ASSERT(child.sink_word() != nullptr,
                "cosync::task_group: a child ended elsewhere before spawn() returned");
  children_.remove(child.sink_word());
  frame.destroy();
  // acq_rel: the last decrement acquires every child's work and releases it to the joiner.
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    return joiner_.transfer();
  }
  return std::noop_coroutine();
}

void task_group::rethrow_failures() {
  // After the join: every child has ended, and the last decrement of live_ ordered their
  // failures before this read; nobody else touches the list now.
  if (failures_.empty()) {
    return;
  }
  if (!supervising_ && failures_.size() == 1) {
    std::rethrow_exception(failures_.front());
  }
  throw task_group_error{std::move(failures_)};
}

}  // namespace cosync
