// A small HTTP/1.1 server: "Hello, World!" on `/`, 404 elsewhere, 400 for a request it cannot
// parse. Keep-alive and pipelining: every complete request in what a read brought is answered,
// in order, with one write. Ctrl-C stops it cleanly.
//
//   build/release/examples/http_server --port 8080 --executors 2
//   curl -v http://localhost:8080/
//   wrk -c 50 -d 10 http://localhost:8080/

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include <cosync/timeout.hpp>

#include "server_common.hpp"

namespace {

constexpr std::size_t max_head = 8 * 1024;   // request line and headers
constexpr std::size_t max_body = 64 * 1024;  // a body is read and ignored, up to this
constexpr std::chrono::seconds request_timeout{10};

constexpr std::string_view hello = "Hello, World!\n";

struct request {
  std::string_view method;
  std::string_view target;
  bool http10 = false;  // HTTP/1.0: keep-alive only when asked for, and then said in the answer
  bool keep_alive = true;
  std::size_t head_size = 0;  // bytes up to and including the blank line
  std::size_t body_size = 0;  // Content-Length
};

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
  });
}

enum class parse_status { complete, incomplete, bad };

// Parses the head at the start of `in` (RFC 9112, the parts a server of fixed pages needs).
parse_status parse(std::string_view in, request& r) {
  const std::size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return in.size() > max_head ? parse_status::bad : parse_status::incomplete;
  }
  r = request{};
  r.head_size = end + 4;
  std::string_view head = in.substr(0, end + 2);
  const std::size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  head.remove_prefix(line_end + 2);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    return parse_status::bad;
  }
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(r.method) || r.target.empty() || r.target.find(' ') != std::string_view::npos) {
    return parse_status::bad;
  }
  if (version == "HTTP/1.0") {
    r.http10 = true;
    r.keep_alive = false;
  } else if (version != "HTTP/1.1") {
    return parse_status::bad;
  }
  while (!head.empty()) {
    const std::size_t eol = head.find("\r\n");
    const std::string_view field = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || !is_token(field.substr(0, colon))) {
      return parse_status::bad;
    }
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = trim(field.substr(colon + 1));
    if (iequals(name, "connection")) {
      if (iequals(value, "close")) {
        r.keep_alive = false;
      } else if (iequals(value, "keep-alive")) {
        r.keep_alive = true;
      }
    } else if (iequals(name, "content-length")) {
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), r.body_size);
      if (ec != std::errc{} || p != value.data() + value.size() || r.body_size > max_body) {
        return parse_status::bad;
      }
    } else if (iequals(name, "transfer-encoding")) {
      return parse_status::bad;  // no chunked bodies here
    }
  }
  return parse_status::complete;
}

void respond(std::string& out, std::string_view status, std::string_view body, const request& r,
             bool head_only) {
  out += "HTTP/1.1 ";
  out += status;
  out += "\r\nServer: cosync\r\nContent-Type: text/plain\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += !r.keep_alive ? "\r\nConnection: close\r\n\r\n"
         : r.http10    ? "\r\nConnection: keep-alive\r\n\r\n"
                       : "\r\n\r\n";
  if (!head_only) {
    out += body;
  }
}

// Closing a socket whose receive buffer holds unread bytes sends a reset, which can destroy the
// answer before the client reads it. So the server ends its side first and drains what the
// client still sends, briefly, before it closes (nginx's "lingering close").
cosync::task<void> linger(cosync::tcp_stream& stream) {
  stream.shutdown_write();
  std::array<char, 4096> sink;
  const auto until = cosync::steady_clock::now() + std::chrono::seconds{1};
  for (std::size_t drained = 0; drained < max_head * 8;) {
    const auto n = co_await cosync::move_on_at(until, stream.read(sink));
    if (!n || *n == 0) {
      break;
    }
    drained += *n;
  }
}

cosync::task<void> serve_http(cosync::tcp_stream stream) {
  request closing;  // how an answer that ends the connection is sent
  closing.keep_alive = false;
  std::string in;
  std::string out;
  std::array<char, 16 * 1024> buffer;
  cosync::steady_clock::time_point deadline;
  try {
    for (bool open = true; open;) {
      // A request begun must be complete within request_timeout: a client trickling bytes
      // cannot hold a connection (and its fd) for ever. An idle keep-alive connection may wait.
      std::optional<std::size_t> n;
      if (in.empty()) {
        n = co_await stream.read(buffer);
      } else {
        n = co_await cosync::move_on_at(deadline, stream.read(buffer));
      }
      if (!n) {
        respond(out, "408 Request Timeout", "request timeout\n", closing, false);
        co_await stream.write_all(out);
        break;
      }
      if (*n == 0) {
        co_return;
      }
      if (in.empty()) {
        deadline = cosync::steady_clock::now() + request_timeout;
      }
      in.append(buffer.data(), *n);
      std::size_t used = 0;
      for (;;) {
        request r;
        const parse_status status = parse(std::string_view{in}.substr(used), r);
        if (status == parse_status::incomplete) {
          break;
        }
        if (status == parse_status::bad) {
          respond(out, "400 Bad Request", "bad request\n", closing, false);
          open = false;
          break;
        }
        if (in.size() - used < r.head_size + r.body_size) {
          break;  // the body is still coming
        }
        used += r.head_size + r.body_size;
        deadline = cosync::steady_clock::now() + request_timeout;  // the next request's
        const bool head_only = r.method == "HEAD";
        if (r.target != "/") {
          respond(out, "404 Not Found", "not found\n", r, head_only);
        } else if (r.method == "GET" || head_only) {
          respond(out, "200 OK", hello, r, head_only);
        } else {
          respond(out, "405 Method Not Allowed", "method not allowed\n", r, false);
        }
        if (!r.keep_alive) {
          open = false;
          break;
        }
      }
      in.erase(0, used);
      if (!out.empty()) {
        co_await stream.write_all(out);
        out.clear();
      }
    }
    co_await linger(stream);
  } catch (const cosync::io_error&) {
    // A client that resets its connection ends only its own child.
  }
}

}  // namespace

int main(int argc, char** argv) {
  const example::server_options options = example::parse_server_options(argc, argv, "http_server");
  return example::run_server("http_server", options, serve_http);
}
