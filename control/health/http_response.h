// DOC: the HTTP/1.x response reader of the http/https probes: status line, headers and as
// much body as a check needs, from the bytes received so far. Pure functions, any thread;
// every read is bounds-checked (the input is whatever a backend sends).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace steer::control::health {

inline constexpr size_t kMaxHttpHeaders = size_t{16} * 1024;
inline constexpr size_t kMaxHttpBody = size_t{64} * 1024;

enum class HttpParse : uint8_t {
  NeedMore,   // read more (or, at EOF, the response is cut short)
  Complete,   // `status` (and `body` when asked for) are set
  Malformed,  // not an HTTP/1.x response
  TooLarge,   // no end of headers within kMaxHttpHeaders
};

std::string_view http_parse_name(HttpParse p);

struct HttpReply {
  uint16_t status = 0;
  // The body (de-chunked), at most kMaxHttpBody bytes; a view into the input or into the
  // `scratch` string given to parse_http_reply. Empty unless want_body.
  std::string_view body;
};

// Parses `in` (everything received so far). `eof`: the peer closed, so the body ends here.
// want_body = false completes at the end of the headers. Interim 1xx responses are skipped.
// A body longer than kMaxHttpBody completes at kMaxHttpBody bytes.
HttpParse parse_http_reply(std::string_view in, bool eof, bool want_body, HttpReply& out,
                           std::string& scratch);

}  // namespace steer::control::health
