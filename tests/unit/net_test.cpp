// TCP on both backends (CTest runs this binary again with COSYNC_BACKEND=epoll, and on io_uring with
// COSYNC_MULTISHOT=0): connect, accept, short reads and writes, end of stream, half-close, peer
// reset, refused connections, EMFILE, cancellation mid-read and mid-accept without loss, select
// over accept, many connections without fd growth, shutdown with operations in flight; and what a
// listener's and a stream's multishot requests add: connections and bytes taken while nobody
// waits (bounded), handed to operations on any executor, and ended wherever the object dies.

#include <cosync/event.hpp>
#include <cosync/join_handle.hpp>
#include <cosync/net.hpp>
#include <cosync/runtime.hpp>
#include <cosync/select.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timeout.hpp>
#include <cosync/timer.hpp>
#include <cosync/when_all.hpp>

#include <dirent.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "await_helpers.hpp"
#include "backend.hpp"
#include "catch.hpp"
#include "executor.hpp"
#include "runtime_fixture.hpp"

using cosync::task;
using cosync::tcp_listener;
using cosync::tcp_stream;
using namespace std::chrono_literals;

namespace {

tcp_listener local_listener() {
  return tcp_listener::bind(cosync::socket_address::loopback(0));
}

std::size_t open_fds() {
  std::size_t n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (::readdir(dir) != nullptr) {
    ++n;
  }
  ::closedir(dir);
  return n;
}

// Bytes glibc's heap has handed out and not had back (0 under a sanitizer's allocator).
std::size_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return 0;
#else
  return ::mallinfo2().uordblks;
#endif
}

// Reads until the end of the stream.
task<std::string> read_to_end(tcp_stream& s, std::size_t chunk = 4096) {
  std::string all;
  std::vector<char> buffer(chunk);
  for (;;) {
    const std::size_t n = co_await s.read(buffer);
    if (n == 0) {
      co_return all;
    }
    all.append(buffer.data(), n);
  }
}

// Reads exactly `n` bytes (or fewer if the stream ends).
task<std::string> read_exactly(tcp_stream& s, std::size_t n) {
  std::string all;
  std::array<char, 4096> buffer{};
  while (all.size() < n) {
    const std::size_t got =
        co_await s.read(std::span{buffer.data(), std::min(buffer.size(), n - all.size())});
    if (got == 0) {
      break;
    }
    all.append(buffer.data(), got);
  }
  co_return all;
}

task<tcp_stream> accept_one(tcp_listener& l) {
  co_return co_await l.accept();
}

// A connection through `l`: its accepted end and its connecting end.
task<std::pair<tcp_stream, tcp_stream>> connected_pair(tcp_listener& l) {
  auto [server, client] = co_await cosync::when_all(accept_one(l), tcp_stream::connect(l.local_address()));
  co_return std::pair{std::move(server), std::move(client)};
}

// Whether this executor's backend keeps multishot requests of this kind (io_uring on a recent
// kernel, unless COSYNC_MULTISHOT=0): what the listener and stream tests may expect.
bool multishot_here(cosync::detail::io_opcode opcode) {
  return cosync::detail::supports_multishot(*cosync::detail::current_executor(), opcode);
}

// Connections waiting in a listening socket's accept queue, as the kernel counts them.
std::size_t accept_backlog(const tcp_listener& l) {
  tcp_info info{};
  socklen_t length = sizeof info;
  REQUIRE(::getsockopt(l.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &length) == 0);
  return info.tcpi_unacked;  // for a listening socket: the accept queue's length
}

// Polls `done` every millisecond for up to a second (the kernel works asynchronously).
template <class Predicate>
task<bool> eventually(Predicate done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) {
      co_return true;
    }
    co_await cosync::sleep_for(1ms);
  }
  co_return done();
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + i * 7 % 26);
  }
  return s;
}

}  // namespace

