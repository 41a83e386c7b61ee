// What a listener and a stream keep between waits (the sources of cosync/net.hpp), and the accept
// and read cases that take from them.
//
// A source holds what arrived while no operation waited — connections for a listener, bytes for
// a stream — and, where the executor's backend has them (io_uring, 5.19 / 6.0), the multishot
// request that goes on producing them: one request in flight for the object's life instead of one
// per operation. Its handler (on_done) runs on the executor that started the request, the owner;
// operations may wait on the source from any executor. So:
// - the queue, the operations waiting and `armed` are under the source's lock; the handler takes
//   the registration out and claims it there (rule 1 of the waiting core), and a withdraw takes
//   it out there (rule 2). Nothing that may enter the backend (start, end: a full submission
//   queue makes the backend reap, which runs handlers) is called under the lock;
// - what is kept is bounded: past the bound the handler ends the request, and the next operation
//   that has to wait starts a new one — so the kernel's backlog and TCP's window push back on a
//   peer nobody reads from, and no stream holds a provided buffer (each is copied out at once);
// - the request ends, with the source, only on its owner's thread: a source released elsewhere
//   is handed to the owner (detail::run_on). A thread outside the runtime waits for that, so that
//   the port or connection is gone when the listener or stream is; an executor does not wait. A
//   source whose request is not armed (never started, ended, or drained when its owner shut
//   down) is freed wherever it is released.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cosync/detail/scheduler.hpp>
#include <cosync/net.hpp>
#include <cosync/wait.hpp>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace cosync::detail {
namespace {

constexpr std::size_t max_kept_connections = 64;
// Read-ahead per stream: enough to gather many small messages while the reader is busy, little
// next to the kernel's socket buffer (which holds the rest once the request ends).
constexpr std::size_t max_kept_bytes = 16 * 1024;
// Kept memory a stream holds on to once it has read everything (more is given back: an idle
// connection costs no read-ahead).
constexpr std::size_t idle_kept_capacity = 4096;

}  // namespace

/// What the two sources share: the multishot request (the io_request base; its fields are the
/// owner thread's), the operation waiting on it, and the hand-off to the owner.
struct source_base : io_request, remote_job {
  source_base(io_opcode multishot, int socket, bool (*handler)(io_request&)) noexcept {
    opcode = multishot;
    fd = socket;
    on_done = handler;
  }

  /// Under lock: takes out the oldest operation waiting and claims it (a registration whose
  /// claim is lost is dropped: a cancellation or another case won). Returns its request, or null
  /// if none is left or the owner is shutting down (those frames are destroyed later; their
  /// destructors withdraw). The claimed waiter is `claimed`, woken once the lock is released.
  io_request* claim_parked(bool shutting_down) noexcept {
    while (!shutting_down && !waiting.empty()) {
      const auto [w, t] = waiting.front();
      waiting.pop_front();
      if (w->claim()) {
        claimed = w;
        return t;
      }
    }
    return nullptr;
  }

  /// Owner thread: one completion of the request. `step` runs under the lock, hands the outcome
  /// to a waiting operation or keeps it, and says whether too much is kept now. Then, once the
  /// lock is released: the request is started again for operations still waiting if it ended,
  /// ended if too much is kept, and the operation completed is woken.
  template <class Step>
  void handle(const io_request& r, Step step) {
    bool restart = false;
    bool end = false;
    waiter* woken = nullptr;
    {
      const std::lock_guard guard{lock};
      end = step() && r.state == io_state::in_flight && !ending;
      ending = ending || end;
      if (r.state == io_state::done) {
        ending = false;
        restart = !waiting.empty() && !r.draining;
        armed = restart;  // not armed: whoever releases the source may free it from now on
      }
      woken = std::exchange(claimed, nullptr);
    }
    if (woken != nullptr) {
      woken->wake();
    }
    // Unless restart or end (the source is still armed), the source may be gone from here on.
    if (restart) {
      restart_for_waiting();
    } else if (end) {
      end_multishot(*this);
    }
  }

  /// Under lock: a failed completion (EMFILE, ECONNRESET, ...) goes to the oldest waiting
  /// operation, or to the next one (`error`). Our own cancellation (-ECANCELED) is no failure.
  void fail_or_keep(const io_request& r) noexcept {
    if (r.result == -ECANCELED) {
      return;
    }
    if (io_request* t = claim_parked(r.draining)) {
      complete(*t, r.result);
    } else if (!r.draining) {
      error = static_cast<int>(-r.result);
    }
  }

