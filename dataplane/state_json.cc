#include "dataplane/state_json.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace steer::dataplane {

using nlohmann::json;

namespace {

Result<uint64_t> get_uint(const json& v, const std::string& where, uint64_t max) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return fail(fmt::format("{}: expected an integer 0..{}", where, max));
  }
  const uint64_t x = v.get<uint64_t>();
  if (x > max) return fail(fmt::format("{}: {} is larger than {}", where, x, max));
  return x;
}

Result<std::string> get_string(const json& v, const std::string& where) {
  if (!v.is_string()) return fail(fmt::format("{}: expected a string", where));
  return v.get<std::string>();
}

Result<IpAddress> get_address(const json& v, const std::string& where) {
  auto s = get_string(v, where);
  if (!s) return tl::unexpected(s.error());
  auto a = IpAddress::parse(*s);
  if (!a) return fail(fmt::format("{}: '{}' is not an IPv4 or IPv6 address", where, *s));
  return *a;
}

Result<bool> get_bool(const json& v, const std::string& where) {
  if (!v.is_boolean()) return fail(fmt::format("{}: expected true or false", where));
  return v.get<bool>();
}

Result<uint64_t> parse_seed(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    int base = 10;
    std::string_view digits = s;
    if (digits.starts_with("0x") || digits.starts_with("0X")) {
      digits.remove_prefix(2);
      base = 16;
    }
    uint64_t x = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), x, base);
    if (ec == std::errc() && p == digits.data() + digits.size() && !digits.empty()) return x;
  }
  return fail("flow_hash_seed: expected an unsigned 64-bit integer or a \"0x...\" string");
}

Result<void> parse_backend(const json& b, const std::string& where, VipSpec& vip) {
  if (!b.is_object()) return fail(fmt::format("{}: expected an object", where));
  BackendSpec spec;
  BackendState state = BackendState::Up;
  bool have_address = false;
  for (auto it = b.begin(); it != b.end(); ++it) {
    const std::string key = it.key();
    const std::string at = where + "." + key;
    if (key == "address") {
      auto a = get_address(it.value(), at);
      if (!a) return tl::unexpected(a.error());
      spec.address = *a;
      have_address = true;
    } else if (key == "weight") {
      auto w = get_uint(it.value(), at, 65535);
      if (!w) return tl::unexpected(w.error());
      spec.weight = static_cast<uint32_t>(*w);
    } else if (key == "state") {
      auto s = get_string(it.value(), at);
      if (!s) return tl::unexpected(s.error());
      if (*s == "up") {
        state = BackendState::Up;
      } else if (*s == "drain") {
        state = BackendState::Drain;
      } else if (*s == "down") {
        state = BackendState::Down;
      } else {
        return fail(fmt::format("{}: '{}' is not one of up, drain, down", at, *s));
      }
    } else {
      return fail(fmt::format("{}: unknown key", at));
    }
  }
  if (!have_address) return fail(fmt::format("{}: address missing", where));
  if (state == BackendState::Down) return {};
  if (state == BackendState::Drain) spec.weight = 0;
  vip.backends.push_back(spec);
  return {};
}

