// Integration tests of dataplane/xdp/xsk_program.h against the real kernel: the steer_xsk
// program attached to a veth, the way net_af_xdp attaches it (plain netlink XDP attach).
//
// Run by xsk_test.sh inside a network namespace that holds one end of a veth pair
// ($STEER_TEST_IFACE, 10.98.0.1/24 and fd98::1/64); the other end is in $STEER_TEST_PEER_NS
// (10.98.0.2, fd98::2) with routes to 192.0.2.0/24 and 2001:db8::/64 via this end.
#include "dataplane/xdp/xsk_program.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "dataplane/xdp/bpf_util.h"
#include "dataplane/xdp/steer_xdp_abi.h"

namespace steer::dataplane::xdp {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string iface() { return env("STEER_TEST_IFACE"); }
std::string peer_ns() { return env("STEER_TEST_PEER_NS"); }

int ifindex() {
  auto i = interface_index(iface());
  return i ? *i : 0;
}

uint32_t attached_id(uint32_t mode_flag) {
  uint32_t id = 0;
  bpf_xdp_query_id(ifindex(), static_cast<int>(mode_flag), &id);
  return id;
}

// One ping from the peer namespace; true if it was answered.
bool ping_from_peer(const std::string& address) {
  const std::string cmd =
      "ip netns exec " + peer_ns() + " ping -c 1 -W 1 -q " + address + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Sends one raw Ethernet frame from the peer's veth end (a child process enters the peer
// namespace, so this process stays where it is). True if it was sent.
bool send_from_peer(const std::vector<uint8_t>& frame) {
  const pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    const std::string path = "/var/run/netns/" + peer_ns();
    const int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(2);
    const int s = socket(AF_PACKET, SOCK_RAW, 0);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(if_nametoindex("xp0"));
    addr.sll_halen = 6;
    std::memcpy(addr.sll_addr, frame.data(), 6);
    if (s < 0 || addr.sll_ifindex == 0) _exit(3);
    const ssize_t n = sendto(s, frame.data(), frame.size(), 0,
                             reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    _exit(n == static_cast<ssize_t>(frame.size()) ? 0 : 4);
  }
  int status = 0;
  return waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The MAC address of `ifname` in this namespace.
std::vector<uint8_t> mac_of(const std::string& ifname) {
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  const bool ok = s >= 0 && ioctl(s, SIOCGIFHWADDR, &req) == 0;
  if (s >= 0) ::close(s);
  if (!ok) return {};
  const auto* p = reinterpret_cast<const uint8_t*>(req.ifr_hwaddr.sa_data);
  return {p, p + 6};
}

// An Ethernet frame to `dst_mac`: [802.1Q tag `vlan` if not 0], then `ethertype` and `l3`.
std::vector<uint8_t> frame(const std::vector<uint8_t>& dst_mac, uint16_t vlan, uint16_t ethertype,
                           const std::vector<uint8_t>& l3) {
  std::vector<uint8_t> f(dst_mac);
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x99};
  f.insert(f.end(), src, src + 6);
  if (vlan != 0) {
    f.insert(f.end(), {0x81, 0x00, static_cast<uint8_t>(vlan >> 8), static_cast<uint8_t>(vlan)});
  }
  f.push_back(static_cast<uint8_t>(ethertype >> 8));
  f.push_back(static_cast<uint8_t>(ethertype));
  f.insert(f.end(), l3.begin(), l3.end());
  return f;
}

// A minimal IPv4 header (+ 8 bytes of UDP-ish payload) to `dst`; checksums do not matter to
// the program under test.
std::vector<uint8_t> ipv4_to(std::initializer_list<uint8_t> dst) {
  std::vector<uint8_t> ip = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 98, 0, 2};
  ip.insert(ip.end(), dst);
  ip.resize(28, 0);
  return ip;
}

std::vector<uint8_t> ipv6_to(const char* dst) {
  std::vector<uint8_t> ip = {0x60, 0, 0, 0, 0, 8, 17, 64};
  const IpAddress src = *IpAddress::parse("fd98::2");
  ip.insert(ip.end(), src.bytes().begin(), src.bytes().end());
  const IpAddress d = *IpAddress::parse(dst);
  ip.insert(ip.end(), d.bytes().begin(), d.bytes().end());
  ip.resize(48, 0);
  return ip;
}

// A BPF object loaded with libbpf; closing it does not detach what was attached.
class Object {
 public:
  explicit Object(const std::string& path, const char* keep_program = nullptr) {
    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    if (obj_ == nullptr) return;
    if (keep_program != nullptr) {
      bpf_program* p;
      bpf_object__for_each_program(p, obj_) {
        bpf_program__set_autoload(p, std::strcmp(bpf_program__name(p), keep_program) == 0);
      }
    }
    if (bpf_object__load(obj_) != 0) {
      bpf_object__close(obj_);
      obj_ = nullptr;
    }
  }
  ~Object() { bpf_object__close(obj_); }
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  bool ok() const { return obj_ != nullptr; }
  int prog_fd(const char* name) const {
    return bpf_program__fd(bpf_object__find_program_by_name(obj_, name));
  }

