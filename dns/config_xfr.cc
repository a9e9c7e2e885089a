// [[dns.tsig]] keys, and each zone's `transfer` (secondaries allowed to transfer it) and
// `notify` (servers told of a new serial) lists, checked against the keys.
#include <map>

#include "dns/config_internal.h"

namespace steer::dns::parse {

namespace {

// Standard base64 (RFC 4648 4), padding required; whitespace is not allowed. False when
// malformed.
bool base64_decode(std::string_view text, std::vector<uint8_t>& out) {
  out.clear();
  if (text.empty() || text.size() % 4 != 0) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad != 0) return false;  // data after padding
      v[k] = value(c);
      if (v[k] < 0) return false;
    }
    const uint32_t word = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(static_cast<uint8_t>(word >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(word >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(word));
  }
  return true;
}

// `key = "NAME"` of a transfer or notify entry: one of the [[dns.tsig]] keys.
bool key_ref(const Section& s, const DnsConfig& d, bool keys_complete, Name& out) {
  std::string text;
  if (!s.string("key", text)) return s.get("key") == nullptr;
  const toml::node& n = *s.get("key");
  Name name;
  if (!parse_name_text(text, name)) {
    s.error(n, fmt::format("'{}' must be a key name (got \"{}\")", s.name("key"), printable(text)),
            "the name of a [[dns.tsig]] key");
    return false;
  }
  for (const TsigKeyConfig& k : d.tsig) {
    if (k.name == name) {
      out = name;
      return true;
    }
  }
  if (!keys_complete) return false;  // a key that could not be read may be the one
  std::vector<std::string> names;
  for (const TsigKeyConfig& k : d.tsig) names.push_back(k.name.text());
  s.error(n, fmt::format("unknown TSIG key '{}' in '{}'", printable(text), s.name("key")),
          unknown_hint(name.text(), views(names), "keys",
                       "define it as a [[dns.tsig]] with a name, an algorithm and a secret"));
  return false;
}

void parse_transfer(const toml::table& t, const DnsConfig& d, bool keys_complete, ZoneConfig& z,
                    std::map<std::string, const toml::node*>& seen, Sink& sink) {
  Section s(t, "dns.zone.transfer", sink);
  s.only({"from", "key"});
  s.missing("from", "a 'transfer' entry needs 'from', the secondary's address or prefix",
            "from = \"192.0.2.60\" or from = \"2001:db8:60::/64\"");
  TransferFrom f;
  bool ok = true;
  std::string text;
  if (s.string("from", text)) {
    std::optional<IpPrefix> p = IpPrefix::parse(text);
    if (!p) {
      if (auto a = IpAddress::parse(text)) p = IpPrefix::host(*a);
    }
    if (!p) {
      s.error(*s.get("from"),
              fmt::format("'dns.zone.transfer.from' must be an address or a prefix with its host "
                          "bits zero (got \"{}\")",
                          printable(text)),
              "for example \"192.0.2.60\", \"192.0.2.0/24\" or \"2001:db8:60::/64\"");
      ok = false;
    } else {
      f.from = *p;
      if (auto [it, fresh] = seen.emplace(p->to_string(), s.get("from")); !fresh) {
        s.error(*s.get("from"), fmt::format("{} appears twice in the zone's 'transfer'", *p),
                fmt::format("first at {}", line_of(*it->second)));
        ok = false;
      }
    }
  } else {
    ok = false;
  }
  ok = key_ref(s, d, keys_complete, f.key) && ok;
  if (ok) z.transfer.push_back(f);
}

void parse_notify(const toml::table& t, const DnsConfig& d, bool keys_complete, ZoneConfig& z,
                  std::map<std::string, const toml::node*>& seen, Sink& sink) {
  Section s(t, "dns.zone.notify", sink);
  s.only({"to", "key"});
  s.missing("to", "a 'notify' entry needs 'to', the server's \"ADDR:PORT\"",
            "to = \"192.0.2.60:53\" or to = \"[2001:db8::60]:53\"");
  NotifyTarget n;
  bool ok = true;
  std::string text;
  if (s.string("to", text)) {
    ListenAddress l;
    if (!parse_listen(text, l)) {
      s.error(*s.get("to"),
              fmt::format("'dns.zone.notify.to' must be \"ADDR:PORT\" or \"[V6ADDR]:PORT\" with a "
                          "port 1..65535 (got \"{}\")",
                          printable(text)),
              "for example \"192.0.2.60:53\"");
      ok = false;
    } else {
      n.address = l.address;
      n.port = l.port;
      if (auto [it, fresh] = seen.emplace(text, s.get("to")); !fresh) {
        s.error(*s.get("to"),
                fmt::format("\"{}\" appears twice in the zone's 'notify'", printable(text)),
                fmt::format("first at {}", line_of(*it->second)));
        ok = false;
      }
    }
  } else {
    ok = false;
  }
  ok = key_ref(s, d, keys_complete, n.key) && ok;
  if (ok) z.notify.push_back(n);
}

// s[key] as an array of tables, each handed to `each`.
template <class Each>
void entries(const Section& s, std::string_view key, std::string_view example, Each each) {
  const toml::node* n = s.get(key);
  if (n == nullptr) return;
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    s.type_error(*n, key, "an array of tables", example);
    return;
  }
  for (const toml::node& e : *a) {
    if (!e.is_table()) {
      s.error(e, fmt::format("'{}' entries must be tables", s.name(key)), example);
      continue;
    }
    each(*e.as_table());
  }
}

}  // namespace