Result<void> parse_vip(const json& v, const std::string& where, StateSpec& out) {
  if (!v.is_object()) return fail(fmt::format("{}: expected an object", where));
  VipSpec vip;
  bool have_address = false;
  bool have_proto = false;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string key = it.key();
    const std::string at = where + "." + key;
    const json& value = it.value();
    if (key == "address") {
      auto a = get_address(value, at);
      if (!a) return tl::unexpected(a.error());
      vip.address = *a;
      have_address = true;
    } else if (key == "proto") {
      if (value.is_string() && value.get<std::string>() == "tcp") {
        vip.proto = 6;
      } else if (value.is_string() && value.get<std::string>() == "udp") {
        vip.proto = 17;
      } else {
        return fail(fmt::format("{}: expected \"tcp\" or \"udp\"", at));
      }
      have_proto = true;
    } else if (key == "port") {
      auto p = get_uint(value, at, 65535);
      if (!p) return tl::unexpected(p.error());
      vip.port = static_cast<uint16_t>(*p);
    } else if (key == "encap") {
      auto s = get_string(value, at);
      if (!s) return tl::unexpected(s.error());
      if (*s == "ipip") {
        vip.encap = EncapType::Ipip;
      } else if (*s == "gue") {
        vip.encap = EncapType::Gue;
      } else {
        return fail(fmt::format("{}: '{}' is not one of ipip, gue", at, *s));
      }
    } else if (key == "gue_port") {
      auto p = get_uint(value, at, 65535);
      if (!p) return tl::unexpected(p.error());
      if (*p == 0) return fail(fmt::format("{}: port 0 is not usable", at));
      vip.gue_port = static_cast<uint16_t>(*p);
    } else if (key == "table_size") {
      auto t = get_uint(value, at, 0xffffffffu);
      if (!t) return tl::unexpected(t.error());
      vip.table_size = static_cast<uint32_t>(*t);
    } else if (key == "hash") {
      auto s = get_string(value, at);
      if (!s) return tl::unexpected(s.error());
      if (*s == "5-tuple") {
        vip.hash_mode = hashing::FlowHashMode::FiveTuple;
      } else if (*s == "3-tuple") {
        vip.hash_mode = hashing::FlowHashMode::ThreeTuple;
      } else if (*s == "source") {
        vip.hash_mode = hashing::FlowHashMode::SourceOnly;
      } else {
        return fail(fmt::format("{}: '{}' is not one of 5-tuple, 3-tuple, source", at, *s));
      }
    } else if (key == "echo") {
      auto b = get_bool(value, at);
      if (!b) return tl::unexpected(b.error());
      vip.answer_echo = *b;
    } else if (key == "backends") {
      if (!value.is_array()) return fail(fmt::format("{}: expected an array", at));
      for (size_t i = 0; i < value.size(); ++i) {
        auto r = parse_backend(value[i], fmt::format("{}[{}]", at, i), vip);
        if (!r) return r;
      }
    } else {
      return fail(fmt::format("{}: unknown key", at));
    }
  }
  if (!have_address) return fail(fmt::format("{}: address missing", where));
  if (!have_proto) return fail(fmt::format("{}: proto missing", where));
  out.vips.push_back(std::move(vip));
  return {};
}

}  // namespace

Result<StateSpec> parse_state_json(std::string_view document) {
  json doc = json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail("state: not valid JSON");
  if (!doc.is_object()) return fail("state: expected a JSON object");
  StateSpec spec;
  bool have_vips = false;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string key = it.key();
    if (key == "vips") {
      if (!it.value().is_array()) return fail("vips: expected an array");
      for (size_t i = 0; i < it.value().size(); ++i) {
        auto r = parse_vip(it.value()[i], fmt::format("vips[{}]", i), spec);
        if (!r) return tl::unexpected(r.error());
      }
      have_vips = true;
    } else if (key == "flow_hash_seed") {
      auto s = parse_seed(it.value());
      if (!s) return tl::unexpected(s.error());
      spec.flow_hash_seed = *s;
    } else if (key == "generation") {
      // Present in `state` output; ignored so that output can be applied again.
    } else {
      return fail(fmt::format("{}: unknown key", key));
    }
  }
  if (!have_vips) return fail("vips: missing (an empty list withdraws every VIP)");
  return spec;
}

std::string_view encap_name(EncapType type) { return type == EncapType::Gue ? "gue" : "ipip"; }

std::string_view hash_mode_name(hashing::FlowHashMode mode) {
  switch (mode) {
    case hashing::FlowHashMode::ThreeTuple:
      return "3-tuple";
    case hashing::FlowHashMode::SourceOnly:
      return "source";
    case hashing::FlowHashMode::FiveTuple:
      break;
  }
  return "5-tuple";
}

std::string_view proto_name(uint8_t proto) {
  switch (proto) {
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 1:
      return "icmp";
    case 58:
      return "icmpv6";
  }
  return "other";
}

std::string state_to_json(const StateSpec& spec, uint64_t generation) {
  json doc;
  doc["generation"] = generation;
  doc["flow_hash_seed"] = fmt::format("{:#018x}", spec.flow_hash_seed);
  json vips = json::array();
  for (const VipSpec& v : spec.vips) {
    json j;
    j["address"] = v.address.to_string();
    j["proto"] = proto_name(v.proto);
    j["port"] = v.port;
    j["encap"] = encap_name(v.encap);
    j["gue_port"] = v.gue_port;
    j["table_size"] = v.table_size;
    j["hash"] = hash_mode_name(v.hash_mode);
    j["echo"] = v.answer_echo;
    json backends = json::array();
    for (const BackendSpec& b : v.backends) {
      json jb;
      jb["address"] = b.address.to_string();
      jb["weight"] = b.weight;
      jb["state"] = b.weight == 0 ? "drain" : "up";
      backends.push_back(std::move(jb));
    }
    j["backends"] = std::move(backends);
    vips.push_back(std::move(j));
  }
  doc["vips"] = std::move(vips);
  return doc.dump();
}

}  // namespace steer::dataplane
