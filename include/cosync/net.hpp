#pragma once

/// TCP: cosync::tcp_listener (bind, accept) and cosync::tcp_stream (connect, read, write,
/// write_all, shutdown_write), on the executor's backend — io_uring, or epoll where io_uring is
/// not allowed; the same API and behaviour on both.
///
///     auto listener = cosync::tcp_listener::bind(cosync::socket_address::any(8080));
///     for (;;) {
///       cosync::tcp_stream s = co_await listener.accept();
///       group.spawn(serve(std::move(s)));
///     }
///
///     std::array<char, 4096> buffer;
///     std::size_t n = co_await s.read(buffer);          // 0: the peer closed its side
///     co_await s.write_all(std::string_view{buffer.data(), n});
///
/// Every operation:
/// - runs on the executor of the coroutine that awaits it and resumes that coroutine there; it
///   must be awaited on an executor thread (cosync::usage_error otherwise);
/// - fails with cosync::io_error (its code() the errno) — never a silent short result: `read`
///   returns 0 only at the end of the stream, `write_all` writes everything or throws;
/// - is a cancellation point (a task group's cancellation, with_timeout, shutdown) and a select
///   case. A cancelled operation throws cosync::cancelled once the kernel has let go of its
///   buffer, and loses nothing it did: bytes a cancelled read received are returned by the next
///   read, a connection a cancelled accept took is returned by the next accept. (A cancelled
///   write may have sent a prefix of its bytes: the stream is then best closed.)
///
/// A stream or listener must outlive the operations awaited on it and not be moved while one is in
/// flight. One read and one write may wait on a stream at the same time (from different
/// coroutines); a second read waiting at the same time fails with EBUSY.
///
/// On io_uring (kernel 5.19 and 6.0 or later) a listener keeps one multishot accept in flight and
/// a stream one multishot receive into provided buffers: the kernel goes on accepting and
/// receiving between awaits, without a request per operation. What arrives while nobody waits is
/// kept (up to 64 connections, 16 KiB of bytes; beyond that the request is ended, so the kernel's
/// backlog and TCP flow control take over) and handed out by the next accept or read, on whichever
/// executor it is awaited. Destroying a listener or stream ends its request: at once on the
/// executor that started it, or there, asynchronously, from another executor (the port is free
/// once that executor has run), or there, waited for, from a thread outside the runtime. Older
/// kernels and the epoll backend use one request per operation; the behaviour is the same.

#include <cosync/detail/io_case.hpp>
#include <cosync/socket_address.hpp>
#include <cosync/waitable.hpp>

#include <sys/socket.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace cosync {

class tcp_stream;
class tcp_listener;

namespace detail {

/// Closes `fd` if it is one (-1: nothing).
void close_fd(int fd) noexcept;

/// A new non-blocking, close-on-exec TCP socket of `family`, or io_error.
[[nodiscard]] int open_tcp_socket(int family);

/// The address a socket is bound to, or connected to (`peer`); io_error on failure.
[[nodiscard]] socket_address socket_name(int fd, bool peer);

// What a listener or stream keeps between waits (src/net_sources.cpp): connections accepted and
// bytes received that no operation took yet, and the multishot request that goes on producing
// them. On the heap: the kernel holds it while the object may move.
struct accept_source;
struct recv_source;
struct source_release {
  void operator()(accept_source* source) const noexcept;
  void operator()(recv_source* source) const noexcept;
};
using accept_source_ptr = std::unique_ptr<accept_source, source_release>;
using recv_source_ptr = std::unique_ptr<recv_source, source_release>;
[[nodiscard]] accept_source_ptr make_accept_source(int listener);

}  // namespace detail

/// The read case (tcp_stream::read): the bytes received into the buffer; 0 at the end of the
/// stream (or for an empty buffer).
class read_op : private detail::io_case {
 public:
  /// Movable until awaited, so that a waitable or a select can hold it.
  read_op(read_op&&) noexcept = default;
  ~read_op();

 private:
  friend struct case_access;
  static constexpr const char* wait_name = "socket read";  // in a trace
  friend class tcp_stream;
  template <select_case>
  friend class waitable;

  read_op(tcp_stream& stream, std::span<std::byte> buffer) noexcept;

  bool try_complete() noexcept;
  bool park(waiter& w);
  bool withdraw() noexcept;
  std::size_t result();

  tcp_stream* stream_;
  bool multishot_ = false;  // parked on the stream's multishot receive (not a request of its own)
};

/// The write case (tcp_stream::write, write_all): how many bytes were sent — at least one unless
/// the buffer is empty for write, all of them for write_all.
class write_op : private detail::io_case {
 public:
  /// Movable until awaited, so that a waitable or a select can hold it.
  write_op(write_op&&) noexcept = default;

 private:
  friend struct case_access;
  static constexpr const char* wait_name = "socket write";  // in a trace
  friend class tcp_stream;
  template <select_case>
  friend class waitable;

  write_op(int fd, std::span<const std::byte> bytes, bool all) noexcept;