 private:
  bpf_object* obj_ = nullptr;
};

// Attaches steer_xsk in `mode_flag`, then closes the object: the program stays attached and
// only the kernel holds it, as after the process that attached it died.
bool attach_xsk(uint32_t mode_flag) {
  Object obj(xsk_program_path());
  if (!obj.ok()) return false;
  return bpf_xdp_attach(ifindex(), obj.prog_fd(STEER_XSK_PROG_NAME), mode_flag, nullptr) == 0;
}

class XskProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(iface().empty()) << "run through tests/integration/decap/xsk_test.sh";
    ASSERT_GT(ifindex(), 0);
    set_libbpf_verbose(false);
    bpf_xdp_detach(ifindex(), XDP_FLAGS_DRV_MODE, nullptr);
    bpf_xdp_detach(ifindex(), XDP_FLAGS_SKB_MODE, nullptr);
  }
  void TearDown() override {
    bpf_xdp_detach(ifindex(), XDP_FLAGS_DRV_MODE, nullptr);
    bpf_xdp_detach(ifindex(), XDP_FLAGS_SKB_MODE, nullptr);
  }
};

TEST_F(XskProgram, DetachStaleWithNothingAttachedReturnsFalse) {
  auto r = detach_stale_xdp(iface());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(*r);
}

TEST_F(XskProgram, DetachStaleUnknownInterfaceIsAnError) {
  auto r = detach_stale_xdp("sx-no-such-if");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sx-no-such-if"), std::string::npos) << r.error().message;
}

// The kill -9 case: a process attaches steer_xsk and dies without detaching it.
TEST_F(XskProgram, ProgramLeftByKilledProcessIsDetached) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!attach_xsk(XDP_FLAGS_DRV_MODE)) _exit(3);
    raise(SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
  ASSERT_NE(attached_id(XDP_FLAGS_DRV_MODE), 0u) << "the dead process's program should remain";

  auto r = detach_stale_xdp(iface());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(*r);
  EXPECT_EQ(attached_id(XDP_FLAGS_DRV_MODE), 0u);
  auto again = detach_stale_xdp(iface());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(*again);
}

TEST_F(XskProgram, GenericModeProgramIsDetachedToo) {
  ASSERT_TRUE(attach_xsk(XDP_FLAGS_SKB_MODE));
  ASSERT_NE(attached_id(XDP_FLAGS_SKB_MODE), 0u);
  auto r = detach_stale_xdp(iface());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(*r);
  EXPECT_EQ(attached_id(XDP_FLAGS_SKB_MODE), 0u);
}

TEST_F(XskProgram, VipMapOpenWithoutProgramFails) {
  auto m = VipMap::open(iface());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("no XDP program"), std::string::npos) << m.error().message;
}

TEST_F(XskProgram, VipMapOpenRefusesAnotherProgram) {
  Object decap(default_bpf_dir() + "/" STEER_DECAP_OBJECT, STEER_DECAP_XDP_PROG_NAME);
  ASSERT_TRUE(decap.ok());
  ASSERT_EQ(bpf_xdp_attach(ifindex(), decap.prog_fd(STEER_DECAP_XDP_PROG_NAME), XDP_FLAGS_DRV_MODE,
                           nullptr),
            0);
  auto m = VipMap::open(iface());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("not steer_xsk"), std::string::npos) << m.error().message;
}

std::vector<IpAddress> addrs(std::initializer_list<const char*> texts) {
  std::vector<IpAddress> out;
  for (const char* t : texts) out.push_back(*IpAddress::parse(t));
  return out;
}

TEST_F(XskProgram, SyncMakesTheMapExactlyTheGivenSet) {
  ASSERT_TRUE(attach_xsk(XDP_FLAGS_DRV_MODE));
  auto m = VipMap::open(iface());
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->prog_id(), attached_id(XDP_FLAGS_DRV_MODE));

  const auto first = addrs({"192.0.2.10", "2001:db8::10", "192.0.2.10"});
  ASSERT_TRUE(m->sync(first));
  EXPECT_EQ(*m->addresses(), addrs({"192.0.2.10", "2001:db8::10"}));

  const auto second = addrs({"192.0.2.11", "192.0.2.10"});
  ASSERT_TRUE(m->sync(second));
  EXPECT_EQ(*m->addresses(), addrs({"192.0.2.10", "192.0.2.11"}));

  // The key bytes are the IPv4-mapped form, independently of IpAddress.
  auto vip_fd = find_prog_map(prog_fd_by_id(m->prog_id())->get(), STEER_XSK_VIP_MAP);
  ASSERT_TRUE(vip_fd);
  const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 11};
  uint32_t value = 0;
  EXPECT_EQ(bpf_map_lookup_elem(vip_fd->get(), mapped, &value), 0);
  EXPECT_EQ(value, 1u);

  ASSERT_TRUE(m->sync({}));
  EXPECT_TRUE(m->addresses()->empty());
}

