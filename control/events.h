// DOC: steerd's event history — health changes, operator commands, reloads, dataplane and
// BGP decisions — in one place: each event is logged (one line) and kept (the last
// kEvents, for `show events`). Every module writes to the same history, so "why is this VIP
// withdrawn?" reads in order across the controller, the dataplane link and the announcer.
// Control thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

namespace steer::control {

class Events {
 public:
  using Log = std::function<void(std::string_view)>;
  static constexpr size_t kEvents = 200;

  explicit Events(Log log) : log_(std::move(log)) {}

  struct Event {
    int64_t at_unix_us = 0;
    std::string text;
  };

  void add(std::string text);
  // A function that adds to this history (for modules that take a Log callback).
  Log sink() {
    return [this](std::string_view text) { add(std::string(text)); };
  }
  const std::deque<Event>& list() const { return events_; }  // oldest first

 private:
  Log log_;
  std::deque<Event> events_;
};

}  // namespace steer::control
