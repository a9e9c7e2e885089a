/* DOC: the contract between steer's BPF programs and their user-space loaders.
 *
 * Plain C, included both by the BPF programs (clang -target bpf) and by the C++ loaders, so
 * map names, key layouts and counter indices are written once. Everything a loader looks up
 * by name (programs, maps) is named here; BPF object names are at most 15 characters.
 *
 * Addresses in map keys are 16 bytes in network order, IPv4 in its IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d) — the same bytes as steer::IpAddress::bytes(). */
#ifndef STEER_DATAPLANE_XDP_STEER_XDP_ABI_H_
#define STEER_DATAPLANE_XDP_STEER_XDP_ABI_H_

#include <linux/types.h>

/* ---- steer_xsk.bpf.o: AF_XDP steering for net_af_xdp (xdp_prog= devarg) ------------------ */

#define STEER_XSK_PROG_NAME "steer_xsk"
#define STEER_XSK_OBJECT "steer_xsk.bpf.o"
/* Looked up by name by DPDK's net_af_xdp: must be exactly "xsks_map" (XSKMAP, key = queue). */
#define STEER_XSK_XSKS_MAP "xsks_map"
#define STEER_XSK_MAX_QUEUES 256
/* The VIP set: hash, key struct steer_addr_key, value __u32 (1). */
#define STEER_XSK_VIP_MAP "vip_map"
#define STEER_XSK_MAX_VIPS 4096
/* Per-CPU array of __u64, one entry per enum steer_xsk_counter. */
#define STEER_XSK_STATS_MAP "xsk_stats"

enum steer_xsk_counter {
  STEER_XSK_REDIRECTED = 0, /* to a VIP, handed to the AF_XDP socket of its RX queue */
  STEER_XSK_NO_SOCKET,      /* to a VIP, but no socket bound for the queue: passed to the kernel */
  STEER_XSK_PASSED,         /* not to a VIP (ARP, ND, host traffic): passed to the kernel */
  STEER_XSK_MALFORMED,      /* truncated Ethernet/VLAN/IP header: passed to the kernel */
  STEER_XSK_COUNTER_COUNT,
};

struct steer_addr_key {
  __u8 addr[16];
};

/* ---- steer_decap.bpf.o: backend-side decapsulation (XDP or tc ingress) -------------------- */

#define STEER_DECAP_OBJECT "steer_decap.bpf.o"
#define STEER_DECAP_XDP_PROG_NAME "steer_decap_xdp"
#define STEER_DECAP_TC_PROG_NAME "steer_decap_tc"
/* Array with one struct steer_decap_config at key 0. */
#define STEER_DECAP_CONFIG_MAP "decap_config"
/* Hash of accepted outer destinations: key struct steer_addr_key, value __u32 (1). */
#define STEER_DECAP_DST_MAP "decap_dst"
#define STEER_DECAP_MAX_DSTS 256
/* LPM trie of allowed outer sources: key struct steer_lpm_key, value __u32 (1). */
#define STEER_DECAP_ALLOW_MAP "decap_allow"
#define STEER_DECAP_MAX_ALLOW 1024
/* Per-CPU array of __u64, one entry per enum steer_decap_counter. */
#define STEER_DECAP_STATS_MAP "decap_stats"

/* decap_config.flags */
#define STEER_DECAP_CHECK_DST (1u << 0)   /* decapsulate only to outer destinations in decap_dst */
#define STEER_DECAP_CHECK_SRC (1u << 1)   /* drop encapsulated packets from sources not in allow */
#define STEER_DECAP_TC_REDIRECT (1u << 2) /* tc: always use the pre-6.3 cross-family fallback */

struct steer_decap_config {
  __u32 flags;
  __u16 gue_port; /* host byte order */
  __u16 pad;
};

/* LPM trie key: prefixlen counts bits of the 16-byte form (an IPv4 /24 is 96 + 24 = 120). */
struct steer_lpm_key {
  __u32 prefixlen;
  __u8 addr[16];
};

enum steer_decap_counter {
  STEER_DECAP_IPIP = 0,      /* IPv4 in IPv4 (protocol 4) decapsulated */
  STEER_DECAP_6IN4,          /* IPv6 in IPv4 (protocol 41) decapsulated */
  STEER_DECAP_IP6IP6,        /* IPv6 in IPv6 (next header 41) decapsulated */
  STEER_DECAP_4IN6,          /* IPv4 in IPv6 (next header 4) decapsulated */
  STEER_DECAP_GUE4,          /* GUE variant 1 over IPv4 decapsulated */
  STEER_DECAP_GUE6,          /* GUE variant 1 over IPv6 decapsulated */
  STEER_DECAP_PASSED,        /* not steer-encapsulated: passed untouched */
  STEER_DECAP_NOT_LOCAL,     /* encapsulated, outer destination not in decap_dst: passed */
  STEER_DECAP_MALFORMED,     /* truncated/inconsistent outer or inner header: passed */
  STEER_DECAP_UNSUPPORTED,   /* fragment, GUE not variant 1, VLAN tag in tc mode: passed */
  STEER_DECAP_DROP_SOURCE,   /* encapsulated from a source outside the allow list: dropped */
  STEER_DECAP_FAILED,        /* the kernel refused to remove the header: passed as it was */
  STEER_DECAP_TC_REDIRECTED, /* tc cross-family decap done by re-injection (kernel < 6.3) */
  STEER_DECAP_COUNTER_COUNT,
};

#endif /* STEER_DATAPLANE_XDP_STEER_XDP_ABI_H_ */
