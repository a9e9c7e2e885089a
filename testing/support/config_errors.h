// DOC: a GoogleTest assertion for configuration parsers that report through
// common/config_reader.h: exactly one error, at `where` (file:line:column), whose message
// contains `message` and hint contains `hint`; on failure, every error the parser reported.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/config_reader.h"

namespace steer::test {

inline ::testing::AssertionResult exactly_one_error(const std::vector<config::ConfigError>& errors,
                                                    std::string_view where,
                                                    std::string_view message,
                                                    std::string_view hint = {}) {
  const std::string all = config::format_errors(errors);
  if (errors.size() != 1) {
    return ::testing::AssertionFailure() << "expected one error, got " << errors.size() << ":\n"
                                         << all;
  }
  const config::ConfigError& e = errors[0];
  if (e.where != where || e.message.find(message) == std::string::npos ||
      e.hint.find(hint) == std::string::npos) {
    return ::testing::AssertionFailure() << "expected " << where << ": ..." << message
                                         << "... (hint: ..." << hint << "...), got:\n"
                                         << all;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace steer::test
