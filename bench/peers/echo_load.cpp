// The N1 load generator: C connections to an echo server, each keeping D requests of S bytes in
// flight (D = 1: request/response; D = 16: pipelined), for a fixed time after a warm-up. Plain
// epoll on one thread, no cosync, so that every server is driven by the same neutral client.
// Every byte that comes back is checked against what was sent (a wrong echo fails the run).
//
//   echo_load --port P [--connections C] [--depth D] [--size S] [--seconds T] [--warmup W]
//             [--server-pid PID]
//
// Prints one JSON object: requests/s, p50/p99 latency (µs) and, given the server's pid, the
// server's CPU time per request (µs, user + system, from /proc).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  int port = 0;
  int connections = 50;
  int depth = 1;
  int size = 64;
  double seconds = 3;
  double warmup = 0.5;
  int server_pid = 0;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "echo_load: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

double cpu_seconds(int pid) {
  if (pid == 0) {
    return 0;
  }
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields{text.substr(text.rfind(')') + 2)};
  std::string field;
  double utime = 0;
  double stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) {
      utime = std::stod(field);
    } else if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct connection {
  int fd = -1;
  std::deque<clock_type::time_point> sent;  // send times of the requests in flight
  std::string out;                          // bytes of queued requests not yet written
  std::size_t received = 0;                 // bytes of the current response received
  std::uint64_t next_seq = 0;               // sequence number of the next request sent
  std::uint64_t recv_seq = 0;               // of the next response expected
};

void fill(std::vector<char>& buffer, std::uint64_t seq) {
  for (std::size_t i = 0; i < buffer.size(); ++i) {
    buffer[i] = static_cast<char>('a' + (seq + i) % 26);
  }
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--port") {
      o.port = std::atoi(value);
    } else if (flag == "--connections") {
      o.connections = std::atoi(value);
    } else if (flag == "--depth") {
      o.depth = std::atoi(value);
    } else if (flag == "--size") {
      o.size = std::atoi(value);
    } else if (flag == "--seconds") {
      o.seconds = std::atof(value);
    } else if (flag == "--warmup") {
      o.warmup = std::atof(value);
    } else if (flag == "--server-pid") {
      o.server_pid = std::atoi(value);
    } else {
      std::fprintf(stderr, "echo_load: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const int ep = epoll_create1(0);
  std::vector<connection> conns(static_cast<std::size_t>(o.connections));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(o.port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (std::size_t i = 0; i < conns.size(); ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      die("connect");
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    conns[i].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  const auto size = static_cast<std::size_t>(o.size);
  std::vector<char> request(size);
  std::vector<char> expected(size);
  std::vector<char> in(64 * 1024);

  // Sends what `c` has queued; returns false on a hard error.
  auto flush = [&](connection& c) {
    while (!c.out.empty()) {
      const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        return errno == EAGAIN;
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    return true;
  };
  auto enqueue = [&](connection& c, clock_type::time_point now) {
    c.sent.push_back(now);
    fill(request, c.next_seq++);
    c.out.append(request.data(), request.size());
  };

  const auto start = clock_type::now();
  for (connection& c : conns) {
    for (int d = 0; d < o.depth; ++d) {
      enqueue(c, start);
    }
    if (!flush(c)) {
      die("send");
    }
  }
  const auto measure_from =
      start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.warmup));
  const auto measure_to = measure_from + std::chrono::duration_cast<clock_type::duration>(
                                             std::chrono::duration<double>(o.seconds));
  std::vector<std::uint32_t> latencies_ns;
  latencies_ns.reserve(1 << 22);
  std::uint64_t completed = 0;
  double cpu_from = 0;
  bool measuring = false;
  epoll_event events[256];
  for (;;) {
    const auto now = clock_type::now();
    if (!measuring && now >= measure_from) {
      measuring = true;
      cpu_from = cpu_seconds(o.server_pid);
    }
    if (now >= measure_to) {
      break;
    }
    const int n = epoll_wait(ep, events, 256, 100);
    for (int e = 0; e < n; ++e) {
      connection& c = conns[events[e].data.u64];
      for (;;) {
        const ssize_t got = recv(c.fd, in.data(), in.size(), 0);
        if (got == 0) {
          std::fprintf(stderr, "echo_load: the server closed a connection\n");
          return 1;
        }
        if (got < 0) {
          if (errno == EAGAIN) {
            break;
          }
          die("recv");
        }
        const auto t = clock_type::now();
        for (std::size_t at = 0; at < static_cast<std::size_t>(got);) {
          if (c.received == 0) {
            fill(expected, c.recv_seq);
          }
          const std::size_t take = std::min(size - c.received, static_cast<std::size_t>(got) - at);
          if (std::memcmp(in.data() + at, expected.data() + c.received, take) != 0) {
            std::fprintf(stderr, "echo_load: wrong bytes echoed\n");
            return 1;
          }
          c.received += take;
          at += take;
          if (c.received == size) {
            c.received = 0;
            ++c.recv_seq;
            if (measuring) {
              ++completed;
              latencies_ns.push_back(static_cast<std::uint32_t>(
                  std::min<std::int64_t>((t - c.sent.front()).count(), UINT32_MAX)));
            }
            c.sent.pop_front();
            enqueue(c, t);
          }
        }
      }
      if (!flush(c)) {
        die("send");
      }
    }
  }
  const double cpu = cpu_seconds(o.server_pid) - cpu_from;
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto percentile = [&](double p) {
    return latencies_ns.empty()
               ? 0.0
               : latencies_ns[static_cast<std::size_t>(p * static_cast<double>(latencies_ns.size() - 1))] /
                     1000.0;
  };
  std::printf(
      "{\"connections\": %d, \"depth\": %d, \"size\": %d, \"seconds\": %.2f, \"requests\": %llu, "
      "\"requests_per_s\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"server_cpu_us_per_request\": %.3f}\n",
      o.connections, o.depth, o.size, o.seconds, static_cast<unsigned long long>(completed),
      static_cast<double>(completed) / o.seconds, percentile(0.5), percentile(0.99),
      completed == 0 || o.server_pid == 0 ? 0.0 : cpu * 1e6 / static_cast<double>(completed));
  for (connection& c : conns) {
    close(c.fd);
  }
  return 0;
}