TEST_CASE("socket addresses parse and print IPv4 and IPv6", "[net][unit]") {
  const auto v4 = cosync::socket_address::parse("127.0.0.1:8080");
  CHECK(v4.port() == 8080);
  CHECK_FALSE(v4.is_ipv6());
  CHECK(v4.to_string() == "127.0.0.1:8080");
  const auto v6 = cosync::socket_address::parse("[::1]:443");
  CHECK(v6.is_ipv6());
  CHECK(v6.to_string() == "[::1]:443");
  CHECK(cosync::socket_address{"localhost", 1} == cosync::socket_address::loopback(1));
  CHECK(cosync::socket_address::parse(v6.to_string()) == v6);
  CHECK_THROWS_AS(cosync::socket_address::parse("example.com:80"), cosync::io_error);
  CHECK_THROWS_AS(cosync::socket_address::parse("::1:80"), cosync::io_error);
  CHECK_THROWS_AS(cosync::socket_address::parse("1.2.3.4:99999"), cosync::io_error);
  CHECK_THROWS_AS(cosync::socket_address::parse("1.2.3.4"), cosync::io_error);
  try {
    (void)cosync::socket_address::parse("1.2.3.4:x");
  } catch (const cosync::io_error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
  }
}

COSYNC_TEST_CASE("a client and a server exchange bytes, and the end of stream reads as 0", "[net][unit]") {
  tcp_listener listener = local_listener();
  const auto address = listener.local_address();
  CHECK(address.port() != 0);

  auto server = [](tcp_listener& l) -> task<std::string> {
    tcp_stream s = co_await l.accept();
    std::string request = co_await read_to_end(s);
    co_await s.write_all("got " + std::to_string(request.size()));
    co_return request;
  };
  auto client = [](cosync::socket_address to) -> task<std::string> {
    tcp_stream s = co_await tcp_stream::connect(to);
    s.set_nodelay(true);
    CHECK(s.peer_address() == to);
    co_await s.write_all("hello, server");
    s.shutdown_write();  // half-close: the server's read ends, its reply still arrives
    co_return co_await read_to_end(s);
  };
  auto [request, reply] = co_await cosync::when_all(server(listener), client(address));
  CHECK(request == "hello, server");
  CHECK(reply == "got 13");
}

COSYNC_TEST_CASE("short reads and a large write_all deliver every byte in order", "[net][unit]") {
  tcp_listener listener = local_listener();
  const std::string payload = pattern(8 << 20);  // far more than the socket buffers hold

  auto slow_reader = [](tcp_listener& l) -> task<std::string> {
    tcp_stream s = co_await l.accept();
    co_return co_await read_to_end(s, 1000);  // 1000-byte reads: many short reads
  };
  auto writer = [](cosync::socket_address to, const std::string& bytes) -> task<std::size_t> {
    tcp_stream s = co_await tcp_stream::connect(to);
    const std::size_t n = co_await s.write_all(bytes);
    co_return n;
  };
  auto [received, written] =
      co_await cosync::when_all(slow_reader(listener), writer(listener.local_address(), payload));
  CHECK(written == payload.size());
  CHECK(received.size() == payload.size());
  CHECK(received == payload);
}

COSYNC_TEST_CASE("a partial write reports how much it sent", "[net][unit]") {
  tcp_listener listener = local_listener();
  auto [server, client] = co_await connected_pair(listener);
  const std::string big = pattern(16 << 20);
  const std::size_t n = co_await client.write(big);
  CHECK(n > 0);
  CHECK(n <= big.size());
  client.close();
  const std::string got = co_await read_to_end(server);
  CHECK(got.size() == n);
  CHECK(got == big.substr(0, n));
}

