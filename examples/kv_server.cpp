// A Redis-protocol (RESP2) key-value server that shares nothing between executors: executor i
// owns the keys that hash to i, and only its thread touches them. A connection (served by the
// executor that accepted it) runs a command on a key owned elsewhere by hopping there over the
// executor mesh (cosync::switch_to: the command's coroutine itself travels through the SPSC ring)
// — Seastar's and Dragonfly's shape. The way back is free: a task's awaiter always resumes on its
// own executor, so the connection continues at home once the command's coroutine returns. (A hop
// must be made by the coroutine that then touches the shard: a helper task that switches moves
// only itself.) Commands of a connection run one after the other, so pipelined
// requests are answered in order, with one write per batch read.
//
// PING, ECHO, GET, SET (EX, PX, NX, XX), DEL, EXISTS, INCR, MGET, MSET, DBSIZE, FLUSHALL,
// COMMAND, CONFIG GET, QUIT: enough for redis-cli and redis-benchmark. Expired keys are dropped
// when next touched (no background expiry). Multi-key commands are not atomic across executors.
//
// Bad input gets Redis's answers: "-ERR Protocol error: ..." and a closed connection for what
// cannot be parsed (bulk lengths that are negative or above 4 MiB, arrays above 1M elements, a
// nested array), and limits that bound each connection's memory: a request buffered beyond 16 MiB,
// or one left incomplete for longer than --request-timeout-ms (default 5000; a client trickling
// bytes), closes the connection. Other clients never notice.
//
//   build/release/examples/kv_server --port 6379 --executors 2
//   redis-cli -p 6379 set greeting hello && redis-cli -p 6379 get greeting
//   redis-benchmark -p 6379 -t set,get -n 100000 -c 50 -P 16

#include <cosync/timeout.hpp>

#include <charconv>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server_common.hpp"

namespace {

using namespace std::string_view_literals;
using clock_type = cosync::steady_clock;

constexpr std::size_t max_bulk = 4 << 20;       // one argument
constexpr std::size_t max_args = 1 << 20;       // arguments of one command
constexpr std::size_t max_line = 64 * 1024;     // an inline command, a length line
constexpr std::size_t max_buffered = 16 << 20;  // a connection's unparsed input
constexpr std::size_t read_size = 16 * 1024;
constexpr std::size_t flush_at = 64 * 1024;  // replies are sent once this much is waiting

// ---------------------------------------------------------------- the shards

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct entry {
  std::string value;
  clock_type::time_point expires = clock_type::time_point::max();
};

// One executor's keys; only that executor's thread touches it.
struct alignas(64) shard {
  std::unordered_map<std::string, entry, string_hash, std::equal_to<>> map;

  // The live entry for `key`, dropping it if it has expired.
  entry* find(std::string_view key) {
    const auto it = map.find(key);
    if (it == map.end()) {
      return nullptr;
    }
    if (it->second.expires != clock_type::time_point::max() && it->second.expires <= clock_type::now()) {
      map.erase(it);
      return nullptr;
    }
    return &it->second;
  }
};

struct store {
  explicit store(std::size_t executors) : shards(executors) {}
  std::size_t owner(std::string_view key) const noexcept { return string_hash{}(key) % shards.size(); }
  std::vector<shard> shards;
};

// ---------------------------------------------------------------- replies

void reply_simple(std::string& out, std::string_view s) {
  out += '+';
  out += s;
  out += "\r\n";
}
void reply_error(std::string& out, std::string_view s) {
  out += '-';
  out += s;
  out += "\r\n";
}
void reply_int(std::string& out, long long n) {
  out += ':';
  out += std::to_string(n);
  out += "\r\n";
}
void reply_bulk(std::string& out, std::string_view s) {
  out += '$';
  out += std::to_string(s.size());
  out += "\r\n";
  out += s;
  out += "\r\n";
}
void reply_null(std::string& out) {
  out += "$-1\r\n";
}
void reply_array(std::string& out, std::size_t n) {
  out += '*';
  out += std::to_string(n);
  out += "\r\n";
}

// ---------------------------------------------------------------- the protocol

enum class parse_status { complete, incomplete, bad };

// Parses one command at a time from the start of the unparsed input. A multibulk command that
// has only partly arrived is resumed where it stopped when more comes (its arguments are kept as
// offsets from the command's first byte), so a large command costs one pass, not one per read.
struct parser {
  std::vector<std::string_view> args;  // the command, once complete (views into the input)
  std::size_t used = 0;                // its bytes
  std::string error;                   // why, once bad

