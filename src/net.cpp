// The synchronous half of cosync/net.hpp and cosync/socket_address.hpp: making, binding and
// closing sockets, their options and addresses. (The operations that wait are the backends'.)

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cosync/net.hpp>
#include <cosync/socket_address.hpp>
#include <cstring>
#include <string>

namespace cosync {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw io_error(errno, what);
}

[[noreturn]] void throw_bad_address(std::string_view text) {
  throw io_error(EINVAL, "not a numeric IPv4 or IPv6 address: \"" + std::string{text} + "\"");
}

void set_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    throw_errno(what);
  }
}

}  // namespace

// ---------------------------------------------------------------- socket_address

socket_address::socket_address() noexcept : length_{sizeof(sockaddr_in)} {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage_);
  v4->sin_family = AF_INET;
  v4->sin_addr.s_addr = htonl(INADDR_ANY);
}

socket_address::socket_address(std::string_view ip, std::uint16_t port) {
  if (ip == "localhost") {
    *this = loopback(port);
    return;
  }
  const std::string text{ip};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage_);
  if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length_ = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length_ = sizeof(sockaddr_in6);
  } else {
    throw_bad_address(ip);
  }
}

socket_address socket_address::parse(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    throw_bad_address(text);
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    throw_bad_address(text);  // IPv6 needs brackets: "[::1]:80"
  }
  std::uint16_t port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port_text.empty()) {
    throw io_error(EINVAL, "not a port number in \"" + std::string{text} + "\"");
  }
  return socket_address{host, port};
}

socket_address socket_address::any(std::uint16_t port, bool ipv6) noexcept {
  socket_address a;  // 0.0.0.0:0
  if (ipv6) {
    a.storage_ = {};
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_any;
    v6->sin6_port = htons(port);
    a.length_ = sizeof(sockaddr_in6);
  } else {
    reinterpret_cast<sockaddr_in*>(&a.storage_)->sin_port = htons(port);
  }
  return a;
}

socket_address socket_address::loopback(std::uint16_t port, bool ipv6) noexcept {
  socket_address a = any(port, ipv6);
  if (ipv6) {
    reinterpret_cast<sockaddr_in6*>(&a.storage_)->sin6_addr = in6addr_loopback;
  } else {
    reinterpret_cast<sockaddr_in*>(&a.storage_)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  return a;
}

socket_address socket_address::from_native(const sockaddr* address, socklen_t length) {
  socket_address a;
  const bool v4 = address->sa_family == AF_INET && length >= sizeof(sockaddr_in);
  const bool v6 = address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6);
  if (!v4 && !v6) {
    throw io_error(EAFNOSUPPORT, "not an IPv4 or IPv6 socket address");
  }
  a.length_ = v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  std::memcpy(&a.storage_, address, a.length_);
  return a;
}

std::uint16_t socket_address::port() const noexcept {
  return ntohs(is_ipv6() ? reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port
                         : reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

std::string socket_address::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  std::string out;
  if (is_ipv6()) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text, sizeof text);
    out.append("[").append(text).append("]");
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text, sizeof text);
    out.append(text);
  }
  return out.append(":").append(std::to_string(port()));
}

bool operator==(const socket_address& a, const socket_address& b) noexcept {
  return a.length_ == b.length_ && std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
}

// ---------------------------------------------------------------- sockets

namespace detail {

void close_fd(int fd) noexcept {
  if (fd >= 0) {
    ::close(fd);  // EINTR still closes on Linux: never retried
  }
}

int open_tcp_socket(int family) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    throw_errno("socket");
  }
  return fd;
}

socket_address socket_name(int fd, bool peer) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  auto* address = reinterpret_cast<sockaddr*>(&storage);
  if ((peer ? ::getpeername(fd, address, &length) : ::getsockname(fd, address, &length)) != 0) {
    throw_errno(peer ? "getpeername" : "getsockname");
  }
  return socket_address::from_native(address, length);
}

}  // namespace detail

tcp_stream tcp_stream::from_native(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    throw_errno("fcntl");
  }
  return tcp_stream{fd};
}

void tcp_stream::shutdown_write() {
  if (::shutdown(fd_, SHUT_WR) != 0) {
    throw_errno("shutdown");
  }
}

void tcp_stream::set_nodelay(bool on) {
  set_option(fd_, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "setsockopt TCP_NODELAY");
}

tcp_listener tcp_listener::bind(const socket_address& address, const listen_options& options) {
  tcp_listener listener;
  listener.fd_ = detail::open_tcp_socket(address.family());
  const int fd = listener.fd_;
  if (options.reuse_address) {
    set_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt SO_REUSEADDR");
  }
  if (options.reuse_port) {
    set_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt SO_REUSEPORT");
  }
  if (address.is_ipv6()) {
    set_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, options.ipv6_only ? 1 : 0, "setsockopt IPV6_V6ONLY");
  }
  if (::bind(fd, address.native(), address.native_length()) != 0) {
    throw_errno("bind " + address.to_string());
  }
  if (::listen(fd, options.backlog) != 0) {
    throw_errno("listen " + address.to_string());
  }
  listener.source_ = detail::make_accept_source(fd);
  return listener;
}

void tcp_listener::close() noexcept {
  source_.reset();  // ends its multishot accept, closes the connections nobody took
  detail::close_fd(std::exchange(fd_, -1));
}

}  // namespace cosync
