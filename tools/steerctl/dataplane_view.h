// DOC: human views of the dataplane API's JSON replies (stats, status, flow, state), for
// `steerctl dataplane ...`. Pure functions from the JSON text to a table; --json prints the
// JSON itself. An unexpected document is an error, never a crash.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace steer::tools {

Result<std::string> format_dataplane_stats(std::string_view json);
Result<std::string> format_dataplane_status(std::string_view json);
Result<std::string> format_dataplane_flow(std::string_view json);
Result<std::string> format_dataplane_state(std::string_view json);
Result<std::string> format_dataplane_apply(std::string_view json);

}  // namespace steer::tools