  bool try_complete() noexcept { return request_.length == 0; }
  using io_case::park;
  using io_case::withdraw;
  std::size_t result();

  std::size_t size_;
  bool all_;
};

/// The connect case (tcp_stream::connect): the connected stream.
class connect_op : private detail::io_case {
 public:
  /// Movable until awaited, so that a waitable or a select can hold it.
  connect_op(connect_op&& other) noexcept
      : io_case{std::move(other)}, address_{other.address_}, socket_{std::exchange(other.socket_, -1)} {}
  ~connect_op();

 private:
  friend struct case_access;
  static constexpr const char* wait_name = "connect";  // in a trace
  friend class tcp_stream;
  template <select_case>
  friend class waitable;

  explicit connect_op(const socket_address& address) noexcept
      : io_case{detail::io_opcode::connect, -1}, address_{address} {}

  using io_case::try_complete;
  bool park(waiter& w);
  using io_case::withdraw;
  tcp_stream result();

  socket_address address_;
  int socket_ = -1;  // owned until the connection is handed over
};

/// The accept case (tcp_listener::accept): the accepted connection.
class accept_op : private detail::io_case {
 public:
  /// Movable until awaited, so that a waitable or a select can hold it.
  accept_op(accept_op&& other) noexcept
      : io_case{std::move(other)}, listener_{other.listener_}, kept_{std::exchange(other.kept_, -1)} {}
  ~accept_op();

 private:
  friend struct case_access;
  static constexpr const char* wait_name = "accept";  // in a trace
  friend class tcp_listener;
  template <select_case>
  friend class waitable;

  explicit accept_op(tcp_listener& listener) noexcept;

  bool try_complete() noexcept;
  bool park(waiter& w);
  bool withdraw() noexcept;
  tcp_stream result();

  tcp_listener* listener_;
  sockaddr_storage peer_{};
  int kept_ = -1;           // a connection taken from the listener's queue
  bool multishot_ = false;  // parked on the listener's multishot accept
};

/// A connected TCP socket. Move-only; closed when destroyed (or by close()).
class tcp_stream {
 public:
  tcp_stream() noexcept = default;
  /// Takes ownership of a connected socket (made non-blocking here); io_error if it is not one.
  [[nodiscard]] static tcp_stream from_native(int fd);
  ///@{
  /// Movable: the moved-from stream is not open; assigning first closes the socket this one held.
  tcp_stream(tcp_stream&& other) noexcept
      : fd_{std::exchange(other.fd_, -1)}, source_{std::move(other.source_)} {}
  tcp_stream& operator=(tcp_stream&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
      source_ = std::move(other.source_);
    }
    return *this;
  }
  ///@}
  ~tcp_stream() { close(); }

  /// `co_await tcp_stream::connect(address)`: a connected stream, or io_error (ECONNREFUSED, ...).
  [[nodiscard]] static auto connect(const socket_address& address) noexcept;  // waitable<connect_op>

  ///@{
  /// `co_await s.read(buffer)`: receives up to buffer.size() bytes; 0 at the end of the stream.
  [[nodiscard]] waitable<read_op> read(std::span<std::byte> buffer) noexcept {
    return waitable<read_op>{*this, buffer};
  }
  [[nodiscard]] waitable<read_op> read(std::span<char> buffer) noexcept {
    return read(std::as_writable_bytes(buffer));
  }
  ///@}

  ///@{
  /// `co_await s.write(bytes)`: sends some of `bytes` (at least one); returns how many.
  [[nodiscard]] waitable<write_op> write(std::span<const std::byte> bytes) noexcept {
    return waitable<write_op>{fd_, bytes, false};
  }
  [[nodiscard]] waitable<write_op> write(std::string_view text) noexcept {
    return write(std::as_bytes(std::span{text}));
  }
  ///@}

  ///@{
  /// `co_await s.write_all(bytes)`: sends all of `bytes` (several writes if the socket buffer is
  /// full). `bytes` must stay alive until it completes.
  [[nodiscard]] waitable<write_op> write_all(std::span<const std::byte> bytes) noexcept {
    return waitable<write_op>{fd_, bytes, true};
  }
  [[nodiscard]] waitable<write_op> write_all(std::string_view text) noexcept {
    return write_all(std::as_bytes(std::span{text}));
  }
  ///@}

  /// Half-close: sends FIN (the peer's reads then return 0); reading goes on. io_error on failure.
  void shutdown_write();

  /// TCP_NODELAY: small writes leave at once instead of waiting to coalesce (Nagle).
  void set_nodelay(bool on);

  /// The address this end of the connection is bound to; io_error on failure.
  [[nodiscard]] socket_address local_address() const { return detail::socket_name(fd_, false); }
  /// The address of the peer it is connected to; io_error on failure.
  [[nodiscard]] socket_address peer_address() const { return detail::socket_name(fd_, true); }

  /// False for a default-made, moved-from or closed stream.
  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  /// The socket's descriptor (-1 when not open), for options cosync does not wrap; the stream still
  /// owns it.
  [[nodiscard]] int native_handle() const noexcept { return fd_; }
  /// Closes the socket now (no operation may be in flight on it).
  void close() noexcept {
    source_.reset();  // ends its multishot receive first
    detail::close_fd(std::exchange(fd_, -1));
  }

 private:
  friend class read_op;
  friend class accept_op;
  friend class connect_op;

  explicit tcp_stream(int fd) noexcept : fd_{fd} {}

  int fd_ = -1;
  detail::recv_source_ptr source_;  // made by the first read
};