COSYNC_TEST_CASE("a peer that resets the connection makes a read fail with ECONNRESET", "[net][unit]") {
  tcp_listener listener = local_listener();
  auto [server, client] = co_await connected_pair(listener);
  co_await client.write_all("partial requ");
  const linger abort{1, 0};  // close with RST, not FIN
  REQUIRE(::setsockopt(client.native_handle(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort) == 0);
  client.close();
  const std::string first = co_await read_exactly(server, 12);
  CHECK(first == "partial requ");
  bool reset = false;
  try {
    std::array<char, 64> buffer{};
    (void)co_await server.read(buffer);
  } catch (const cosync::io_error& e) {
    reset = e.code() == std::errc::connection_reset;
  }
  CHECK(reset);
}

COSYNC_TEST_CASE("connecting to a closed port fails with ECONNREFUSED", "[net][unit]") {
  cosync::socket_address address;
  {
    tcp_listener l = local_listener();
    address = l.local_address();
  }
  bool refused = false;
  std::string message;
  try {
    (void)co_await tcp_stream::connect(address);
  } catch (const cosync::io_error& e) {
    refused = e.code() == std::errc::connection_refused;
    message = e.what();
  }
  CHECK(refused);
  CHECK(message.find("connect 127.0.0.1:") != std::string::npos);
}

COSYNC_TEST_CASE("binding a port in use fails with EADDRINUSE", "[net][unit]") {
  tcp_listener l = local_listener();
  bool in_use = false;
  try {
    (void)tcp_listener::bind(l.local_address(), cosync::listen_options{.reuse_address = false});
  } catch (const cosync::io_error& e) {
    in_use = e.code() == std::errc::address_in_use;
  }
  CHECK(in_use);
  co_return;
}

COSYNC_TEST_CASE("IPv6 loopback works end to end", "[net][unit]") {
  tcp_listener listener;
  try {
    listener = tcp_listener::bind(cosync::socket_address::loopback(0, true));
  } catch (const cosync::io_error&) {
    WARN("no IPv6 on this host");
    co_return;
  }
  auto [server, client] = co_await connected_pair(listener);
  co_await client.write_all("v6");
  const std::string got = co_await read_exactly(server, 2);
  CHECK(got == "v6");
  CHECK(server.peer_address().is_ipv6());
}

COSYNC_TEST_CASE("a read cancelled by a timeout loses no bytes that arrive later", "[net][unit][cancel]") {
  tcp_listener listener = local_listener();
  auto [server, client] = co_await connected_pair(listener);
  std::array<char, 16> buffer{};
  const bool timed_out =
      co_await cosync::test::throws<cosync::timed_out>(cosync::with_timeout(5ms, server.read(buffer)));
  CHECK(timed_out);
  co_await client.write_all("after");
  const std::string got = co_await read_exactly(server, 5);
  CHECK(got == "after");
}

COSYNC_TEST_CASE("reads cancelled as their bytes arrive lose nothing (200 races)", "[net][unit][cancel]") {
  tcp_listener listener = local_listener();
  auto [server, client] = co_await connected_pair(listener);
  constexpr int rounds = 200;
  // The writer runs on the other executor, sending one byte per round at about the moment the
  // reader's timeout fires.
  auto writer = [](tcp_stream& s) -> task<void> {
    for (int i = 0; i < rounds; ++i) {
      co_await cosync::sleep_for(std::chrono::microseconds{200 + i % 7 * 50});
      const char byte = static_cast<char>(i);
      co_await s.write_all(std::string_view{&byte, 1});
    }
    s.shutdown_write();
  };
  auto writing = cosync::spawn_on(1, writer(client));
  std::string got;
  for (;;) {
    std::array<char, 8> buffer{};
    auto r = co_await cosync::move_on_after(std::chrono::microseconds{300}, server.read(buffer));
    if (!r) {
      continue;  // timed out: whatever that read took must come back below
    }
    if (*r == 0) {
      break;
    }
    got.append(buffer.data(), *r);
  }
  co_await writing;
  REQUIRE(got.size() == rounds);
  for (int i = 0; i < rounds; ++i) {
    CHECK(got[static_cast<std::size_t>(i)] == static_cast<char>(i));
  }
}

COSYNC_TEST_CASE("an accept cancelled by its task group throws cancelled, and the listener goes on",
                 "[net][unit][cancel]") {
  tcp_listener listener = local_listener();
  const bool cancelled = co_await cosync::test::cancelled_while_waiting(listener.accept());
  CHECK(cancelled);
  auto [server, client] = co_await connected_pair(listener);
  CHECK(server.is_open());
  CHECK(client.is_open());
}

COSYNC_TEST_CASE("an accept is a select case beside a shutdown event", "[net][unit][select]") {
  tcp_listener listener = local_listener();
  cosync::event stop;
  auto stopper = [](cosync::event& e) -> task<void> {
    co_await cosync::sleep_for(2ms);
    e.set();
  };
  auto stopping = cosync::spawn_on(1, stopper(stop));
  auto first = co_await cosync::select(listener.accept(), stop.wait());
  CHECK(first.index() == 1);
  co_await stopping;

  // The other way round: a connection wins, and one that arrives as a select loses is kept.
  stop.reset();
  auto [picked, client] = co_await cosync::when_all(cosync::select(listener.accept(), stop.wait()),
                                                    tcp_stream::connect(listener.local_address()));
  REQUIRE(picked.index() == 0);
  tcp_stream server = std::move(std::get<0>(picked));
  co_await client.write_all("x");
  const std::string got = co_await read_exactly(server, 1);
  CHECK(got == "x");
}

COSYNC_TEST_CASE("a stream accepted on one executor is served on the other", "[net][unit]") {
  tcp_listener listener = local_listener();
  auto [server, client] = co_await connected_pair(listener);
  auto serve = [](tcp_stream s) -> task<std::size_t> {
    const std::string request = co_await read_exactly(s, 4);
    co_await s.write_all(request + request);
    co_return cosync::this_executor();
  };
  auto served = cosync::spawn_on(1, serve(std::move(server)));
  co_await client.write_all("ping");
  const std::string reply = co_await read_exactly(client, 8);
  CHECK(reply == "pingping");
  const std::size_t where = co_await served;
  CHECK(where == 1);
}

COSYNC_TEST_CASE("10^4 connections opened and closed leave no fd and no memory behind", "[net][unit]") {
  tcp_listener listener = local_listener();
  const std::size_t fds_before = open_fds();
  auto server = [](tcp_listener& l, int n) -> task<int> {
    int served = 0;
    for (int i = 0; i < n; ++i) {
      tcp_stream s = co_await l.accept();
      std::array<char, 8> buffer{};
      const std::size_t got = co_await s.read(buffer);
      co_await s.write_all(std::string_view{buffer.data(), got});
      ++served;
    }
    co_return served;
  };
  auto clients = [](cosync::socket_address to, int n) -> task<int> {
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      tcp_stream s = co_await tcp_stream::connect(to);
      co_await s.write_all("hi");
      const std::string back = co_await read_exactly(s, 2);
      ok += back == "hi" ? 1 : 0;
    }
    co_return ok;
  };
  // Two rounds of 5,000: the first warms every cache (frames, the epoll fd table), the second
  // must not grow the heap.
  constexpr int n = 5'000;
  std::size_t heap_after_first = 0;
  for (int round = 0; round < 2; ++round) {
    auto [served, ok] = co_await cosync::when_all(server(listener, n), clients(listener.local_address(), n));
    CHECK(served == n);
    CHECK(ok == n);
    CHECK(open_fds() == fds_before);
    if (round == 0) {
      heap_after_first = heap_in_use();
    }
  }
  if (heap_after_first != 0) {  // 0: a sanitizer's allocator, which glibc cannot see
    const std::size_t heap_after_second = heap_in_use();
    INFO("heap in use after 5,000 connections: " << heap_after_first
                                                 << " B, after 10,000: " << heap_after_second << " B");
    CHECK(heap_after_second <= heap_after_first + 64 * 1024);
  }
}

