// The executor loop:
//   run a bounded batch of ready coroutines → flush the outbound batches into the peers' rings →
//   run what the inbound rings hold (and flush what that sent), drain the inbox → complete finished I/O (when
//   any is in flight) → fire due timers → when nothing is left to do, spin briefly on the rings, then block
//   in the backend (src/wakeup.hpp has the protocol that makes that safe).

#include "executor.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include <cosync/detail/trace_hooks.hpp>

#include "runtime_state.hpp"

namespace cosync::detail {
namespace {

thread_local bool destroying_frames = false;

std::atomic<bool> simulated_wait_failure{false};

}  // namespace

executor::executor(runtime_state& runtime, std::size_t index, std::unique_ptr<backend> backend,
                   std::chrono::nanoseconds idle_spin)
    : runtime_{runtime}, index_{index}, backend_{std::move(backend)}, idle_spin_{idle_spin} {}

executor::~executor() {
  // A foreign thread may still be inside post() (between its push and its notify).
  while (foreign_posts_.load(std::memory_order_acquire) != 0) {
    std::this_thread::yield();
  }
  // Coroutines still queued here belong to frames the runtime destroyed (or never will run):
  // release the inbox nodes only; handles are never resumed after shutdown.
  for (inbox_node* node = inbox_.take_all(); node != nullptr;) {
    delete std::exchange(node, node->next);
  }
}

void executor::connect(std::size_t executors, std::size_t ring_capacity) {
  inbound_.resize(executors);
  outbound_.resize(executors);
  for (std::size_t from = 0; from < executors; ++from) {
    if (from != index_) {
      inbound_[from] = std::make_unique<spsc_ring<void*>>(ring_capacity);
    }
  }
  drain_buffer_.resize(ring_capacity);
}

void executor::run() {
  set_current_executor(this);
  this_thread_parked_hooks = &parked_hooks_;
  this_thread_trace = trace_;
  // Nested resumptions may use up to this much of the thread's stack (see stack_floor).
  constexpr std::uintptr_t nesting_budget = 256 * 1024;
  stack_floor = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) - nesting_budget;
  stats_.started(std::chrono::steady_clock::now());
  try {
    backend_->attach_thread();
    while (!stop_.load(std::memory_order_acquire)) {
      run_ready();
      flush_outbound();  // what the batch sent goes out before this thread polls its own rings
      if (drain_inbound()) {
        flush_outbound();  // and what the arrivals sent, before this thread polls or sleeps
      }
      if (backend_->busy()) {
        backend_->poll();  // submits what the batch started, completes what finished
      }
      fire_timers();
      if (ready_.empty()) {
        sleep();
      }
    }
  } catch (...) {
    // The backend failed (or the loop ran out of memory): never std::terminate on this thread.
    // The runtime stops every executor and hands the error to sync_wait and shutdown.
    runtime_.executor_failed(std::current_exception());
  }
  // No frame holding an I/O request may be destroyed (at shutdown) while the kernel owns it.
  backend_->detach_thread();
  // Nothing is in flight now: the jobs handed over so far run here, later ones where they are
  // handed over (run_job), so a thread waiting for one never waits for a loop that has ended.
  {
    const std::lock_guard guard{jobs_lock_};
    jobs_closed_ = true;
  }
  run_jobs();
  stats_.stopped(std::chrono::steady_clock::now());
  set_current_executor(nullptr);
  this_thread_parked_hooks = nullptr;
  this_thread_trace = nullptr;
  stack_floor = 0;
  runtime_.loop_exited();
}

void executor::request_stop() noexcept {
  stop_.store(true, std::memory_order_release);
  backend_->wake();
}

