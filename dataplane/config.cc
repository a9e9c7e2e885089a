#include "dataplane/config.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/file.h"

namespace steer::dataplane {

namespace {

std::string where(const toml::source_region& r, std::string_view source) {
  return fmt::format("{}:{}:{}", source, r.begin.line, r.begin.column);
}

class Reader {
 public:
  Reader(const toml::table& t, std::string_view source, std::string section)
      : t_(t), source_(source), section_(std::move(section)) {}

  // Every key present must be one of `known`.
  Result<void> only(std::initializer_list<std::string_view> known) const {
    for (auto&& [k, v] : t_) {
      bool ok = false;
      for (auto n : known) ok = ok || k.str() == n;
      if (!ok) {
        return fail(
            fmt::format("{}: unknown key '{}{}'", where(v.source(), source_), prefix(), k.str()));
      }
    }
    return {};
  }

  Result<void> string(std::string_view key, std::string& out) const {
    const toml::node* n = t_.get(key);
    if (!n) return {};
    if (!n->is_string()) return type_error(*n, key, "a string");
    out = **n->as_string();
    return {};
  }

  Result<void> uint(std::string_view key, uint64_t max, auto& out) const {
    const toml::node* n = t_.get(key);
    if (!n) return {};
    if (!n->is_integer() || **n->as_integer() < 0 ||
        static_cast<uint64_t>(**n->as_integer()) > max) {
      return type_error(*n, key, fmt::format("an integer 0..{}", max));
    }
    out = static_cast<std::remove_reference_t<decltype(out)>>(**n->as_integer());
    return {};
  }

  Result<void> address(std::string_view key, std::optional<IpAddress>& out) const {
    const toml::node* n = t_.get(key);
    if (!n) return {};
    if (!n->is_string()) return type_error(*n, key, "an IP address string");
    auto a = IpAddress::parse(**n->as_string());
    if (!a) return type_error(*n, key, "an IPv4 or IPv6 address");
    out = *a;
    return {};
  }

  Result<void> mac(std::string_view key, std::optional<std::array<uint8_t, 6>>& out) const {
    const toml::node* n = t_.get(key);
    if (!n) return {};
    if (!n->is_string()) return type_error(*n, key, "a MAC address string");
    auto m = parse_mac(**n->as_string());
    if (!m) return type_error(*n, key, "a MAC address like 02:00:00:00:00:01");
    out = *m;
    return {};
  }

  Result<void> mode(std::string_view key, uint32_t& out) const {
    const toml::node* n = t_.get(key);
    if (!n) return {};
    if (!n->is_string()) return type_error(*n, key, "an octal mode string like \"0660\"");
    const std::string s = **n->as_string();
    char* end = nullptr;
    const unsigned long m = std::strtoul(s.c_str(), &end, 8);
    if (s.empty() || *end != '\0' || m > 0777) {
      return type_error(*n, key, "an octal mode string like \"0660\"");
    }
    out = static_cast<uint32_t>(m);
    return {};
  }

  tl::unexpected<Error> type_error(const toml::node& n, std::string_view key,
                                   std::string_view expected) const {
    return fail(
        fmt::format("{}: '{}{}' must be {}", where(n.source(), source_), prefix(), key, expected));
  }

 private:
  std::string prefix() const { return section_.empty() ? "" : section_ + "."; }
  const toml::table& t_;
  std::string_view source_;
  std::string section_;
};

#define STEER_TRY(expr)                                           \
  do {                                                            \
    if (auto r_ = (expr); !r_) return tl::unexpected(r_.error()); \
  } while (0)

const toml::table* subtable(const toml::table& root, std::string_view key) {
  const toml::node* n = root.get(key);
  return n ? n->as_table() : nullptr;
}

}  // namespace

std::string PortConfig::device_name() const {
  if (!vdev.empty()) return vdev.substr(0, vdev.find(','));
  if (!pci.empty()) return pci;
  return name;
}

std::string PortConfig::af_xdp_iface() const {
  if (!vdev.starts_with("net_af_xdp")) return {};
  const size_t at = vdev.find("iface=");
  if (at == std::string::npos) return {};
  const size_t start = at + 6;
  return vdev.substr(start, vdev.find(',', start) - start);
}

Result<std::array<uint8_t, 6>> parse_mac(std::string_view text) {
  // Six groups of one or two hex digits separated by ':'.
  std::array<uint8_t, 6> mac{};
  const char* p = text.data();
  const char* const end = text.data() + text.size();
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i > 0) {
      if (p == end || *p != ':') return fail(fmt::format("'{}' is not a MAC address", text));
      ++p;
    }
    unsigned v = 0;
    const auto [next, ec] = std::from_chars(p, std::min(end, p + 2), v, 16);
    if (ec != std::errc() || next == p) {
      return fail(fmt::format("'{}' is not a MAC address", text));
    }
    mac[i] = static_cast<uint8_t>(v);
    p = next;
  }
  if (p != end) return fail(fmt::format("'{}' is not a MAC address", text));
  return mac;
}

