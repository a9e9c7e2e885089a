// DOC: human views of steerd's DNS replies (`show dns`, `dns query`, `dns pop|service
// disable|enable`), for steerctl's `dns` command. Pure functions from JSON text to text;
// --json prints the JSON itself.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace steer::tools {

// show dns: the responder, service answers per PoP (headed, displaced from a first choice that
// was down), then one block per service with one line per PoP.
Result<std::string> format_dns_show(std::string_view json);
// dns query: dig-like sections, then why (location, PoPs considered).
Result<std::string> format_dns_query(std::string_view json);
Result<std::string> format_dns_done(std::string_view json);

}  // namespace steer::tools
