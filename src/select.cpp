// select's engine, out of line (it sees cases only through case_ref): the locked pass, the
// resumption, cancellation and abandonment; and the seed of each thread's fair-order generator.

#include <cosync/detail/select_engine.hpp>
#include <cosync/detail/trace_hooks.hpp>

#include <chrono>
#include <cstdint>
#include <random>

namespace cosync::detail {
namespace {

// Every case's lock, each once, in address order (deadlock-free against other selects).
class lock_set {
 public:
  lock_set(std::span<const case_ref> cases, std::span<case_ref> by_lock) : by_lock_{by_lock} {
    std::copy(cases.begin(), cases.end(), by_lock.begin());
    std::sort(by_lock.begin(), by_lock.end(),
              [](const case_ref& a, const case_ref& b) { return std::less<>{}(key(a), key(b)); });
    for (std::size_t i = 0; i < by_lock.size(); ++i) {
      if (first_of_its_lock(i)) {
        by_lock[i].op->lock(by_lock[i].self);
      }
    }
  }
  lock_set(const lock_set&) = delete;
  lock_set& operator=(const lock_set&) = delete;
  ~lock_set() {
    for (std::size_t i = by_lock_.size(); i-- > 0;) {
      if (first_of_its_lock(i)) {
        by_lock_[i].op->unlock(by_lock_[i].self);
      }
    }
  }

 private:
  static void* key(const case_ref& c) noexcept { return c.op->lock_key(c.self); }
  [[nodiscard]] bool first_of_its_lock(std::size_t i) const noexcept {
    void* k = key(by_lock_[i]);
    return k != nullptr && (i == 0 || key(by_lock_[i - 1]) != k);
  }

  std::span<case_ref> by_lock_;
};

}  // namespace

bool select_wait::locked_pass(const select_scratch& s, continuation home, cancel_scope* scope) {
  std::size_t default_index = none;
  for (std::size_t i = 0; i < s.cases.size(); ++i) {
    if (s.cases[i].is_default) {
      default_index = i;
    }
  }
  if (home.home == nullptr && default_index == none) {
    throw usage_error("cosync::select must be awaited on an executor thread unless it has a default case");
  }
  home_ = home;
  wake_list wake;  // wakes the parties a completing case unblocked, after the locks
  std::size_t parked = 0;
  std::exception_ptr failure;
  {
    const lock_set locks{s.cases, s.by_lock};
    for (const std::size_t i : s.order) {
      if (s.cases[i].op->try_complete_locked(s.cases[i].self, wake)) {
        winner_ = i;
        return false;
      }
    }
    if (default_index != none) {
      winner_ = default_index;
      return false;
    }
    if (!may_wait(scope)) {
      winner_ = race_cancelled;  // nothing is ready, and a cancelled scope may not wait
      return false;
    }
    // Park every case in the pass's order — random for a fair select, so that whichever case
    // the other side finds first is random too (Go's select parks in its poll order).
    try {
      for (; parked < s.order.size(); ++parked) {
        const std::size_t i = s.order[parked];
        s.waiters[i] = waiter_access::make(home, &race_, i);
        if (!s.cases[i].op->park(s.cases[i].self, s.waiters[i])) {
          break;  // it found it can complete after all, and won the race itself
        }
      }
    } catch (...) {
      // Nobody can claim a case parked under a lock we hold; deciding the race keeps the lock-free
      // ones from completing. Withdraw what was parked once the locks are released.
      (void)decide(race_, race_cancelled);
      failure = std::current_exception();
    }
  }
  parked_ = true;
  if (failure) {
    for (const std::size_t i : s.order.first(parked)) {
      s.cases[i].op->withdraw(s.cases[i].self);
    }
    parked_ = false;
    std::rethrow_exception(failure);
  }
  return parked == s.order.size();  // else a case won while parking: resume() withdraws the rest
}

std::size_t select_wait::resume(const select_scratch& s) {
  if (parked_) {
    parked_ = false;
    hook_.disarm();
    winner_ = race_.load(std::memory_order_acquire);  // acquire: pairs with the winner's claim
    withdraw_all_but(s, winner_);
  }
  if (winner_ == race_cancelled) {
    throw cancelled{};
  }
  return winner_;
}

void select_wait::abandon_if_parked(const select_scratch& s) noexcept {
  if (parked_) {
    hook_.disarm();
    (void)decide(race_, race_cancelled);
    withdraw_all_but(s, race_undecided);
  }
}

bool select_wait::cancel_parked() {
  const void* const frame = home_.coroutine.address();  // once woken, the select may be gone
  const bool won = cancel_by_race(race_, home_);
  if (won && tracing()) [[unlikely]] {
    trace_cancel(frame);
  }
  return won;
}

void select_wait::withdraw_all_but(const select_scratch& s, std::size_t winner) noexcept {
  for (std::size_t i = 0; i < s.cases.size(); ++i) {
    if (i != winner) {
      s.cases[i].op->withdraw(s.cases[i].self);
    }
  }
}

std::uint64_t fresh_seed() noexcept {
  // The clock differs per run, the address of a thread-local per thread; random_device adds
  // entropy where it is cheap and cannot fail (it may throw where no source exists).
  thread_local const char anchor = 0;
  std::uint64_t seed =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  seed ^= reinterpret_cast<std::uintptr_t>(&anchor) * 0x9E3779B97F4A7C15ULL;
  try {
    seed ^= std::uint64_t{std::random_device{}()} << 32;
  } catch (...) {  // no entropy source: the clock and the address still differ per run and thread
  }
  // splitmix64's finaliser spreads the bits; `| 1` keeps xorshift's state non-zero.
  seed = (seed ^ (seed >> 30)) * 0xBF58476D1CE4E5B9ULL;
  seed = (seed ^ (seed >> 27)) * 0x94D049BB133111EBULL;
  return (seed ^ (seed >> 31)) | 1;
}

}  // namespace cosync::detail