std::string format_mac(const std::array<uint8_t, 6>& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

Result<DataplaneConfig> parse_dataplane_config(std::string_view toml_text,
                                               std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return fail(fmt::format("{}: {}", where(e.source(), source), e.description()));
  }
  DataplaneConfig c;
  Reader top(root, source, "");
  STEER_TRY(top.only({"api", "dataplane", "port", "egress"}));

  if (const toml::table* t = subtable(root, "api")) {
    Reader r(*t, source, "api");
    STEER_TRY(r.only({"socket", "mode", "group"}));
    STEER_TRY(r.string("socket", c.api_socket));
    STEER_TRY(r.mode("mode", c.api_socket_mode));
    STEER_TRY(r.string("group", c.api_socket_group));
  }
  if (const toml::table* t = subtable(root, "dataplane")) {
    Reader r(*t, source, "dataplane");
    STEER_TRY(
        r.only({"flow_table_size", "flow_timeout_tcp", "flow_timeout_udp", "flow_timeout_other",
                "mbufs", "idle_sleep_us", "stuck_ms", "bpf_dir", "state_file"}));
    STEER_TRY(r.uint("flow_table_size", 1u << 28, c.flow_table_size));
    STEER_TRY(r.uint("flow_timeout_tcp", 86400, c.flow_timeout_tcp_s));
    STEER_TRY(r.uint("flow_timeout_udp", 86400, c.flow_timeout_udp_s));
    STEER_TRY(r.uint("flow_timeout_other", 86400, c.flow_timeout_other_s));
    STEER_TRY(r.uint("mbufs", 1u << 24, c.mbufs));
    STEER_TRY(r.uint("idle_sleep_us", 1000000, c.idle_sleep_us));
    STEER_TRY(r.uint("stuck_ms", 600000, c.stuck_ms));
    STEER_TRY(r.string("bpf_dir", c.bpf_dir));
    STEER_TRY(r.string("state_file", c.state_file));
    const uint32_t n = c.flow_table_size;
    if (n < 64 || (n & (n - 1)) != 0) {
      return fail(fmt::format("{}: 'dataplane.flow_table_size' must be a power of two >= 64",
                              where(t->get("flow_table_size")->source(), source)));
    }
  }
  if (const toml::node* ports = root.get("port")) {
    const toml::array* arr = ports->as_array();
    if (!arr)
      return fail(fmt::format("{}: 'port' must be an array of tables ([[port]])",
                              where(ports->source(), source)));
    for (const toml::node& pn : *arr) {
      const toml::table* pt = pn.as_table();
      if (!pt)
        return fail(fmt::format("{}: each [[port]] must be a table", where(pn.source(), source)));
      Reader r(*pt, source, "port");
      STEER_TRY(
          r.only({"vdev", "pci", "name", "queues", "rx_descriptors", "tx_descriptors", "mtu"}));
      PortConfig p;
      STEER_TRY(r.string("vdev", p.vdev));
      STEER_TRY(r.string("pci", p.pci));
      STEER_TRY(r.string("name", p.name));
      STEER_TRY(r.uint("queues", 1024, p.queues));
      STEER_TRY(r.uint("rx_descriptors", 32768, p.rx_descriptors));
      STEER_TRY(r.uint("tx_descriptors", 32768, p.tx_descriptors));
      STEER_TRY(r.uint("mtu", 16000, p.mtu));
      if (p.mtu != 0 && p.mtu < 1280) {
        return fail(fmt::format("{}: [[port]] mtu {} is below 1280 (IPv6's minimum)",
                                where(pt->source(), source), p.mtu));
      }
      const int named = !p.vdev.empty() + !p.pci.empty() + !p.name.empty();
      if (named != 1) {
        return fail(fmt::format("{}: a [[port]] needs exactly one of vdev, pci, name",
                                where(pt->source(), source)));
      }
      c.ports.push_back(std::move(p));
    }
  }
  if (c.ports.empty()) return fail(fmt::format("{}: no [[port]] configured", source));
  if (const toml::table* t = subtable(root, "egress")) {
    Reader r(*t, source, "egress");
    STEER_TRY(r.only({"mtu", "gateway", "gateway_mac", "source_mac", "vlan", "source_v4",
                      "source_v4_hash_bits", "source_v6", "source_v6_hash_bits"}));
    EgressConfig& e = c.egress;
    STEER_TRY(r.uint("mtu", 65535, e.mtu));
    STEER_TRY(r.address("gateway", e.gateway));
    STEER_TRY(r.mac("gateway_mac", e.gateway_mac));
    STEER_TRY(r.mac("source_mac", e.source_mac));
    STEER_TRY(r.uint("vlan", 4095, e.vlan));
    STEER_TRY(r.address("source_v4", e.source_v4));
    STEER_TRY(r.uint("source_v4_hash_bits", 16, e.source_v4_hash_bits));
    STEER_TRY(r.address("source_v6", e.source_v6));
    STEER_TRY(r.uint("source_v6_hash_bits", 64, e.source_v6_hash_bits));
    if (e.source_v4 && !e.source_v4->is_v4()) {
      return r.type_error(*t->get("source_v4"), "source_v4", "an IPv4 address");
    }
    if (e.source_v6 && e.source_v6->is_v4()) {
      return r.type_error(*t->get("source_v6"), "source_v6", "an IPv6 address");
    }
    if (e.mtu < 576) return r.type_error(*t->get("mtu"), "mtu", "at least 576");
  }
  if (!c.egress.gateway && !c.egress.gateway_mac) {
    return fail(
        fmt::format("{}: [egress] needs gateway (MAC from the neighbour table) or "
                    "gateway_mac",
                    source));
  }
  return c;
}

Result<DataplaneConfig> load_dataplane_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  return parse_dataplane_config(*text, path);
}

}  // namespace steer::dataplane
