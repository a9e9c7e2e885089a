#include "dataplane/xdp/xsk_program.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <set>

#include <fmt/format.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/xdp/steer_xdp_abi.h"

#ifndef STEER_BPF_BUILD_DIR
#error "STEER_BPF_BUILD_DIR must be defined by the build (dataplane/xdp/meson.build)"
#endif

namespace steer::dataplane::xdp {

std::string default_bpf_dir() {
  const char* env = std::getenv("STEER_BPF_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return STEER_BPF_BUILD_DIR;
}

std::string xsk_program_path() { return default_bpf_dir() + "/" STEER_XSK_OBJECT; }

Result<bool> detach_stale_xdp(const std::string& ifname) {
  auto ifindex = interface_index(ifname);
  if (!ifindex) return tl::unexpected(ifindex.error());
  auto attached = query_xdp(*ifindex);
  if (!attached) return tl::unexpected(attached.error());
  bool detached = false;
  const struct {
    uint32_t id;
    uint32_t flag;
    const char* mode;
  } modes[] = {{attached->drv_prog_id, XDP_FLAGS_DRV_MODE, "native"},
               {attached->skb_prog_id, XDP_FLAGS_SKB_MODE, "generic"},
               {attached->hw_prog_id, XDP_FLAGS_HW_MODE, "offloaded"}};
  for (const auto& m : modes) {
    if (m.id == 0) continue;
    if (const int err = bpf_xdp_detach(*ifindex, m.flag, nullptr); err < 0) {
      return fail(fmt::format("cannot detach {} XDP program {} from {}: {}", m.mode, m.id, ifname,
                              errno_text(-err)));
    }
    detached = true;
  }
  return detached;
}

Result<VipMap> VipMap::open(const std::string& ifname) {
  auto ifindex = interface_index(ifname);
  if (!ifindex) return tl::unexpected(ifindex.error());
  auto attached = query_xdp(*ifindex);
  if (!attached) return tl::unexpected(attached.error());
  const uint32_t id = attached->drv_prog_id != 0   ? attached->drv_prog_id
                      : attached->skb_prog_id != 0 ? attached->skb_prog_id
                                                   : attached->hw_prog_id;
  if (id == 0) return fail(fmt::format("no XDP program is attached to {}", ifname));
  auto prog = prog_fd_by_id(id);
  if (!prog) return tl::unexpected(prog.error());
  auto info = prog_info(prog->get());
  if (!info) return tl::unexpected(info.error());
  if (std::string_view(info->name) != STEER_XSK_PROG_NAME) {
    return fail(fmt::format("the XDP program on {} is {} '{}', not {}", ifname, id, info->name,
                            STEER_XSK_PROG_NAME));
  }
  auto vips = find_prog_map(prog->get(), STEER_XSK_VIP_MAP);
  if (!vips) return tl::unexpected(vips.error());
  auto vinfo = map_info(vips->get());
  if (!vinfo) return tl::unexpected(vinfo.error());
  if (vinfo->type != BPF_MAP_TYPE_HASH || vinfo->key_size != sizeof(steer_addr_key) ||
      vinfo->value_size != sizeof(uint32_t)) {
    return fail(fmt::format("map {} of XDP program {} on {} has an unexpected layout",
                            STEER_XSK_VIP_MAP, id, ifname));
  }
  auto stats = find_prog_map(prog->get(), STEER_XSK_STATS_MAP);
  if (!stats) return tl::unexpected(stats.error());
  return VipMap(std::move(*vips), std::move(*stats), id);
}

Result<std::vector<IpAddress>> VipMap::addresses() const {
  std::vector<IpAddress> out;
  IpAddress::Bytes key{};
  IpAddress::Bytes next{};
  const void* prev = nullptr;
  // A hash map can restart iteration if an entry is deleted concurrently; the bound stops a
  // pathological loop.
  for (int i = 0; i <= 2 * STEER_XSK_MAX_VIPS; ++i) {
    const int err = bpf_map_get_next_key(vip_map_.get(), prev, next.data());
    if (err == -ENOENT) {
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    }
    if (err < 0)
      return fail(fmt::format("cannot list {}: {}", STEER_XSK_VIP_MAP, errno_text(-err)));
    out.push_back(IpAddress::from_bytes(next));
    key = next;
    prev = key.data();
  }
  return fail(fmt::format("cannot list {}: it keeps changing", STEER_XSK_VIP_MAP));
}

Result<void> VipMap::sync(std::span<const IpAddress> addresses) {
  const std::set<IpAddress> want(addresses.begin(), addresses.end());
  if (want.size() > STEER_XSK_MAX_VIPS) {
    return fail(fmt::format("{} VIP addresses, the XDP program holds at most {}", want.size(),
                            STEER_XSK_MAX_VIPS));
  }
  auto current = this->addresses();
  if (!current) return tl::unexpected(current.error());
  const std::set<IpAddress> have(current->begin(), current->end());

  std::vector<IpAddress> add;
  std::vector<IpAddress> remove;
  std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(add));
  std::set_difference(have.begin(), have.end(), want.begin(), want.end(),
                      std::back_inserter(remove));

  auto do_add = [&]() -> Result<void> {
    const uint32_t one = 1;
    for (const IpAddress& a : add) {
      if (const int err = bpf_map_update_elem(vip_map_.get(), a.data(), &one, BPF_ANY); err < 0) {
        return fail(
            fmt::format("cannot add VIP {} to {}: {}", a, STEER_XSK_VIP_MAP, errno_text(-err)));
      }
    }
    return {};
  };
  auto do_remove = [&]() -> Result<void> {
    for (const IpAddress& a : remove) {
      const int err = bpf_map_delete_elem(vip_map_.get(), a.data());
      if (err < 0 && err != -ENOENT) {
        return fail(fmt::format("cannot remove VIP {} from {}: {}", a, STEER_XSK_VIP_MAP,
                                errno_text(-err)));
      }
    }
    return {};
  };
  // Make before break, unless the map would overflow in between.
  if (have.size() + add.size() <= STEER_XSK_MAX_VIPS) {
    if (auto r = do_add(); !r) return r;
    return do_remove();
  }
  if (auto r = do_remove(); !r) return r;
  return do_add();
}

Result<XskStats> VipMap::stats() const {
  auto c = read_percpu_counters(stats_map_.get(), STEER_XSK_COUNTER_COUNT);
  if (!c) return tl::unexpected(c.error());
  XskStats s;
  s.redirected = (*c)[STEER_XSK_REDIRECTED];
  s.no_socket = (*c)[STEER_XSK_NO_SOCKET];
  s.passed = (*c)[STEER_XSK_PASSED];
  s.malformed = (*c)[STEER_XSK_MALFORMED];
  return s;
}

}  // namespace steer::dataplane::xdp
