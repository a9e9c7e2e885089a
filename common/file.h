// DOC: whole-file reads and atomic file replacement — the one implementation of each, for
// every configuration, state and override file steer reads or writes.
//
// write_file_atomic() writes a temporary file beside the target (same directory, so rename()
// stays on one file system), fsyncs it, renames it over the target and fsyncs the directory:
// a reader (BIRD reading steer's snippet, a restarted process reading its saved state) sees
// the old content or the new, never half of either, and after a crash or power loss the file
// holds one of the two. Errors carry an operator's message: "cannot write PATH: <strerror>".
// Blocking I/O: control paths only (never a packet or DNS worker). Any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace steer {

// The whole content of `path`. Error: "cannot read PATH: <reason>" (missing, unreadable, a
// directory, an I/O error).
Result<std::string> read_file(const std::string& path);
// The same, with the file called `name` in the error: "cannot read NAME: <reason>" (e.g.
// name "pool file 'p.txt'" for a message in the words of a command's options).
Result<std::string> read_file(const std::string& path, std::string_view name);

// The whole content of an open descriptor until end of file (standard input, a pipe); `name`
// names it in the error message. The descriptor stays open.
Result<std::string> read_fd(int fd, std::string_view name);

// Replaces `path` with `text` atomically and durably (see the DOC block); `mode` is the new
// file's permission bits, exactly (the umask does not apply). On error `path` is unchanged and
// no temporary file is left behind. Errors: "cannot write PATH: <reason>" (the directory is
// missing or not writable, the disk is full, ...), "cannot replace PATH: <reason>" (e.g. PATH
// is a directory).
Result<void> write_file_atomic(const std::string& path, std::string_view text, int mode = 0644);

}  // namespace steer
