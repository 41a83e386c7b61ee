// Unix signals as awaitable events (cosync/signal.hpp): a counting handler, an eventfd, and one
// watcher thread per process that completes signal waits and fires stop_on_signal's triggers.

#include <cosync/error.hpp>
#include <cosync/signal.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cosync::detail {
namespace {

// Written by the handler (async-signal-safe: lock-free atomics and write(2) only).
std::array<std::atomic<std::uint64_t>, NSIG> deliveries{};
std::atomic<int> watcher_fd{-1};

extern "C" void count_delivery(int sig) {
  const int saved = errno;
  // release: a waiter that sees the new count (acquire) sees a delivery, nothing more to publish.
  deliveries[static_cast<std::size_t>(sig)].fetch_add(1, std::memory_order_release);
  const std::uint64_t one = 1;
  // relaxed: set once, before any handler is installed (sigaction orders it).
  [[maybe_unused]] const ssize_t r = ::write(watcher_fd.load(std::memory_order_relaxed), &one, sizeof one);
  errno = saved;
}

// Signals a coroutine cannot usefully wait for: faults of the running thread (returning from
// their handler re-runs the faulting instruction) and the uncatchable ones.
bool refused(int sig) noexcept {
  switch (sig) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGTRAP:
    case SIGSYS:
      return true;
    default:
      return sig < 1 || sig >= NSIG;
  }
}

std::uint64_t delivered(int sig) noexcept {
  return deliveries[static_cast<std::size_t>(sig)].load(std::memory_order_acquire);  // acquire: see above
}

}  // namespace

/// The process's one watcher (never destroyed: listeners in static objects may outlive any
/// destruction order; its thread ends with the process).
class signal_hub {
 public:
  static signal_hub& get() {
    static signal_hub* const hub = new signal_hub;
    return *hub;
  }

  void subscribe(std::span<const int> signals) {
    for (const int sig : signals) {
      if (refused(sig)) {
        throw usage_error("cosync: signal " + std::to_string(sig) +
                          " cannot be awaited (a fault, SIGKILL/SIGSTOP, or out of range)");
      }
    }
    const std::lock_guard lock{mutex_};
    std::size_t installed = 0;
    try {
      for (const int sig : signals) {
        if (listeners_[static_cast<std::size_t>(sig)] == 0) {
          install(sig);
        }
        ++listeners_[static_cast<std::size_t>(sig)];
        ++installed;
      }
    } catch (...) {
      release(signals.first(installed));
      throw;
    }
  }

  void unsubscribe(std::span<const int> signals) noexcept {
    const std::lock_guard lock{mutex_};
    release(signals);
  }

  std::mutex& mutex() noexcept { return mutex_; }

  // Under the lock.
  void park(signal_listener& listener, waiter& w) noexcept { parked_.push_back(listener, w); }
  bool withdraw(signal_listener& listener) noexcept {
    const std::lock_guard lock{mutex_};
    return parked_.erase(listener);
  }

  void add(signal_trigger& t) {
    const std::lock_guard lock{mutex_};
    t.next_ = triggers_;
    triggers_ = &t;
    if (t.listener_.pending()) {  // delivered before it was listed: have the watcher look again
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t r = ::write(fd_, &one, sizeof one);
    }
  }
  void remove(signal_trigger& t) noexcept {
    std::unique_lock lock{mutex_};
    fired_.wait(lock, [&] { return !t.firing_; });  // its scope must outlive a stop in progress
    for (signal_trigger** p = &triggers_; *p != nullptr; p = &(*p)->next_) {
      if (*p == &t) {
        *p = t.next_;
        break;
      }
    }
  }

 private:
  signal_hub() {
    fd_ = ::eventfd(0, EFD_CLOEXEC);  // blocking: the watcher sleeps in read(2)
    if (fd_ < 0) {
      throw backend_error(std::string{"cosync: eventfd for signals: "} + std::strerror(errno));
    }
    watcher_fd.store(fd_, std::memory_order_relaxed);
    std::thread{[this] { watch(); }}.detach();
  }

  void install(int sig) {
    struct sigaction action {};
    action.sa_handler = &count_delivery;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (::sigaction(sig, &action, &previous_[static_cast<std::size_t>(sig)]) != 0) {
      throw usage_error("cosync: cannot handle signal " + std::to_string(sig) + ": " + std::strerror(errno));
    }
  }