COSYNC_TEST_CASE("accept fails with EMFILE when fds run out, and works again once they are back",
                 "[net][unit]") {
  tcp_listener listener = local_listener();
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
  std::vector<tcp_stream> clients;
  // Connect first (each connection costs one fd here), then lower the limit so that accept finds
  // none left.
  for (int i = 0; i < 4; ++i) {
    clients.push_back(co_await tcp_stream::connect(listener.local_address()));
  }
  rlimit low = old;
  low.rlim_cur = open_fds() + 16;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::vector<int> filler;  // every fd number below the limit taken
  for (int fd = ::dup(0); fd >= 0; fd = ::dup(0)) {
    filler.push_back(fd);
  }
  std::exception_ptr failure;
  try {
    (void)co_await listener.accept();
  } catch (...) {
    failure = std::current_exception();
  }
  // Fds back before the error is looked at: UBSan's check of a member call needs one for itself.
  for (const int fd : filler) {
    ::close(fd);
  }
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &old) == 0);
  bool emfile = false;
  try {
    if (failure) {
      std::rethrow_exception(failure);
    }
  } catch (const cosync::io_error& e) {
    emfile = e.code() == std::errc::too_many_files_open;
  }
  CHECK(emfile);
  for (int i = 0; i < 4; ++i) {
    tcp_stream s = co_await listener.accept();  // the queued connections are all still there
    CHECK(s.is_open());
  }
}

