#pragma once

/// cosync::file: positional reads and writes of a regular file on the executor's backend —
/// io_uring requests, or on the epoll backend pread/pwrite on the executor's thread (fast with a
/// warm page cache; a cold disk stalls that executor, as it would any epoll loop).
///
///     auto f = cosync::file::open("data.log");                    // opening is synchronous
///     std::vector<std::byte> buffer(64 * 1024);
///     for (std::uint64_t at = 0;;) {
///       std::size_t n = co_await f.read_at(buffer, at);           // 0: end of file
///       if (n == 0) break;
///       at += n;
///     }
///
/// Opening, size() and closing are plain system calls (fast on local file systems); so is walking
/// a directory (std::filesystem, or cosync::spawn_blocking for a slow one). read_at, write_at and
/// fsync are awaited like cosync/net.hpp's operations: on an executor thread, resumed there,
/// cosync::io_error on failure, cancellable (the request is cancelled or waited for before the
/// buffer may go away), select cases.

#include <cosync/detail/io_case.hpp>
#include <cosync/waitable.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace cosync {

/// How file::open opens a file.
enum class open_mode {
  read,        // an existing file, read only
  write,       // created if missing, truncated, write only
  append,      // created if missing, write only, every write_at ignored offset: appended
  read_write,  // created if missing, not truncated
};

/// The case of file::read_at, write_at and fsync: bytes read (0 at the end of the file), bytes
/// written (all of them), nothing.
class file_op : private detail::io_case {
 public:
  /// Movable until awaited, so that a waitable or a select can hold it.
  file_op(file_op&&) noexcept = default;

 private:
  friend struct case_access;
  static constexpr const char* wait_name = "file I/O";  // in a trace
  friend class file;
  template <select_case>
  friend class waitable;

  file_op(detail::io_opcode opcode, int fd, void* buffer, std::size_t length, std::uint64_t offset) noexcept
      : io_case{opcode, fd}, size_{length} {
    request_.buffer = buffer;
    request_.length = length;
    request_.offset = offset;
    if (opcode == detail::io_opcode::write_at) {
      request_.on_done = &io_case::write_rest;
    }
  }

  bool try_complete() noexcept { return size_ == 0 && request_.opcode != detail::io_opcode::fsync; }
  using io_case::park;
  using io_case::withdraw;
  std::size_t result();

  std::size_t size_;
};

/// An open file. Move-only; closed when destroyed (no operation may be in flight then).
class file {
 public:
  file() noexcept = default;
  ///@{
  /// Movable: the moved-from file is not open; assigning closes the file this one held first.
  file(file&& other) noexcept : fd_{std::exchange(other.fd_, -1)} {}
  file& operator=(file&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ///@}
  ~file() { close(); }

  /// Opens `path` (new files get mode 0644 less the umask); io_error naming the path on failure.
  [[nodiscard]] static file open(const std::filesystem::path& path, open_mode mode = open_mode::read);

  ///@{
  /// `co_await f.read_at(buffer, offset)`: up to buffer.size() bytes from `offset`; fewer only at
  /// the end of the file (0 at or past it), or when asking for more than 1 GiB at once (the most
  /// one request moves; read on from where it stopped).
  [[nodiscard]] waitable<file_op> read_at(std::span<std::byte> buffer, std::uint64_t offset) noexcept {
    return waitable<file_op>{detail::io_opcode::read_at, fd_, buffer.data(), buffer.size(), offset};
  }
  [[nodiscard]] waitable<file_op> read_at(std::span<char> buffer, std::uint64_t offset) noexcept {
    return read_at(std::as_writable_bytes(buffer), offset);
  }
  ///@}

  ///@{
  /// `co_await f.write_at(bytes, offset)`: writes all of `bytes` at `offset` (several requests if
  /// the kernel takes fewer); returns bytes.size().
  [[nodiscard]] waitable<file_op> write_at(std::span<const std::byte> bytes, std::uint64_t offset) noexcept {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): written from, never to
    return waitable<file_op>{detail::io_opcode::write_at, fd_, const_cast<std::byte*>(bytes.data()),
                             bytes.size(), offset};
  }
  [[nodiscard]] waitable<file_op> write_at(std::string_view text, std::uint64_t offset) noexcept {
    return write_at(std::as_bytes(std::span{text}), offset);
  }
  ///@}

  /// `co_await f.fsync()`: the file's data and metadata reach stable storage.
  [[nodiscard]] waitable<file_op> fsync() noexcept {
    return waitable<file_op>{detail::io_opcode::fsync, fd_, nullptr, std::size_t{0}, std::uint64_t{0}};
  }

  /// The file's size in bytes now (fstat); io_error on failure.
  [[nodiscard]] std::uint64_t size() const;

  /// False for a default-made, moved-from or closed file.
  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  /// The file descriptor (-1 when not open), for calls cosync does not wrap; the file still owns it.
  [[nodiscard]] int native_handle() const noexcept { return fd_; }
  /// Closes the file now, as the destructor would (nothing if not open); no operation may be in
  /// flight.
  void close() noexcept;

 private:
  explicit file(int fd) noexcept : fd_{fd} {}

  int fd_ = -1;
};

inline std::size_t file_op::result() {
  if (size_ == 0 && request_.opcode != detail::io_opcode::fsync) {
    return 0;
  }
  const std::int64_t n = take_result([this] {
    switch (request_.opcode) {
      case detail::io_opcode::read_at:
        return std::string{"read_at"};
      case detail::io_opcode::write_at:
        return std::string{"write_at"};
      default:
        return std::string{"fsync"};
    }
  });
  if (request_.opcode == detail::io_opcode::write_at) {
    if (request_.length != 0) {
      throw io_error(EIO, "write_at: the file accepted no bytes");
    }
    return size_;
  }
  return static_cast<std::size_t>(n);
}

}  // namespace cosync
