#include "control/health/damper.h"

#include <algorithm>

namespace steer::control::health {

std::string_view state_name(State state) {
  switch (state) {
    case State::Unknown:
      return "unknown";
    case State::Up:
      return "up";
    case State::Down:
      return "down";
  }
  return "?";
}

Damper::Damper(uint32_t rise, uint32_t fall, State initial)
    : rise_(std::max<uint32_t>(rise, 1)), fall_(std::max<uint32_t>(fall, 1)), state_(initial) {}

Damper::Step Damper::feed(bool ok) {
  const State before = state_;
  if (ok) {
    failures_ = 0;
    // A success in Up only confirms it: no streak.
    if (state_ != State::Up && ++successes_ >= rise_) {
      state_ = State::Up;
      successes_ = 0;
    }
  } else {
    successes_ = 0;
    if (state_ != State::Down && ++failures_ >= fall_) {
      state_ = State::Down;
      failures_ = 0;
    }
  }
  return Step{state_, state_ != before, pending()};
}

}  // namespace steer::control::health
