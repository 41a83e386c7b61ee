#pragma once

/// cosync::make_channel<T>(capacity): a cosync::channel<T> reached through handles —
/// `channel_sender<T>` and `channel_receiver<T>`, both copyable, sharing the channel by
/// std::shared_ptr — so that its lifetime and its closing follow the parties that use it (tokio's
/// mpsc/mpmc senders, Trio's memory channels):
/// - when the last sender handle is dropped, the channel is closed: receivers drain what is
///   buffered and then get std::nullopt — "no more values" needs no explicit close();
/// - when the last receiver handle is dropped, the channel is closed too: sends then fail with
///   cosync::channel_closed (a parked sender is woken and its value given back), so a producer
///   learns that nobody listens;
/// - the channel itself is destroyed with the last handle of either kind.
///
/// Every operation forwards to the channel's and returns the same awaiter (channel<T>::send_awaiter,
/// channel<T>::recv_awaiter): they are select cases, lazy, resumed on the awaiting coroutine's home
/// executor, and cancellable exactly as channel<T>'s are (a cancelled recv throws cosync::cancelled
/// having consumed nothing; a cancelled send keeps its value). Handles may be copied, moved and
/// dropped on any thread; one handle object is used by one thread at a time (as any value).
///
/// Lifetime: an awaiter (or send_n task) refers to the channel, not to the handle that made it.
/// It stays valid while *some* handle of the channel — sender or receiver — is alive, so the
/// handle that made it may be moved or dropped meanwhile as long as another keeps the channel. The
/// awaiting coroutine normally holds its own handle, which settles it. An awaiter must not outlive
/// every handle of its channel: the last handle destroys the channel (with a coroutine parked in
/// it, that is the contract violation channel<T>'s destructor asserts in debug builds). Dropping
/// the last sender (or receiver) while others still wait is fine: that is how they learn of the
/// close.
///
///     auto [tx, rx] = cosync::make_channel<job>(64);
///     g.spawn(producer(tx));                 // copies: each producer holds a sender
///     g.spawn(producer(std::move(tx)));
///     while (auto j = co_await rx.recv()) run(*j);   // ends once every producer is gone

#include <cosync/channel.hpp>
#include <cosync/error.hpp>
#include <cosync/task.hpp>
#include <cosync/try_status.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

namespace cosync {
namespace detail {

// The channel and the two handle counts, in one allocation.
//
// Memory ordering (as std::shared_ptr's use count):
//   (H1) a copy increments its kind's count, relaxed: it is made from a live handle of that kind,
//        so the count is at least 1 and cannot reach 0 meanwhile; nothing is published.
//   (H2) a drop decrements it, acq_rel: release publishes everything done through this handle
//        (its sends) to whoever drops the last one; acquire makes the last dropper see all of it
//        before it closes. (The channel's own synchronisation orders the close with the sends as
//        well; this keeps "dropped, then closed" true by construction.)
template <class T>
struct shared_channel {
  explicit shared_channel(std::size_t capacity) : ch{capacity} {}

  cosync::channel<T> ch;
  std::atomic<std::size_t> senders{1};    // live channel_sender handles
  std::atomic<std::size_t> receivers{1};  // live channel_receiver handles
};

// A handle's share of one count: copying and dropping it keeps the count, and the last drop
// closes the channel.
template <class T, std::atomic<std::size_t> shared_channel<T>::*Count>
class channel_handle {
 protected:
  channel_handle() noexcept = default;
  explicit channel_handle(std::shared_ptr<shared_channel<T>> shared) noexcept : shared_{std::move(shared)} {}
  channel_handle(const channel_handle& other) noexcept : shared_{other.shared_} {
    if (shared_ != nullptr) {
      ((*shared_).*Count).fetch_add(1, std::memory_order_relaxed);  // (H1) relaxed: see above
    }
  }
  channel_handle(channel_handle&&) noexcept = default;
  channel_handle& operator=(const channel_handle& other) {
    channel_handle copy{other};
    swap(copy);
    return *this;
  }
  channel_handle& operator=(channel_handle&& other) {
    channel_handle moved{std::move(other)};
    swap(moved);
    return *this;
  }
  ~channel_handle() {
    // (H2) acq_rel: see above.
    if (shared_ != nullptr && ((*shared_).*Count).fetch_sub(1, std::memory_order_acq_rel) == 1) {
      shared_->ch.close();
    }
  }

  static constexpr const char* who =
      Count == &shared_channel<T>::senders ? "cosync::channel_sender" : "cosync::channel_receiver";

  cosync::channel<T>& ch() const {
    if (shared_ == nullptr) {
      throw usage_error(std::string{who} + ": used after it was moved from");
    }
    return shared_->ch;
  }

 public:
  /// Closes the channel now, for every handle (channel<T>::close).
  void close() { ch().close(); }
  /// As channel<T>'s; an empty handle reports closed.
  [[nodiscard]] bool is_closed() const noexcept { return shared_ == nullptr || shared_->ch.is_closed(); }
  [[nodiscard]] std::size_t capacity() const { return ch().capacity(); }
  [[nodiscard]] std::size_t size_approx() const { return ch().size_approx(); }
  /// False for an empty (default-made, moved-from or reset) handle.
  [[nodiscard]] bool valid() const noexcept { return shared_ != nullptr; }
  /// Drops this handle now, as its destructor would (tokio's drop(tx)): the last sender (or
  /// receiver) closes the channel. The handle is empty afterwards.
  void reset() noexcept { channel_handle dropped{std::move(*this)}; }

