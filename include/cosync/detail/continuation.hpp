#pragma once

// A suspended coroutine and its home (the executor it resumes on): the one resume-on-home step
// that every completion uses — a parked operation's completer, a task's end, a when_all's last
// child, a task group's last child.

#include <cosync/detail/scheduler.hpp>

#include <coroutine>

namespace cosync::detail {

struct continuation {
  std::coroutine_handle<> coroutine;
  executor* home;  // null: it waits off any executor and is resumed inline

  /// `h`, suspending on the calling thread's executor.
  [[nodiscard]] static continuation here(std::coroutine_handle<> h) noexcept {
    return {h, current_executor()};
  }

  /// Resumes it on its home: queued there, or inline without a home (so never under a lock).
  void resume() const {
    if (home != nullptr) {
      post(*home, coroutine);
    } else {
      coroutine.resume();
    }
  }

  /// The same, for an await_suspend or final_suspend that ends by symmetric transfer: the
  /// coroutine itself when its home is this thread's executor, else queued there.
  [[nodiscard]] std::coroutine_handle<> transfer() const {
    return home != nullptr ? resume_on(*home, coroutine) : transfer_to(coroutine);
  }
};

}  // namespace cosync::detail
