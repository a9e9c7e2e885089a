#include "control/overrides.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file.h"

namespace steer::control {

using nlohmann::json;

std::string_view admin_state_name(AdminState s) {
  switch (s) {
    case AdminState::Drain:
      return "drain";
    case AdminState::Disable:
      return "disable";
    case AdminState::ForceUp:
      return "force-up";
    case AdminState::None:
      break;
  }
  return "none";
}

namespace {

std::optional<AdminState> admin_from(std::string_view s) {
  for (AdminState a :
       {AdminState::None, AdminState::Drain, AdminState::Disable, AdminState::ForceUp}) {
    if (admin_state_name(a) == s) return a;
  }
  return std::nullopt;
}

}  // namespace

Result<Overrides> Overrides::load(std::string path) {
  Overrides o;
  o.path_ = std::move(path);
  std::error_code ec;
  if (!std::filesystem::exists(o.path_, ec)) return o;
  auto text = read_file(o.path_);
  if (!text) return tl::unexpected(text.error());
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("overrides") ||
      !doc["overrides"].is_array()) {
    return fail(fmt::format("{}: not a steer overrides file", o.path_));
  }
  for (const json& j : doc["overrides"]) {
    Override r;
    try {
      r.vip = j.at("vip").get<std::string>();
      auto a = IpAddress::parse(j.at("address").get<std::string>());
      auto admin = admin_from(j.at("admin").get<std::string>());
      if (!a || !admin) return fail(fmt::format("{}: bad entry {}", o.path_, j.dump()));
      r.address = *a;
      r.admin = *admin;
      if (j.contains("weight") && !j["weight"].is_null()) r.weight = j["weight"].get<uint32_t>();
      r.uid = j.value("uid", 0u);
      r.user = j.value("user", std::string());
      r.since_unix_ms = j.value("since_unix_ms", int64_t{0});
    } catch (const json::exception& e) {
      return fail(fmt::format("{}: bad entry: {}", o.path_, e.what()));
    }
    o.items_.push_back(std::move(r));
  }
  return o;
}

const Override* Overrides::find(std::string_view vip, const IpAddress& address) const {
  const Override* any = nullptr;
  for (const Override& o : items_) {
    if (o.address != address) continue;
    if (o.vip == vip) return &o;
    if (o.vip == "*") any = &o;
  }
  return any;
}

Result<void> Overrides::set(Override o) {
  auto it = std::find_if(items_.begin(), items_.end(), [&](const Override& x) {
    return x.vip == o.vip && x.address == o.address;
  });
  if (it != items_.end())
    *it = o;
  else
    items_.push_back(o);
  std::erase_if(items_, [](const Override& x) {
    return x.admin == AdminState::None && !x.weight.has_value();
  });
  return save();
}

Result<void> Overrides::save() const {
  if (path_.empty()) return {};
  json arr = json::array();
  for (const Override& o : items_) {
    arr.push_back({{"vip", o.vip},
                   {"address", o.address.to_string()},
                   {"admin", admin_state_name(o.admin)},
                   {"weight", o.weight ? json(*o.weight) : json(nullptr)},
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
