// DOC: libsteer-pktrate-source.so — tools/pktrate's NIC-like packet source (docs/pktrate.md).
//
// A NIC hands the driver the same few hundred buffers over and over: it writes a received frame
// into the buffer of the next RX descriptor, the application forwards it, TX completion gives the
// buffer back, and the driver puts it on the RX ring again. This library does the same on a
// net_ring port, whose TX ring is its RX ring (queue q sends into the ring queue q receives
// from):
//   - the port's RX gets the mbufs the application sent back (ring dequeue);
//   - an RX callback (rte_eth_add_rx_callback, inside rte_eth_rx_burst) rewrites each of them
//     from the next stored frame of its queue — data offset, lengths, flags and the frame bytes
//     — undoing whatever the application did (steer's IPIP encapsulation, testpmd's swaps);
//   - it keeps STEER_PKTRATE_DEPTH mbufs (default 512) per queue in circulation, taken from its
//     own pool on the first polls; afterwards it allocates only if the ring runs dry (packets
//     the application dropped instead of sending).
// Per packet, both programs pay the same: a ring dequeue and enqueue, the callback and a copy of
// one stored frame (64 bytes at the default size), from a template array read in order.
//
// Loaded with LD_PRELOAD (Debian's dpdk-dev ships no driver SDK headers, so a vdev PMD of our
// own is not an option, and testpmd cannot be changed): it wraps rte_eth_dev_start and, after a
// successful start of a net_ring port, installs the callback on every RX queue. Other ports are
// left alone. The frames come from the pcap files of the pktrate traffic generator:
//   STEER_PKTRATE_FRAMES=q0.pcap,q1.pcap,...   one file per RX queue (queue q uses file q mod n)
//   STEER_PKTRATE_DEPTH=512                    mbufs in circulation per queue (<= 1000: the
//                                              ring holds 1023)
// Errors (unreadable file, no memory, callback refused) are printed on stderr and make
// rte_eth_dev_start fail with -EINVAL, so the application stops with its own start-up error.
// Threading: set-up on the thread that starts the port; each queue's state is touched only by
// the lcore polling that queue.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <dlfcn.h>

#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>

namespace {

constexpr uint32_t kDefaultDepth = 512;
constexpr uint32_t kMaxDepth = 1000;  // net_ring's rings hold 1023 mbufs
constexpr uint32_t kMaxPorts = RTE_MAX_ETHPORTS;
constexpr uint32_t kMaxQueues = 64;

struct Frames {
  uint8_t* bytes = nullptr;  // count × stride, in DPDK memory (hugepages when the EAL has them)
  std::vector<uint16_t> lengths;
  uint32_t stride = 0;
};

struct alignas(RTE_CACHE_LINE_SIZE) Queue {
  const uint8_t* bytes;
  const uint16_t* lengths;
  uint32_t stride;
  uint32_t count;
  uint32_t next;  // the next frame to write
  uint32_t depth;
  uint32_t circulating;  // mbufs this queue has taken from the pool
  uint16_t port;
  rte_mempool* pool;
  uint64_t alloc_failed;
};

std::vector<Frames> g_frames;
rte_mempool* g_pool = nullptr;
Queue* g_queues[kMaxPorts][kMaxQueues];

void complain(const std::string& what) {
  std::fprintf(stderr, "steer-pktrate-source: %s\n", what.c_str());
}

uint32_t read_u32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

// Reads a classic pcap file (either byte order, µs or ns timestamps) into DPDK memory.
bool load_pcap(const std::string& path, Frames& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    complain("cannot open " + path);
    return false;
  }
  const std::vector<uint8_t> data{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
  if (data.size() < 24) {
    complain(path + ": not a pcap file");
    return false;
  }
  const uint32_t magic = read_u32(data.data(), false);
  bool swap = false;
  if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
    swap = true;
  } else if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
    complain(path + ": not a pcap file");
    return false;
  }
  std::vector<std::pair<size_t, uint16_t>> records;
  size_t max_len = 0;
  for (size_t off = 24; off + 16 <= data.size();) {
    const uint32_t caplen = read_u32(&data[off + 8], swap);
    if (caplen == 0 || caplen > 9000 || off + 16 + caplen > data.size()) {
      complain(path + ": truncated or oversized record");
      return false;
    }
    records.emplace_back(off + 16, static_cast<uint16_t>(caplen));
    max_len = std::max<size_t>(max_len, caplen);
    off += 16 + caplen;
  }
  if (records.empty()) {
    complain(path + ": no packets");
    return false;
  }
  out.stride =
      static_cast<uint32_t>((max_len + RTE_CACHE_LINE_SIZE - 1) & ~size_t{RTE_CACHE_LINE_SIZE - 1});
  out.bytes = static_cast<uint8_t*>(
      rte_malloc("pktrate_frames", size_t{out.stride} * records.size(), RTE_CACHE_LINE_SIZE));
  if (!out.bytes) {
    complain("no DPDK memory for the frames of " + path);
    return false;
  }
  out.lengths.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    std::memcpy(out.bytes + i * out.stride, &data[records[i].first], records[i].second);
    out.lengths.push_back(records[i].second);
  }
  return true;
}

