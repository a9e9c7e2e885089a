#include "dataplane/xdp/bpf_util.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <net/if.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

namespace steer::dataplane::xdp {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string errno_text(int err) { return std::generic_category().message(err); }

Result<int> interface_index(const std::string& ifname) {
  const unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) return fail(fmt::format("no interface '{}': {}", ifname, errno_text(errno)));
  return static_cast<int>(index);
}

Result<XdpAttachment> query_xdp(int ifindex) {
  bpf_xdp_query_opts opts{};
  opts.sz = sizeof(opts);
  if (const int err = bpf_xdp_query(ifindex, 0, &opts); err < 0) {
    return fail(
        fmt::format("cannot query XDP programs of interface {}: {}", ifindex, errno_text(-err)));
  }
  XdpAttachment a;
  a.drv_prog_id = opts.drv_prog_id;
  a.skb_prog_id = opts.skb_prog_id;
  a.hw_prog_id = opts.hw_prog_id;
  return a;
}

Result<Fd> prog_fd_by_id(uint32_t prog_id) {
  const int fd = bpf_prog_get_fd_by_id(prog_id);
  if (fd < 0) return fail(fmt::format("cannot open BPF program {}: {}", prog_id, errno_text(-fd)));
  return Fd(fd);
}

Result<bpf_prog_info> prog_info(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (const int err = bpf_obj_get_info_by_fd(prog_fd, &info, &len); err < 0) {
    return fail(fmt::format("cannot read BPF program info: {}", errno_text(-err)));
  }
  return info;
}

Result<bpf_map_info> map_info(int map_fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (const int err = bpf_obj_get_info_by_fd(map_fd, &info, &len); err < 0) {
    return fail(fmt::format("cannot read BPF map info: {}", errno_text(-err)));
  }
  return info;
}

Result<Fd> find_prog_map(int prog_fd, std::string_view name) {
  // First ask how many maps, then fetch their ids (the kernel fills at most nr_map_ids).
  auto first = prog_info(prog_fd);
  if (!first) return tl::unexpected(first.error());
  std::vector<uint32_t> ids(first->nr_map_ids);
  if (!ids.empty()) {
    bpf_prog_info info{};
    info.nr_map_ids = static_cast<uint32_t>(ids.size());
    info.map_ids = reinterpret_cast<uint64_t>(ids.data());
    uint32_t len = sizeof(info);
    if (const int err = bpf_obj_get_info_by_fd(prog_fd, &info, &len); err < 0) {
      return fail(
          fmt::format("cannot read the maps of BPF program {}: {}", first->id, errno_text(-err)));
    }
    ids.resize(std::min<size_t>(ids.size(), info.nr_map_ids));
  }
  for (const uint32_t id : ids) {
    const int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0) continue;  // freed meanwhile
    Fd map(fd);
    auto info = map_info(map.get());
    if (info && name == info->name) return map;
  }
  return fail(
      fmt::format("BPF program {} ('{}') has no map named '{}'", first->id, first->name, name));
}

Result<std::vector<uint64_t>> read_percpu_counters(int map_fd, uint32_t count) {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return fail(fmt::format("cannot count CPUs: {}", errno_text(-cpus)));
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  std::vector<uint64_t> sums(count, 0);
  for (uint32_t key = 0; key < count; ++key) {
    if (const int err = bpf_map_lookup_elem(map_fd, &key, per_cpu.data()); err < 0) {
      return fail(fmt::format("cannot read counter {}: {}", key, errno_text(-err)));
    }
    for (const uint64_t v : per_cpu) sums[key] += v;
  }
  return sums;
}

namespace {

__attribute__((format(printf, 2, 0))) int print_all(enum libbpf_print_level, const char* format,
                                                    va_list args) {
  return std::vfprintf(stderr, format, args);
}
int print_none(enum libbpf_print_level, const char*, va_list) { return 0; }

}  // namespace

void set_libbpf_verbose(bool verbose) { libbpf_set_print(verbose ? print_all : print_none); }

}  // namespace steer::dataplane::xdp
