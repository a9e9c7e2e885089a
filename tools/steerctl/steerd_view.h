// DOC: human views of steerd's JSON replies (show status, vips, backends, health, events,
// bgp),
// for steerctl. Pure functions from JSON text to a table; --json prints the JSON itself.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace steer::tools {

Result<std::string> format_status(std::string_view json);
Result<std::string> format_vips(std::string_view json);
Result<std::string> format_backends(std::string_view json);
Result<std::string> format_health(std::string_view json);
Result<std::string> format_events(std::string_view json);
Result<std::string> format_done(std::string_view json);
Result<std::string> format_configure(std::string_view json);
// show bgp: one line per VIP address; with `history`, each address's decisions too.
Result<std::string> format_bgp(std::string_view json, bool history);
Result<std::string> format_bgp_done(std::string_view json);
Result<std::string> format_bgp_snippet(std::string_view json);

}  // namespace steer::tools