bool load_frames() {
  if (!g_frames.empty()) return true;
  const char* list = std::getenv("STEER_PKTRATE_FRAMES");
  if (!list || !*list) {
    complain("STEER_PKTRATE_FRAMES is not set (a comma-separated list of pcap files)");
    return false;
  }
  std::string s(list);
  for (size_t start = 0; start <= s.size();) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) {
      Frames f;
      if (!load_pcap(s.substr(start, comma - start), f)) return false;
      g_frames.push_back(std::move(f));
    }
    start = comma + 1;
  }
  return !g_frames.empty();
}

uint32_t depth_setting() {
  const char* d = std::getenv("STEER_PKTRATE_DEPTH");
  if (!d || !*d) return kDefaultDepth;
  const long v = std::strtol(d, nullptr, 10);
  return static_cast<uint32_t>(std::clamp<long>(v, 32, kMaxDepth));
}

// Rewrites one mbuf as a freshly received frame: what the NIC's DMA and the driver's
// descriptor handling would leave in it.
inline void restore(rte_mbuf* m, const uint8_t* frame, uint16_t len, uint16_t port) {
  m->data_off = RTE_PKTMBUF_HEADROOM;
  m->data_len = len;
  m->pkt_len = len;
  m->nb_segs = 1;
  m->ol_flags = 0;
  m->packet_type = 0;
  m->vlan_tci = 0;
  m->port = port;
  rte_memcpy(rte_pktmbuf_mtod(m, uint8_t*), frame, len);
}

uint16_t rx_refill(uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n, uint16_t max, void* arg) {
  Queue& q = *static_cast<Queue*>(arg);
  // Fill the circulation up to its depth on the first polls; later only when the ring ran dry.
  if (n < max && (q.circulating < q.depth || n == 0)) [[unlikely]] {
    uint32_t want = max - n;
    if (q.circulating < q.depth) want = std::min(want, q.depth - q.circulating);
    if (rte_pktmbuf_alloc_bulk(q.pool, pkts + n, want) == 0) {
      n = static_cast<uint16_t>(n + want);
      q.circulating += want;
    } else {
      ++q.alloc_failed;
    }
  }
  uint32_t next = q.next;
  for (uint16_t i = 0; i < n; ++i) {
    restore(pkts[i], q.bytes + size_t{next} * q.stride, q.lengths[next], port);
    if (++next == q.count) next = 0;
  }
  q.next = next;
  return n;
}

int attach(uint16_t port) {
  rte_eth_dev_info info;
  if (rte_eth_dev_info_get(port, &info) != 0 || !info.driver_name ||
      std::strcmp(info.driver_name, "net_ring") != 0) {
    return 0;  // not ours: leave it alone
  }
  if (port >= kMaxPorts || !load_frames()) return -EINVAL;
  const uint32_t depth = depth_setting();
  const uint32_t queues = info.nb_rx_queues;  // those the application configured
  if (queues == 0 || queues > kMaxQueues) {
    complain("port has " + std::to_string(queues) + " RX queues (1.." + std::to_string(kMaxQueues) +
             " supported)");
    return -EINVAL;
  }
  if (!g_pool) {
    const uint32_t n = queues * (depth + 2 * 512) + 4096;
    g_pool = rte_pktmbuf_pool_create("pktrate_source", n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     static_cast<int>(rte_socket_id()));
    if (!g_pool) {
      complain(std::string("cannot create the source's mbuf pool: ") + rte_strerror(rte_errno));
      return -EINVAL;
    }
  }
  for (uint16_t q = 0; q < queues; ++q) {
    if (g_queues[port][q]) continue;  // started again after a stop: the callback is still there
    auto* state = static_cast<Queue*>(rte_zmalloc("pktrate_queue", sizeof(Queue), 0));
    if (!state) {
      complain("no DPDK memory for the queue state");
      return -EINVAL;
    }
    const Frames& f = g_frames[q % g_frames.size()];
    *state = Queue{
        f.bytes, f.lengths.data(), f.stride, static_cast<uint32_t>(f.lengths.size()), 0, depth, 0,
        port,    g_pool,           0};
    if (!rte_eth_add_rx_callback(port, q, rx_refill, state)) {
      complain("RX queue " + std::to_string(q) +
               " refused the callback: " + rte_strerror(rte_errno));
      rte_free(state);
      return -EINVAL;
    }
    g_queues[port][q] = state;
  }
  std::fprintf(stderr,
               "steer-pktrate-source: port %u: %u RX queue(s), %u mbufs each, %zu frame "
               "file(s)\n",
               port, queues, depth, g_frames.size());
  return 0;
}

}  // namespace

extern "C" int rte_eth_dev_start(uint16_t port_id) {
  using Start = int (*)(uint16_t);
  static const auto real = reinterpret_cast<Start>(dlsym(RTLD_NEXT, "rte_eth_dev_start"));
  if (!real) {
    complain("cannot find the real rte_eth_dev_start");
    return -ENOSYS;
  }
  const int rc = real(port_id);
  if (rc != 0) return rc;
  return attach(port_id);
}
