#include "testing/support/pcap_file.h"

#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace steer::testing {

namespace {

struct FileHeader {
  uint32_t magic = 0xa1b2c3d4;  // microsecond timestamps, host byte order
  uint16_t major = 2;
  uint16_t minor = 4;
  int32_t zone = 0;
  uint32_t sigfigs = 0;
  uint32_t snaplen = 65535;
  uint32_t linktype = 1;  // Ethernet
};
struct RecordHeader {
  uint32_t sec;
  uint32_t usec;
  uint32_t caplen;
  uint32_t len;
};
static_assert(sizeof(FileHeader) == 24 && sizeof(RecordHeader) == 16);

struct Closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

Result<void> write_pcap(const std::string& path, const std::vector<Bytes>& frames) {
  std::unique_ptr<std::FILE, Closer> f(std::fopen(path.c_str(), "wb"));
  if (!f) return fail(fmt::format("cannot create {}", path));
  FileHeader h;
  bool ok = std::fwrite(&h, sizeof(h), 1, f.get()) == 1;
  uint32_t i = 0;
  for (const Bytes& b : frames) {
    RecordHeader r{1700000000u + i / 1000, (i % 1000) * 1000, static_cast<uint32_t>(b.size()),
                   static_cast<uint32_t>(b.size())};
    ++i;
    ok = ok && std::fwrite(&r, sizeof(r), 1, f.get()) == 1;
    ok = ok && (b.empty() || std::fwrite(b.data(), b.size(), 1, f.get()) == 1);
  }
  if (!ok) return fail(fmt::format("cannot write {}", path));
  return {};
}

Result<std::vector<Bytes>> read_pcap(const std::string& path) {
  std::unique_ptr<std::FILE, Closer> f(std::fopen(path.c_str(), "rb"));
  if (!f) return fail(fmt::format("cannot open {}", path));
  FileHeader h;
  if (std::fread(&h, sizeof(h), 1, f.get()) != 1) return fail(fmt::format("{}: no header", path));
  if (h.magic != 0xa1b2c3d4 && h.magic != 0xa1b23c4d) {
    return fail(fmt::format("{}: not a little-endian pcap file", path));
  }
  std::vector<Bytes> frames;
  RecordHeader r;
  while (std::fread(&r, sizeof(r), 1, f.get()) == 1) {
    if (r.caplen > 262144) return fail(fmt::format("{}: record too large", path));
    Bytes b(r.caplen);
    if (r.caplen > 0 && std::fread(b.data(), r.caplen, 1, f.get()) != 1) {
      return fail(fmt::format("{}: truncated record", path));
    }
    frames.push_back(std::move(b));
  }
  return frames;
}

}  // namespace steer::testing