 protected:
 private:
  void swap(channel_handle& other) noexcept { shared_.swap(other.shared_); }

  std::shared_ptr<shared_channel<T>> shared_;
};

}  // namespace detail

template <class T>
class channel_receiver;

/// The sending side of a channel made by make_channel: copyable; the channel is closed when the
/// last sender is dropped (see the file comment). A moved-from sender holds nothing: using it
/// throws cosync::usage_error, dropping it does nothing.
template <class T>
class channel_sender : public detail::channel_handle<T, &detail::shared_channel<T>::senders> {
  using base = detail::channel_handle<T, &detail::shared_channel<T>::senders>;

 public:
  /// What send() returns: channel<T>::send_awaiter, a select case.
  using send_awaiter = typename channel<T>::send_awaiter;

  /// An empty handle (as a moved-from one): assign a handle to it before use.
  channel_sender() noexcept = default;
  ///@{
  /// Copyable and movable: a copy is one more sender; assignment drops the handle it replaces (the
  /// last sender closes the channel); a moved-from handle is empty.
  channel_sender(const channel_sender&) noexcept = default;
  channel_sender(channel_sender&&) noexcept = default;
  channel_sender& operator=(const channel_sender&) = default;
  channel_sender& operator=(channel_sender&&) = default;
  ///@}
  /// The last sender closes the channel.
  ~channel_sender() = default;

  ///@{
  /// channel<T>::send: waits for room, then sends; cosync::channel_closed once the channel is
  /// closed (every receiver dropped, or close()), the value given back to `value`.
  send_awaiter send(T&& value) { return ch().send(std::move(value)); }
  send_awaiter send(const T& value) requires std::is_copy_constructible_v<T> { return ch().send(value); }
  ///@}

  ///@{
  /// channel<T>::try_send: ok, full or closed; `value` is moved from only on ok.
  [[nodiscard]] try_status try_send(T&& value) { return ch().try_send(std::move(value)); }
  [[nodiscard]] try_status try_send(const T& value) requires std::is_copy_constructible_v<T> {
    return ch().try_send(value);
  }
  ///@}

  ///@{
  /// channel<T>::try_send_n and send_n (the task refers to the channel: see the file comment).
  std::size_t try_send_n(std::span<T> values) { return ch().try_send_n(values); }
  task<void> send_n(std::span<T> values) { return ch().send_n(values); }
  ///@}

 private:
  template <class U>
  friend std::pair<channel_sender<U>, channel_receiver<U>> make_channel(std::size_t capacity);

  explicit channel_sender(std::shared_ptr<detail::shared_channel<T>> shared) noexcept
      : base{std::move(shared)} {}

  using base::ch;
};

/// The receiving side of a channel made by make_channel: copyable; the channel is closed when the
/// last receiver is dropped (see the file comment). A moved-from receiver holds nothing: using it
/// throws cosync::usage_error, dropping it does nothing.
template <class T>
class channel_receiver : public detail::channel_handle<T, &detail::shared_channel<T>::receivers> {
  using base = detail::channel_handle<T, &detail::shared_channel<T>::receivers>;

 public:
  /// What recv() returns: channel<T>::recv_awaiter, a select case.
  using recv_awaiter = typename channel<T>::recv_awaiter;

  /// An empty handle (as a moved-from one): assign a handle to it before use.
  channel_receiver() noexcept = default;
  ///@{
  /// Copyable and movable: a copy is one more receiver; assignment drops the handle it replaces (the
  /// last receiver closes the channel); a moved-from handle is empty.
  channel_receiver(const channel_receiver&) noexcept = default;
  channel_receiver(channel_receiver&&) noexcept = default;
  channel_receiver& operator=(const channel_receiver&) = default;
  channel_receiver& operator=(channel_receiver&&) = default;
  ///@}
  /// The last receiver closes the channel (values still buffered stay until the last handle goes).
  ~channel_receiver() = default;

  /// channel<T>::recv: a value, or std::nullopt once the channel is closed (every sender dropped,
  /// or close()) and drained.
  recv_awaiter recv() { return ch().recv(); }

  /// channel<T>::try_recv: ok (into `out`), empty, or closed (closed and drained).
  [[nodiscard]] try_status try_recv(T& out) { return ch().try_recv(out); }
  /// channel<T>::try_recv: the value, or std::nullopt (is_closed() tells "drained" from "empty").
  [[nodiscard]] std::optional<T> try_recv() { return ch().try_recv(); }

  ///@{
  /// channel<T>::try_recv_n.
  template <class Out>
  std::size_t try_recv_n(Out out, std::size_t max) {
    return ch().try_recv_n(std::move(out), max);
  }
  std::size_t try_recv_n(std::span<T> out) { return ch().try_recv_n(out); }
  ///@}

 private:
  template <class U>
  friend std::pair<channel_sender<U>, channel_receiver<U>> make_channel(std::size_t capacity);

  explicit channel_receiver(std::shared_ptr<detail::shared_channel<T>> shared) noexcept
      : base{std::move(shared)} {}

  using base::ch;
};

/// A channel<T> of `capacity` (0: rendezvous; above channel<T>::max_capacity():
/// cosync::capacity_error) as one sender and one receiver handle; copy them for more parties.
///
///     auto [tx, rx] = cosync::make_channel<int>(16);
template <class T>
[[nodiscard]] std::pair<channel_sender<T>, channel_receiver<T>> make_channel(std::size_t capacity) {
  auto shared = std::make_shared<detail::shared_channel<T>>(capacity);
  return {channel_sender<T>{shared}, channel_receiver<T>{std::move(shared)}};
}

}  // namespace cosync
