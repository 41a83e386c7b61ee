// cosync::file on both backends: positional reads and writes, end of file, fsync, size, errors
// naming the path, cancellation.

#include <cosync/file.hpp>
#include <cosync/join_handle.hpp>
#include <cosync/runtime.hpp>
#include <cosync/task.hpp>
#include <cosync/when_all.hpp>

#include <unistd.h>

#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "catch.hpp"
#include "runtime_fixture.hpp"

using cosync::task;

namespace {

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("cosync_file_test_" + std::to_string(::getpid()) + "_" + name);
}

}  // namespace

COSYNC_TEST_CASE("a file written at offsets reads back the same, with 0 at its end", "[file][unit]") {
  const auto path = temp_path("roundtrip");
  {
    cosync::file f = cosync::file::open(path, cosync::open_mode::write);
    const std::size_t a = co_await f.write_at("hello ", 0);
    const std::size_t b = co_await f.write_at("world", 6);
    CHECK(a == 6);
    CHECK(b == 5);
    co_await f.fsync();
    CHECK(f.size() == 11);
  }
  cosync::file f = cosync::file::open(path);
  std::array<char, 64> buffer{};
  const std::size_t n = co_await f.read_at(buffer, 0);
  CHECK(std::string(buffer.data(), n) == "hello world");
  const std::size_t tail = co_await f.read_at(std::span{buffer.data(), 3}, 8);
  CHECK(std::string(buffer.data(), tail) == "rld");
  const std::size_t past = co_await f.read_at(buffer, 11);
  CHECK(past == 0);
  const std::size_t nothing = co_await f.read_at(std::span<char>{}, 0);
  CHECK(nothing == 0);
  std::filesystem::remove(path);
}

COSYNC_TEST_CASE("a large file is written and read in pieces on both executors", "[file][unit]") {
  const auto path = temp_path("large");
  std::vector<std::byte> data(4 << 20);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::byte>(i * 31 % 251);
  }
  cosync::file out = cosync::file::open(path, cosync::open_mode::write);
  const std::size_t written = co_await out.write_at(data, 0);
  CHECK(written == data.size());
  out.close();

  // Two readers, one per executor, each reading half in 64 KiB pieces.
  auto read_range = [](const std::filesystem::path& p, std::uint64_t from,
                       std::uint64_t to) -> task<std::vector<std::byte>> {
    cosync::file f = cosync::file::open(p);
    std::vector<std::byte> got(to - from);
    for (std::uint64_t at = from; at < to;) {
      const std::size_t want = std::min<std::uint64_t>(64 * 1024, to - at);
      const std::size_t n = co_await f.read_at(std::span{got.data() + (at - from), want}, at);
      REQUIRE(n > 0);
      at += n;
    }
    co_return got;
  };
  const std::uint64_t half = data.size() / 2;
  auto [first, second] = co_await cosync::when_all(read_range(path, 0, half),
                                                   cosync::spawn_on(1, read_range(path, half, data.size())));
  CHECK(std::equal(first.begin(), first.end(), data.begin()));
  CHECK(std::equal(second.begin(), second.end(), data.begin() + static_cast<std::ptrdiff_t>(half)));
  std::filesystem::remove(path);
}

COSYNC_TEST_CASE("opening a missing file fails with ENOENT and names it, and a closed file fails with EBADF",
                 "[file][unit]") {
  const auto path = temp_path("missing");
  bool enoent = false;
  std::string message;
  try {
    (void)cosync::file::open(path);
  } catch (const cosync::io_error& e) {
    enoent = e.code() == std::errc::no_such_file_or_directory;
    message = e.what();
  }
  CHECK(enoent);
  CHECK(message.find(path.string()) != std::string::npos);

  cosync::file closed;
  bool ebadf = false;
  try {
    std::array<char, 4> buffer{};
    (void)co_await closed.read_at(buffer, 0);
  } catch (const cosync::io_error& e) {
    ebadf = e.code() == std::errc::bad_file_descriptor;
  }
  CHECK(ebadf);
}

COSYNC_TEST_CASE("append mode adds to the end", "[file][unit]") {
  const auto path = temp_path("append");
  {
    cosync::file f = cosync::file::open(path, cosync::open_mode::write);
    (void)co_await f.write_at("one\n", 0);
  }
  {
    cosync::file f = cosync::file::open(path, cosync::open_mode::append);
    (void)co_await f.write_at("two\n", 0);
  }
  cosync::file f = cosync::file::open(path);
  std::array<char, 16> buffer{};
  const std::size_t n = co_await f.read_at(buffer, 0);
  CHECK(std::string(buffer.data(), n) == "one\ntwo\n");
  std::filesystem::remove(path);
}