TEST_F(XskProgram, SyncRefusesTooManyAddressesAndChangesNothing) {
  ASSERT_TRUE(attach_xsk(XDP_FLAGS_DRV_MODE));
  auto m = VipMap::open(iface());
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(m->sync(addrs({"192.0.2.10"})));
  std::vector<IpAddress> many;
  for (uint32_t i = 0; i <= STEER_XSK_MAX_VIPS; ++i)
    many.push_back(IpAddress::from_v4_host(0x0a000000 + i));
  auto r = m->sync(many);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("at most"), std::string::npos) << r.error().message;
  EXPECT_EQ(*m->addresses(), addrs({"192.0.2.10"}));
}

// A bound AF_XDP socket on queue 0, made with libxdp the way DPDK's net_af_xdp makes one
// (copy mode, program loading inhibited: steer_xsk is already attached).
class XskSocket {
 public:
  static constexpr uint32_t kFrames = 64;
  static constexpr uint32_t kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE;

  bool open(const std::string& ifname) {
    const size_t size = size_t{kFrames} * kFrameSize;
    area_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area_ == MAP_FAILED) return false;
    if (xsk_umem__create(&umem_, area_, size, &fill_, &comp_, nullptr) != 0) return false;
    xsk_socket_config cfg{};
    cfg.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS;
    cfg.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS;
    cfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
    cfg.bind_flags = XDP_COPY;
    if (xsk_socket__create(&xsk_, ifname.c_str(), 0, umem_, &rx_, &tx_, &cfg) != 0) return false;
    uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&fill_, kFrames, &idx) != kFrames) return false;
    for (uint32_t i = 0; i < kFrames; ++i) {
      *xsk_ring_prod__fill_addr(&fill_, idx + i) = uint64_t{i} * kFrameSize;
    }
    xsk_ring_prod__submit(&fill_, kFrames);
    return true;
  }
  int fd() const { return xsk_socket__fd(xsk_); }

  // Frames received so far.
  std::vector<std::vector<uint8_t>> receive() {
    std::vector<std::vector<uint8_t>> frames;
    uint32_t idx = 0;
    const uint32_t n = xsk_ring_cons__peek(&rx_, kFrames, &idx);
    for (uint32_t i = 0; i < n; ++i) {
      const xdp_desc* d = xsk_ring_cons__rx_desc(&rx_, idx + i);
      const auto* p = static_cast<const uint8_t*>(xsk_umem__get_data(area_, d->addr));
      frames.emplace_back(p, p + d->len);
    }
    if (n > 0) xsk_ring_cons__release(&rx_, n);
    return frames;
  }

  ~XskSocket() {
    if (xsk_ != nullptr) xsk_socket__delete(xsk_);
    if (umem_ != nullptr) xsk_umem__delete(umem_);
    if (area_ != nullptr && area_ != MAP_FAILED) munmap(area_, size_t{kFrames} * kFrameSize);
  }

 private:
  void* area_ = nullptr;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  xsk_ring_prod fill_{};
  xsk_ring_cons comp_{};
  xsk_ring_cons rx_{};
  xsk_ring_prod tx_{};
};