  /// Under lock: an operation's outcome, set before its waiter is woken.
  static void complete(io_request& t, std::int64_t result) noexcept {
    t.result = result;
    t.state = io_state::done;
  }

  /// Registers the operation `t` waiting in `w` on the multishot request, starting one on `here`
  /// if none is armed. False if `here` has no multishot request of this kind (the caller makes a
  /// request of its own); the lock may be released on return.
  bool park_multishot(std::unique_lock<std::mutex>& guard, waiter& w, io_request& t, executor& here) {
    if (!armed && !supports_multishot(here, opcode)) {
      return false;
    }
    waiting.emplace_back(&w, &t);  // may throw: nothing registered (rule 3)
    if (armed) {
      return true;
    }
    armed = true;
    owner = &here;
    guard.unlock();
    try {
      start_io(here, *this);
    } catch (...) {
      wake_list wake;  // operations that registered meanwhile fail with EIO, woken after the lock
      guard.lock();
      armed = false;
      waiting.pop_front();  // this operation's own entry (it was the first): it throws instead
      fail_waiting_locked(wake);
      guard.unlock();
      throw;
    }
    return true;
  }

  /// Takes the registration of `t` back; true if it was there.
  bool withdraw(const io_request& t) noexcept {
    const std::lock_guard guard{lock};
    const auto found =
        std::find_if(waiting.begin(), waiting.end(), [&t](const auto& entry) { return entry.second == &t; });
    if (found == waiting.end()) {
      return false;
    }
    waiting.erase(found);
    return true;
  }

  std::mutex lock;
  // ---- under lock ----
  executor* owner = nullptr;  // where the multishot request runs
  bool armed = false;         // the multishot request is in flight: its owner ends it
  bool ending = false;        // asked to end (too much kept); its last completion follows
  // The operations waiting for what comes next (on any executor), oldest first: each handler
  // completion hands its outcome to the first one's request.
  std::deque<std::pair<waiter*, io_request*>> waiting;
  int error = 0;               // a failure nobody waited for: the next operation's
  bool waited_for = false;     // released by a thread outside the runtime, which waits
  bool released_done = false;  // the owner has ended the request (for that thread)
  std::condition_variable released;
  // ---- owner thread ----
  waiter* claimed = nullptr;  // completed by the handler, woken once the lock is released

 private:
  // Owner thread: starts the request again. Should that fail (the backend could not take it),
  // every waiting operation fails with EIO (none would be completed otherwise), and the failure
  // goes on to the backend, which fails the executor.
  void restart_for_waiting() {
    try {
      start_io(*owner, *this);
    } catch (...) {
      {
        wake_list wake;
        const std::lock_guard guard{lock};
        armed = false;  // the source may be freed once the lock is released: not touched again
        fail_waiting_locked(wake);
      }
      throw;
    }
  }

  // Under lock: completes every waiting operation with EIO, to be woken by `wake`.
  void fail_waiting_locked(wake_list& wake) noexcept {
    while (io_request* t = claim_parked(false)) {
      complete(*t, -EIO);
      wake.push(*std::exchange(claimed, nullptr));
    }
  }
};

struct accept_source : source_base {
  explicit accept_source(int listener) noexcept
      : source_base{io_opcode::accept_multishot, listener, &on_event} {}
  ~accept_source() {
    for (const int connection : ready) {
      close_fd(connection);
    }
  }
  accept_source(const accept_source&) = delete;
  accept_source& operator=(const accept_source&) = delete;

  /// Under lock: hands what is kept to `op`'s request — a connection (into `kept`) or a failure.
  bool take_locked(io_request& op, int& kept) noexcept {
    if (!ready.empty()) {
      kept = ready.front();
      ready.pop_front();
      return true;
    }
    if (error != 0) {
      complete(op, -std::exchange(error, 0));
      return true;
    }
    return false;
  }

  static bool on_event(io_request& r);

  std::deque<int> ready;  // under lock: accepted, not handed out yet
};

struct recv_source : source_base {
  explicit recv_source(int stream) noexcept : source_base{io_opcode::recv_multishot, stream, &on_event} {}
  recv_source(const recv_source&) = delete;
  recv_source& operator=(const recv_source&) = delete;

  [[nodiscard]] std::size_t kept() const noexcept { return unread.size() - head; }

  /// Under lock: appends received bytes. Out of memory here would lose them: std::terminate
  /// rather than a corrupt stream (noexcept).
  void keep(const std::byte* bytes, std::size_t n) noexcept {
    if (head != 0) {  // what was read goes first (a bounded move): the vector stays bounded too
      unread.erase(unread.begin(), unread.begin() + static_cast<std::ptrdiff_t>(head));
      head = 0;
    }
    unread.insert(unread.end(), bytes, bytes + n);
  }

