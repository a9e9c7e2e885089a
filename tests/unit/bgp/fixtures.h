// Recorded BIRD 2.0.12 control-socket transcripts (tests/unit/bgp/fixtures/*.txt, the bytes
// BIRD sent, see fixtures/README.md) and a helper feeding them through ReplyReader in any
// chunking.
#pragma once

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/framing.h"

namespace steer::bgp::test {

inline std::string fixture_dir() {
  const char* root = std::getenv("STEER_SOURCE_ROOT");  // NOLINT(concurrency-mt-unsafe)
  if (root == nullptr)
    throw std::runtime_error("STEER_SOURCE_ROOT is not set (meson test sets it)");
  return std::string(root) + "/tests/unit/bgp/fixtures/";
}

// The bytes of fixtures/<name>.txt.
inline std::string fixture(const std::string& name) {
  std::ifstream in(fixture_dir() + name + ".txt", std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Parsed {
  std::vector<Reply> replies;
  std::vector<std::string> notices;
  bool ok = true;
};

// Feeds `bytes` in chunks of random sizes (1..max_chunk, from `seed`; 0 = all at once).
inline Parsed feed_chunked(const std::string& bytes, uint32_t seed, size_t max_chunk = 16) {
  Parsed out;
  ReplyReader reader;
  std::mt19937 rng(seed);
  size_t i = 0;
  while (i < bytes.size()) {
    const size_t n = seed == 0 ? bytes.size() : 1 + rng() % max_chunk;
    if (!reader.feed(std::string_view(bytes).substr(i, n))) {
      out.ok = false;
      return out;
    }
    i += n;
    while (auto r = reader.next()) out.replies.push_back(std::move(*r));
  }
  out.notices = reader.notices();
  return out;
}

// The one reply in fixtures/<name>.txt (throws if there is not exactly one).
inline Reply fixture_reply(const std::string& name, uint32_t seed = 0) {
  Parsed p = feed_chunked(fixture(name), seed);
  if (!p.ok || p.replies.size() != 1)
    throw std::runtime_error("fixture " + name + " is not one reply");
  return std::move(p.replies[0]);
}

}  // namespace steer::bgp::test