bool parse_tsig(const toml::table& t, DnsConfig& d, std::map<std::string, const toml::node*>& seen,
                Sink& sink) {
  Section s(t, "dns.tsig", sink);
  s.only({"name", "algorithm", "secret"});
  s.missing("name", "a [[dns.tsig]] needs a 'name'", "name = \"steer-xfr.\"");
  s.missing("secret", "a [[dns.tsig]] needs a 'secret', the shared key in base64",
            "for example the output of `keymgr -t steer-xfr hmac-sha256`, or "
            "`openssl rand -base64 32`");
  TsigKeyConfig k;
  bool ok = true;
  std::string text;
  if (s.string("name", text)) {
    const toml::node& n = *s.get("name");
    if (!parse_name_text(text, k.name)) {
      s.error(n, fmt::format("'dns.tsig.name' must be a domain name (got \"{}\")", printable(text)),
              "for example name = \"steer-xfr.\"; secondaries configure the same name");
      return false;
    }
    if (auto [it, fresh] = seen.emplace(wire_key(k.name), &n); !fresh) {
      s.error(n, fmt::format("duplicate TSIG key '{}'", k.name.text()),
              fmt::format("first defined at {}", line_of(*it->second)));
      return true;  // the name is known: references to it are not reported
    }
  } else {
    return false;
  }
  if (s.get("algorithm") != nullptr) {
    ok = s.one_of("algorithm", {"hmac-sha256", "hmac-sha384", "hmac-sha512"}, k.algorithm) && ok;
  }
  if (s.string("secret", text)) {
    if (!base64_decode(text, k.secret) || k.secret.empty()) {
      s.error(*s.get("secret"), "'dns.tsig.secret' must be base64 (RFC 4648, with its padding)",
              "for example `openssl rand -base64 32`");
      ok = false;
    } else if (k.secret.size() < 16) {
      s.error(*s.get("secret"),
              fmt::format("'dns.tsig.secret' is {} bytes: at least 16 are needed", k.secret.size()),
              "RFC 8945 6: a key as long as the hash's output (32 bytes for hmac-sha256)");
      ok = false;
    }
  } else {
    ok = false;
  }
  d.tsig.push_back(std::move(k));
  if (!ok) d.tsig.back().secret.clear();
  return true;
}

void parse_zone_transfers(const toml::table& t, const DnsConfig& d, bool keys_complete,
                          ZoneConfig& z, Sink& sink) {
  Section s(t, "dns.zone", sink);
  std::map<std::string, const toml::node*> seen_from, seen_to;
  entries(s, "transfer", "transfer = [{ from = \"192.0.2.60\", key = \"steer-xfr.\" }]",
          [&](const toml::table& e) { parse_transfer(e, d, keys_complete, z, seen_from, sink); });
  entries(s, "notify", "notify = [{ to = \"192.0.2.60:53\", key = \"steer-xfr.\" }]",
          [&](const toml::table& e) { parse_notify(e, d, keys_complete, z, seen_to, sink); });
}

}  // namespace steer::dns::parse
