#include "control/health/http_response.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace steer::control::health {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

struct Head {
  uint16_t status = 0;
  size_t body_at = 0;  // offset of the body in the input
  std::optional<uint64_t> content_length;
  bool chunked = false;
};

// One header block starting at `at`. NeedMore until its blank line is in.
HttpParse parse_head(std::string_view in, size_t at, Head& head) {
  const std::string_view rest = in.substr(at);
  const size_t end = rest.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return rest.size() > kMaxHttpHeaders ? HttpParse::TooLarge : HttpParse::NeedMore;
  }
  if (end > kMaxHttpHeaders) return HttpParse::TooLarge;
  const std::string_view block = rest.substr(0, end + 2);  // every line ends in \r\n
  size_t line_end = block.find("\r\n");
  const std::string_view status_line = block.substr(0, line_end);
  // "HTTP/1.x NNN[ reason]"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." ||
      !std::isdigit(static_cast<unsigned char>(status_line[7])) || status_line[8] != ' ') {
    return HttpParse::Malformed;
  }
  const auto code = parse_decimal(status_line.substr(9, 3));
  if (!code || *code < 100 || *code > 999 || (status_line.size() > 12 && status_line[12] != ' ')) {
    return HttpParse::Malformed;
  }
  head = Head{};
  head.status = static_cast<uint16_t>(*code);
  head.body_at = at + end + 4;
  size_t pos = line_end + 2;
  while (pos < block.size()) {
    line_end = block.find("\r\n", pos);
    const std::string_view line = block.substr(pos, line_end - pos);
    pos = line_end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return HttpParse::Malformed;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      head.content_length = parse_decimal(value);
      if (!head.content_length) return HttpParse::Malformed;
    } else if (iequals(name, "transfer-encoding") && icontains(value, "chunked")) {
      head.chunked = true;
    }
  }
  return HttpParse::Complete;
}

std::optional<uint64_t> parse_hex(std::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

// De-chunks `in` into `out` (at most kMaxHttpBody bytes). Complete at the last chunk or the
// cap; NeedMore when cut short.
HttpParse dechunk(std::string_view in, std::string& out) {
  out.clear();
  size_t pos = 0;
  for (;;) {
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return HttpParse::NeedMore;
    std::string_view size_text = in.substr(pos, eol - pos);
    size_text = trim(size_text.substr(0, size_text.find(';')));
    const auto size = parse_hex(size_text);
    if (!size) return HttpParse::Malformed;
    if (*size == 0) return HttpParse::Complete;  // trailers are not needed
    pos = eol + 2;
    const size_t avail = in.size() - pos;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(*size, avail));
    const size_t room = kMaxHttpBody - out.size();
    out.append(in.substr(pos, std::min(take, room)));
    if (out.size() >= kMaxHttpBody) return HttpParse::Complete;
    if (take < *size) return HttpParse::NeedMore;
    pos += take;
    if (in.size() - pos < 2) return HttpParse::NeedMore;
    if (in.substr(pos, 2) != "\r\n") return HttpParse::Malformed;
    pos += 2;
  }
}

}  // namespace

std::string_view http_parse_name(HttpParse p) {
  switch (p) {
    case HttpParse::NeedMore:
      return "incomplete response";
    case HttpParse::Complete:
      return "complete";
    case HttpParse::Malformed:
      return "malformed HTTP response";
    case HttpParse::TooLarge:
      return "response headers over 16 KiB";
  }
  return "?";
}

HttpParse parse_http_reply(std::string_view in, bool eof, bool want_body, HttpReply& out,
                           std::string& scratch) {
  Head head;
  size_t at = 0;
  for (;;) {
    const HttpParse p = parse_head(in, at, head);
    if (p != HttpParse::Complete) return p;
    // 1xx (but 101) are interim: the real response follows.
    if (head.status >= 100 && head.status < 200 && head.status != 101) {
      at = head.body_at;
      continue;
    }
    break;
  }
  out.status = head.status;
  out.body = {};
  const bool no_body = head.status == 204 || head.status == 304 || head.status < 200;
  if (!want_body || no_body) return HttpParse::Complete;

  const std::string_view body = in.substr(head.body_at);
  if (head.chunked) {
    const HttpParse p = dechunk(body, scratch);
    if (p == HttpParse::Malformed) return p;
    if (p == HttpParse::NeedMore && !eof) return p;
    out.body = scratch;
    return HttpParse::Complete;
  }
  if (head.content_length) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(*head.content_length, kMaxHttpBody));
    if (body.size() < want && !eof) return HttpParse::NeedMore;
    out.body = body.substr(0, want);
    return HttpParse::Complete;
  }
  // No length: the body runs to EOF (Connection: close).
  if (body.size() >= kMaxHttpBody) {
    out.body = body.substr(0, kMaxHttpBody);
    return HttpParse::Complete;
  }
  if (!eof) return HttpParse::NeedMore;
  out.body = body;
  return HttpParse::Complete;
}

}  // namespace steer::control::health
