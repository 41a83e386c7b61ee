// The synchronous half of cosync/file.hpp: opening, sizing and closing files.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cosync/file.hpp>

namespace cosync {

file file::open(const std::filesystem::path& path, open_mode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case open_mode::read:
      flags |= O_RDONLY;
      break;
    case open_mode::write:
      flags |= O_WRONLY | O_CREAT | O_TRUNC;
      break;
    case open_mode::append:
      flags |= O_WRONLY | O_CREAT | O_APPEND;
      break;
    case open_mode::read_write:
      flags |= O_RDWR | O_CREAT;
      break;
  }
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    throw io_error(errno, "open " + path.string());
  }
  return file{fd};
}

std::uint64_t file::size() const {
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    throw io_error(errno, "fstat");
  }
  return static_cast<std::uint64_t>(info.st_size);
}

void file::close() noexcept {
  if (fd_ >= 0) {
    ::close(std::exchange(fd_, -1));
  }
}

}  // namespace cosync
