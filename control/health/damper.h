// DOC: the rise/fall damper of one health-check target, and the State it decides.
//
// A probe result alone never flips a backend: the damper turns a stream of pass/fail results
// into a state that changes only after a streak, so one lost SYN or one slow answer does not
// move traffic (glb-healthcheck's HealthResultDampener is the model).
//
//   Unknown -> Up    after `rise` consecutive successes
//   Unknown -> Down  after `fall` consecutive failures  (a new backend gets a verdict quickly,
//                                                         whichever way it goes)
//   Up      -> Down  after `fall` consecutive failures
//   Down    -> Up    after `rise` consecutive successes
//
// `pending` says a streak toward a change is in progress (in Unknown: any result has been
// seen; in Up: at least one failure; in Down: at least one success); the scheduler probes at
// the fast interval while it holds. A pure value type: no clock, no I/O, any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace steer::control::health {

enum class State : uint8_t { Unknown, Up, Down };

// "unknown", "up", "down".
std::string_view state_name(State state);

class Damper {
 public:
  struct Step {
    State state;   // the state after this result
    bool changed;  // this result changed the state
    bool pending;  // a streak toward a change is in progress (probe at the fast interval)
  };

  // rise and fall below 1 count as 1. `initial` lets a target whose check changed keep its
  // verdict while the streak restarts under the new rise/fall.
  Damper(uint32_t rise, uint32_t fall, State initial = State::Unknown);

  // Feeds one probe result.
  Step feed(bool ok);

  State state() const { return state_; }
  bool pending() const { return successes_ > 0 || failures_ > 0; }
  uint32_t rise() const { return rise_; }
  uint32_t fall() const { return fall_; }

 private:
  uint32_t rise_, fall_;
  State state_;
  // The current streak toward a change: at most one of them is non-zero.
  uint32_t successes_ = 0, failures_ = 0;
};

}  // namespace steer::control::health
