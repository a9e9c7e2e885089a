// DOC: the line protocol shared by steer's Unix sockets (the dataplane API socket and steerd's
// CLI socket), modelled on BIRD's control socket so one reader also serves the BIRD client.
//
// Request: one line of UTF-8 ending in '\n' (at most kMaxRequestBytes): a command word and its
// arguments separated by spaces; a command may take the rest of the line verbatim (a JSON
// document, for instance).
//
// Reply: one or more lines "CCCC-text" (more lines follow) and a last line "CCCC text"
// (4 decimal digits, then a space). A line starting with a space continues the previous
// line's code (BIRD does this; steer's servers do not emit it). Codes: 0xxx success,
// 1xxx data, 2xxx table headings, 8xxx runtime errors, 9xxx request errors (unknown
// command, bad argument). On connect, a server greets with one "0001 <name> ready." line.
//
// ReplyReader turns a byte stream into lines and complete replies; RequestReader splits a
// byte stream into request lines. Both are incremental (feed any chunking) and bounded.
// Neither does I/O: the socket code feeds them. Not thread-safe; one per connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace steer {

inline constexpr size_t kMaxRequestBytes = 16u << 20;  // an apply of ~100 k backends
inline constexpr size_t kMaxReplyLineBytes = 64u << 20;

// Every reply code steer's servers use (docs/cli-protocol.md has the same table; a test
// compares them).
namespace reply {
inline constexpr int kOk = 0;        // final line of a successful reply
inline constexpr int kGreeting = 1;  // server greeting on connect
inline constexpr int kJson = 1000;   // a line of a JSON document
inline constexpr int kHelp = 1001;   // a line of help text
inline constexpr int kRuntimeError = 8000;
inline constexpr int kInvalidState = 8001;      // an apply whose state did not validate
inline constexpr int kNotReady = 8002;          // the request cannot be served now
inline constexpr int kPermissionDenied = 8003;  // the peer may read but not change
inline constexpr int kNotFound = 8004;          // no such VIP, backend, group, ...
inline constexpr int kConfigInvalid = 8005;     // the configuration file did not validate
inline constexpr int kUnknownCommand = 9000;
inline constexpr int kBadArgument = 9001;
inline constexpr int kAll[] = {kOk,           kGreeting,      kJson,           kHelp,
                               kRuntimeError, kInvalidState,  kNotReady,       kPermissionDenied,
                               kNotFound,     kConfigInvalid, kUnknownCommand, kBadArgument};
}  // namespace reply

inline bool reply_is_error(int code) { return code >= 8000; }

struct ReplyLine {
  int code = 0;
  bool last = false;  // "CCCC text" (true) or "CCCC-text" (false)
  std::string text;
};

// A complete reply: its lines in order. code() is the last line's code.
struct Reply {
  std::vector<ReplyLine> lines;
  int code() const { return lines.empty() ? -1 : lines.back().code; }
  bool ok() const { return !lines.empty() && !reply_is_error(code()); }
  // Texts of the lines with `code`, joined with '\n' (a JSON document in kJson lines).
  std::string text_of(int code) const;
  // The last line's text (the error message of an error reply).
  std::string message() const { return lines.empty() ? std::string() : lines.back().text; }
};

// Formats one reply line, '\n' included. Newlines inside `text` would break the framing, so
// each one starts a new continuation line with the same code.
std::string format_reply_line(int code, std::string_view text, bool last);

// A one-line error reply ("CCCC message\n"; newlines in message become continuation lines).
inline std::string reply_error(int code, std::string_view message) {
  return format_reply_line(code, message, true);
}

// A successful reply carrying one JSON document in kJson lines, ending "0000 <text>".
std::string reply_json(std::string_view document, std::string_view text = "ok");

// Builds a reply: any number of lines, then finish() adds the final one.
class ReplyWriter {
 public:
  ReplyWriter& line(int code, std::string_view text);
  // One kJson line per line of the document.
  ReplyWriter& json(std::string_view document);
  std::string finish(int code, std::string_view text);

 private:
  std::string out_;
};

// Incremental reply parser (client side).
class ReplyReader {
 public:
  // Appends received bytes. Error on a malformed line (not "DDDD[- ]..." nor " ...") or a line
  // longer than kMaxReplyLineBytes; the reader is then unusable.
  Result<void> feed(std::string_view bytes);
  // The next complete reply, if one has arrived. Lines starting with '+' (asynchronous
  // notices) are kept apart in notices().
  std::optional<Reply> next();
  std::vector<std::string>& notices() { return notices_; }

 private:
  std::string buffer_;
  size_t scanned_ = 0;
  Reply current_;
  std::vector<Reply> complete_;
  size_t next_complete_ = 0;
  std::vector<std::string> notices_;
  int last_code_ = -1;
};

// Incremental request splitter (server side).
class RequestReader {
 public:
  // Appends received bytes. Error when a line grows past kMaxRequestBytes.
  Result<void> feed(std::string_view bytes);
  // The next complete request line, without its '\n' (and a trailing '\r' removed).
  std::optional<std::string> next();

 private:
  std::string buffer_;
  size_t start_ = 0;
  size_t scanned_ = 0;
};

// Splits a request into its command word and the rest (leading spaces removed).
struct Request {
  std::string_view command;
  std::string_view rest;
};
Request split_request(std::string_view line);
// Splits `text` on runs of spaces/tabs.
std::vector<std::string_view> split_words(std::string_view text);

}  // namespace steer
