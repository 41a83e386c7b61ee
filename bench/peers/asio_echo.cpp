// The Boost.Asio peer for N1: the canonical C++20-coroutine echo server (Asio's own example
// shape) on one io_context thread, with TCP_NODELAY like the others.
//
//   asio_echo --port P

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

asio::awaitable<void> echo(tcp::socket socket) {
  char data[2048];
  try {
    for (;;) {
      const std::size_t n = co_await socket.async_read_some(asio::buffer(data), asio::use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data, n), asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // the client went away
  }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay{true});
    asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  if (argc == 3 && std::strcmp(argv[1], "--port") == 0) {
    port = static_cast<unsigned short>(std::atoi(argv[2]));
  }
  asio::io_context context{1};
  tcp::acceptor acceptor{context, {tcp::v4(), port}};
  asio::signal_set signals{context, SIGINT, SIGTERM};
  signals.async_wait([&](auto, auto) { context.stop(); });
  asio::co_spawn(context, listen(acceptor), asio::detached);
  std::printf("asio_echo: listening on port %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  context.run();
  std::printf("asio_echo: stopped\n");
  return 0;
}
