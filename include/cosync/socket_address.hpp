#pragma once

/// cosync::socket_address: an IPv4 or IPv6 address and port, the endpoint of cosync/net.hpp's
/// listeners and streams. Numeric only — parsing never blocks on DNS (resolve a host name with
/// getaddrinfo inside cosync::spawn_blocking, and build the address from its result).
///
///     auto a = cosync::socket_address::parse("127.0.0.1:6379");
///     auto b = cosync::socket_address{"::1", 8080};
///     auto c = cosync::socket_address::any(8080);     // 0.0.0.0:8080, to listen on

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace cosync {

/// An IPv4 or IPv6 address and port, held by value as the system's sockaddr_storage (see the file
/// comment).
class socket_address {
 public:
  /// 0.0.0.0:0.
  socket_address() noexcept;

  /// `ip` is a numeric IPv4 ("10.0.0.1") or IPv6 ("::1", no brackets) address, or "localhost"
  /// (127.0.0.1). cosync::io_error (EINVAL) for anything else.
  socket_address(std::string_view ip, std::uint16_t port);

  /// "1.2.3.4:80" or "[::1]:80"; cosync::io_error (EINVAL) if it is neither.
  [[nodiscard]] static socket_address parse(std::string_view text);

  /// Every local IPv4 address (0.0.0.0), or with `ipv6` every IPv6 one (::).
  [[nodiscard]] static socket_address any(std::uint16_t port, bool ipv6 = false) noexcept;
  /// 127.0.0.1, or ::1.
  [[nodiscard]] static socket_address loopback(std::uint16_t port, bool ipv6 = false) noexcept;

  /// From a system call's result (accept, getsockname). EAFNOSUPPORT unless IPv4 or IPv6.
  [[nodiscard]] static socket_address from_native(const sockaddr* address, socklen_t length);

  /// True for an IPv6 address.
  [[nodiscard]] bool is_ipv6() const noexcept { return storage_.ss_family == AF_INET6; }
  /// AF_INET or AF_INET6, for a socket() call.
  [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
  /// The port, in host byte order.
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// "1.2.3.4:80" or "[::1]:80": what parse() reads back.
  [[nodiscard]] std::string to_string() const;

  /// The address as a sockaddr, for system calls cosync does not wrap (bind, sendto); valid while
  /// this object lives.
  [[nodiscard]] const sockaddr* native() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  /// The length in bytes of native()'s address (the socklen_t those calls take).
  [[nodiscard]] socklen_t native_length() const noexcept { return length_; }

  /// Same family, address and port: the native addresses compared byte for byte (so an IPv6
  /// address's flow label and scope id count too).
  friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace cosync