void executor::post(std::coroutine_handle<> h) {
  executor* const here = this_thread_executor;
  if (here != nullptr && here->trace_ != nullptr) [[unlikely]] {
    here->trace_->record(trace_kind::wake, h.address(), nullptr, static_cast<std::uint32_t>(index_));
  }
  if (here == this) {
    ready_.push_back(h);
  } else if (here != nullptr && &here->runtime_ == &runtime_) {
    std::vector<void*>& batch = here->outbound_[index_];
    if (batch.empty()) {
      here->outbound_dirty_.push_back(index_);
    }
    batch.push_back(h.address());
  } else {
    // From a thread outside the runtime (a signal watcher, a plain thread completing a wait):
    // once the node is in, the coroutine may run, finish, and the runtime be destroyed before
    // notify() returns. The count keeps this executor alive until then (see ~executor).
    foreign_posts_.fetch_add(1, std::memory_order_relaxed);  // ordered before the push's release
    inbox_.push(new inbox_node{nullptr, h});
    notify();
    foreign_posts_.fetch_sub(1, std::memory_order_release);  // pairs with ~executor's acquire
  }
}

void executor::run_job(remote_job& job) noexcept {
  if (this_thread_executor == this) {
    job.run(job);
    return;
  }
  foreign_posts_.fetch_add(1, std::memory_order_relaxed);  // as in post()
  bool closed = false;
  {
    // A rare path: a lock, so that a job is either queued before the loop's last run_jobs() or
    // sees the loop closed.
    const std::lock_guard guard{jobs_lock_};
    closed = jobs_closed_;
    if (!closed) {
      jobs_.push(&job);
    }
  }
  if (!closed) {
    notify();
  }
  foreign_posts_.fetch_sub(1, std::memory_order_release);
  if (closed) {
    job.run(job);  // nothing of it is in flight any more: it only frees or signals
  }
}

void executor::run_jobs() noexcept {
  for (remote_job* job = jobs_.take_all(); job != nullptr;) {
    remote_job& current = *std::exchange(job, job->next);  // run() owns it: read `next` first
    current.run(current);
  }
}

void executor::defer(std::coroutine_handle<> h) {
  ready_.push_front(h);
}

void executor::run_ready() {
  const std::size_t batch = std::min(ready_batch, ready_.size());
  stat_counters::raise_to(stats_.ready_high_water, ready_.size());
  stat_counters::add(stats_.resumed, batch);
  for (std::size_t n = batch; n != 0; --n) {
    const std::coroutine_handle<> h = ready_.front();
    ready_.pop_front();
    if (trace_ != nullptr) [[unlikely]] {
      resume_traced(h);
    } else {
      h.resume();
    }
  }
}

void executor::resume_traced(std::coroutine_handle<> h) {
  // A coroutine frame starts with its resume function's address (GCC and Clang): its name.
  trace_->record(trace_kind::run_begin, h.address(), *static_cast<void* const*>(h.address()));
  h.resume();
  trace_->record(trace_kind::run_end, h.address());  // the address only: the frame may be gone
}

bool executor::drain_inbound() {
  bool found = false;
  for (const auto& ring : inbound_) {
    if (!ring) {
      continue;
    }
    // One poll of the producer's index per ring and turn; what arrives meanwhile waits for the
    // next turn, so a peer that keeps the ring full cannot starve this executor's ready queue.
    const std::size_t n = ring->try_pop_n(std::span<void*>{drain_buffer_});
    stat_counters::add(stats_.mesh_received, n);
    if (n <= run_on_arrival) {
      stat_counters::add(stats_.resumed, n);
      // A few arrivals run here, at once: a hop then costs the ring's line transfers and the
      // frame's, not also a turn of the loop behind whatever was queued here before. Every frame's
      // first line is requested (for writing: resuming stores its suspend point) before the first
      // one runs, so their transfers overlap.
      for (std::size_t i = 0; i < n; ++i) {
        __builtin_prefetch(drain_buffer_[i], 1);
      }
      for (std::size_t i = 0; i < n; ++i) {
        const auto h = std::coroutine_handle<>::from_address(drain_buffer_[i]);
        if (trace_ != nullptr) [[unlikely]] {
          resume_traced(h);
        } else {
          h.resume();
        }
      }
    } else {
      // A flood goes through the ready queue, whose batches flush what they send every
      // ready_batch resumptions, so the peer works on the first of them meanwhile.
      for (std::size_t i = 0; i < n; ++i) {
        ready_.push_back(std::coroutine_handle<>::from_address(drain_buffer_[i]));
      }
    }
    found |= n != 0;
  }
  if (!inbox_.empty_approx()) {  // a load, not an exchange, on every loop iteration
    for (inbox_node* node = inbox_.take_all(); node != nullptr;) {
      stat_counters::add(stats_.foreign_received);
      ready_.push_back(node->handle);
      delete std::exchange(node, node->next);
      found = true;
    }
  }
  if (!jobs_.empty_approx()) {
    run_jobs();
    found = true;
  }
  return found;
}

