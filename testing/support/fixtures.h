// DOC: packet fixtures as data — each one a description, an input frame built with
// PacketBuilder, the expected verdict, and the expected output frame built independently
// (outer headers by PacketBuilder, whose checksums do not share code with the packet core).
//
// The fixtures run against lab_state() (testing/support/pipeline_harness.h) with a fresh
// pipeline each, in order. They serve the unit tests (byte-for-byte comparison), the
// benchmarks (realistic frames) and, later, the expected pcaps of the dataplane tests.
// Backends in expected outputs are pinned addresses: the Maglev table and flow hash are
// pinned by golden vectors, so a change here means the hash or table changed.
#pragma once

#include <string>
#include <vector>

#include "dataplane/packet/drop_reason.h"
#include "dataplane/packet/pipeline.h"
#include "testing/support/packet_builder.h"

namespace steer::testing {

struct PacketFixture {
  std::string name;
  std::string description;
  Bytes input;
  dataplane::Verdict verdict;
  dataplane::DropReason reason{};  // when verdict == Drop
  Bytes expected;                  // output frame (Pass: the input; Drop: empty)
};

const std::vector<PacketFixture>& packet_fixtures();

}  // namespace steer::testing
