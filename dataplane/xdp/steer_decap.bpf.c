// SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0)
/* steer_decap: removes steer's encapsulation on a backend whose kernel has no ipip/fou.
 *
 * Accepted encapsulations (what dataplane/packet/encap.h produces):
 *   outer IPv4, protocol 4 (IPIP) or 41 (6in4);   outer IPv6, next header 41 (IP6IP6) or 4
 *   (4in6); and GUE variant 1: outer UDP to decap_config.gue_port whose payload is directly an
 *   IPv4/IPv6 packet (version nibble 4 or 6).
 * A packet is decapsulated only if
 *   - its outer destination is in decap_dst (when STEER_DECAP_CHECK_DST is set; the loader
 *     fills it with the device's addresses), else it passes untouched (not_local);
 *   - its outer source is in decap_allow (when STEER_DECAP_CHECK_SRC is set), else it is
 *     dropped (drop_source) — an allow list is a promise that nothing else may tunnel in.
 * Anything else passes untouched and is counted: plain traffic (passed), truncated or
 * inconsistent headers (malformed), outer fragments / IPv6 extension headers / GUE variant 0
 * (unsupported). The kernel then handles (or drops) it as if this program were not there.
 *
 * Two programs, one object: steer_decap_xdp (native or generic XDP: moves the Ethernet
 * header, and VLAN tag if any, forward over the outer headers with bpf_xdp_adjust_head and
 * sets its ethertype to the inner family) and steer_decap_tc (tc clsact ingress:
 * bpf_skb_adjust_room(BPF_ADJ_ROOM_MAC), with BPF_F_ADJ_ROOM_DECAP_L3_* telling the kernel
 * the family changed; kernels before 6.3 lack those flags, so a cross-family packet is then
 * re-injected with bpf_redirect(BPF_F_INGRESS), whose eth_type_trans() sets the protocol).
 *
 * The inner packet is not changed: no TTL decrement and no ECN propagation (like the LB, the
 * tunnel is one hop). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "steer_xdp_abi.h"

/* Linux 6.3 UAPI; Debian 12's headers (6.1) lack them. Tell bpf_skb_adjust_room the family of
 * the header left in front after a shrink, so it can set skb->protocol. */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#endif
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV6
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct steer_decap_config);
} decap_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, STEER_DECAP_MAX_DSTS);
  __type(key, struct steer_addr_key);
  __type(value, __u32);
} decap_dst SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, STEER_DECAP_MAX_ALLOW);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct steer_lpm_key);
  __type(value, __u32);
} decap_allow SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, STEER_DECAP_COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} decap_stats SEC(".maps");

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

enum plan_action { PLAN_PASS, PLAN_DECAP, PLAN_DROP };

/* What to do with one frame, decided before anything is changed. */
struct plan {
  __u32 counter;   /* enum steer_decap_counter */
  __u32 l2_len;    /* Ethernet (+ VLAN) header bytes: 14 or 18 */
  __u32 outer_len; /* bytes to remove after the L2 header: outer IP header (+ UDP) */
  __be16 outer_proto;
  __be16 inner_proto; /* ETH_P_IP or ETH_P_IPV6, network order */
};

static __always_inline void count(__u32 counter) {
  __u64* c = bpf_map_lookup_elem(&decap_stats, &counter);
  if (c) *c += 1;
}

static __always_inline const struct steer_decap_config* config(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&decap_config, &zero);
}

/* The inner packet starts at `inner`; `expect` is 4 or 6, or 0 for "4 or 6" (GUE). Sets
 * p->inner_proto. Returns the counter to use when the inner header is not acceptable, or
 * STEER_DECAP_COUNTER_COUNT when it is. `avail` is the outer packet's payload length as its
 * header claims it. */
