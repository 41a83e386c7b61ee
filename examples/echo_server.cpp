// An echo server: every byte a client sends comes back. One listener per executor, one child of
// that executor's task group per connection (examples/server_common.hpp); Ctrl-C stops it cleanly.
//
//   build/release/examples/echo_server --port 7000 --executors 2
//   printf 'hello\n' | nc -q1 localhost 7000

#include <array>

#include "server_common.hpp"

namespace {

cosync::task<void> echo(cosync::tcp_stream stream) {
  std::array<char, 16 * 1024> buffer;
  try {
    for (;;) {
      const std::size_t n = co_await stream.read(buffer);
      if (n == 0) {
        co_return;  // the client closed its side
      }
      co_await stream.write_all(std::string_view{buffer.data(), n});
    }
  } catch (const cosync::io_error&) {
    // A client that resets its connection ends only its own child.
  }
}

}  // namespace

int main(int argc, char** argv) {
  const example::server_options options = example::parse_server_options(argc, argv, "echo_server");
  return example::run_server("echo_server", options, echo);
}
