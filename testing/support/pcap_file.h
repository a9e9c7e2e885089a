// DOC: minimal classic pcap files (Ethernet link type, microsecond timestamps) for the
// dataplane tests: write the frames a net_pcap port reads, read back what it wrote.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "testing/support/packet_builder.h"

namespace steer::testing {

Result<void> write_pcap(const std::string& path, const std::vector<Bytes>& frames);
Result<std::vector<Bytes>> read_pcap(const std::string& path);

}  // namespace steer::testing