static __always_inline __u32 check_inner(void* inner, void* data_end, __u32 expect, __u32 avail,
                                         struct plan* p) {
  __u8* first = inner;
  if ((void*)(first + 1) > data_end) return STEER_DECAP_MALFORMED;
  __u32 version = *first >> 4;
  if (expect != 0 && version != expect) return STEER_DECAP_MALFORMED;
  if (version == 4) {
    struct iphdr* ip = inner;
    if ((void*)(ip + 1) > data_end || avail < sizeof(*ip) || ip->ihl < 5)
      return STEER_DECAP_MALFORMED;
    p->inner_proto = bpf_htons(ETH_P_IP);
  } else if (version == 6) {
    struct ipv6hdr* ip6 = inner;
    if ((void*)(ip6 + 1) > data_end || avail < sizeof(*ip6)) return STEER_DECAP_MALFORMED;
    p->inner_proto = bpf_htons(ETH_P_IPV6);
  } else {
    return STEER_DECAP_UNSUPPORTED; /* GUE payload that is not an IP packet: GUE variant 0 */
  }
  return STEER_DECAP_COUNTER_COUNT;
}

/* Destination and source checks shared by both outer families; `dst`/`src` in 16-byte form. */
static __always_inline enum plan_action check_addresses(const struct steer_decap_config* cfg,
                                                        const struct steer_addr_key* dst,
                                                        const struct steer_lpm_key* src,
                                                        struct plan* p) {
  if ((cfg->flags & STEER_DECAP_CHECK_DST) && !bpf_map_lookup_elem(&decap_dst, dst)) {
    p->counter = STEER_DECAP_NOT_LOCAL;
    return PLAN_PASS;
  }
  if ((cfg->flags & STEER_DECAP_CHECK_SRC) && !bpf_map_lookup_elem(&decap_allow, src)) {
    p->counter = STEER_DECAP_DROP_SOURCE;
    return PLAN_DROP;
  }
  return PLAN_DECAP;
}

static __always_inline enum plan_action plan_v4(void* l3, void* data_end,
                                                const struct steer_decap_config* cfg,
                                                struct plan* p) {
  struct iphdr* ip = l3;
  if ((void*)(ip + 1) > data_end) {
    p->counter = STEER_DECAP_MALFORMED;
    return PLAN_PASS;
  }
  __u32 proto = ip->protocol;
  if (proto != IPPROTO_IPIP && proto != IPPROTO_IPV6 && proto != IPPROTO_UDP) {
    p->counter = STEER_DECAP_PASSED;
    return PLAN_PASS;
  }
  __u32 hlen = ip->ihl * 4;
  __u32 tot_len = bpf_ntohs(ip->tot_len);
  if (ip->version != 4 || hlen < sizeof(*ip) || tot_len < hlen || l3 + hlen > data_end) {
    p->counter = STEER_DECAP_MALFORMED;
    return PLAN_PASS;
  }
  __u32 outer_len = hlen;
  __u32 expect = proto == IPPROTO_IPIP ? 4 : 6;
  __u32 counter = proto == IPPROTO_IPIP ? STEER_DECAP_IPIP : STEER_DECAP_6IN4;
  if (proto == IPPROTO_UDP) {
    struct udphdr* udp = l3 + hlen;
    if ((void*)(udp + 1) > data_end) {
      /* A UDP header cut short: say malformed only if it could have been ours. */
      p->counter = STEER_DECAP_PASSED;
      return PLAN_PASS;
    }
    if (udp->dest != bpf_htons(cfg->gue_port)) {
      p->counter = STEER_DECAP_PASSED;
      return PLAN_PASS;
    }
    outer_len += sizeof(*udp);
    expect = 0;
    counter = STEER_DECAP_GUE4;
  }
  if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
    p->counter = STEER_DECAP_UNSUPPORTED;
    return PLAN_PASS;
  }
  if (tot_len < outer_len) {
    p->counter = STEER_DECAP_MALFORMED;
    return PLAN_PASS;
  }
  outer_len &= 0xff; /* at most 60 + 8: keeps the verifier's range small */
  __u32 bad = check_inner(l3 + outer_len, data_end, expect, tot_len - outer_len, p);
  if (bad != STEER_DECAP_COUNTER_COUNT) {
    p->counter = bad;
    return PLAN_PASS;
  }
  struct steer_addr_key dst = {};
  struct steer_lpm_key src = {.prefixlen = 128};
  dst.addr[10] = dst.addr[11] = 0xff;
  src.addr[10] = src.addr[11] = 0xff;
  __builtin_memcpy(&dst.addr[12], &ip->daddr, 4);
  __builtin_memcpy(&src.addr[12], &ip->saddr, 4);
  p->outer_len = outer_len;
  p->outer_proto = bpf_htons(ETH_P_IP);
  p->counter = counter;
  return check_addresses(cfg, &dst, &src, p);
}

