// coordination_bench: the coordination primitives (mutex, semaphore, wait_group, spawn/join_handle,
// spawn_blocking), each beside the nearest thing a C++ programmer would otherwise reach for,
// measured in the same run on the same pinned CPUs.
//
//   mutex uncontended      one coroutine on one executor: `{ auto g = co_await m.lock(); ++n; }`
//                          10^7 times; ns per lock+unlock. Beside it std::mutex lock/unlock on one
//                          pinned thread (a *thread* mutex, which can never be held across a
//                          suspension: the reference cost of an uncontended lock, not a peer), and
//                          cosync::mutex try_lock()/unlock() without co_await (what the awaitable
//                          wrapper adds). The thread baselines run in a process that has started a
//                          thread (see multi_threaded_process()).
//   semaphore uncontended  one coroutine: `co_await s.acquire(); ++n; s.release();` 2*10^6 times;
//                          beside std::counting_semaphore<> acquire/release on one pinned thread
//                          (a thread semaphore). Each with 1 permit (every release takes the count
//                          from 0 to 1) and with 2 (it never reaches 0): libstdc++ 12 makes a
//                          FUTEX_WAKE system call on every release from 0, waiter or not.
//   mutex contended        4 coroutines on each of executors 0 and 1, each looping
//                          lock / ++counter / unlock (2*10^6 locks in all); ns per lock = wall time
//                          / total locks. The critical section also notes which executor holds the
//                          lock, so the table shows how often the lock changed executors
//                          (cross_exec_pct). The workers start together once all have reached
//                          their executors. Beside it: the same loop with std::mutex on 2 pinned
//                          threads (a thread mutex: the waiters block threads), and, with
//                          Boost.Asio, 4 asio coroutines on each of 2 io_contexts using a
//                          concurrent_channel<void(error_code)> of capacity 1 as the mutex
//                          (lock = async_send of the token, unlock = try_receive of it; FIFO
//                          hand-off like ours). Asio has no async mutex; that is its idiom for one.
//   wait_group fan-in      a task group on executor 0 spawns 10^5 tasks alternately on executors
//                          0 and 1 (spawn_on); each counts itself and calls wg.done(); the body
//                          awaits wg.wait(); ns per task from the first spawn to wait() returning.
//                          Beside it the same fan-out learning the end from the task group's own
//                          join (no wait_group): the difference is what the wait_group costs.
//                          No Asio equivalent (no wait group in Asio).
//   spawn+join             cosync::spawn / spawn_on of a trivial task<u64> and `co_await` of its
//                          join_handle; ns per spawn+join. One at a time (each joined before the
//                          next is spawned: a latency; 10^6 tasks, 10^5 on the other executor)
//                          and in batches of 1000 (spawn 1000, then join them in order: a
//                          throughput; 10^6 tasks); on the spawner's executor and on the other
//                          one. Beside the one-at-a-time form, Asio's
//                          `co_await co_spawn(ctx, task(), use_awaitable)` (the same ctx, or a
//                          second io_context on the other pinned thread). The batch form has no
//                          Asio figure: its co_spawn has no handle to await later short of
//                          experimental::use_promise, which is not the same machinery. One at a
//                          time on the other executor also runs beside the runtime's bare round
//                          trip between the executors (switch_to 1, switch_to 0: no spawn).
//   spawn_blocking         `co_await cosync::spawn_blocking([i] { return i; })` 5*10^4 times from
//                          one executor; us per round trip. With the executor pinned to CPU 0
//                          (the pool's threads run on any allowed CPU: they do not inherit the
//                          executor's pinning); and, as a diagnostic, with pin_threads off
//                          (nothing pinned). Beside it, placed like the pinned case (the caller
//                          on CPU 0, the worker free to run anywhere): a plain thread handing the same
//                          function to a std::thread worker through a mutex + condition_variable queue and
//                          waiting on a condition_variable for it; and, with Boost.Asio, a
//                          coroutine on an io_context `co_await asio::post(thread_pool{1},
//                          use_awaitable)` — a hop to the pool's thread and back with no user
//                          function in between.
//
// Every case verifies a count and, where there is one, a checksum.

#include <cosync/event.hpp>
#include <cosync/join_handle.hpp>
#include <cosync/mutex.hpp>
#include <cosync/runtime.hpp>
#include <cosync/semaphore.hpp>
#include <cosync/spawn_blocking.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/wait_group.hpp>
#include <cosync/when_all.hpp>

