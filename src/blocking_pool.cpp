// The pool of blocking threads behind cosync::spawn_blocking.

#include "blocking_pool.hpp"

#include <pthread.h>

#include <cosync/error.hpp>

#include "executor.hpp"
#include "runtime_state.hpp"

namespace cosync::detail {

blocking_pool& blocking_pool_of(executor& home) noexcept {
  return home.runtime().blocking();
}

void submit_blocking(blocking_pool& pool, blocking_job& job) {
  pool.submit(job);
}

bool withdraw_blocking(blocking_pool& pool, blocking_job& job) noexcept {
  return pool.withdraw(job);
}

blocking_pool::blocking_pool(std::size_t max_threads) noexcept : max_threads_{max_threads} {
  CPU_ZERO(&cpus_);
  cpus_known_ = sched_getaffinity(0, sizeof cpus_, &cpus_) == 0;
}

void blocking_pool::submit(blocking_job& job) {
  const std::lock_guard lock{mutex_};
  if (stopping_) {
    throw cancelled{};  // the runtime is shutting down: the caller unwinds
  }
  if (idle_ == 0 && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { serve(); });  // may throw: nothing queued then
  }
  job.next = nullptr;
  (tail_ != nullptr ? tail_->next : head_) = &job;
  tail_ = &job;
  job.queued = true;
  work_.notify_one();
}

bool blocking_pool::withdraw(blocking_job& job) noexcept {
  const std::lock_guard lock{mutex_};
  if (!job.queued) {
    return false;
  }
  blocking_job* prev = nullptr;
  for (blocking_job* j = head_; j != &job; j = j->next) {
    prev = j;
  }
  (prev != nullptr ? prev->next : head_) = job.next;
  if (tail_ == &job) {
    tail_ = prev;
  }
  job.queued = false;
  return true;
}

void blocking_pool::serve() {
  if (cpus_known_) {
    // Best effort: a failure leaves the thread where it was started.
    (void)pthread_setaffinity_np(pthread_self(), sizeof cpus_, &cpus_);
  }
  std::unique_lock lock{mutex_};
  for (;;) {
    if (head_ == nullptr) {
      if (stopping_) {
        return;
      }
      ++idle_;
      work_.wait(lock);
      --idle_;
      continue;
    }
    blocking_job& job = *head_;
    head_ = job.next;
    if (head_ == nullptr) {
      tail_ = nullptr;
    }
    job.queued = false;
    lock.unlock();
    waiter& who = *job.who;  // read first: once woken, the coroutine may free the job
    job.run(job);
    if (who.claim()) {
      who.wake();  // on the caller's home executor
    }
    lock.lock();
  }
}

void blocking_pool::stop() noexcept {
  std::vector<std::thread> threads;
  {
    const std::lock_guard lock{mutex_};
    stopping_ = true;
    for (blocking_job* j = head_; j != nullptr; j = j->next) {
      j->queued = false;
    }
    head_ = tail_ = nullptr;
    threads.swap(threads_);
    work_.notify_all();
  }
  for (std::thread& t : threads) {
    t.join();
  }
}

std::size_t blocking_pool::threads() {
  const std::lock_guard lock{mutex_};
  return threads_.size();
}

}  // namespace cosync::detail