static __always_inline enum plan_action plan_v6(void* l3, void* data_end,
                                                const struct steer_decap_config* cfg,
                                                struct plan* p) {
  struct ipv6hdr* ip6 = l3;
  if ((void*)(ip6 + 1) > data_end) {
    p->counter = STEER_DECAP_MALFORMED;
    return PLAN_PASS;
  }
  __u32 next = ip6->nexthdr;
  if (next != IPPROTO_IPIP && next != IPPROTO_IPV6 && next != IPPROTO_UDP) {
    /* Extension headers (a fragment header too) are not steer's encapsulation. */
    p->counter = STEER_DECAP_PASSED;
    return PLAN_PASS;
  }
  if (ip6->version != 6) {
    p->counter = STEER_DECAP_MALFORMED;
    return PLAN_PASS;
  }
  __u32 payload_len = bpf_ntohs(ip6->payload_len);
  __u32 outer_len = sizeof(*ip6);
  __u32 expect = next == IPPROTO_IPIP ? 4 : 6;
  __u32 counter = next == IPPROTO_IPIP ? STEER_DECAP_4IN6 : STEER_DECAP_IP6IP6;
  if (next == IPPROTO_UDP) {
    struct udphdr* udp = (void*)(ip6 + 1);
    if ((void*)(udp + 1) > data_end || udp->dest != bpf_htons(cfg->gue_port)) {
      p->counter = STEER_DECAP_PASSED;
      return PLAN_PASS;
    }
    outer_len += sizeof(*udp);
    expect = 0;
    counter = STEER_DECAP_GUE6;
  }
  __u32 header_bytes = outer_len - sizeof(*ip6);
  if (payload_len < header_bytes) {
    p->counter = STEER_DECAP_MALFORMED;
    return PLAN_PASS;
  }
  __u32 bad = check_inner(l3 + outer_len, data_end, expect, payload_len - header_bytes, p);
  if (bad != STEER_DECAP_COUNTER_COUNT) {
    p->counter = bad;
    return PLAN_PASS;
  }
  struct steer_addr_key dst = {};
  struct steer_lpm_key src = {.prefixlen = 128};
  __builtin_memcpy(dst.addr, &ip6->daddr, 16);
  __builtin_memcpy(src.addr, &ip6->saddr, 16);
  p->outer_len = outer_len;
  p->outer_proto = bpf_htons(ETH_P_IPV6);
  p->counter = counter;
  return check_addresses(cfg, &dst, &src, p);
}

/* Parses one frame from `data`. allow_vlan: whether a VLAN tag in the frame is handled (XDP)
 * or makes the frame unsupported (tc: the kernel has normally stripped it already, and
 * bpf_skb_adjust_room works on skb->protocol, which would then be the VLAN ethertype). */
static __always_inline enum plan_action plan_frame(void* data, void* data_end, int allow_vlan,
                                                   struct plan* p) {
  p->counter = STEER_DECAP_PASSED;
  const struct steer_decap_config* cfg = config();
  if (!cfg) return PLAN_PASS;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return PLAN_PASS;
  __be16 proto = eth->h_proto;
  void* l3 = eth + 1;
  p->l2_len = sizeof(*eth);
  if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
    struct vlan_hdr* vlan = l3;
    if ((void*)(vlan + 1) > data_end) return PLAN_PASS;
    proto = vlan->proto;
    l3 = vlan + 1;
    p->l2_len += sizeof(*vlan);
    if (!allow_vlan) {
      if (proto == bpf_htons(ETH_P_IP) || proto == bpf_htons(ETH_P_IPV6))
        p->counter = STEER_DECAP_UNSUPPORTED;
      return PLAN_PASS;
    }
  }
  if (proto == bpf_htons(ETH_P_IP)) return plan_v4(l3, data_end, cfg, p);
  if (proto == bpf_htons(ETH_P_IPV6)) return plan_v6(l3, data_end, cfg, p);
  return PLAN_PASS;
}