TEST_CASE("shutdown cancels an accept and a read in flight and closes their sockets",
          "[net][unit][shutdown]") {
  const std::size_t fds_before = open_fds();
  {
    cosync::runtime rt{cosync::test::two_executors()};
    auto listener = std::make_shared<tcp_listener>(local_listener());
    auto server = [](std::shared_ptr<tcp_listener> l) -> task<void> {
      tcp_stream s = co_await l->accept();
      std::array<char, 64> buffer{};
      for (;;) {
        (void)co_await s.read(buffer);  // never ends: the client sends nothing
      }
    };
    auto client = [](cosync::socket_address to) -> task<void> {
      tcp_stream s = co_await tcp_stream::connect(to);
      co_await cosync::sleep_for(std::chrono::hours{1});
    };
    rt.spawn(server(listener), 0);
    rt.spawn(client(listener->local_address()), 1);
    rt.spawn(server(listener), 1);  // a second accept that never gets a connection
    std::this_thread::sleep_for(20ms);
  }
  CHECK(open_fds() == fds_before);
}

// ---------------------------------------------------------------- what multishot requests add

COSYNC_TEST_CASE("connections that arrive while nobody accepts are taken, kept up to a bound, and handed out",
                 "[net][unit][multishot]") {
  tcp_listener listener = local_listener();
  auto [first, first_client] = co_await connected_pair(listener);  // arms the multishot accept
  const bool multishot = multishot_here(cosync::detail::io_opcode::accept_multishot);
  std::vector<tcp_stream> clients;
  for (int i = 0; i < 100; ++i) {
    clients.push_back(co_await tcp_stream::connect(listener.local_address()));
  }
  // Multishot: the kernel hands 64 to the listener and keeps the rest in its backlog (the request
  // ended at the bound). One request per accept: all 100 stay in the backlog.
  const std::size_t expected = multishot ? 100 - 64 : 100;
  const bool settled = co_await eventually([&] { return accept_backlog(listener) == expected; });
  CHECK(settled);
  CHECK(accept_backlog(listener) == expected);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    tcp_stream s = co_await listener.accept();
    const std::string byte(1, static_cast<char>('0' + i % 10));
    co_await s.write_all(byte);
  }
  // Every connection was accepted exactly once: each client gets its one byte.
  std::size_t served = 0;
  for (tcp_stream& c : clients) {
    const std::string byte = co_await read_exactly(c, 1);
    served += byte.size();
  }
  CHECK(served == 100);
  CHECK(accept_backlog(listener) == 0);
}

COSYNC_TEST_CASE("accepts waiting on both executors share one listener's connections exactly once",
                 "[net][unit][multishot]") {
  tcp_listener listener = local_listener();
  constexpr int connections = 60;
  std::atomic<int> accepted{0};
  std::array<std::atomic<int>, 2> by_executor{};
  // Each acceptor echoes one byte per connection, until the group is cancelled.
  auto acceptor = [](tcp_listener& l, std::atomic<int>& count, std::atomic<int>& mine) -> task<void> {
    for (;;) {
      tcp_stream s = co_await l.accept();
      count.fetch_add(1);
      mine.fetch_add(1);
      std::array<char, 1> one{};
      (void)co_await s.read(one);
      co_await s.write_all(std::string_view{one.data(), 1});
    }
  };
  auto client = [](cosync::socket_address to, int i) -> task<bool> {
    tcp_stream c = co_await tcp_stream::connect(to);
    const char byte = static_cast<char>('a' + i % 26);
    co_await c.write_all(std::string_view{&byte, 1});
    const std::string echo = co_await read_exactly(c, 1);
    co_return echo == std::string(1, byte);
  };
  int echoed = 0;
  try {
    co_await cosync::with_task_group([&](cosync::task_group& g) -> task<void> {
      g.spawn_on(0, acceptor(listener, accepted, by_executor[0]));
      g.spawn_on(1, acceptor(listener, accepted, by_executor[1]));
      for (int i = 0; i < connections; ++i) {
        const bool ok = co_await client(listener.local_address(), i);
        echoed += ok ? 1 : 0;
      }
      g.cancel();
    });
  } catch (const cosync::cancelled&) {
  }
  CHECK(echoed == connections);
  CHECK(accepted.load() == connections);
  INFO("executor 0 accepted " << by_executor[0].load() << ", executor 1 " << by_executor[1].load());
  CHECK(by_executor[0].load() + by_executor[1].load() == connections);
}