#include <dirent.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <semaphore>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "ring_workloads.hpp"

#if COSYNC_HAVE_ASIO_CHANNEL
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "asio_peer.hpp"
#endif

namespace {

using namespace cosync::bench;
using cosync::task;

constexpr std::size_t coroutines_per_executor = 4;  // the contended-mutex workload
constexpr u64 spawn_batch = 1000;                   // the batch form of spawn+join

cosync::runtime_config pinned(std::size_t executors) {
  return cosync::runtime_config{.executors = executors, .pin_threads = true};
}

result per_op(double seconds, u64 ops, double unit_per_s, bool verified) {
  return {seconds * unit_per_s / static_cast<double>(ops), {}, verified};
}

// ---------------------------------------------------------------- uncontended mutex and semaphore

result mutex_uncontended(double scale) {
  const u64 n = scaled(1e7, scale);
  cosync::runtime rt{pinned(1)};
  cosync::mutex m;
  auto loop = [&]() -> task<result> {
    u64 count = 0;
    const auto start = steady::now();
    for (u64 i = 0; i < n; ++i) {
      auto guard = co_await m.lock();
      ++count;
    }
    const double s = seconds_since(start);
    co_return per_op(s, n, 1e9, count == n && !m.is_locked());
  };
  return cosync::sync_wait(rt, loop());
}

result mutex_try_lock(double scale) {
  const u64 n = scaled(1e7, scale);
  cosync::runtime rt{pinned(1)};
  cosync::mutex m;
  auto loop = [&]() -> task<result> {
    u64 count = 0;
    bool all_taken = true;
    const auto start = steady::now();
    for (u64 i = 0; i < n; ++i) {
      all_taken &= m.try_lock();
      ++count;
      m.unlock();
    }
    const double s = seconds_since(start);
    co_return per_op(s, n, 1e9, all_taken && count == n && !m.is_locked());
  };
  return cosync::sync_wait(rt, loop());
}

// glibc drops the lock prefix of its mutex operations while the process has never had a second
// thread (__libc_single_threaded), which halves an uncontended std::mutex; a program that runs
// coroutines on a runtime has threads, so the thread baselines start and join one first.
void multi_threaded_process() {
  std::thread{[] {}}.join();
}

result std_mutex_uncontended(double scale) {
  const u64 n = scaled(1e7, scale);
  multi_threaded_process();
  const scoped_pin pin{0};
  std::mutex m;
  u64 count = 0;
  const auto start = steady::now();
  for (u64 i = 0; i < n; ++i) {
    const std::lock_guard guard{m};
    ++count;
    keep(count);
  }
  const double s = seconds_since(start);
  const bool left_unlocked = m.try_lock();
  if (left_unlocked) {
    m.unlock();
  }
  return per_op(s, n, 1e9, count == n && left_unlocked);
}

result semaphore_uncontended(double scale, std::size_t permits) {
  const u64 n = scaled(2e6, scale);
  cosync::runtime rt{pinned(1)};
  cosync::semaphore sem{permits};
  auto loop = [&]() -> task<result> {
    u64 count = 0;
    const auto start = steady::now();
    for (u64 i = 0; i < n; ++i) {
      co_await sem.acquire();
      ++count;
      sem.release();
    }
    const double s = seconds_since(start);
    co_return per_op(s, n, 1e9, count == n && sem.available() == permits);
  };
  return cosync::sync_wait(rt, loop());
}

result std_semaphore_uncontended(double scale, std::ptrdiff_t permits) {
  const u64 n = scaled(2e6, scale);
  multi_threaded_process();
  const scoped_pin pin{0};
  std::counting_semaphore<> sem{permits};
  u64 count = 0;
  const auto start = steady::now();
  for (u64 i = 0; i < n; ++i) {
    sem.acquire();
    ++count;
    keep(count);
    sem.release();
  }
  const double s = seconds_since(start);
  // Exactly `permits` are back: they can be taken, and then no more.
  bool all_back = true;
  for (std::ptrdiff_t i = 0; i < permits; ++i) {
    all_back &= sem.try_acquire();
  }
  all_back &= !sem.try_acquire();
  return per_op(s, n, 1e9, count == n && all_back);
}

// ---------------------------------------------------------------- contended mutex, 2 executors

// What every implementation does inside the lock: count, and note a change of holder's executor
// (or thread). Written only by the lock holder.
struct critical_state {
  u64 counter = 0;
  u64 holder_changes = 0;
  std::size_t last_holder = 0;

