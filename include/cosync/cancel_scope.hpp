#pragma once

/// Cancellation in the user's hands: a cancel_scope to cancel an operation by hand (Trio's
/// CancelScope), shield() for cleanup that must finish even while its caller is cancelled, and
/// with_stop_token() to let an outside std::stop_token cancel an operation.
///
///     cosync::cancel_scope scope;
///     ui.on_click_cancel([&] { scope.cancel(); });       // any thread
///     if (auto file = co_await scope.run(download(url))) save(*file);
///     else show("cancelled");
///
/// Every operation run this way is a task (any awaitable is accepted and wrapped) under a cancel
/// scope of its own, linked into the tree of cancellation.hpp: a cancellation of the awaiting
/// coroutine's scope reaches it (except through shield()), and every suspension point below sees
/// it. A cancelled operation that completed anyway — a value was handed over in the same instant
/// — returns its result: nothing is dropped.

#include <cosync/cancellation.hpp>
#include <cosync/detail/awaitable_traits.hpp>
#include <cosync/detail/scoped_run.hpp>
#include <cosync/task.hpp>

#include <stop_token>
#include <utility>

namespace cosync {

/// A handle to cancel the operations it runs, from anywhere, at any time.
///
/// - cancel(): any thread, idempotent; cancels every run() in progress and makes later ones end
///   at their first wait. Before any run() too.
/// - `co_await scope.run(op)`: runs `op` on the awaiting coroutine's executor, under this scope and
///   the awaiting coroutine's; returns its result as std::optional (for void: bool), empty if
///   this scope's cancel() cut it short (Trio: the scope catches its own cancellation). Cancelled
///   from above (a task group, a timeout), it throws cosync::cancelled. Resumes on the awaiting
///   coroutine's home executor.
/// - One scope may run several operations, one after another or at once.
class cancel_scope {
 public:
  cancel_scope() = default;
  cancel_scope(const cancel_scope&) = delete;
  cancel_scope& operator=(const cancel_scope&) = delete;

  /// Cancels what this scope runs. Any thread; idempotent.
  void cancel() noexcept { source_.request_stop(); }
  /// True once cancel() has been called (from any thread).
  [[nodiscard]] bool cancel_requested() const noexcept { return source_.stop_requested(); }
  /// The token cancel() stops (hand it to code that polls, or to a std::stop_callback).
  [[nodiscard]] std::stop_token stop_token() const noexcept { return source_.get_token(); }

  /// Runs `op` under this scope (see the class comment).
  ///
  ///     auto r = co_await scope.run(ch.recv());   // std::optional<std::optional<T>>
  template <detail::awaitable A>
  [[nodiscard]] task<detail::moved_on_t<typename detail::as_task_t<A>::value_type>> run(A&& op) {
    using T = typename detail::as_task_t<A>::value_type;
    return detail::run_scoped<T, detail::on_trigger::move_on>(
        [token = source_.get_token()](detail::cancel_scope& scope) {
          return detail::stop_token_trigger{scope, token};
        },
        detail::as_task(std::forward<A>(op)));
  }

 private:
  std::stop_source source_;
};

/// Runs `op` shielded from outside cancellation (Trio's `shield=True`): a cancellation of the
/// awaiting coroutine — its task group failing, a timeout, the runtime shutting down — does not
/// reach `op`, which runs to its end. For cleanup that must await (flush a file, say goodbye to
/// a peer) while the code around it is being cancelled.
///
/// - Lazy; runs `op` on the awaiting coroutine's executor; resumes on its home executor; returns
///   `op`'s result or exception.
/// - Bound it: a shielded wait that never ends holds up its group and the runtime's shutdown (until
///   shutdown's deadline destroys it). Put the deadline inside the shield, where it still works:
///   `co_await cosync::shield(cosync::move_on_after(1s, flush(file)));`
template <detail::awaitable A>
[[nodiscard]] task<typename detail::as_task_t<A>::value_type> shield(A&& op) {
  using T = typename detail::as_task_t<A>::value_type;
  return detail::run_scoped<T, detail::on_trigger::rethrow>(
      [](detail::cancel_scope& scope) { return detail::no_trigger{scope}; },
      detail::as_task(std::forward<A>(op)), true);
}

/// Runs `op` so that `token` cancels it as well as the awaiting coroutine's own scope: how code
/// outside cosync (a std::jthread's token, a UI's cancel button) cancels an operation.
///
/// - Lazy; runs `op` on the awaiting coroutine's executor; resumes on its home executor.
/// - `token` stopped (before or during): `op` is cancelled and this throws cosync::cancelled —
///   unless `op` completed anyway, whose result it returns.
///
///     co_await cosync::with_stop_token(thread_token, serve(listener));
template <detail::awaitable A>
[[nodiscard]] task<typename detail::as_task_t<A>::value_type> with_stop_token(std::stop_token token, A&& op) {
  using T = typename detail::as_task_t<A>::value_type;
  return detail::run_scoped<T, detail::on_trigger::rethrow>(
      [token = std::move(token)](detail::cancel_scope& scope) {
        return detail::stop_token_trigger{scope, token};
      },
      detail::as_task(std::forward<A>(op)));
}

}  // namespace cosync
