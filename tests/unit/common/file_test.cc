#include "common/file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace steer {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/steer-file-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  // The names in the test directory (a temporary file left behind would show here).
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }
  static int mode_of(const std::string& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return -1;
    return static_cast<int>(st.st_mode & 07777);
  }

  fs::path dir_;
};

TEST_F(FileTest, ReadsAWholeFile) {
  std::string big(200000, 'x');  // more than one read() of the reader's buffer
  big += "end";
  std::ofstream(path("a")) << big;
  auto text = read_file(path("a"));
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, big);
}

TEST_F(FileTest, ReadMissingFileNamesIt) {
  auto text = read_file(path("absent"));
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message,
            fmt::format("cannot read {}: No such file or directory", path("absent")));
}

TEST_F(FileTest, ReadADirectoryIsAnError) {
  auto text = read_file(dir_.string());
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message, fmt::format("cannot read {}: Is a directory", dir_.string()));
}

TEST_F(FileTest, ReadNamesTheFileAsAsked) {
  auto text = read_file(path("absent"), "pool file 'p.txt'");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message, "cannot read pool file 'p.txt': No such file or directory");
}

TEST_F(FileTest, ReadFdReadsToEndOfFile) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "abc", 3), 3);
  ::close(fds[1]);
  auto text = read_fd(fds[0], "standard input");
  ::close(fds[0]);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "abc");
  auto bad = read_fd(-1, "standard input");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "cannot read standard input: Bad file descriptor");
}

TEST_F(FileTest, AtomicWriteCreatesAndReplaces) {
  ASSERT_TRUE(write_file_atomic(path("state.json"), "first, and longer"));
  EXPECT_EQ(*read_file(path("state.json")), "first, and longer");
  ASSERT_TRUE(write_file_atomic(path("state.json"), "second"));
  EXPECT_EQ(*read_file(path("state.json")), "second");
  ASSERT_TRUE(write_file_atomic(path("state.json"), ""));
  EXPECT_EQ(*read_file(path("state.json")), "");
  EXPECT_EQ(entries(), std::vector<std::string>{"state.json"});
}

// The new file gets exactly the mode asked for: the umask does not take bits away.
TEST_F(FileTest, AtomicWriteSetsTheModeBits) {
  ASSERT_TRUE(write_file_atomic(path("private"), "x", 0600));
  EXPECT_EQ(mode_of(path("private")), 0600);
  const mode_t old = ::umask(077);
  auto r = write_file_atomic(path("shared"), "x", 0644);
  ::umask(old);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(mode_of(path("shared")), 0644);
  // Replacing a file gives it the new mode too.
  ASSERT_TRUE(write_file_atomic(path("private"), "y", 0640));
  EXPECT_EQ(mode_of(path("private")), 0640);
}

TEST_F(FileTest, AtomicWriteIntoAMissingDirectoryFailsCleanly) {
  const std::string target = path("missing/state.json");
  auto r = write_file_atomic(target, "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, fmt::format("cannot write {}: No such file or directory", target));
  EXPECT_TRUE(entries().empty());
}

// A rename that fails (the target is a directory) leaves the target as it was and no
// temporary file beside it.
TEST_F(FileTest, AtomicWriteOverADirectoryLeavesNoTemporaryFile) {
  fs::create_directory(path("taken"));
  std::ofstream(path("taken/inside")) << "kept";
  auto r = write_file_atomic(path("taken"), "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind(fmt::format("cannot replace {}: ", path("taken")), 0), 0u)
      << r.error().message;
  EXPECT_EQ(entries(), std::vector<std::string>{"taken"});
  EXPECT_EQ(*read_file(path("taken/inside")), "kept");
}

// Root writes into a read-only directory anyway, so the write runs in a child process that
// is not root (uid 65534 when the test runs as root, as CI does).
TEST_F(FileTest, AtomicWriteIntoAReadOnlyDirectoryFailsCleanly) {
  std::ofstream(path("state.json")) << "old";
  fs::permissions(path("state.json"),
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                            fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(2);
    auto r = write_file_atomic(path("state.json"), "new");
    const bool ok = !r && r.error().message ==
                              fmt::format("cannot write {}: Permission denied", path("state.json"));
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: wrong result or message, 2: could not drop root";
  EXPECT_EQ(entries(), std::vector<std::string>{"state.json"});
  EXPECT_EQ(*read_file(path("state.json")), "old");
}

}  // namespace
}  // namespace steer