  void enter(std::size_t holder) noexcept {
    ++counter;
    holder_changes += holder != last_holder ? 1 : 0;
    last_holder = holder;
  }
  result outcome(double seconds, u64 total) const {
    result r = per_op(seconds, total, 1e9, counter == total);
    r.extra["cross_exec_pct"] = 100.0 * static_cast<double>(holder_changes) / static_cast<double>(total);
    return r;
  }
};

result mutex_contended(double scale) {
  constexpr std::size_t workers = 2 * coroutines_per_executor;
  const u64 per_worker = std::max<u64>(1, scaled(2e6, scale) / workers);
  const u64 total = per_worker * workers;
  cosync::runtime rt{pinned(2)};
  cosync::mutex m;
  critical_state shared;
  // Every worker first reaches its executor; then all start at once (else when_all would run
  // each executor-0 worker to its end before starting the next worker).
  cosync::wait_group arrived;
  arrived.add(static_cast<std::int64_t>(workers));
  cosync::event go;
  steady::time_point start;
  auto worker = [&](std::size_t executor) -> task<void> {
    co_await cosync::switch_to(executor);
    arrived.done();
    co_await go.wait();
    for (u64 i = 0; i < per_worker; ++i) {
      auto guard = co_await m.lock();
      shared.enter(executor);
    }
  };
  auto starter = [&]() -> task<void> {
    co_await arrived.wait();
    start = steady::now();
    go.set();
  };
  auto all = [&]() -> task<result> {
    std::vector<task<void>> tasks;
    for (std::size_t w = 0; w < workers; ++w) {
      tasks.push_back(worker(w % 2));
    }
    tasks.push_back(starter());
    co_await cosync::when_all(std::move(tasks));
    const double s = seconds_since(start);
    result r = shared.outcome(s, total);
    r.verified &= !m.is_locked();
    co_return r;
  };
  return cosync::sync_wait(rt, all());
}

result std_mutex_contended(double scale) {
  const u64 per_thread = scaled(1e6, scale);
  std::mutex m;
  critical_state shared;
  auto loop = [&](std::size_t holder) {
    for (u64 i = 0; i < per_thread; ++i) {
      const std::lock_guard guard{m};
      shared.enter(holder);
    }
  };
  const double s = two_threads([&] { loop(1); }, [&] { loop(0); });
  return shared.outcome(s, 2 * per_thread);
}

// ---------------------------------------------------------------- wait_group fan-in

// Counts finished tasks on the executor that ran them (no shared line between the executors).
struct alignas(64) padded_count {
  u64 value = 0;
};

result fan_in(double scale, bool with_wait_group) {
  const u64 n = scaled(1e5, scale);
  cosync::runtime rt{pinned(2)};
  std::array<padded_count, 2> ran{};
  cosync::wait_group wg;
  auto counted = [&](std::size_t executor) -> task<void> {
    ++ran[executor].value;
    wg.done();
    co_return;
  };
  auto plain = [&](std::size_t executor) -> task<void> {
    ++ran[executor].value;
    co_return;
  };
  auto timed = [&]() -> task<result> {
    double s = 0;
    const auto start = steady::now();
    co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
      if (with_wait_group) {
        wg.add(static_cast<std::int64_t>(n));
      }
      for (u64 i = 0; i < n; ++i) {
        const std::size_t executor = i % 2;
        g.spawn_on(executor, with_wait_group ? counted(executor) : plain(executor));
      }
      if (with_wait_group) {
        co_await wg.wait();
        s = seconds_since(start);  // the group's own join, which follows, is not timed
      }
    });
    if (!with_wait_group) {
      s = seconds_since(start);
    }
    const u64 total = ran[0].value + ran[1].value;
    result r = per_op(s, n, 1e9, total == n && ran[1].value == n / 2 && wg.count() == 0);
    r.extra["M_tasks_per_s"] = static_cast<double>(n) / s / 1e6;
    co_return r;
  };
  return cosync::sync_wait(rt, timed());
}

// ---------------------------------------------------------------- spawn + join

// The spawned task: its number back, or 0 if it ran on the wrong executor (the checksum fails).
task<u64> numbered(u64 i, std::size_t executor) {
  co_return cosync::this_executor() == executor ? i : 0;
}

// One at a time, each task on the other executor costs a round trip between the executors (a
// latency, ~100x the same-executor cost), so that form runs 10^5 tasks, not 10^6.
u64 one_at_a_time_tasks(double scale, bool across) {
  return scaled(across ? 1e5 : 1e6, scale);
}