  parse_status parse(std::string_view in) {
    args.clear();
    if (remaining_ < 0 && in.front() != '*') {
      return parse_inline(in);
    }
    const parse_status status = parse_multibulk(in);
    if (status != parse_status::incomplete) {
      remaining_ = -1;
    }
    return status;
  }

  static bool integer(std::string_view text, long long& value) {
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && p == text.data() + text.size() && !text.empty();
  }

 private:
  parse_status fail(std::string why) {
    error = "ERR Protocol error: " + std::move(why);
    return parse_status::bad;
  }

  // The line that starts at `at`, without its CRLF; nullopt while incomplete.
  static std::optional<std::string_view> line(std::string_view in, std::size_t at) {
    const std::size_t end = in.find("\r\n", at);
    if (end == std::string_view::npos) {
      return std::nullopt;
    }
    return in.substr(at, end - at);
  }

  parse_status parse_inline(std::string_view in) {
    const auto text = line(in, 0);
    if (!text) {
      return in.size() > max_line ? fail("too big inline request") : parse_status::incomplete;
    }
    used = text->size() + 2;
    std::string_view rest = *text;
    while (!rest.empty()) {
      const std::size_t start = rest.find_first_not_of(" \t");
      if (start == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(start);
      const std::size_t end = std::min(rest.find_first_of(" \t"), rest.size());
      args.push_back(rest.substr(0, end));
      rest.remove_prefix(end);
    }
    return parse_status::complete;
  }

  parse_status parse_multibulk(std::string_view in) {
    if (remaining_ < 0) {
      const auto count_line = line(in, 1);
      if (!count_line) {
        return in.size() > max_line ? fail("too big mbulk count string") : parse_status::incomplete;
      }
      long long count = 0;
      if (!integer(*count_line, count) || count > static_cast<long long>(max_args)) {
        return fail("invalid multibulk length");
      }
      remaining_ = std::max(count, 0LL);
      at_ = 1 + count_line->size() + 2;
      spans_.clear();
    }
    for (; remaining_ > 0; --remaining_) {
      if (at_ >= in.size()) {
        return parse_status::incomplete;
      }
      if (in[at_] != '$') {
        return fail("expected '$', got '" + std::string(1, in[at_]) + "'");
      }
      const auto length_line = line(in, at_ + 1);
      if (!length_line) {
        return in.size() - at_ > max_line ? fail("too big bulk count string") : parse_status::incomplete;
      }
      long long length = 0;
      if (!integer(*length_line, length) || length < 0 || length > static_cast<long long>(max_bulk)) {
        return fail("invalid bulk length");
      }
      const std::size_t data = at_ + 1 + length_line->size() + 2;
      const auto n = static_cast<std::size_t>(length);
      if (in.size() < data + n + 2) {
        return parse_status::incomplete;
      }
      if (in.substr(data + n, 2) != "\r\n") {
        return fail("bulk string not terminated by CRLF");
      }
      spans_.emplace_back(data, n);
      at_ = data + n + 2;
    }
    used = at_;
    for (const auto& [offset, length] : spans_) {
      args.push_back(in.substr(offset, length));
    }
    return parse_status::complete;
  }

  long long remaining_ = -1;  // arguments of a partly received command still to parse; -1: none
  std::size_t at_ = 0;        // where its parsing stopped
  std::vector<std::pair<std::size_t, std::size_t>> spans_;  // its arguments so far: offset, length
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

// ---------------------------------------------------------------- commands

class connection {
 public:
  connection(store& s, cosync::tcp_stream& stream) : store_{s}, stream_{stream} {}

  // Sends what `out` holds once it is large: a reply never needs more memory than about this
  // plus one value, however many replies a batch of commands asks for.
  cosync::task<void> flush_if_large(std::string& out) {
    if (out.size() >= flush_at) {
      co_await stream_.write_all(out);
      out.clear();
    }
  }

  // Runs one command, appending its reply to `out`. False: close the connection after replying.
  cosync::task<bool> execute(const std::vector<std::string_view>& args, std::string& out) {
    const std::string_view name = args.front();
    const std::size_t argc = args.size();
    if (iequals(name, "GET") && argc == 2) {
      const std::size_t owner = store_.owner(args[1]);
      co_await cosync::switch_to(owner);  // this coroutine itself moves
      shard& s = store_.shards[owner];
      if (const entry* e = s.find(args[1])) {
        reply_bulk(out, e->value);
      } else {
        reply_null(out);
      }
    } else if (iequals(name, "SET") && argc >= 3) {
      co_await set(args, out);
    } else if (iequals(name, "PING") && argc <= 2) {
      argc == 1 ? reply_simple(out, "PONG") : reply_bulk(out, args[1]);
    } else if (iequals(name, "ECHO") && argc == 2) {
      reply_bulk(out, args[1]);
    } else if ((iequals(name, "DEL") || iequals(name, "EXISTS")) && argc >= 2) {
      const bool del = iequals(name, "DEL");
      long long n = 0;
      for (std::size_t i = 1; i < argc; ++i) {
        const std::size_t owner = store_.owner(args[i]);
        co_await cosync::switch_to(owner);  // this coroutine itself moves
        shard& s = store_.shards[owner];
        if (s.find(args[i]) != nullptr) {
          ++n;
          if (del) {
            s.map.erase(s.map.find(args[i]));
          }
        }
      }
      reply_int(out, n);
    } else if (iequals(name, "INCR") && argc == 2) {
      co_await incr(args[1], out);
    } else if (iequals(name, "MGET") && argc >= 2) {
      reply_array(out, argc - 1);
      for (std::size_t i = 1; i < argc; ++i) {
        const std::size_t owner = store_.owner(args[i]);
        co_await cosync::switch_to(owner);  // this coroutine itself moves
        shard& s = store_.shards[owner];
        if (const entry* e = s.find(args[i])) {
          reply_bulk(out, e->value);
        } else {
          reply_null(out);
        }
        co_await flush_if_large(out);  // a write from the owner's executor is fine
      }
    } else if (iequals(name, "MSET") && argc >= 3 && argc % 2 == 1) {
      for (std::size_t i = 1; i < argc; i += 2) {
        const std::size_t owner = store_.owner(args[i]);
        co_await cosync::switch_to(owner);  // this coroutine itself moves
        shard& s = store_.shards[owner];
        s.map.insert_or_assign(std::string{args[i]}, entry{std::string{args[i + 1]}});
      }
      reply_simple(out, "OK");
    } else if (iequals(name, "DBSIZE") && argc == 1) {
      long long n = 0;
      for (std::size_t i = 0; i < store_.shards.size(); ++i) {
        co_await cosync::switch_to(i);
        n += static_cast<long long>(store_.shards[i].map.size());
      }
      reply_int(out, n);
    } else if (iequals(name, "FLUSHALL") && argc <= 2) {
      for (std::size_t i = 0; i < store_.shards.size(); ++i) {
        co_await cosync::switch_to(i);
        store_.shards[i].map.clear();
      }
      reply_simple(out, "OK");
    } else if (iequals(name, "COMMAND")) {
      reply_array(out, 0);  // no command table: clients fall back to their own
    } else if (iequals(name, "CONFIG") && argc == 3 && iequals(args[1], "GET")) {
      // What redis-benchmark asks about: no persistence. Nothing else is configurable.
      if (iequals(args[2], "save") || iequals(args[2], "appendonly")) {
        reply_array(out, 2);
        reply_bulk(out, iequals(args[2], "save") ? "save" : "appendonly");
        reply_bulk(out, iequals(args[2], "save") ? "" : "no");
      } else {
        reply_array(out, 0);
      }
    } else if (iequals(name, "QUIT")) {
      reply_simple(out, "OK");
      co_return false;
    } else if (is_known(name)) {
      out += "-ERR wrong number of arguments for '";
      out += name;
      out += "' command\r\n";
    } else {
      out += "-ERR unknown command '";
      out += name.substr(0, 128);
      out += "'\r\n";
    }
    co_return true;
  }

 private:
  static bool is_known(std::string_view name) {
    for (const std::string_view known : {"GET"sv, "SET"sv, "PING"sv, "ECHO"sv, "DEL"sv, "EXISTS"sv, "INCR"sv,
                                         "MGET"sv, "MSET"sv, "DBSIZE"sv, "FLUSHALL"sv, "CONFIG"sv}) {
      if (iequals(name, known)) {
        return true;
      }
    }
    return false;
  }

  cosync::task<void> set(const std::vector<std::string_view>& args, std::string& out) {
    clock_type::time_point expires = clock_type::time_point::max();
    bool nx = false;
    bool xx = false;
    for (std::size_t i = 3; i < args.size(); ++i) {
      const bool ex = iequals(args[i], "EX");
      if ((ex || iequals(args[i], "PX")) && i + 1 < args.size()) {
        long long n = 0;
        if (!parser::integer(args[++i], n) || n <= 0 || n > 1'000'000'000'000LL) {
          reply_error(out, "ERR invalid expire time in 'set' command");
          co_return;
        }
        expires =
            clock_type::now() + (ex ? std::chrono::milliseconds{n * 1000} : std::chrono::milliseconds{n});
      } else if (iequals(args[i], "NX")) {
        nx = true;
      } else if (iequals(args[i], "XX")) {
        xx = true;
      } else {
        reply_error(out, "ERR syntax error");
        co_return;
      }
    }
    if (nx && xx) {
      reply_error(out, "ERR syntax error");
      co_return;
    }
    const std::size_t owner = store_.owner(args[1]);
    co_await cosync::switch_to(owner);  // this coroutine itself moves
    shard& s = store_.shards[owner];
    const bool exists = s.find(args[1]) != nullptr;
    if ((nx && exists) || (xx && !exists)) {
      reply_null(out);
    } else {
      s.map.insert_or_assign(std::string{args[1]}, entry{std::string{args[2]}, expires});
      reply_simple(out, "OK");
    }
  }

  cosync::task<void> incr(std::string_view key, std::string& out) {
    const std::size_t owner = store_.owner(key);
    co_await cosync::switch_to(owner);  // this coroutine itself moves
    shard& s = store_.shards[owner];
    entry* e = s.find(key);
    long long n = 0;
    if (e != nullptr && (!parser::integer(e->value, n) || n == std::numeric_limits<long long>::max())) {
      reply_error(out, "ERR value is not an integer or out of range");
    } else {
      ++n;
      if (e == nullptr) {
        s.map.emplace(std::string{key}, entry{std::to_string(n)});
      } else {
        e->value = std::to_string(n);
      }
      reply_int(out, n);
    }
  }

  store& store_;
  cosync::tcp_stream& stream_;
};

struct kv_service {
  store* data;
  std::chrono::milliseconds request_timeout;

  // One connection: read, run every complete command, write the replies, until the client
  // closes or breaks the protocol.
  cosync::task<void> operator()(cosync::tcp_stream stream) const {
    connection conn{*data, stream};
    parser p;
    std::string in;
    std::string out;
    std::size_t parsed = 0;                          // bytes of `in` already run
    std::optional<clock_type::time_point> deadline;  // of the incomplete request in `in`
    try {
      for (bool open = true; open;) {
        in.erase(0, std::exchange(parsed, 0));
        const std::size_t old = in.size();
        in.resize(old + read_size);
        std::optional<std::size_t> n;
        if (deadline) {
          n = co_await cosync::move_on_at(*deadline, stream.read(std::span{in.data() + old, read_size}));
        } else {
          n = co_await stream.read(std::span{in.data() + old, read_size});
        }
        if (!n) {
          reply_error(out, "ERR request not completed in time");
          co_await stream.write_all(out);
          break;
        }
        in.resize(old + *n);
        if (*n == 0) {
          break;
        }
        bool ran = false;
        while (parsed < in.size() && open) {
          const parse_status status = p.parse(std::string_view{in}.substr(parsed));
          if (status == parse_status::incomplete) {
            break;
          }
          if (status == parse_status::bad) {
            reply_error(out, p.error);
            open = false;
            break;
          }
          parsed += p.used;
          ran = true;
          if (!p.args.empty()) {
            open = co_await conn.execute(p.args, out);
            co_await conn.flush_if_large(out);
          }
        }
        if (in.size() - parsed > max_buffered) {
          reply_error(out, "ERR Protocol error: request too large");
          open = false;
        }
        if (parsed == in.size()) {
          deadline.reset();
        } else if (!deadline || ran) {
          deadline = clock_type::now() + request_timeout;  // a new incomplete request began
        }
        if (!out.empty()) {
          co_await stream.write_all(out);
          out.clear();
        }
      }
    } catch (const cosync::io_error&) {
      // A client that resets its connection ends only its own child.
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::chrono::milliseconds request_timeout{5000};
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--request-timeout-ms") == 0 && i + 1 < argc) {
      request_timeout = std::chrono::milliseconds{std::strtoll(argv[++i], nullptr, 10)};
    } else {
      rest.push_back(argv[i]);
    }
  }
  const example::server_options options =
      example::parse_server_options(static_cast<int>(rest.size()), rest.data(), "kv_server");
  store data{options.executors};
  return example::run_server("kv_server", options, kv_service{&data, request_timeout});
}
