#include "control/events.h"

#include "common/clock.h"

namespace steer::control {

void Events::add(std::string text) {
  if (log_) log_(text);
  events_.push_back(Event{unix_us_now(), std::move(text)});
  while (events_.size() > kEvents) events_.pop_front();
}

}  // namespace steer::control