void executor::flush_outbound() {
  std::size_t kept = 0;
  for (const std::size_t to : outbound_dirty_) {
    std::vector<void*>& batch = outbound_[to];
    executor& target = runtime_.at(to);
    const std::size_t pushed = target.inbound_[index_]->try_push_n(std::span<void* const>{batch});
    if (pushed != 0) {
      batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(pushed));
      stat_counters::add(stats_.mesh_sent, pushed);
      if (target.notify()) {
        stat_counters::add(stats_.wakeups_sent);
      }
    }
    if (!batch.empty()) {
      stat_counters::add(stats_.mesh_overflows);
      outbound_dirty_[kept++] = to;  // the ring is full: the rest waits for the next iteration
    }
  }
  outbound_dirty_.resize(kept);
}

void executor::fire_timers() {
  if (timers_.empty()) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  // At most a batch's worth of ready coroutines at a time: 10^5 timers due at once would otherwise
  // queue 10^5 coroutines (and grow the queue by as much) before the first of them runs; the rest
  // stay in the heap, in deadline order, and fire as the queue drains (it is never empty meanwhile,
  // so the executor does not sleep).
  while (!timers_.empty() && timers_.top().deadline <= now && ready_.size() < ready_batch) {
    timer_node& node = timers_.top();
    timers_.remove(node);
    stat_counters::add(stats_.timers_fired);
    node.on_fire(node);  // claims and wakes its waiter (here: the ready queue), or cancels a scope
  }
}

bool executor::has_inbound_work() const noexcept {
  if (!inbox_.empty_approx() || !jobs_.empty_approx()) {
    return true;
  }
  return std::any_of(inbound_.begin(), inbound_.end(),
                     [](const auto& ring) { return ring && !ring->empty_approx(); });
}

void executor::sleep() {
  if (!outbound_dirty_.empty()) {
    // A peer's ring is full: it is busy draining it. Let it run rather than block, since no
    // wakeup will tell us when there is room again.
    std::this_thread::yield();
    return;
  }
  // Idle from here (stats(): busy and idle time) until the last clock reading before this
  // returns: a spin reads the clock every 64 polls, so one that finds work sooner reads it no
  // more and counts as busy — the hop between two executors pays no clock read for statistics.
  auto idle_until = std::chrono::steady_clock::now();
  stats_.idle_from(idle_until);
  if ((!backend_->busy() || backend_->sees_completions()) && spin_for_work(idle_until)) {
    stats_.idle_until(idle_until);
    return;
  }
  gate_.announce_sleep();
  if (has_inbound_work() || stop_.load(std::memory_order_acquire)) {
    (void)gate_.end_sleep();
    stats_.idle_until(idle_until);
    return;
  }
  std::optional<std::chrono::nanoseconds> timeout;
  if (!timers_.empty()) {
    timeout =
        std::max(std::chrono::nanoseconds{0}, timers_.top().deadline - std::chrono::steady_clock::now());
  }
  if (simulated_wait_failure.load(std::memory_order_relaxed)) {
    (void)gate_.end_sleep();
    stats_.idle_until(idle_until);
    throw backend_error("cosync: simulated backend failure (a test)");
  }
  stat_counters::add(stats_.sleeps);
  backend_->wait(timeout);
  if (gate_.end_sleep()) {
    stat_counters::add(stats_.woken);
  }
  stats_.idle_until(std::chrono::steady_clock::now());
}

