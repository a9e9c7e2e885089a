// SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0)
/* steer_xsk: the XDP program DPDK's net_af_xdp loads with xdp_prog=steer_xsk.bpf.o.
 *
 * Only traffic to a VIP is steer's: a packet whose destination address (IPv4 or IPv6, after
 * at most one VLAN tag) is in vip_map goes to the AF_XDP socket of its RX queue, whatever its
 * protocol (TCP, UDP, ICMP echo and errors, fragments). Everything else — ARP, neighbour
 * discovery, BGP, SSH, traffic to the host's own addresses — goes to the kernel (XDP_PASS),
 * so the host stays reachable on the same port. vip_map is filled from user space
 * (steer::dataplane::xdp::VipMap) after every port start.
 *
 * A VIP packet on a queue with no socket bound falls back to XDP_PASS (bpf_redirect_map's
 * fallback action) and is counted as no_socket. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "steer_xdp_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, STEER_XSK_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} xsks_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, STEER_XSK_MAX_VIPS);
  __type(key, struct steer_addr_key);
  __type(value, __u32);
} vip_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, STEER_XSK_COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} xsk_stats SEC(".maps");

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

static __always_inline int count(__u32 counter, int action) {
  __u64* c = bpf_map_lookup_elem(&xsk_stats, &counter);
  if (c) *c += 1;
  return action;
}

SEC("xdp")
int steer_xsk(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return count(STEER_XSK_MALFORMED, XDP_PASS);
  __u16 proto = eth->h_proto;
  void* l3 = eth + 1;
  if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
    struct vlan_hdr* vlan = l3;
    if ((void*)(vlan + 1) > data_end) return count(STEER_XSK_MALFORMED, XDP_PASS);
    proto = vlan->proto;
    l3 = vlan + 1;
  }

  struct steer_addr_key key = {};
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = l3;
    if ((void*)(ip + 1) > data_end) return count(STEER_XSK_MALFORMED, XDP_PASS);
    key.addr[10] = 0xff;
    key.addr[11] = 0xff;
    __builtin_memcpy(&key.addr[12], &ip->daddr, 4);
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = l3;
    if ((void*)(ip6 + 1) > data_end) return count(STEER_XSK_MALFORMED, XDP_PASS);
    __builtin_memcpy(key.addr, &ip6->daddr, 16);
  } else {
    return count(STEER_XSK_PASSED, XDP_PASS);
  }

  if (!bpf_map_lookup_elem(&vip_map, &key)) return count(STEER_XSK_PASSED, XDP_PASS);
  /* The low bits of flags are the action when the queue has no socket (kernel >= 5.12). */
  long action = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
  return count(action == XDP_REDIRECT ? STEER_XSK_REDIRECTED : STEER_XSK_NO_SOCKET, (int)action);
}