  // Under the lock: drops one listener of each; the last one restores the previous disposition.
  void release(std::span<const int> signals) noexcept {
    for (const int sig : signals) {
      if (--listeners_[static_cast<std::size_t>(sig)] == 0) {
        ::sigaction(sig, &previous_[static_cast<std::size_t>(sig)], nullptr);
      }
    }
  }

  void watch() {
    std::vector<signal_trigger*> firing;
    for (;;) {
      std::uint64_t count = 0;
      if (::read(fd_, &count, sizeof count) < 0) {
        continue;  // EINTR: a signal delivered to this very thread
      }
      {
        wake_list wake;  // wakes once the lock is released
        const std::lock_guard lock{mutex_};
        complete_waits(wake);
        for (signal_trigger* t = triggers_; t != nullptr; t = t->next_) {
          if (!t->fired_.load(std::memory_order_relaxed) && t->listener_.take() != 0) {
            t->firing_ = true;
            firing.push_back(t);
          }
        }
      }
      if (firing.empty()) {
        continue;
      }
      for (signal_trigger* t : firing) {
        t->fired_.store(true, std::memory_order_release);  // release: before the stop it explains
        t->scope_->request_stop();  // runs the cancellation hooks below it, outside the lock
      }
      {
        const std::lock_guard lock{mutex_};
        for (signal_trigger* t : firing) {
          t->firing_ = false;
        }
      }
      fired_.notify_all();
      firing.clear();
    }
  }

  // Under the lock: every parked wait with a delivery pending is claimed and completed.
  void complete_waits(wake_list& wake) {
    waiter_queue still;
    while (queued_waiter* node = parked_.pop_front()) {
      auto& listener = static_cast<signal_listener&>(*node);
      if (!listener.pending()) {
        still.push_back(listener, *node->who);
      } else if (node->who->claim()) {
        listener.result = listener.take();
        wake.push(*node->who);
      }  // else decided elsewhere (its select): only taken out
    }
    while (queued_waiter* node = still.pop_front()) {
      parked_.push_back(*node, *node->who);
    }
  }

  int fd_ = -1;
  std::mutex mutex_;
  std::condition_variable fired_;  // a trigger's stop request ended
  // ---- guarded by mutex_ ----
  waiter_queue parked_;
  signal_trigger* triggers_ = nullptr;
  std::array<std::size_t, NSIG> listeners_{};
  std::array<struct sigaction, NSIG> previous_{};
};

// ---------------------------------------------------------------- signal_listener

signal_listener::signal_listener(std::span<const int> signals) {
  signal_hub::get().subscribe(signals);
  seen_.reserve(signals.size());
  for (const int sig : signals) {
    seen_.push_back({sig, delivered(sig)});
  }
}

signal_listener::~signal_listener() {
  std::vector<int> signals;
  signals.reserve(seen_.size());
  for (const seen_count& s : seen_) {
    signals.push_back(s.signal);
  }
  signal_hub::get().unsubscribe(signals);
}

bool signal_listener::pending() const noexcept {
  for (const seen_count& s : seen_) {
    if (delivered(s.signal) != s.seen) {
      return true;
    }
  }
  return false;
}

int signal_listener::take() noexcept {
  for (seen_count& s : seen_) {
    if (const std::uint64_t now = delivered(s.signal); now != s.seen) {
      s.seen = now;  // every delivery so far: they coalesce
      return s.signal;
    }
  }
  return 0;
}

// ---------------------------------------------------------------- the case's entry points

void lock_signals() {
  signal_hub::get().mutex().lock();
}
void unlock_signals() noexcept {
  signal_hub::get().mutex().unlock();
}
void* signal_lock_key() noexcept {
  return &signal_hub::get();
}
void park_signal_wait(signal_listener& listener, waiter& w) noexcept {
  signal_hub::get().park(listener, w);
}
bool withdraw_signal_wait(signal_listener& listener) noexcept {
  return signal_hub::get().withdraw(listener);
}

// ---------------------------------------------------------------- signal_trigger

signal_trigger::signal_trigger(cancel_scope& scope, std::span<const int> signals)
    : listener_{signals}, scope_{&scope} {
  signal_hub::get().add(*this);
}

signal_trigger::~signal_trigger() {
  signal_hub::get().remove(*this);
}

}  // namespace cosync::detail
