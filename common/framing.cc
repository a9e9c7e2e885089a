#include "common/framing.h"

#include <fmt/format.h>

namespace steer {

std::string Reply::text_of(int code) const {
  std::string out;
  bool first = true;
  for (const ReplyLine& l : lines) {
    if (l.code != code) continue;
    if (!first) out.push_back('\n');
    out += l.text;
    first = false;
  }
  return out;
}

std::string format_reply_line(int code, std::string_view text, bool last) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t nl = text.find('\n', start);
    const bool final_piece = nl == std::string_view::npos;
    const std::string_view piece =
        text.substr(start, final_piece ? text.size() - start : nl - start);
    out += fmt::format("{:04d}{}", code, (final_piece && last) ? ' ' : '-');
    out.append(piece);
    out.push_back('\n');
    if (final_piece) break;
    start = nl + 1;
  }
  return out;
}

std::string reply_json(std::string_view document, std::string_view text) {
  return ReplyWriter().json(document).finish(reply::kOk, text);
}

ReplyWriter& ReplyWriter::line(int code, std::string_view text) {
  out_ += format_reply_line(code, text, false);
  return *this;
}

ReplyWriter& ReplyWriter::json(std::string_view document) { return line(reply::kJson, document); }

std::string ReplyWriter::finish(int code, std::string_view text) {
  out_ += format_reply_line(code, text, true);
  return std::move(out_);
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<void> ReplyReader::feed(std::string_view bytes) {
  buffer_.append(bytes);
  size_t start = 0;
  while (true) {
    const size_t nl = buffer_.find('\n', scanned_);
    if (nl == std::string::npos) {
      scanned_ = buffer_.size();
      break;
    }
    std::string_view line(buffer_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = nl + 1;
    scanned_ = start;
    if (!line.empty() && line[0] == '+') {
      notices_.emplace_back(line.substr(1));
      continue;
    }
    if (!line.empty() && line[0] == ' ') {
      if (last_code_ < 0) return fail("reply continuation line before any coded line");
      current_.lines.push_back(ReplyLine{last_code_, false, std::string(line.substr(1))});
      continue;
    }
    if (line.size() < 5 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
        !is_digit(line[3]) || (line[4] != '-' && line[4] != ' ')) {
      return fail(fmt::format("malformed reply line: '{}'", line.substr(0, 80)));
    }
    const int code =
        (line[0] - '0') * 1000 + (line[1] - '0') * 100 + (line[2] - '0') * 10 + (line[3] - '0');
    const bool last = line[4] == ' ';
    current_.lines.push_back(ReplyLine{code, last, std::string(line.substr(5))});
    last_code_ = code;
    if (last) {
      complete_.push_back(std::move(current_));
      current_ = Reply{};
      last_code_ = -1;
    }
  }
  buffer_.erase(0, start);
  scanned_ -= start;
  if (buffer_.size() > kMaxReplyLineBytes) return fail("reply line too long");
  return {};
}

std::optional<Reply> ReplyReader::next() {
  if (next_complete_ >= complete_.size()) return std::nullopt;
  Reply r = std::move(complete_[next_complete_++]);
  if (next_complete_ == complete_.size()) {
    complete_.clear();
    next_complete_ = 0;
  }
  return r;
}

Result<void> RequestReader::feed(std::string_view bytes) {
  if (start_ > 0 && start_ == buffer_.size()) {
    buffer_.clear();
    scanned_ = start_ = 0;
  }
  buffer_.append(bytes);
  const size_t nl = buffer_.find('\n', scanned_);
  const size_t pending = (nl == std::string::npos ? buffer_.size() : nl) - start_;
  if (pending > kMaxRequestBytes) {
    return fail(fmt::format("request longer than {} bytes", kMaxRequestBytes));
  }
  return {};
}

std::optional<std::string> RequestReader::next() {
  const size_t nl = buffer_.find('\n', std::max(scanned_, start_));
  if (nl == std::string::npos) {
    scanned_ = buffer_.size();
    return std::nullopt;
  }
  size_t end = nl;
  if (end > start_ && buffer_[end - 1] == '\r') --end;
  std::string line = buffer_.substr(start_, end - start_);
  start_ = scanned_ = nl + 1;
  if (start_ > (1u << 16) && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);
    scanned_ -= start_;
    start_ = 0;
  }
  return line;
}

Request split_request(std::string_view line) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string_view::npos) return {};
  line.remove_prefix(i);
  const size_t end = line.find_first_of(" \t");
  if (end == std::string_view::npos) return Request{line, {}};
  std::string_view rest = line.substr(end);
  const size_t r = rest.find_first_not_of(" \t");
  rest = r == std::string_view::npos ? std::string_view() : rest.substr(r);
  return Request{line.substr(0, end), rest};
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    i = text.find_first_not_of(" \t", i);
    if (i == std::string_view::npos) break;
    size_t end = text.find_first_of(" \t", i);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(i, end - i));
    i = end;
  }
  return words;
}

}  // namespace steer
