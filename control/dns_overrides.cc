#include "control/dns_overrides.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file.h"

namespace steer::control {

using nlohmann::json;

Result<DnsOverrides> DnsOverrides::load(std::string path) {
  DnsOverrides o;
  o.path_ = std::move(path);
  std::error_code ec;
  if (o.path_.empty() || !std::filesystem::exists(o.path_, ec)) return o;
  auto text = read_file(o.path_);
  if (!text) return tl::unexpected(text.error());
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("overrides") ||
      !doc["overrides"].is_array()) {
    return fail(fmt::format("{}: not a steer DNS overrides file", o.path_));
  }
  for (const json& j : doc["overrides"]) {
    if (!j.is_object() || !j.contains("pop") || !j.contains("service") || !j["pop"].is_string() ||
        !j["service"].is_string()) {
      return fail(fmt::format("{}: bad entry {}", o.path_, j.dump()));
    }
    DnsOverride d;
    d.pop = j["pop"].get<std::string>();
    d.service = j["service"].get<std::string>();
    d.uid = j.value("uid", 0u);
    d.user = j.value("user", std::string());
    d.since_unix_ms = j.value("since_unix_ms", int64_t{0});
    o.items_.push_back(std::move(d));
  }
  return o;
}

Result<void> DnsOverrides::disable(const std::string& pop, const std::string& service,
                                   const Peer& by, int64_t now_unix_ms) {
  DnsOverride d{pop, service, by.uid, by.user, now_unix_ms};
  auto it = std::find_if(items_.begin(), items_.end(), [&](const DnsOverride& x) {
    return x.pop == pop && x.service == service;
  });
  if (it != items_.end()) {
    *it = std::move(d);
  } else {
    items_.push_back(std::move(d));
  }
  return save();
}

Result<bool> DnsOverrides::enable(const std::string& pop, const std::string& service) {
  const size_t before = items_.size();
  std::erase_if(items_, [&](const DnsOverride& x) { return x.pop == pop && x.service == service; });
  if (items_.size() == before) return false;
  if (auto r = save(); !r) return tl::unexpected(r.error());
  return true;
}

const DnsOverride* DnsOverrides::find(const std::string& pop, const std::string& service) const {
  for (const DnsOverride& o : items_) {
    if ((o.pop == "*" || o.pop == pop) && (o.service == "*" || o.service == service)) return &o;
  }
  return nullptr;
}

Result<void> DnsOverrides::save() const {
  if (path_.empty()) return {};
  json arr = json::array();
  for (const DnsOverride& o : items_) {
    arr.push_back({{"pop", o.pop},
                   {"service", o.service},
                   {"uid", o.uid},
                   {"user", o.user},
                   {"since_unix_ms", o.since_unix_ms}});
  }
  std::error_code ec;
  const auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  return write_file_atomic(path_, json{{"overrides", arr}}.dump(1) + "\n");
}

}  // namespace steer::control