bool executor::spin_for_work(std::chrono::steady_clock::time_point& clock) const noexcept {
  if (idle_spin_.count() <= 0) {
    return false;
  }
  const auto give_up = clock + idle_spin_;
  for (unsigned polls = 1;; ++polls) {
    if (has_inbound_work() || stop_.load(std::memory_order_relaxed) || backend_->completions_pending()) {
      return true;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
    if (polls % 64 == 0 && (clock = std::chrono::steady_clock::now()) >= give_up) {
      return false;
    }
  }
}

bool executor::notify() noexcept {
  if (!gate_.must_wake()) {
    return false;
  }
  backend_->wake();
  return true;
}

void executor::cancel_parked(const cancel_scope& scope) {
  for (parked_hook* hook = parked_hooks_; hook != nullptr;) {
    parked_hook* const next = hook->next;  // the hook only posts its coroutine: `next` stays valid
    if (hook->scope == &scope) {
      hook->unlink();
      hook->fn(hook->context);
    }
    hook = next;
  }
}

void executor::arm(timer_node& node) {
  timers_.push(node);
  stat_counters::add(stats_.timers_armed);
}

void executor::disarm(timer_node& node) noexcept {
  if (node.armed()) {
    timers_.remove(node);
    stat_counters::add(stats_.timers_disarmed);
  }
}

void set_current_executor(executor* e) noexcept {
  this_thread_executor = e;
}

// ---------------------------------------------------------------- detail/scheduler.hpp

std::size_t index_of(const executor& e) noexcept {
  return e.index();
}

std::size_t executor_count(const executor& e) noexcept {
  return e.runtime().size();
}

executor& peer(executor& e, std::size_t index) noexcept {
  return e.runtime().at(index);
}

void post(executor& target, std::coroutine_handle<> h) {
  target.post(h);
}

std::coroutine_handle<> resume_on(executor& target, std::coroutine_handle<> h) {
  if (this_thread_executor == &target) {
    return transfer_to(h);
  }
  target.post(h);
  return std::noop_coroutine();
}

std::coroutine_handle<> defer_to_loop(std::coroutine_handle<> h) {
  this_thread_executor->defer(h);
  return std::noop_coroutine();
}

void arm_timer(executor& home, timer_node& node) {
  home.arm(node);
}

void disarm_timer(executor& home, timer_node& node) noexcept {
  if (node.armed()) {
    home.disarm(node);
  }
}

// ---------------------------------------------------------------- detail/io_request.hpp

bool start_io(executor& home, io_request& r) {
  r.home = &home;
  stat_counters::add(home.stats().io_submitted);
  const bool done = home.io().start(r);  // done at once: no completion will come through complete_io
  if (done) {
    stat_counters::add(home.stats().io_completed);
  }
  return done;
}

void stop_io(io_request& r) noexcept {
  if (r.state == io_state::in_flight) {
    r.parked = nullptr;  // its completion, found while waiting, must claim and wake nobody
    r.home->io().stop(r);
  }
}

void complete_io(io_request& r) {
  stat_counters::add(r.home->stats().io_completed);
  // A write_all whose wait was already cancelled (or lost its select) goes no further.
  if (r.parked == nullptr || (r.on_done != nullptr && r.parked->live() && r.on_done(r))) {
    return;
  }
  waiter& w = *r.parked;
  if (w.claim()) {
    w.wake();
  }
}

bool supports_multishot(executor& home, io_opcode opcode) {
  return home.io().multishot(opcode);
}

void end_multishot(io_request& r) {
  r.home->io().end(r);
}

const std::byte* provided_buffer(executor& home, std::uint16_t id) noexcept {
  return home.io().provided(id);
}

void recycle_buffer(executor& home, std::uint16_t id) noexcept {
  home.io().recycle(id);
}

void run_on(executor& home, remote_job& job) noexcept {
  home.run_job(job);
}

void simulate_backend_wait_failure(bool fail) noexcept {
  simulated_wait_failure.store(fail, std::memory_order_relaxed);
}

bool tearing_down() noexcept {
  return destroying_frames;
}

void set_tearing_down(bool on) noexcept {
  destroying_frames = on;
}

}  // namespace cosync::detail