COSYNC_TEST_CASE("bytes that arrive while nobody reads are kept up to a bound, then TCP pushes back",
                 "[net][unit][multishot]") {
  tcp_listener listener = local_listener();
  auto [server, client] = co_await connected_pair(listener);
  std::array<char, 1> one{};
  co_await client.write_all("x");
  const std::size_t first_read = co_await server.read(one);  // arms the multishot receive
  CHECK(first_read == 1);
  // 8 MiB sent while the server does not read: far more than the socket buffers and the 64 KiB
  // kept, so the write cannot finish until the reader catches up.
  const std::string sent = pattern(8 << 20);
  auto writing = cosync::spawn_on(1, [](tcp_stream& c, const std::string& bytes) -> task<void> {
    co_await c.write_all(bytes);
    c.shutdown_write();
  }(client, sent));
  co_await cosync::sleep_for(50ms);
  CHECK_FALSE(writing.done());
  const std::string got = co_await read_to_end(server, 65536);
  co_await writing;
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
}

COSYNC_TEST_CASE("a stream read on one executor and then on the other delivers every byte in order",
                 "[net][unit][multishot]") {
  tcp_listener listener = local_listener();
  auto [server, client] = co_await connected_pair(listener);
  const std::string sent = pattern(1 << 20);
  auto writing = cosync::spawn_on(1, [](tcp_stream& c, const std::string& bytes) -> task<void> {
    co_await c.write_all(bytes);
    c.shutdown_write();
  }(client, sent));
  std::string got;
  std::array<char, 1000> buffer{};
  for (std::size_t turn = 0;; ++turn) {
    co_await cosync::switch_to(turn % 2);  // the stream's multishot receive stays where it began
    const std::size_t n = co_await server.read(buffer);
    if (n == 0) {
      break;
    }
    got.append(buffer.data(), n);
  }
  co_await writing;
  CHECK(got == sent);
}

COSYNC_TEST_CASE("a second read waiting on a stream fails with EBUSY", "[net][unit][multishot]") {
  if (!multishot_here(cosync::detail::io_opcode::recv_multishot) &&
      cosync::detail::current_executor()->io().kind() != cosync::backend_kind::epoll) {
    co_return;  // one request per read on io_uring: the kernel takes two
  }
  tcp_listener listener = local_listener();
  auto [server, client] = co_await connected_pair(listener);
  auto first = cosync::spawn([](tcp_stream& s) -> task<std::size_t> {
    std::array<char, 8> buffer{};
    co_return co_await s.read(buffer);
  }(server));
  co_await cosync::sleep_for(5ms);
  std::array<char, 8> buffer{};
  int error = 0;
  try {
    (void)co_await server.read(buffer);
  } catch (const cosync::io_error& e) {
    error = e.code().value();
  }
  CHECK(error == EBUSY);
  co_await client.write_all("hi");
  const std::size_t first_got = co_await first;
  CHECK(first_got == 2);
}

TEST_CASE("a listener and a stream destroyed away from their executor end their requests there",
          "[net][unit][multishot]") {
  const std::size_t fds_before = open_fds();
  {
    cosync::runtime rt{cosync::test::two_executors()};
    std::uint16_t port = 0;
    {
      // Armed on executor 0, destroyed by main (outside the runtime) while the runtime runs on:
      // the listening port is free as soon as the destructor returns.
      tcp_listener listener = local_listener();
      port = listener.local_address().port();
      auto pair = cosync::sync_wait(rt, [](tcp_listener& l) -> task<std::pair<tcp_stream, tcp_stream>> {
        auto connected = co_await connected_pair(l);
        co_await connected.second.write_all("ab");
        std::array<char, 1> one{};
        (void)co_await connected.first.read(one);  // arms the multishot receive; "b" stays kept
        co_return connected;
      }(listener));
    }
    CHECK_NOTHROW(tcp_listener::bind(cosync::socket_address::loopback(port)));
    // Armed on executor 0, destroyed on executor 1: ended there, soon after.
    const bool freed = cosync::sync_wait(rt, []() -> task<bool> {
      auto listener = std::make_unique<tcp_listener>(local_listener());
      const std::uint16_t p = listener->local_address().port();
      auto [server, client] = co_await connected_pair(*listener);
      std::array<char, 1> one{};
      co_await client.write_all("ab");
      (void)co_await server.read(one);
      co_await cosync::switch_to(1);
      listener.reset();
      { const tcp_stream gone = std::move(server); }
      co_await cosync::switch_to(0);
      const bool rebound = co_await eventually([p] {
        try {
          (void)tcp_listener::bind(cosync::socket_address::loopback(p));
          return true;
        } catch (const cosync::io_error&) {
          return false;
        }
      });
      co_return rebound;
    }());
    CHECK(freed);
  }
  CHECK(open_fds() == fds_before);
}
