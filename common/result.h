// DOC: steer's error vocabulary for control-path code.
//
// Errors are values: a function that can fail returns Result<T>, whose error carries one
// message an operator can act on. Exceptions never cross a module boundary, and the
// dataplane hot path uses neither exceptions nor Result (it uses typed drop reasons).
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace steer {

struct Error {
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;

// Shorthand for `return fail("...")` in functions returning Result<T>.
inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected<Error>(Error{std::move(message)});
}

}  // namespace steer