  /// Under lock: completes `op` (a read) from what is kept: bytes, else the end of the stream,
  /// else a failure.
  bool take_locked(io_request& op) noexcept {
    if (kept() != 0) {
      const std::size_t n = std::min(op.length, kept());
      std::memcpy(op.buffer, unread.data() + head, n);
      head += n;
      if (head == unread.size()) {
        unread.clear();
        head = 0;
        if (unread.capacity() > idle_kept_capacity) {
          unread.shrink_to_fit();
        }
      }
      op.result = static_cast<std::int64_t>(n);
    } else if (error != 0) {
      op.result = -std::exchange(error, 0);
    } else if (std::exchange(eof, false)) {
      op.result = 0;
    } else {
      return false;
    }
    op.state = io_state::done;
    return true;
  }

  static bool on_event(io_request& r);

  // ---- under lock ----
  std::vector<std::byte> unread;  // received, not read yet: [head, size)
  std::size_t head = 0;
  // The end of the stream arrived while nobody read: the next read, once `unread` is empty,
  // returns 0 (later ones ask the kernel again, and wait for it: each stays a cancellation point).
  bool eof = false;
};

bool accept_source::on_event(io_request& r) {
  auto& s = static_cast<accept_source&>(r);
  s.handle(r, [&s, &r] {
    if (r.result < 0) {
      s.fail_or_keep(r);
      return false;
    }
    if (io_request* t = s.claim_parked(r.draining)) {
      complete(*t, r.result);
      return false;
    }
    try {
      s.ready.push_back(static_cast<int>(r.result));
    } catch (...) {  // out of memory: the connection is refused rather than leaked
      close_fd(static_cast<int>(r.result));
    }
    return s.ready.size() >= max_kept_connections;
  });
  return false;
}

bool recv_source::on_event(io_request& r) {
  auto& s = static_cast<recv_source&>(r);
  s.handle(r, [&s, &r] {
    if (r.result < 0) {
      if (r.result != -ENOBUFS) {  // out of buffers: started again for a read that waits
        s.fail_or_keep(r);
      }
      return false;
    }
    io_request* t = s.claim_parked(r.draining);
    if (r.result == 0) {
      if (t != nullptr) {
        complete(*t, 0);
      } else {
        s.eof = true;
      }
      return false;
    }
    const auto n = static_cast<std::size_t>(r.result);
    const std::byte* bytes = provided_buffer(*r.home, r.buffer_id);
    std::size_t given = 0;
    if (t != nullptr) {
      given = std::min(n, t->length);
      std::memcpy(t->buffer, bytes, given);
      complete(*t, static_cast<std::int64_t>(given));
    }
    s.keep(bytes + given, n - given);
    recycle_buffer(*r.home, r.buffer_id);
    return s.kept() >= max_kept_bytes;
  });
  return false;
}

namespace {

// Owner thread: ends `s`'s request (waiting for its last completion), then frees `s` — or, for a
// thread outside the runtime that waits, says it is done and leaves the freeing to that thread.
template <class Source>
void end_on_owner(remote_job& job) noexcept {
  auto& s = static_cast<Source&>(static_cast<source_base&>(job));
  stop_io(s);
  std::unique_lock guard{s.lock};
  if (!s.waited_for) {
    guard.unlock();
    delete &s;
    return;
  }
  s.released_done = true;
  s.released.notify_one();  // under the lock: the waiting thread frees `s` only after it is released
}

template <class Source>
void release_source(Source* s) noexcept {
  executor* const here = current_executor();
  executor* owner = nullptr;
  {
    std::unique_lock guard{s->lock};
    if (!s->armed) {
      guard.unlock();
      delete s;
      return;
    }
    owner = s->owner;
    s->waited_for = here == nullptr;
  }
  s->run = &end_on_owner<Source>;
  run_on(*owner, *s);  // on the owner itself: runs it now
  if (here == nullptr) {
    std::unique_lock guard{s->lock};
    s->released.wait(guard, [s] { return s->released_done; });
    guard.unlock();
    delete s;
  }
}

}  // namespace

accept_source_ptr make_accept_source(int listener) {
  return accept_source_ptr{new accept_source{listener}};
}

void source_release::operator()(accept_source* source) const noexcept {
  release_source(source);
}

void source_release::operator()(recv_source* source) const noexcept {
  release_source(source);
}

}  // namespace cosync::detail