result spawn_join_one_at_a_time(double scale, std::size_t target) {
  const u64 n = one_at_a_time_tasks(scale, target != 0);
  cosync::runtime rt{pinned(target + 1)};
  auto timed = [&]() -> task<result> {
    u64 sum = 0;
    const auto start = steady::now();
    for (u64 i = 0; i < n; ++i) {
      sum += co_await cosync::spawn_on(target, numbered(i, target));
    }
    co_return per_op(seconds_since(start), n, 1e9, sum == triangle(n));
  };
  return cosync::sync_wait(rt, timed());
}

// The runtime's own round trip between the executors, nothing spawned: what one-at-a-time
// spawn+join on the other executor is judged against.
result hop_round_trip(double scale) {
  const u64 n = one_at_a_time_tasks(scale, true);
  cosync::runtime rt{pinned(2)};
  auto timed = [&]() -> task<result> {
    u64 arrivals = 0;
    const auto start = steady::now();
    for (u64 i = 0; i < n; ++i) {
      co_await cosync::switch_to(1);
      arrivals += cosync::this_executor() == 1 ? 1U : 0U;
      co_await cosync::switch_to(0);
      arrivals += cosync::this_executor() == 0 ? 1U : 0U;
    }
    co_return per_op(seconds_since(start), n, 1e9, arrivals == 2 * n);
  };
  return cosync::sync_wait(rt, timed());
}

result spawn_join_batched(double scale, std::size_t target) {
  const u64 n = scaled(1e6, scale);
  cosync::runtime rt{pinned(target + 1)};
  auto timed = [&]() -> task<result> {
    std::vector<cosync::join_handle<u64>> handles;
    handles.reserve(spawn_batch);
    u64 sum = 0;
    u64 joined = 0;
    const auto start = steady::now();
    for (u64 first = 0; first < n; first += spawn_batch) {
      const u64 end = std::min(n, first + spawn_batch);
      for (u64 i = first; i < end; ++i) {
        handles.push_back(cosync::spawn_on(target, numbered(i, target)));
      }
      for (auto& h : handles) {
        sum += co_await h;
        ++joined;
      }
      handles.clear();
    }
    co_return per_op(seconds_since(start), n, 1e9, joined == n && sum == triangle(n));
  };
  return cosync::sync_wait(rt, timed());
}

// ---------------------------------------------------------------- spawn_blocking

// Threads of this process now (the executors, the blocking pool's threads, main).
double threads_in_process() {
  double count = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (const dirent* entry = readdir(dir)) {
      count += entry->d_name[0] != '.' ? 1 : 0;
    }
    closedir(dir);
  }
  return count;
}

// `pin_executor`: runtime_config::pin_threads. The blocking pool's threads run on every CPU the
// runtime's creator may use, whatever the executors' pinning (pool_threads shows how many the
// loop started).
result spawn_blocking_round_trip(double scale, bool pin_executor) {
  const u64 n = scaled(5e4, scale);
  cosync::runtime rt{cosync::runtime_config{.executors = 1, .pin_threads = pin_executor}};
  auto timed = [&]() -> task<result> {
    const double before = threads_in_process();
    u64 sum = 0;
    const auto start = steady::now();
    for (u64 i = 0; i < n; ++i) {
      sum += co_await cosync::spawn_blocking([i] { return i; });
    }
    const double s = seconds_since(start);
    result r = per_op(s, n, 1e6, sum == triangle(n));
    r.extra["pool_threads"] = threads_in_process() - before;
    co_return r;
  };
  return cosync::sync_wait(rt, timed());
}

// The baseline: one worker thread fed through a mutex + condition_variable queue; the caller
// waits on a second condition_variable for the job's completion.
class handoff_worker {
 public:
  handoff_worker() : thread_{[this] { serve(); }} {}
  handoff_worker(const handoff_worker&) = delete;
  handoff_worker& operator=(const handoff_worker&) = delete;
  ~handoff_worker() {
    {
      const std::lock_guard lock{mutex_};
      stop_ = true;
    }
    work_.notify_one();
    thread_.join();
  }

  // Runs `job` on the worker and returns once it has.
  void run(std::function<void()> job) {
    std::unique_lock lock{mutex_};
    queue_.push_back(std::move(job));
    const u64 mine = ++submitted_;
    work_.notify_one();
    finished_.wait(lock, [&] { return completed_ >= mine; });
  }

