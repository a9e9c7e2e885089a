// libFuzzer target for the readers of the dataplane API's documents (common/state_doc.h):
// the desired state the dataplane reads on every `apply` (and steerctl on `state`), and the
// stats and status steerd and steerctl read. Arbitrary bytes must never crash or hang any of
// them, and whatever a reader accepts must survive its writer unchanged: parse(to_json(x))
// gives x back, so a document the dataplane saves applies again as it was.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/state_doc.h"

namespace {

template <class T, class Parse>
void round_trip(std::string_view input, Parse parse) {
  auto first = parse(input);
  if (!first) {
    if (first.error().message.empty()) std::abort();  // every error says something
    return;
  }
  auto again = parse(steer::doc::to_json(*first));
  if (!again || !(*again == *first)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  round_trip<steer::doc::DesiredState>(input, steer::doc::parse_desired_state);
  round_trip<steer::doc::Stats>(input, steer::doc::parse_stats);
  round_trip<steer::doc::Status>(input, steer::doc::parse_status);
  return 0;
}
