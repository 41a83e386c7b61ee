#pragma once

// What the example servers (echo_server, http_server, kv_server) share: their command line
// (--port P, --executors N) and the accept side. Each executor gets its own listener on the same
// port (SO_REUSEPORT: the kernel spreads connections over them) and serves the connections it
// accepts, each a child of that executor's task group. SIGINT or SIGTERM cancels everything: every
// connection's pending read throws cosync::cancelled, its socket is closed, and the server exits 0.

#include <cosync/error.hpp>
#include <cosync/net.hpp>
#include <cosync/runtime.hpp>
#include <cosync/signal.hpp>
#include <cosync/task.hpp>
#include <cosync/task_group.hpp>
#include <cosync/timer.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace example {

struct server_options {
  std::uint16_t port = 0;  // 0: the kernel picks one (printed at start)
  std::size_t executors = 1;
};

inline server_options parse_server_options(int argc, char** argv, const char* name) {
  server_options options;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--port") == 0 && has_value) {
      options.port = static_cast<std::uint16_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (std::strcmp(argv[i], "--executors") == 0 && has_value) {
      options.executors = std::strtoul(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--port P] [--executors N]\n", name);
      std::exit(2);
    }
  }
  return options;
}

// Accepts connections on one executor's listener until cancelled. Running out of file
// descriptors (EMFILE, ENFILE) — or memory, or a network error — is survivable: the connections
// already open go on, and accepting resumes after a pause instead of failing in a tight loop.
template <class Serve>
cosync::task<void> accept_loop(cosync::tcp_listener& listener, Serve& serve) {
  co_await cosync::with_task_group([&](cosync::task_group& connections) -> cosync::task<void> {
    bool warned = false;
    for (;;) {
      cosync::tcp_stream stream;
      bool transient = false;
      try {
        stream = co_await listener.accept();
      } catch (const cosync::io_error& e) {
        // Only a listener that is not one ends the server; anything else (a client that gave
        // up, no fds or memory left, a network error accept(2) says to retry) costs a pause.
        const std::error_code code = e.code();
        if (code == std::errc::bad_file_descriptor || code == std::errc::invalid_argument ||
            code == std::errc::not_a_socket) {
          throw;
        }
        transient = code != std::errc::connection_aborted;
        if (transient && !warned) {
          std::fprintf(stderr, "%s; pausing accepts\n", e.what());
          warned = true;
        }
      }
      if (transient) {
        co_await cosync::sleep_for(std::chrono::milliseconds{20});
      }
      if (!stream.is_open()) {
        continue;
      }
      stream.set_nodelay(true);
      connections.spawn(serve(std::move(stream)));
    }
  });
}

template <class Serve>
cosync::task<void> accept_everywhere(std::vector<cosync::tcp_listener>& listeners, Serve& serve) {
  co_await cosync::with_task_group([&](cosync::task_group& g) -> cosync::task<void> {
    for (std::size_t i = 0; i < listeners.size(); ++i) {
      g.spawn_on(i, accept_loop(listeners[i], serve));
    }
    co_return;
  });
}

// Runs `serve(tcp_stream)` (a coroutine returning task<void>, which handles its own I/O errors)
// for every connection until SIGINT or SIGTERM; returns the exit status.
template <class Serve>
int run_server(const char* name, const server_options& options, Serve serve) {
  try {
    // The listeners outlive the runtime: if it ever stops with accepts still suspended, their
    // frames are destroyed with it and must find their listener alive.
    std::vector<cosync::tcp_listener> listeners;
    const cosync::listen_options listen{.reuse_port = true};
    listeners.push_back(cosync::tcp_listener::bind(cosync::socket_address::any(options.port), listen));
    const std::uint16_t port = listeners.front().local_address().port();
    while (listeners.size() < options.executors) {
      listeners.push_back(cosync::tcp_listener::bind(cosync::socket_address::any(port), listen));
    }
    cosync::runtime rt{cosync::runtime_config{.executors = options.executors}};
    std::printf("%s: listening on port %u with %zu executor(s), %s backend\n", name, port, options.executors,
                rt.backend() == cosync::backend_kind::io_uring ? "io_uring" : "epoll");
    std::fflush(stdout);
    (void)cosync::sync_wait(rt, cosync::stop_on_signal(accept_everywhere(listeners, serve), SIGINT, SIGTERM));
    std::printf("%s: stopped cleanly\n", name);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
}

}  // namespace example