 private:
  void serve() {
    std::unique_lock lock{mutex_};
    for (;;) {
      work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;
      }
      std::function<void()> job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      job();
      lock.lock();
      ++completed_;
      finished_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable finished_;
  std::deque<std::function<void()>> queue_;
  u64 submitted_ = 0;
  u64 completed_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

result thread_handoff_round_trip(double scale) {
  const u64 n = scaled(5e4, scale);
  handoff_worker worker;  // started before the caller is pinned: free to run on any CPU, as cosync's pool is
  const scoped_pin pin{0};
  u64 sum = 0;
  const auto start = steady::now();
  for (u64 i = 0; i < n; ++i) {
    u64 out = 0;
    worker.run([i, &out] { out = i; });
    sum += out;
  }
  const double s = seconds_since(start);
  return per_op(s, n, 1e6, sum == triangle(n));
}

// ---------------------------------------------------------------- Boost.Asio peers

#if COSYNC_HAVE_ASIO_CHANNEL

result asio_channel_mutex_contended(double scale) {
  using lock_channel = asio::experimental::concurrent_channel<void(asio_error)>;
  constexpr std::size_t workers = 2 * coroutines_per_executor;
  const u64 per_worker = std::max<u64>(1, scaled(2e6, scale) / workers);
  const u64 total = per_worker * workers;
  asio::io_context ctx0{1};
  asio::io_context ctx1{1};
  lock_channel lock{ctx0, 1};  // holds the token while someone has the lock
  critical_state shared;
  bool unlocks_ok = true;
  for (std::size_t w = 0; w < workers; ++w) {
    const std::size_t holder = w % 2;
    asio::co_spawn(
        holder == 0 ? ctx0 : ctx1,
        [&, holder]() -> asio::awaitable<void> {
          for (u64 i = 0; i < per_worker; ++i) {
            co_await lock.async_send(asio_error{}, asio::use_awaitable);  // lock
            shared.enter(holder);
            unlocks_ok &= lock.try_receive([](asio_error) {});  // unlock: hands off to the next sender
          }
        },
        asio::detached);
  }
  const auto start = steady::now();
  run_producer_consumer(ctx0, ctx1, true);
  const double s = seconds_since(start);
  result r = shared.outcome(s, total);
  r.verified &= unlocks_ok && lock.ready() == false;
  return r;
}

asio::awaitable<u64> asio_numbered(u64 i, asio::io_context& where) {
  co_return where.get_executor().running_in_this_thread() ? i : 0;
}

result asio_spawn_join(double scale, bool other_thread) {
  const u64 n = one_at_a_time_tasks(scale, other_thread);
  asio::io_context home{1};
  asio::io_context other{1};
  auto keep_other = asio::make_work_guard(other);
  asio::io_context& target = other_thread ? other : home;
  u64 sum = 0;
  asio::co_spawn(
      home,
      [&]() -> asio::awaitable<void> {
        for (u64 i = 0; i < n; ++i) {
          sum += co_await asio::co_spawn(target, asio_numbered(i, target), asio::use_awaitable);
        }
        keep_other.reset();
      },
      asio::detached);
  const auto start = steady::now();
  run_producer_consumer(home, other, other_thread);
  const double s = seconds_since(start);
  return per_op(s, n, 1e9, sum == triangle(n));
}

result asio_post_pool_round_trip(double scale) {
  const u64 n = scaled(5e4, scale);
  asio::thread_pool pool{
      1};  // started before the caller is pinned: free to run anywhere, as cosync's pool is
  const scoped_pin pin{0};
  asio::io_context ctx{1};
  u64 hops = 0;
  bool back_home = true;
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        for (u64 i = 0; i < n; ++i) {
          co_await asio::post(pool.get_executor(), asio::use_awaitable);
          back_home &= ctx.get_executor().running_in_this_thread();
          ++hops;
        }
      },
      asio::detached);
  const auto start = steady::now();
  ctx.run();
  const double s = seconds_since(start);
  pool.join();
  return per_op(s, n, 1e6, hops == n && back_home);
}

#endif

}  // namespace

