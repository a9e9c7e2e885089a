#include "testing/support/frame_corpus.h"

#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace steer::testing {
namespace {

using dataplane::DropReason;
using dataplane::Verdict;
using nlohmann::json;

bool verdict_from(const std::string& s, Verdict& v) {
  static constexpr std::pair<const char*, Verdict> kVerdicts[] = {
      {"forward", Verdict::Forward},
      {"reply", Verdict::Reply},
      {"pass", Verdict::Pass},
      {"drop", Verdict::Drop},
  };
  for (const auto& [name, verdict] : kVerdicts) {
    if (s == name) {
      v = verdict;
      return true;
    }
  }
  return false;
}

bool reason_from(const std::string& s, DropReason& r) {
  for (size_t i = 0; i < dataplane::kDropReasonCount; ++i) {
    if (dataplane::kDropReasonNames[i] == s) {
      r = static_cast<DropReason>(i);
      return true;
    }
  }
  return false;
}

bool hex_to_bytes(const std::string& hex, Bytes& out) {
  if (hex.size() % 2 != 0) return false;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out.clear();
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(uint8_t(hi << 4 | lo));
  }
  return true;
}

Result<CorpusFrame> entry_from(const json& e, size_t index) {
  const std::string where = fmt::format("entry {}", index);
  if (!e.is_object()) return fail(where + ": not an object");
  for (const char* key : {"name", "description", "rfc", "verdict", "hex"}) {
    if (!e.contains(key) || !e[key].is_string())
      return fail(fmt::format("{}: no string field '{}'", where, key));
  }
  CorpusFrame f;
  f.name = e["name"].get<std::string>();
  const std::string named = fmt::format("{} ({})", where, f.name);
  f.description = e["description"].get<std::string>();
  f.rfc = e["rfc"].get<std::string>();
  if (!verdict_from(e["verdict"].get<std::string>(), f.verdict))
    return fail(named + ": unknown verdict " + e["verdict"].dump());
  const bool has_reason = e.contains("reason") && !e["reason"].is_null();
  if (has_reason != (f.verdict == Verdict::Drop))
    return fail(named + ": a drop reason is required for a drop, and only there");
  if (has_reason) {
    if (!e["reason"].is_string() || !reason_from(e["reason"].get<std::string>(), f.reason))
      return fail(named + ": unknown drop reason " + e["reason"].dump());
  }
  if (!hex_to_bytes(e["hex"].get<std::string>(), f.bytes))
    return fail(named + ": 'hex' is not lower-case hex of whole bytes");
  return f;
}

}  // namespace

std::string frame_corpus_path(const std::string& source_root) {
  return source_root + "/tests/corpus/frames.json";
}

Result<std::vector<CorpusFrame>> load_frame_corpus(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("cannot read " + path);
  const json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(path + ": not valid JSON");
  if (!doc.is_object() || !doc.contains("frames") || !doc["frames"].is_array())
    return fail(path + ": no 'frames' array");
  std::vector<CorpusFrame> frames;
  std::set<std::string> names;
  for (size_t i = 0; i < doc["frames"].size(); ++i) {
    auto f = entry_from(doc["frames"][i], i);
    if (!f) return fail(path + ": " + f.error().message);
    if (!names.insert(f->name).second) return fail(path + ": duplicate name " + f->name);
    frames.push_back(std::move(*f));
  }
  return frames;
}

}  // namespace steer::testing
