// The desired-state document: its writer and its strict reader (state_doc.h). Stats and
// status are in state_doc_stats.cc.
#include "common/state_doc.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace steer::doc {

using nlohmann::json;

namespace {

// The reader walks each object's keys in the order nlohmann keeps them (sorted), so that
// with several mistakes the first one reported does not depend on how the writer ordered
// its keys.

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

// `text` when it is one of `names`, else "<where>: '<text>' is not one of a, b, c".
Result<std::string> get_one_of(const json& v, const std::string& where,
                               std::initializer_list<std::string_view> names) {
  auto s = get_string(v, where);
  if (!s) return s;
  for (std::string_view n : names) {
    if (*s == n) return s;
  }
  return fail(fmt::format("{}: '{}' is not one of {}", where, *s, fmt::join(names, ", ")));
}

Result<uint64_t> parse_seed(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
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

Result<Backend> parse_backend(const json& b, const std::string& where) {
  if (!b.is_object()) return fail(fmt::format("{}: expected an object", where));
  Backend out;
  bool have_address = false;
  for (auto it = b.begin(); it != b.end(); ++it) {
    const std::string& key = it.key();
    const std::string at = where + "." + key;
    if (key == "address") {
      auto a = get_address(it.value(), at);
      if (!a) return tl::unexpected(a.error());
      out.address = *a;
      have_address = true;
    } else if (key == "weight") {
      auto w = get_uint(it.value(), at, 65535);
      if (!w) return tl::unexpected(w.error());
      out.weight = static_cast<uint32_t>(*w);
    } else if (key == "state") {
      auto s = get_string(it.value(), at);
      if (!s) return tl::unexpected(s.error());
      auto state = parse_backend_state(*s);
      if (!state) return fail(fmt::format("{}: '{}' is not one of up, drain, down", at, *s));
      out.state = *state;
    } else {
      return fail(fmt::format("{}: unknown key", at));
    }
  }
  if (!have_address) return fail(fmt::format("{}: address missing", where));
  return out;
}

Result<Vip> parse_vip(const json& v, const std::string& where) {
  if (!v.is_object()) return fail(fmt::format("{}: expected an object", where));
  Vip vip;
  bool have_address = false;
  bool have_proto = false;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& key = it.key();
    const std::string at = where + "." + key;
    const json& value = it.value();
    if (key == "address") {
      auto a = get_address(value, at);
      if (!a) return tl::unexpected(a.error());
      vip.key.address = *a;
      have_address = true;
    } else if (key == "proto") {
      const auto proto =
          value.is_string() ? parse_l4_proto(value.get<std::string>()) : std::nullopt;
      if (!proto) return fail(fmt::format("{}: expected \"tcp\" or \"udp\"", at));
      vip.key.proto = *proto;
      have_proto = true;
    } else if (key == "port") {
      auto p = get_uint(value, at, 65535);
      if (!p) return tl::unexpected(p.error());
      vip.key.port = static_cast<uint16_t>(*p);
    } else if (key == "encap") {
      auto s = get_one_of(value, at, {"ipip", "gue"});
      if (!s) return tl::unexpected(s.error());
      vip.encap = std::move(*s);
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
      auto s = get_one_of(value, at, {"5-tuple", "3-tuple", "source"});
      if (!s) return tl::unexpected(s.error());
      vip.hash = std::move(*s);
    } else if (key == "echo") {
      auto b = get_bool(value, at);
      if (!b) return tl::unexpected(b.error());
      vip.echo = *b;
    } else if (key == "backends") {
      if (!value.is_array()) return fail(fmt::format("{}: expected an array", at));
      for (size_t i = 0; i < value.size(); ++i) {
        auto b = parse_backend(value[i], fmt::format("{}[{}]", at, i));
        if (!b) return tl::unexpected(b.error());
        vip.backends.push_back(*b);
      }
    } else {
      return fail(fmt::format("{}: unknown key", at));
    }
  }
  if (!have_address) return fail(fmt::format("{}: address missing", where));
  if (!have_proto) return fail(fmt::format("{}: proto missing", where));
  return vip;
}

}  // namespace

std::string to_json(const DesiredState& state) {
  json doc;
  if (state.generation) doc["generation"] = *state.generation;
  if (state.flow_hash_seed) doc["flow_hash_seed"] = fmt::format("{:#018x}", *state.flow_hash_seed);
  json vips = json::array();
  for (const Vip& v : state.vips) {
    json backends = json::array();
    for (const Backend& b : v.backends) {
      backends.push_back({{"address", b.address.to_string()},
                          {"weight", b.weight},
                          {"state", backend_state_name(b.state)}});
    }
    vips.push_back({{"address", v.key.address.to_string()},
                    {"proto", l4_proto_name(v.key.proto)},
                    {"port", v.key.port},
                    {"encap", v.encap},
                    {"gue_port", v.gue_port},
                    {"table_size", v.table_size},
                    {"hash", v.hash},
                    {"echo", v.echo},
                    {"backends", std::move(backends)}});
  }
  doc["vips"] = std::move(vips);
  return doc.dump();
}

Result<DesiredState> parse_desired_state(std::string_view document) {
  const json doc = json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail("state: not valid JSON");
  if (!doc.is_object()) return fail("state: expected a JSON object");
  DesiredState out;
  bool have_vips = false;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    if (key == "vips") {
      if (!it.value().is_array()) return fail("vips: expected an array");
      for (size_t i = 0; i < it.value().size(); ++i) {
        auto v = parse_vip(it.value()[i], fmt::format("vips[{}]", i));
        if (!v) return tl::unexpected(v.error());
        out.vips.push_back(std::move(*v));
      }
      have_vips = true;
    } else if (key == "flow_hash_seed") {
      auto s = parse_seed(it.value());
      if (!s) return tl::unexpected(s.error());
      out.flow_hash_seed = *s;
    } else if (key == "generation") {
      // Written by `state`; never an error, so that its output applies again unchanged.
      if (it.value().is_number_unsigned()) out.generation = it.value().get<uint64_t>();
    } else {
      return fail(fmt::format("{}: unknown key", key));
    }
  }
  if (!have_vips) return fail("vips: missing (an empty list withdraws every VIP)");
  return out;
}

}  // namespace steer::doc
