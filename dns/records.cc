#include "dns/records.h"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace steer::dns {

namespace {

void put_name(std::vector<uint8_t>& v, const Name& n) {
  v.insert(v.end(), n.bytes.begin(), n.bytes.begin() + n.size);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The next whitespace-separated word of `s`.
std::string_view word(std::string_view& s) {
  s = trim(s);
  size_t end = 0;
  while (end < s.size() && s[end] != ' ' && s[end] != '\t') ++end;
  std::string_view w = s.substr(0, end);
  s.remove_prefix(end);
  return w;
}

template <class T>
bool number(std::string_view w, T& out) {
  auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), out);
  return !w.empty() && ec == std::errc() && p == w.data() + w.size();
}

// Character strings: "quoted strings" (with \" and \\ and \DDD escapes) or bare words, each
// at most 255 bytes (RFC 1035 3.3).
Result<std::vector<std::string>> character_strings(std::string_view s) {
  std::vector<std::string> out;
  s = trim(s);
  while (!s.empty()) {
    std::string cur;
    if (s.front() == '"') {
      size_t i = 1;
      bool closed = false;
      for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        if (c == '\\' && i + 1 < s.size()) {
          if (i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) != 0) {
            int v = 0;
            if (!number(s.substr(i + 1, 3), v) || v > 255) return fail("bad \\DDD escape");
            cur.push_back(static_cast<char>(v));
            i += 3;
          } else {
            cur.push_back(s[++i]);
          }
          continue;
        }
        cur.push_back(c);
      }
      if (!closed) return fail("unterminated quoted string");
      s.remove_prefix(i);
    } else {
      cur = std::string(word(s));
    }
    if (cur.size() > 255) return fail("a character string is longer than 255 bytes");
    out.push_back(std::move(cur));
    s = trim(s);
  }
  if (out.empty()) return fail("no text");
  return out;
}

// TXT text: quoted, a list of character strings ("a" "b"); bare, one string, spaces
// included, cut every 255 bytes: "v=spf1 -all" must stay one string, as SPF and DKIM join a
// record's strings without spaces (RFC 7208 3.3).
Result<std::vector<std::string>> txt_strings(std::string_view s) {
  if (s.starts_with('"')) return character_strings(s);
  if (s.empty()) return fail("no text");
  std::vector<std::string> out;
  for (size_t at = 0; at < s.size(); at += 255) out.emplace_back(s.substr(at, 255));
  return out;
}

}  // namespace

std::vector<uint8_t> soa_rdata(const Soa& soa) {
  std::vector<uint8_t> v;
  put_name(v, soa.mname);
  put_name(v, soa.rname);
  append32(v, soa.serial);
  append32(v, soa.refresh);
  append32(v, soa.retry);
  append32(v, soa.expire);
  append32(v, soa.minimum);
  return v;
}

bool name_in_origin(std::string_view name, const Name& origin, Name& out) {
  if (name == "@") {
    out = origin;
    return true;
  }
  if (name.ends_with('.')) return parse_name_text(name, out);
  Name rel;
  if (!parse_name_text(name, rel)) return false;
  const size_t rel_len = rel.size - 1;  // without its root byte
  if (rel_len + origin.size > kMaxName) return false;
  out = rel;
  std::copy(origin.bytes.begin(), origin.bytes.begin() + origin.size, out.bytes.begin() + rel_len);
  out.size = static_cast<uint8_t>(rel_len + origin.size);
  return true;
}

Result<std::vector<uint8_t>> rdata_from_text(uint16_t t, std::string_view text,
                                             const Name& origin) {
  std::vector<uint8_t> v;
  std::string_view rest = trim(text);
  auto target = [&](std::string_view w) -> Result<Name> {
    Name n;
    if (!name_in_origin(w, origin, n)) return fail(fmt::format("'{}' is not a domain name", w));
    return n;
  };
  switch (t) {
    case type::kA:
    case type::kAaaa: {
      auto a = IpAddress::parse(rest);
      if (!a || a->is_v4() != (t == type::kA)) {
        return fail(
            fmt::format("'{}' is not an {} address", rest, t == type::kA ? "IPv4" : "IPv6"));
      }
      if (t == type::kA) {
        v.assign(a->v4_data(), a->v4_data() + 4);
      } else {
        v.assign(a->data(), a->data() + 16);
      }
      return v;
    }
    case type::kNs:
    case type::kCname:
    case type::kPtr: {
      auto n = target(word(rest));
      if (!n) return tl::unexpected(n.error());
      if (!trim(rest).empty()) return fail("one domain name expected");
      put_name(v, *n);
      return v;
    }
    case type::kMx: {
      uint16_t pref = 0;
      const std::string_view p = word(rest);
      if (!number(p, pref)) return fail("MX: a preference 0..65535, then a name");
      auto n = target(word(rest));
      if (!n) return tl::unexpected(n.error());
      if (!trim(rest).empty()) return fail("MX: a preference and one name expected");
      append16(v, pref);
      put_name(v, *n);
      return v;
    }
    case type::kSrv: {
      uint16_t prio = 0, weight = 0, port = 0;
      if (!number(word(rest), prio) || !number(word(rest), weight) || !number(word(rest), port)) {
        return fail("SRV: priority, weight and port (0..65535), then a target name");
      }
      auto n = target(word(rest));
      if (!n) return tl::unexpected(n.error());
      if (!trim(rest).empty()) return fail("SRV: priority, weight, port and one target name");
      append16(v, prio);
      append16(v, weight);
      append16(v, port);
      put_name(v, *n);
      return v;
    }
    case type::kTxt: {
      auto strings = txt_strings(rest);
      if (!strings) return tl::unexpected(strings.error());
      for (const std::string& s : *strings) {
        v.push_back(static_cast<uint8_t>(s.size()));
        v.insert(v.end(), s.begin(), s.end());
      }
      if (v.size() > 0xffff) return fail("TXT: longer than 65535 bytes");
      return v;
    }
    case type::kCaa: {
      uint8_t flags = 0;
      if (!number(word(rest), flags)) return fail("CAA: flags 0..255, a tag, then a value");
      const std::string_view tag = word(rest);
      if (tag.empty() || tag.size() > 15) return fail("CAA: a tag of 1..15 letters or digits");
      for (char c : tag) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0) return fail("CAA: a bad tag");
      }
      auto value = character_strings(rest);
      if (!value || value->size() != 1) return fail("CAA: one value (quoted)");
      v.push_back(flags);
      v.push_back(static_cast<uint8_t>(tag.size()));
      v.insert(v.end(), tag.begin(), tag.end());
      v.insert(v.end(), (*value)[0].begin(), (*value)[0].end());
      return v;
    }
  }
  return fail(fmt::format("type {} is not supported in a zone", type_name(t)));
}

}  // namespace steer::dns