TEST_F(XskProgram, VipTrafficIsSteeredAndHostTrafficPasses) {
  ASSERT_TRUE(attach_xsk(XDP_FLAGS_DRV_MODE));
  auto m = VipMap::open(iface());
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(m->sync(addrs({"192.0.2.10", "2001:db8::10"})));

  // Host traffic (ARP, ND, ICMP to the host's own addresses) still reaches the kernel.
  EXPECT_TRUE(ping_from_peer("10.98.0.1"));
  EXPECT_TRUE(ping_from_peer("fd98::1"));
  auto s0 = m->stats();
  ASSERT_TRUE(s0) << s0.error().message;
  EXPECT_GE(s0->passed, 2u);
  EXPECT_EQ(s0->redirected, 0u);

  // To a VIP with no socket bound: the redirect falls back to the kernel, which does not own
  // the VIP and drops it; no answer.
  EXPECT_FALSE(ping_from_peer("192.0.2.10"));
  EXPECT_FALSE(ping_from_peer("2001:db8::10"));
  auto s1 = m->stats();
  ASSERT_TRUE(s1);
  EXPECT_EQ(s1->no_socket - s0->no_socket, 2u);
  EXPECT_EQ(s1->redirected, 0u);

  // With a socket bound on the queue, VIP packets go to it and not to the kernel.
  XskSocket xsk;
  ASSERT_TRUE(xsk.open(iface()));
  auto prog = prog_fd_by_id(m->prog_id());
  ASSERT_TRUE(prog);
  auto xsks = find_prog_map(prog->get(), STEER_XSK_XSKS_MAP);
  ASSERT_TRUE(xsks) << xsks.error().message;
  const uint32_t queue = 0;
  const int sock = xsk.fd();
  ASSERT_EQ(bpf_map_update_elem(xsks->get(), &queue, &sock, BPF_ANY), 0);

  EXPECT_FALSE(ping_from_peer("192.0.2.10"));  // the socket does not answer
  EXPECT_TRUE(ping_from_peer("10.98.0.1"));    // the host still does
  auto s2 = m->stats();
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->redirected, 1u);
  EXPECT_EQ(s2->no_socket, s1->no_socket);

  const auto frames = xsk.receive();
  ASSERT_EQ(frames.size(), 1u);
  const std::vector<uint8_t>& f = frames[0];
  ASSERT_GE(f.size(), 34u);
  EXPECT_EQ(f[12], 0x08);  // IPv4
  EXPECT_EQ(f[13], 0x00);
  EXPECT_EQ(f[14 + 9], 1);  // ICMP
  const uint8_t vip[4] = {192, 0, 2, 10};
  EXPECT_EQ(std::memcmp(&f[14 + 16], vip, 4), 0);

  // Removing the VIP gives its traffic back to the kernel.
  ASSERT_TRUE(m->sync({}));
  EXPECT_FALSE(ping_from_peer("192.0.2.10"));
  auto s3 = m->stats();
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->redirected, 1u);
  EXPECT_TRUE(xsk.receive().empty());
}

// Polls the counters until `done` holds or two seconds pass (veth hands frames to the XDP
// program from NAPI, after sendto() returned). Returns the last reading.
template <class Pred>
XskStats wait_stats(const VipMap& m, Pred done) {
  XskStats s{};
  for (int i = 0; i < 200; ++i) {
    auto r = m.stats();
    if (r) s = *r;
    if (r && done(s)) break;
    usleep(10'000);
  }
  return s;
}

// VLAN-tagged frames are matched on their inner IP header; cut-short headers are counted.
TEST_F(XskProgram, TaggedFramesAreMatchedAndTruncatedOnesCounted) {
  ASSERT_TRUE(attach_xsk(XDP_FLAGS_DRV_MODE));
  auto m = VipMap::open(iface());
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(m->sync(addrs({"192.0.2.10", "2001:db8::10"})));
  const std::vector<uint8_t> mac = mac_of(iface());
  ASSERT_EQ(mac.size(), 6u);

  auto before = m->stats();
  ASSERT_TRUE(before);
  ASSERT_TRUE(send_from_peer(frame(mac, 5, 0x0800, ipv4_to({192, 0, 2, 10}))));
  ASSERT_TRUE(send_from_peer(frame(mac, 5, 0x86dd, ipv6_to("2001:db8::10"))));
  ASSERT_TRUE(send_from_peer(frame(mac, 5, 0x0800, ipv4_to({192, 0, 2, 99}))));
  ASSERT_TRUE(send_from_peer(frame(mac, 0, 0x0800, ipv4_to({192, 0, 2, 10}))));
  const XskStats mid = wait_stats(*m, [&](const XskStats& s) {
    return s.no_socket - before->no_socket >= 3 && s.passed > before->passed;
  });
  EXPECT_EQ(mid.no_socket - before->no_socket, 3u);  // two tagged VIP frames, one untagged
  EXPECT_GE(mid.passed - before->passed, 1u);        // the tagged non-VIP frame
  EXPECT_EQ(mid.malformed, before->malformed);

  std::vector<uint8_t> cut = ipv4_to({192, 0, 2, 10});
  cut.resize(12);  // IPv4 header cut before the addresses
  ASSERT_TRUE(send_from_peer(frame(mac, 0, 0x0800, cut)));
  ASSERT_TRUE(send_from_peer(frame(mac, 0, 0x8100, {0x00})));  // VLAN tag cut short
  std::vector<uint8_t> cut6 = ipv6_to("2001:db8::10");
  cut6.resize(30);
  ASSERT_TRUE(send_from_peer(frame(mac, 7, 0x86dd, cut6)));
  const XskStats after =
      wait_stats(*m, [&](const XskStats& s) { return s.malformed - mid.malformed >= 3; });
  EXPECT_EQ(after.malformed - mid.malformed, 3u);
  EXPECT_EQ(after.no_socket, mid.no_socket);
}

}  // namespace
}  // namespace steer::dataplane::xdp
