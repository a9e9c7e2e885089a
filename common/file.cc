#include "common/file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace steer {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Writes all of `text`, retrying short writes and EINTR. Returns 0 or an errno value.
int write_all(int fd, std::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

Result<std::string> read_fd(int fd, std::string_view name) {
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("cannot read {}: {}", name, errno_text(errno)));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

Result<std::string> read_file(const std::string& path, std::string_view name) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot read {}: {}", name, errno_text(errno)));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return fail(fmt::format("cannot read {}: {}", name, errno_text(EISDIR)));
  }
  auto text = read_fd(fd, name);
  ::close(fd);
  return text;
}

Result<std::string> read_file(const std::string& path) { return read_file(path, path); }

Result<void> write_file_atomic(const std::string& path, std::string_view text, int mode) {
  const std::filesystem::path target(path);
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail(fmt::format("cannot write {}: {}", path, errno_text(errno)));
  // Exactly `mode`, whatever the umask took away at open().
  int err = ::fchmod(fd, static_cast<mode_t>(mode)) == 0 ? 0 : errno;
  if (err == 0) err = write_all(fd, text);
  // fsync before rename: otherwise a crash can leave the new name pointing at an empty file
  // (the rename reached the disk, the data did not).
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return fail(fmt::format("cannot write {}: {}", path, errno_text(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    return fail(fmt::format("cannot replace {}: {}", path, errno_text(err)));
  }
  // The rename itself is durable once the directory is synced.
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace steer
