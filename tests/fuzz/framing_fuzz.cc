// libFuzzer target for the socket protocol's parsers (common/framing.h): the request splitter
// steerd and steer-dataplane run on every byte a client sends, and the reply reader steerctl
// runs on every byte a daemon (or BIRD) sends. Arbitrary bytes, in arbitrary chunks, must never
// crash, hang or break the invariants: a request line never contains '\n', a reply ends with
// its one last line, and error replies are recognised by code.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte chooses the chunk size, so split points vary.
  const size_t chunk = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  steer::RequestReader requests;
  steer::ReplyReader replies;
  bool replies_ok = true;
  for (size_t i = 0; i < input.size(); i += chunk) {
    const std::string_view piece = input.substr(i, chunk);
    if (!requests.feed(piece)) break;
    while (auto line = requests.next()) {
      if (line->find('\n') != std::string::npos) std::abort();
      const steer::Request r = steer::split_request(*line);
      for (std::string_view w : steer::split_words(r.rest)) {
        if (w.empty() || w.find(' ') != std::string_view::npos) std::abort();
      }
    }
    if (replies_ok && !replies.feed(piece)) replies_ok = false;
    while (replies_ok) {
      auto reply = replies.next();
      if (!reply) break;
      if (reply->lines.empty() || !reply->lines.back().last) std::abort();
      for (size_t k = 0; k + 1 < reply->lines.size(); ++k) {
        if (reply->lines[k].last) std::abort();
      }
      (void)reply->text_of(steer::reply::kJson);
      (void)reply->ok();
    }
  }
  // Formatting then reading back gives the same text.
  const std::string line = steer::format_reply_line(1000, input.substr(0, 200), true);
  steer::ReplyReader again;
  if (!again.feed(line)) std::abort();
  return 0;
}
