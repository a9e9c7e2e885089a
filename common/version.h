// DOC: steer's version, from meson.build's project() (the one place it is written).
#pragma once

#include <string_view>

#ifndef STEER_VERSION
#error "STEER_VERSION is defined by meson.build (project version)"
#endif

namespace steer {

inline constexpr std::string_view kVersion = STEER_VERSION;

}  // namespace steer
