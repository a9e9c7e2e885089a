// DOC: what steerctl's human views of daemon replies share: reading the reply's JSON document
// and turning a document of an unexpected shape into a clear error instead of an exception.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/result.h"

namespace steer::tools {

// Parses `text` (a JSON object) and returns f(document); invalid JSON, or a JSON type error
// inside f (an unexpected document), becomes an Error.
template <class F>
Result<std::string> guarded(std::string_view text, F&& f) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("the daemon sent invalid JSON");
  try {
    return std::forward<F>(f)(doc);
  } catch (const nlohmann::json::exception& e) {
    return fail(fmt::format("unexpected reply from the daemon: {}", e.what()));
  }
}

// A value as a table cell: strings as they are, null as "-", anything else as JSON.
inline std::string str(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

}  // namespace steer::tools