int main(int argc, char** argv) {
  std::vector<bench_case> cases;
  const auto add = [&](const char* workload, const char* impl, const char* unit, bool cross_thread, role who,
                       std::function<result(double)> run) {
    cases.push_back({workload, impl, unit, false, cross_thread, who, std::move(run)});
  };

  const char* uncontended_mutex = "mutex lock+unlock, uncontended";
  add(uncontended_mutex, "std::mutex (thread)", "ns/op", false, role::baseline, std_mutex_uncontended);
  add(uncontended_mutex, "co_await m.lock()", "ns/op", false, role::ours, mutex_uncontended);
  add(uncontended_mutex, "m.try_lock() (no await)", "ns/op", false, role::ours, mutex_try_lock);

  const char* uncontended_semaphore = "semaphore acquire+release, uncontended";
  add(uncontended_semaphore, "std::counting_sem., 1 permit", "ns/op", false, role::baseline,
      [](double scale) { return std_semaphore_uncontended(scale, 1); });
  add(uncontended_semaphore, "std::counting_sem., 2 permits", "ns/op", false, role::baseline,
      [](double scale) { return std_semaphore_uncontended(scale, 2); });
  add(uncontended_semaphore, "co_await acquire(), 1 permit", "ns/op", false, role::ours,
      [](double scale) { return semaphore_uncontended(scale, 1); });
  add(uncontended_semaphore, "co_await acquire(), 2 permits", "ns/op", false, role::ours,
      [](double scale) { return semaphore_uncontended(scale, 2); });

  const char* contended = "mutex contended, 2 executors x 4";
  add(contended, "std::mutex, 2 threads", "ns/lock", true, role::baseline, std_mutex_contended);
  add(contended, "cosync::mutex", "ns/lock", true, role::ours, mutex_contended);

  const char* wait_group = "wait_group fan-in 10^5, 2 executors";
  add(wait_group, "task_group join, no wg", "ns/task", true, role::baseline,
      [](double scale) { return fan_in(scale, false); });
  add(wait_group, "co_await wg.wait()", "ns/task", true, role::ours,
      [](double scale) { return fan_in(scale, true); });

  const char* join_local = "spawn+join 10^6 one at a time, same executor";
  const char* join_remote = "spawn+join 10^5 one at a time, other executor";
  add(join_local, "cosync::spawn_on", "ns/task", false, role::ours,
      [](double scale) { return spawn_join_one_at_a_time(scale, 0); });
  add(join_remote, "switch_to 0->1->0, no spawn", "ns/task", true, role::baseline, hop_round_trip);
  add(join_remote, "cosync::spawn_on", "ns/task", true, role::ours,
      [](double scale) { return spawn_join_one_at_a_time(scale, 1); });
  add("spawn+join 10^6 in batches of 1000, same executor", "cosync::spawn_on", "ns/task", false, role::ours,
      [](double scale) { return spawn_join_batched(scale, 0); });
  add("spawn+join 10^6 in batches of 1000, other executor", "cosync::spawn_on", "ns/task", true, role::ours,
      [](double scale) { return spawn_join_batched(scale, 1); });

  const char* blocking = "spawn_blocking round trip";
  add(blocking, "std::thread+mutex/condvar", "us/call", true, role::baseline, thread_handoff_round_trip);
  add(blocking, "cosync::spawn_blocking", "us/call", true, role::ours,
      [](double scale) { return spawn_blocking_round_trip(scale, true); });
  add(blocking, "spawn_blocking, no pinning", "us/call", true, role::ours,
      [](double scale) { return spawn_blocking_round_trip(scale, false); });

  // Notes for people, once: not from the child processes the harness runs each case in.
  const bool child =
      std::any_of(argv, argv + argc, [](const char* arg) { return std::strcmp(arg, "--child") == 0; });
#if COSYNC_HAVE_ASIO_CHANNEL
  add(contended, "asio channel(cap 1) as mutex", "ns/lock", true, role::peer, asio_channel_mutex_contended);
  add(join_local, "asio co_spawn+use_awaitable", "ns/task", false, role::peer,
      [](double scale) { return asio_spawn_join(scale, false); });
  add(join_remote, "asio co_spawn+use_awaitable", "ns/task", true, role::peer,
      [](double scale) { return asio_spawn_join(scale, true); });
  add(blocking, "asio post(thread_pool)", "us/call", true, role::peer, asio_post_pool_round_trip);
#else
  if (!child) {
    std::fputs("note: Boost.Asio peers skipped (apt-get install libboost1.81-dev)\n", stderr);
  }
#endif
  if (!child) {
    std::fputs(
        "note: no Asio figure for the uncontended mutex or semaphore (Asio has neither as an async "
        "primitive), the wait_group (none in Asio) or batched spawn+join (co_spawn returns no handle to "
        "await later)\n",
        stderr);
  }
  return run_main(argc, argv, cases);
}