/// Options of tcp_listener::bind.
struct listen_options {
  int backlog = 1024;         ///< pending connections the kernel queues (capped by somaxconn)
  bool reuse_address = true;  ///< SO_REUSEADDR: rebind at once after a restart
  bool reuse_port = false;    ///< SO_REUSEPORT: several listeners (one per executor) share a port
  bool ipv6_only = false;     ///< IPV6_V6ONLY for an IPv6 address: no IPv4-mapped connections
};

/// A listening TCP socket. Move-only; closed when destroyed.
///
/// `co_await l.accept()` waits for the next connection. A server that runs out of file
/// descriptors gets io_error with EMFILE (or ENFILE) from accept: the listener stays usable, so
/// back off (sleep a little) and accept again rather than retrying in a tight loop.
class tcp_listener {
 public:
  tcp_listener() noexcept = default;
  ///@{
  /// Movable: the moved-from listener is not open; assigning first closes the socket this one held.
  tcp_listener(tcp_listener&& other) noexcept
      : fd_{std::exchange(other.fd_, -1)}, source_{std::move(other.source_)} {}
  tcp_listener& operator=(tcp_listener&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
      source_ = std::move(other.source_);
    }
    return *this;
  }
  ///@}
  ~tcp_listener() { close(); }

  /// Binds and listens (port 0: the kernel picks one; local_address() tells which).
  [[nodiscard]] static tcp_listener bind(const socket_address& address, const listen_options& options = {});

  /// `co_await l.accept()`: the next connection, as a connected tcp_stream; io_error on failure (see
  /// the class comment). A select case.
  [[nodiscard]] waitable<accept_op> accept() noexcept { return waitable<accept_op>{*this}; }

  /// The address it listens on (with the port the kernel picked, after binding port 0).
  [[nodiscard]] socket_address local_address() const { return detail::socket_name(fd_, false); }
  /// False for a default-made, moved-from or closed listener.
  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  /// The listening socket's descriptor (-1 when not open); the listener still owns it.
  [[nodiscard]] int native_handle() const noexcept { return fd_; }
  /// Closes the socket now (no accept may be in flight on it).
  void close() noexcept;

 private:
  friend class accept_op;

  int fd_ = -1;
  // Made by bind: accepts on several executors share it from the start, so none creates it.
  detail::accept_source_ptr source_;
};

// ---------------------------------------------------------------- implementation

// Defined here, where tcp_stream (connect_op's result) is complete.
inline auto tcp_stream::connect(const socket_address& address) noexcept {
  return waitable<connect_op>{address};
}

inline read_op::read_op(tcp_stream& stream, std::span<std::byte> buffer) noexcept
    : io_case{detail::io_opcode::recv, stream.fd_}, stream_{&stream} {
  request_.buffer = buffer.data();
  request_.length = buffer.size();
}

inline write_op::write_op(int fd, std::span<const std::byte> bytes, bool all) noexcept
    : io_case{detail::io_opcode::send, fd}, size_{bytes.size()}, all_{all} {
  request_.buffer = const_cast<std::byte*>(bytes.data());  // NOLINT: sent, never written
  request_.length = bytes.size();
  if (all) {
    request_.on_done = &io_case::write_rest;
  }
}

inline std::size_t write_op::result() {
  if (size_ == 0) {
    return 0;
  }
  const auto n = static_cast<std::size_t>(take_result([] { return std::string{"write"}; }));
  if (all_ && request_.length != 0) {
    throw io_error(EIO, "write: the socket accepted no bytes");
  }
  return all_ ? size_ : n;
}

inline accept_op::accept_op(tcp_listener& listener) noexcept
    : io_case{detail::io_opcode::accept, listener.fd_}, listener_{&listener} {}

inline connect_op::~connect_op() {
  detail::stop_io(request_);  // before the socket it works on is closed
  detail::close_fd(socket_);
}

inline bool connect_op::park(waiter& w) {
  if (socket_ < 0) {
    socket_ = detail::open_tcp_socket(address_.family());
  }
  request_.fd = socket_;
  request_.buffer = const_cast<sockaddr*>(address_.native());  // NOLINT: read, never written
  request_.address_length = address_.native_length();
  return io_case::park(w);
}

inline tcp_stream connect_op::result() {
  (void)take_result([this] { return "connect " + address_.to_string(); });
  return tcp_stream{std::exchange(socket_, -1)};
}

}  // namespace cosync
