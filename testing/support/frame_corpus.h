// DOC: the frame corpus — tests/corpus/frames.json, hand-made hostile, malformed and legal
// frames, each with the verdict and drop reason the packet core must give it over lab_state()
// (testing/support/pipeline_harness.h). tests/scapy/make_frame_corpus.py writes the file;
// docs/packet-core.md ("The frame corpus") says how the tests use it.
//
// Test-only; load_frame_corpus() reads the file on each call.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/packet/drop_reason.h"
#include "dataplane/packet/pipeline.h"
#include "testing/support/packet_builder.h"

namespace steer::testing {

struct CorpusFrame {
  std::string name;  // unique
  std::string description;
  std::string rfc;  // what the verdict rests on ("—": steer policy)
  dataplane::Verdict verdict;
  dataplane::DropReason reason{};  // when verdict == Drop
  Bytes bytes;                     // the Ethernet frame
};

// The file under a source tree: ROOT/tests/corpus/frames.json.
std::string frame_corpus_path(const std::string& source_root);

// Reads and checks the corpus. Errors name the entry: unreadable file, malformed JSON, a
// missing field, an unknown verdict or drop reason, a drop without a reason (or a reason
// without a drop), bad hex, a duplicate name.
Result<std::vector<CorpusFrame>> load_frame_corpus(const std::string& path);

}  // namespace steer::testing
