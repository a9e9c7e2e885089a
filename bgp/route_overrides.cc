#include "bgp/route_overrides.h"

#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file.h"

namespace steer::bgp {

using nlohmann::json;

namespace {

std::optional<Admin> parse_admin(std::string_view s) {
  for (Admin a : {Admin::Auto, Admin::Announce, Admin::Withdraw, Admin::Drain}) {
    if (admin_name(a) == s) return a;
  }
  return std::nullopt;
}

}  // namespace

Result<void> RouteOverrides::load() {
  items_.clear();
  std::error_code ec;
  if (path_.empty() || !std::filesystem::exists(path_, ec)) return {};
  auto text = read_file(path_);
  if (!text) return tl::unexpected(text.error());
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("overrides") ||
      !doc["overrides"].is_array()) {
    return fail(fmt::format("ignoring malformed {}", path_));
  }
  for (const json& o : doc["overrides"]) {
    if (!o.is_object()) continue;
    auto a = parse_admin(o.value("admin", ""));
    const std::string unit = o.value("unit", o.value("address", std::string()));
    if (!a || unit.empty()) continue;
    Peer by;
    by.uid = o.value("uid", uint32_t{0});
    by.user = o.value("user", std::string());
    items_[unit] = RouteOverride{*a, o.value("since_unix_ms", int64_t{0}), std::move(by)};
  }
  return {};
}

Result<void> RouteOverrides::set(const std::string& label, Admin admin, const Peer& by,
                                 int64_t now_unix_ms) {
  if (admin == Admin::Auto) {
    items_.erase(label);
  } else {
    items_[label] = RouteOverride{admin, now_unix_ms, by};
  }
  return save();
}

const RouteOverride* RouteOverrides::find(const std::string& label) const {
  auto it = items_.find(label);
  return it == items_.end() ? nullptr : &it->second;
}

Result<void> RouteOverrides::save() const {
  if (path_.empty()) return {};
  json list = json::array();
  for (const auto& [unit, o] : items_) {
    list.push_back({{"unit", unit},
                    {"admin", admin_name(o.admin)},
                    {"since_unix_ms", o.since_unix_ms},
                    {"uid", o.by.uid},
                    {"user", o.by.user}});
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  return write_file_atomic(path_, json{{"overrides", list}}.dump(2) + "\n");
}

}  // namespace steer::bgp