namespace cosync {

namespace {

detail::executor& here_or_throw() {
  detail::executor* here = detail::current_executor();
  if (here == nullptr) {
    throw usage_error("cosync: an I/O operation must be awaited on an executor thread");
  }
  return *here;
}

}  // namespace

// ---------------------------------------------------------------- read

read_op::~read_op() {
  if (multishot_) {
    (void)stream_->source_->withdraw(request_);
  }
}

bool read_op::try_complete() noexcept {
  if (request_.length == 0) {
    request_.result = 0;
    request_.state = detail::io_state::done;
    return true;
  }
  if (!stream_->source_) {
    return false;
  }
  detail::recv_source& s = *stream_->source_;
  const std::lock_guard guard{s.lock};
  return s.take_locked(request_);
}

bool read_op::park(waiter& w) {
  detail::executor& here = here_or_throw();
  if (!stream_->source_) {
    stream_->source_.reset(new detail::recv_source{stream_->fd_});
  }
  detail::recv_source& s = *stream_->source_;
  std::unique_lock guard{s.lock};
  if (s.kept() != 0 || s.eof || s.error != 0) {  // arrived since try_complete (another executor)
    if (!w.claim()) {
      return true;  // nothing taken; withdrawn later
    }
    (void)s.take_locked(request_);
    return false;
  }
  if (!s.waiting.empty()) {
    throw io_error(EBUSY, "read: another read is already waiting on this stream");
  }
  if (s.park_multishot(guard, w, request_, here)) {
    multishot_ = true;
    return true;
  }
  guard.unlock();
  return io_case::park(w);
}

bool read_op::withdraw() noexcept {
  if (std::exchange(multishot_, false)) {
    return stream_->source_->withdraw(request_);
  }
  const bool in_flight = io_case::withdraw();
  if (unclaimed_success(1)) {
    detail::recv_source& s = *stream_->source_;
    const std::lock_guard guard{s.lock};
    s.keep(static_cast<const std::byte*>(request_.buffer), static_cast<std::size_t>(request_.result));
  }
  return in_flight;
}

std::size_t read_op::result() {
  multishot_ = false;
  return static_cast<std::size_t>(take_result([] { return std::string{"read"}; }));
}

// ---------------------------------------------------------------- accept

accept_op::~accept_op() {
  if (multishot_) {
    (void)listener_->source_->withdraw(request_);
  }
  detail::close_fd(kept_);
  // A connection handed to this operation whose coroutine never resumed (its frame destroyed at
  // shutdown) is closed, not leaked. (result() and withdraw() leave the request idle.)
  if (request_.state == detail::io_state::done && request_.result >= 0) {
    detail::close_fd(static_cast<int>(request_.result));
  }
}

bool accept_op::try_complete() noexcept {
  if (!listener_->source_) {
    return false;
  }
  detail::accept_source& s = *listener_->source_;
  const std::lock_guard guard{s.lock};
  return s.take_locked(request_, kept_);
}

bool accept_op::park(waiter& w) {
  detail::executor& here = here_or_throw();
  if (!listener_->source_) {  // a listener that bind() did not make (closed, or moved from)
    throw io_error(EBADF, "accept: the listener is not open");
  }
  detail::accept_source& s = *listener_->source_;
  std::unique_lock guard{s.lock};
  if (!s.ready.empty() || s.error != 0) {  // arrived since try_complete (another executor)
    if (!w.claim()) {
      return true;
    }
    (void)s.take_locked(request_, kept_);
    return false;
  }
  if (s.park_multishot(guard, w, request_, here)) {
    multishot_ = true;
    return true;
  }
  if (guard.owns_lock()) {
    guard.unlock();
  }
  request_.buffer = &peer_;
  request_.address_length = sizeof peer_;
  return io_case::park(w);
}

bool accept_op::withdraw() noexcept {
  if (std::exchange(multishot_, false)) {
    return listener_->source_->withdraw(request_);
  }
  const bool in_flight = io_case::withdraw();
  if (unclaimed_success(0)) {  // fd 0 is a connection too (a daemon with stdin closed)
    detail::accept_source& s = *listener_->source_;
    const std::lock_guard guard{s.lock};
    s.ready.push_back(static_cast<int>(request_.result));  // out of memory: std::terminate (noexcept)
  }
  return in_flight;
}

tcp_stream accept_op::result() {
  multishot_ = false;
  if (kept_ >= 0) {
    return tcp_stream{std::exchange(kept_, -1)};
  }
  return tcp_stream{static_cast<int>(take_result([] { return std::string{"accept"}; }))};
}

}  // namespace cosync
