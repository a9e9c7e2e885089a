#include "bgp/snippet.h"

#include <fmt/format.h>

namespace steer::bgp {

std::string unit_name(std::string_view prefix, const IpAddress& address) {
  std::string text = address.to_string();
  for (char& c : text) {
    if (c == '.' || c == ':') c = '_';
  }
  return fmt::format("{}{}_{}", prefix, address.is_v4() ? "v4" : "v6", text);
}

std::string group_unit_name(std::string_view prefix, std::string_view group) {
  return fmt::format("{}g_{}", prefix, group);
}

std::string host_prefix(const IpAddress& address) {
  return fmt::format("{}/{}", address, address.is_v4() ? 32 : 128);
}

namespace {

std::string community_call(std::string_view community) {
  const size_t colon = community.find(':');
  return fmt::format("bgp_community.add(({},{}));", community.substr(0, colon),
                     community.substr(colon + 1));
}

std::string route_line(const IpPrefix& route, const std::vector<std::string>& commands) {
  std::string line = fmt::format("  route {} blackhole", route);
  if (commands.empty()) return line + ";\n";
  line += " {";
  for (const std::string& c : commands) line += " " + c;
  return line + " };\n";
}

}  // namespace

std::string render_snippet(const std::vector<SnippetUnit>& units, const RouteAttributes& attrs,
                           std::string_view prefix) {
  std::string out = fmt::format(
      "# Written by steerd: the VIP routes steer announces. Do not edit: steerd rewrites this\n"
      "# file whenever it announces, drains or withdraws a VIP address, so that a BIRD restart\n"
      "# or `configure` keeps its decisions. Include it from bird.conf and export its routes:\n"
      "#   include \"<this file>\";\n"
      "#   protocol bgp ... {{ ipv4 {{ export where proto ~ \"{0}*\"; }}; }}\n",
      prefix);
  std::vector<std::string> normal, drain;
  for (const std::string& c : attrs.communities) normal.push_back(community_call(c));
  for (uint32_t i = 0; i < attrs.drain_prepend; ++i) {
    drain.push_back(fmt::format("bgp_path.prepend({});", attrs.local_as));
  }
  for (const std::string& c : attrs.drain_communities) drain.push_back(community_call(c));
  for (const std::string& c : attrs.communities) drain.push_back(community_call(c));
  for (const SnippetUnit& u : units) {
    const char* family = u.route.is_v4() ? "ipv4" : "ipv6";
    std::string vips;
    for (const std::string& v : u.vips) vips += (vips.empty() ? "" : ", ") + v;
    out += fmt::format("\n# {} ({})\n", u.label, vips);
    out += fmt::format("protocol static {} {{\n  {};\n{}  disabled {};\n}}\n", u.name, family,
                       route_line(u.route, normal), u.normal_enabled ? "no" : "yes");
    out +=
        fmt::format("protocol static {} {{\n  {};\n{}  disabled {};\n}}\n", drain_protocol(u.name),
                    family, route_line(u.route, drain), u.drain_enabled ? "no" : "yes");
  }
  return out;
}

}  // namespace steer::bgp
