#include "dataplane/xdp/decap_program.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <utility>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/xdp/bpf_util.h"
#include "dataplane/xdp/xsk_program.h"

namespace steer::dataplane::xdp {
namespace {

constexpr std::string_view kCounterNames[STEER_DECAP_COUNTER_COUNT] = {
    "ipip",      "6in4",      "ip6ip6",      "4in6",        "gue4",   "gue6",         "passed",
    "not_local", "malformed", "unsupported", "drop_source", "failed", "tc_redirected"};

struct ObjectCloser {
  void operator()(bpf_object* obj) const { bpf_object__close(obj); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectCloser>;

// steer_decap programs attached to one interface (0 = none), and what else is there.
struct Attached {
  uint32_t xdp_drv = 0;
  uint32_t xdp_skb = 0;
  uint32_t tc = 0;
  std::string foreign_xdp;  // description of a non-steer XDP program, if any
  std::string foreign_tc;   // description of a non-steer filter at our tc handle/priority
};

bpf_tc_hook ingress_hook(int ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

bpf_tc_opts tc_opts() {
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = kTcHandle;
  opts.priority = kTcPriority;
  return opts;
}

Result<std::string> prog_name_by_id(uint32_t id) {
  auto fd = prog_fd_by_id(id);
  if (!fd) return tl::unexpected(fd.error());
  auto info = prog_info(fd->get());
  if (!info) return tl::unexpected(info.error());
  return std::string(info->name);
}

Result<Attached> find_attached(int ifindex, const std::string& ifname) {
  Attached a;
  auto xdp = query_xdp(ifindex);
  if (!xdp) return tl::unexpected(xdp.error());
  const struct {
    uint32_t id;
    uint32_t* ours;
  } modes[] = {{xdp->drv_prog_id, &a.xdp_drv}, {xdp->skb_prog_id, &a.xdp_skb}};
  for (const auto& m : modes) {
    if (m.id == 0) continue;
    auto name = prog_name_by_id(m.id);
    if (!name) return tl::unexpected(name.error());
    if (*name == STEER_DECAP_XDP_PROG_NAME) {
      *m.ours = m.id;
    } else {
      a.foreign_xdp = fmt::format("XDP program {} '{}'", m.id, *name);
    }
  }
  if (xdp->hw_prog_id != 0)
    a.foreign_xdp = fmt::format("offloaded XDP program {}", xdp->hw_prog_id);

  bpf_tc_hook hook = ingress_hook(ifindex);
  bpf_tc_opts opts = tc_opts();
  const int err = bpf_tc_query(&hook, &opts);
  if (err == 0) {
    auto name = prog_name_by_id(opts.prog_id);
    if (!name) return tl::unexpected(name.error());
    if (*name == STEER_DECAP_TC_PROG_NAME) {
      a.tc = opts.prog_id;
    } else {
      a.foreign_tc = fmt::format("tc filter (handle {:#x}, priority {}) runs program {} '{}'",
                                 kTcHandle, kTcPriority, opts.prog_id, *name);
    }
  } else if (err != -ENOENT && err != -EINVAL) {
    // ENOENT: no such filter; EINVAL: no clsact qdisc on the device.
    return fail(fmt::format("cannot query tc filters of {}: {}", ifname, errno_text(-err)));
  }
  return a;
}

// Detaches our XDP program `id` in `mode_flag`, only if it is still the one attached.
Result<void> detach_xdp_if(int ifindex, const std::string& ifname, uint32_t id,
                           uint32_t mode_flag) {
  auto fd = prog_fd_by_id(id);
  if (!fd) return {};  // gone meanwhile
  bpf_xdp_attach_opts opts{};
  opts.sz = sizeof(opts);
  opts.old_prog_fd = fd->get();
  const int err = bpf_xdp_detach(ifindex, mode_flag | XDP_FLAGS_REPLACE, &opts);
  if (err < 0 && err != -EEXIST) {  // EEXIST: replaced by someone else meanwhile
    return fail(
        fmt::format("cannot detach XDP program {} from {}: {}", id, ifname, errno_text(-err)));
  }
  return {};
}

Result<void> detach_tc(int ifindex, const std::string& ifname) {
  bpf_tc_hook hook = ingress_hook(ifindex);
  bpf_tc_opts opts = tc_opts();
  const int err = bpf_tc_detach(&hook, &opts);
  if (err < 0 && err != -ENOENT) {
    return fail(fmt::format("cannot remove the tc filter from {}: {}", ifname, errno_text(-err)));
  }
  return {};
}

// The IPv4 and IPv6 addresses of one interface, as getifaddrs() reports them now.
Result<std::vector<IpAddress>> interface_addresses(const std::string& ifname) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return fail(fmt::format("cannot list interface addresses: {}", errno_text(errno)));
  }
  std::vector<IpAddress> out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || ifname != i->ifa_name) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.push_back(IpAddress::from_v4(reinterpret_cast<const uint8_t*>(&sin->sin_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      out.push_back(IpAddress::from_v6(sin6->sin6_addr.s6_addr));
    }
  }
  freeifaddrs(list);
  return out;
}

steer_lpm_key lpm_key(const IpPrefix& p) {
  steer_lpm_key key{};
  key.prefixlen = p.length + (p.address.is_v4() ? 96u : 0u);
  std::memcpy(key.addr, p.address.data(), 16);
  return key;
}

// Fills the freshly loaded object's maps. Nothing is attached yet.
Result<void> fill_maps(bpf_object* obj, const DecapOptions& opts,
                       const std::vector<IpAddress>& destinations) {
  const int config_fd = bpf_object__find_map_fd_by_name(obj, STEER_DECAP_CONFIG_MAP);
  const int dst_fd = bpf_object__find_map_fd_by_name(obj, STEER_DECAP_DST_MAP);
  const int allow_fd = bpf_object__find_map_fd_by_name(obj, STEER_DECAP_ALLOW_MAP);
  if (config_fd < 0 || dst_fd < 0 || allow_fd < 0) {
    return fail("the BPF object lacks steer_decap's maps (wrong object file?)");
  }
  if (destinations.size() > STEER_DECAP_MAX_DSTS || opts.allow.size() > STEER_DECAP_MAX_ALLOW) {
    return fail(fmt::format("at most {} destinations and {} allowed prefixes", STEER_DECAP_MAX_DSTS,
                            STEER_DECAP_MAX_ALLOW));
  }
  const uint32_t one = 1;
  for (const IpAddress& a : destinations) {
    if (const int err = bpf_map_update_elem(dst_fd, a.data(), &one, BPF_ANY); err < 0) {
      return fail(fmt::format("cannot add destination {}: {}", a, errno_text(-err)));
    }
  }
  for (const IpPrefix& p : opts.allow) {
    const steer_lpm_key key = lpm_key(p);
    if (const int err = bpf_map_update_elem(allow_fd, &key, &one, BPF_ANY); err < 0) {
      return fail(fmt::format("cannot add allowed prefix {}: {}", p.to_string(), errno_text(-err)));
    }
  }
  steer_decap_config config{};
  config.gue_port = opts.gue_port;
  if (!opts.any_destination) config.flags |= STEER_DECAP_CHECK_DST;
  if (!opts.allow.empty()) config.flags |= STEER_DECAP_CHECK_SRC;
  if (opts.tc_redirect_fallback) config.flags |= STEER_DECAP_TC_REDIRECT;
  const uint32_t zero = 0;
  if (const int err = bpf_map_update_elem(config_fd, &zero, &config, BPF_ANY); err < 0) {
    return fail(fmt::format("cannot write the decap configuration: {}", errno_text(-err)));
  }
  return {};
}

// All keys of a map (key size `key_size`), in iteration order.
Result<std::vector<std::vector<uint8_t>>> map_keys(int fd, size_t key_size, size_t limit) {
  std::vector<std::vector<uint8_t>> keys;
  std::vector<uint8_t> key(key_size);
  std::vector<uint8_t> next(key_size);
  const void* prev = nullptr;
  while (keys.size() <= limit) {
    const int err = bpf_map_get_next_key(fd, prev, next.data());
    if (err == -ENOENT) return keys;
    if (err < 0) return fail(fmt::format("cannot list a decap map: {}", errno_text(-err)));
    keys.push_back(next);
    key = next;
    prev = key.data();
  }
  return fail("a decap map keeps changing while being listed");
}

Result<void> read_maps(int prog_fd, DecapStatus& s) {
  auto config = find_prog_map(prog_fd, STEER_DECAP_CONFIG_MAP);
  auto dst = find_prog_map(prog_fd, STEER_DECAP_DST_MAP);
  auto allow = find_prog_map(prog_fd, STEER_DECAP_ALLOW_MAP);
  auto stats = find_prog_map(prog_fd, STEER_DECAP_STATS_MAP);
  for (auto* r : {&config, &dst, &allow, &stats}) {
    if (!*r) return tl::unexpected(r->error());
  }
  steer_decap_config cfg{};
  const uint32_t zero = 0;
  if (const int err = bpf_map_lookup_elem(config->get(), &zero, &cfg); err < 0) {
    return fail(fmt::format("cannot read the decap configuration: {}", errno_text(-err)));
  }
  s.gue_port = cfg.gue_port;
  s.any_destination = (cfg.flags & STEER_DECAP_CHECK_DST) == 0;
  s.tc_redirect_fallback = (cfg.flags & STEER_DECAP_TC_REDIRECT) != 0;

  auto dst_keys = map_keys(dst->get(), sizeof(steer_addr_key), size_t{2} * STEER_DECAP_MAX_DSTS);
  if (!dst_keys) return tl::unexpected(dst_keys.error());
  for (const auto& k : *dst_keys) s.destinations.push_back(IpAddress::from_v6(k.data()));
  std::sort(s.destinations.begin(), s.destinations.end());

  auto allow_keys =
      map_keys(allow->get(), sizeof(steer_lpm_key), size_t{2} * STEER_DECAP_MAX_ALLOW);
  if (!allow_keys) return tl::unexpected(allow_keys.error());
  for (const auto& k : *allow_keys) {
    steer_lpm_key key{};
    std::memcpy(&key, k.data(), sizeof(key));
    IpPrefix p;
    p.address = IpAddress::from_v6(key.addr);
    const bool v4 = p.address.is_v4() && key.prefixlen >= 96;
    p.length = static_cast<uint8_t>(v4 ? key.prefixlen - 96 : key.prefixlen);
    s.allow.push_back(p);
  }
  std::sort(s.allow.begin(), s.allow.end());

  auto counters = read_percpu_counters(stats->get(), STEER_DECAP_COUNTER_COUNT);
  if (!counters) return tl::unexpected(counters.error());
  std::copy(counters->begin(), counters->end(), s.counters.begin());
  return {};
}

}  // namespace

std::string_view decap_mode_name(DecapMode mode) {
  switch (mode) {
    case DecapMode::Xdp:
      return "xdp";
    case DecapMode::XdpGeneric:
      return "xdp-generic";
    case DecapMode::Tc:
      return "tc";
  }
  return "?";
}

std::optional<DecapMode> parse_decap_mode(std::string_view text) {
  for (const DecapMode m : {DecapMode::Xdp, DecapMode::XdpGeneric, DecapMode::Tc}) {
    if (text == decap_mode_name(m)) return m;
  }
  return std::nullopt;
}

std::string_view decap_counter_name(size_t i) {
  return i < STEER_DECAP_COUNTER_COUNT ? kCounterNames[i] : std::string_view("?");
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  const size_t slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  const unsigned max = address->is_v4() ? 32 : 128;
  unsigned length = max;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        length > max) {
      return std::nullopt;
    }
  }
  // Clear the host bits, counted in the 16-byte form.
  IpAddress::Bytes bytes = address->bytes();
  const unsigned keep = length + (address->is_v4() ? 96 : 0);
  for (unsigned bit = keep; bit < 128; ++bit) {
    bytes[bit / 8] = static_cast<uint8_t>(bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  return IpPrefix{IpAddress::from_bytes(bytes), static_cast<uint8_t>(length)};
}

std::string IpPrefix::to_string() const { return fmt::format("{}/{}", address, length); }

Result<DecapStatus> decap_status(const std::string& ifname) {
  auto ifindex = interface_index(ifname);
  if (!ifindex) return tl::unexpected(ifindex.error());
  auto found = find_attached(*ifindex, ifname);
  if (!found) return tl::unexpected(found.error());
  DecapStatus s;
  if (found->xdp_drv != 0) {
    s.mode = DecapMode::Xdp;
    s.prog_id = found->xdp_drv;
  } else if (found->xdp_skb != 0) {
    s.mode = DecapMode::XdpGeneric;
    s.prog_id = found->xdp_skb;
  } else if (found->tc != 0) {
    s.mode = DecapMode::Tc;
    s.prog_id = found->tc;
  } else {
    return s;
  }
  auto fd = prog_fd_by_id(s.prog_id);
  if (!fd) return tl::unexpected(fd.error());
  if (auto r = read_maps(fd->get(), s); !r) return tl::unexpected(r.error());
  s.attached = true;
  return s;
}

Result<bool> detach_decap(const std::string& ifname) {
  auto ifindex = interface_index(ifname);
  if (!ifindex) return tl::unexpected(ifindex.error());
  auto found = find_attached(*ifindex, ifname);
  if (!found) return tl::unexpected(found.error());
  bool detached = false;
  if (found->xdp_drv != 0) {
    if (auto r = detach_xdp_if(*ifindex, ifname, found->xdp_drv, XDP_FLAGS_DRV_MODE); !r) {
      return tl::unexpected(r.error());
    }
    detached = true;
  }
  if (found->xdp_skb != 0) {
    if (auto r = detach_xdp_if(*ifindex, ifname, found->xdp_skb, XDP_FLAGS_SKB_MODE); !r) {
      return tl::unexpected(r.error());
    }
    detached = true;
  }
  if (found->tc != 0) {
    if (auto r = detach_tc(*ifindex, ifname); !r) return tl::unexpected(r.error());
    detached = true;
  }
  return detached;
}

Result<DecapStatus> attach_decap(const std::string& ifname, const DecapOptions& opts) {
  auto ifindex = interface_index(ifname);
  if (!ifindex) return tl::unexpected(ifindex.error());
  auto found = find_attached(*ifindex, ifname);
  if (!found) return tl::unexpected(found.error());
  const bool xdp_mode = opts.mode != DecapMode::Tc;
  if (xdp_mode && !found->foreign_xdp.empty()) {
    return fail(fmt::format("{} has {} attached; detach it first (ip link set dev {} xdp off)",
                            ifname, found->foreign_xdp, ifname));
  }
  if (!xdp_mode && !found->foreign_tc.empty()) {
    return fail(fmt::format("on {}: {}; remove it first", ifname, found->foreign_tc));
  }

  std::vector<IpAddress> destinations;
  if (!opts.any_destination) {
    if (opts.destinations.empty()) {
      auto own = interface_addresses(ifname);
      if (!own) return tl::unexpected(own.error());
      destinations = std::move(*own);
      if (destinations.empty()) {
        return fail(fmt::format(
            "{} has no IP address to accept as outer destination; give --dst or --any-dst",
            ifname));
      }
    } else {
      destinations = opts.destinations;
    }
  }

  const std::string path =
      opts.object_path.empty() ? default_bpf_dir() + "/" + STEER_DECAP_OBJECT : opts.object_path;
  ObjectPtr obj(bpf_object__open_file(path.c_str(), nullptr));
  if (!obj) return fail(fmt::format("cannot open BPF object {}: {}", path, errno_text(errno)));
  bpf_program* xdp_prog = bpf_object__find_program_by_name(obj.get(), STEER_DECAP_XDP_PROG_NAME);
  bpf_program* tc_prog = bpf_object__find_program_by_name(obj.get(), STEER_DECAP_TC_PROG_NAME);
  if (xdp_prog == nullptr || tc_prog == nullptr) {
    return fail(fmt::format("{} is not a steer_decap object (programs missing)", path));
  }
  // Load only the program this mode attaches.
  bpf_program__set_autoload(xdp_mode ? tc_prog : xdp_prog, false);
  if (const int err = bpf_object__load(obj.get()); err < 0) {
    return fail(fmt::format("cannot load BPF object {}: {} (run with --verbose for the log)", path,
                            errno_text(-err)));
  }
  if (auto r = fill_maps(obj.get(), opts, destinations); !r) return tl::unexpected(r.error());
  const int prog_fd = bpf_program__fd(xdp_mode ? xdp_prog : tc_prog);

  if (xdp_mode) {
    const bool generic = opts.mode == DecapMode::XdpGeneric;
    // The kernel refuses native and generic programs at once: drop ours in the other mode.
    const uint32_t other = generic ? found->xdp_drv : found->xdp_skb;
    if (other != 0) {
      auto r =
          detach_xdp_if(*ifindex, ifname, other, generic ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
      if (!r) return tl::unexpected(r.error());
    }
    // Without XDP_FLAGS_UPDATE_IF_NOEXIST, this atomically replaces our program in this mode.
    const uint32_t flags = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    if (const int err = bpf_xdp_attach(*ifindex, prog_fd, flags, nullptr); err < 0) {
      return fail(fmt::format("cannot attach {} XDP program to {}: {}",
                              generic ? "generic" : "native", ifname, errno_text(-err)));
    }
    if (found->tc != 0) {
      if (auto r = detach_tc(*ifindex, ifname); !r) return tl::unexpected(r.error());
    }
  } else {
    bpf_tc_hook hook = ingress_hook(*ifindex);
    if (const int err = bpf_tc_hook_create(&hook); err < 0 && err != -EEXIST) {
      return fail(fmt::format("cannot add a clsact qdisc to {}: {}", ifname, errno_text(-err)));
    }
    bpf_tc_opts topts = tc_opts();
    topts.prog_fd = prog_fd;
    topts.flags = BPF_TC_F_REPLACE;
    if (const int err = bpf_tc_attach(&hook, &topts); err < 0) {
      return fail(
          fmt::format("cannot attach the tc ingress filter to {}: {}", ifname, errno_text(-err)));
    }
    for (const auto& [id, flag] : {std::pair{found->xdp_drv, uint32_t{XDP_FLAGS_DRV_MODE}},
                                   std::pair{found->xdp_skb, uint32_t{XDP_FLAGS_SKB_MODE}}}) {
      if (id == 0) continue;
      if (auto r = detach_xdp_if(*ifindex, ifname, id, flag); !r) return tl::unexpected(r.error());
    }
  }
  return decap_status(ifname);
}

}  // namespace steer::dataplane::xdp