SEC("xdp")
int steer_decap_xdp(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct plan p = {};
  enum plan_action action = plan_frame(data, data_end, 1, &p);
  if (action != PLAN_DECAP) {
    count(p.counter);
    return action == PLAN_DROP ? XDP_DROP : XDP_PASS;
  }

  /* Keep the L2 header, with the inner family as its (innermost) ethertype, then drop the
   * outer headers from the front and write the header back in front of the inner packet. */
  unsigned char l2[sizeof(struct ethhdr) + sizeof(struct vlan_hdr)];
  int tagged = p.l2_len != sizeof(struct ethhdr);
  if (data + sizeof(l2) > data_end) return XDP_PASS; /* cannot happen: the IP header follows */
  __builtin_memcpy(l2, data, sizeof(l2));
  if (tagged) {
    __builtin_memcpy(&l2[16], &p.inner_proto, 2);
  } else {
    __builtin_memcpy(&l2[12], &p.inner_proto, 2);
  }
  if (bpf_xdp_adjust_head(ctx, (int)p.outer_len)) {
    count(STEER_DECAP_FAILED);
    return XDP_PASS;
  }
  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  if (tagged) {
    if (data + sizeof(l2) > data_end) return XDP_DROP; /* headers gone: cannot pass it on */
    __builtin_memcpy(data, l2, sizeof(l2));
  } else {
    if (data + sizeof(struct ethhdr) > data_end) return XDP_DROP;
    __builtin_memcpy(data, l2, sizeof(struct ethhdr));
  }
  count(p.counter);
  return XDP_PASS;
}

SEC("tc")
int steer_decap_tc(struct __sk_buff* skb) {
  void* data = (void*)(long)skb->data;
  void* data_end = (void*)(long)skb->data_end;
  struct plan p = {};
  enum plan_action action = plan_frame(data, data_end, 0, &p);
  if (action != PLAN_DECAP) {
    count(p.counter);
    return action == PLAN_DROP ? TC_ACT_SHOT : TC_ACT_OK;
  }
  const struct steer_decap_config* cfg = config();
  int cross = p.inner_proto != p.outer_proto;
  int redirect = cross && cfg && (cfg->flags & STEER_DECAP_TC_REDIRECT);
  long err;
  if (cross && !redirect) {
    __u64 flags = p.inner_proto == bpf_htons(ETH_P_IP) ? BPF_F_ADJ_ROOM_DECAP_L3_IPV4
                                                       : BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
    err = bpf_skb_adjust_room(skb, -(__s32)p.outer_len, BPF_ADJ_ROOM_MAC, flags);
    if (err == -22 /* EINVAL: kernel < 6.3 does not know the flag */) {
      redirect = 1;
      err = bpf_skb_adjust_room(skb, -(__s32)p.outer_len, BPF_ADJ_ROOM_MAC, 0);
    }
  } else {
    err = bpf_skb_adjust_room(skb, -(__s32)p.outer_len, BPF_ADJ_ROOM_MAC, 0);
  }
  if (err) {
    count(STEER_DECAP_FAILED);
    return TC_ACT_OK;
  }
  if (cross) {
    /* The frame still carries the outer family's ethertype. */
    if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &p.inner_proto, 2, 0)) {
      count(STEER_DECAP_FAILED);
      return TC_ACT_SHOT; /* outer header already gone */
    }
  }
  count(p.counter);
  if (redirect) {
    /* skb->protocol is still the outer family: re-inject, and eth_type_trans() fixes it. */
    count(STEER_DECAP_TC_REDIRECTED);
    return bpf_redirect(skb->ifindex, BPF_F_INGRESS);
  }
  return TC_ACT_OK;
}
