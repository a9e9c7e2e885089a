// DOC: why a packet was dropped — one X-macro list generates the enum, the names used in
// stats and metrics, and each counter's help text (what a non-zero value means).
//
// Counters are per lcore (uint64_t[kDropReasonCount]) and summed by the reader. Never log per
// packet; count.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace steer::dataplane {

// X(Enum, "metric_name", "help: what a non-zero value means")
#define STEER_DROP_REASONS(X)                                                                     \
  /* L2 */                                                                                        \
  X(TruncatedEthernet, "truncated_ethernet", "frame shorter than an Ethernet header")             \
  X(TruncatedVlan, "truncated_vlan", "802.1Q tag cut short")                                      \
  X(StackedVlan, "stacked_vlan", "more than one VLAN tag (QinQ is not supported)")                \
  /* IPv4 */                                                                                      \
  X(TruncatedIpv4, "truncated_ipv4", "IPv4 header cut short")                                     \
  X(BadIpv4Version, "bad_ipv4_version", "EtherType IPv4 but version field is not 4")              \
  X(BadIpv4Ihl, "bad_ipv4_ihl", "IPv4 IHL below 5 or past the end of the frame")                  \
  X(BadIpv4TotalLength, "bad_ipv4_total_length",                                                  \
    "IPv4 total length shorter than the header or longer than the frame")                         \
  X(BadIpv4Fragment, "bad_ipv4_fragment",                                                         \
    "IPv4 fragment past 65535 bytes, non-last with no data or not 8n bytes, or TCP at offset 1 "  \
    "(RFC 791 3.2, RFC 1858 3.4)")                                                                \
  X(BadIpv4Options, "bad_ipv4_options",                                                           \
    "IPv4 option with a length below 2 or past the end of the header (RFC 791 3.1)")              \
  /* IPv6 */                                                                                      \
  X(TruncatedIpv6, "truncated_ipv6", "IPv6 header cut short")                                     \
  X(BadIpv6Version, "bad_ipv6_version", "EtherType IPv6 but version field is not 6")              \
  X(BadIpv6PayloadLength, "bad_ipv6_payload_length", "IPv6 payload length past the frame")        \
  X(TruncatedIpv6ExtHeader, "truncated_ipv6_ext_header", "IPv6 extension header cut short")       \
  X(Ipv6ExtChainTooLong, "ipv6_ext_chain_too_long",                                               \
    "IPv6 extension-header chain longer than the walk bound")                                     \
  X(BadIpv6Fragment, "bad_ipv6_fragment", "IPv6 fragment header with impossible values")          \
  X(BadIpv6ExtHeader, "bad_ipv6_ext_header", "IPv6 hop-by-hop header not first in the chain")     \
  X(Ipv6RoutingType0, "ipv6_rh0",                                                                 \
    "IPv6 type-0 routing header with segments left > 0 (deprecated by RFC 5095): an attack")      \
  /* L4 */                                                                                        \
  X(TruncatedL4, "truncated_l4", "TCP/UDP header cut short in a first (or unfragmented) packet")  \
  X(BadTcpDataOffset, "bad_tcp_data_offset", "TCP data offset below 5 or past the packet")        \
  X(BadUdpLength, "bad_udp_length",                                                               \
    "UDP length below 8 or not the IP payload length (RFC 768); a first fragment's UDP length "   \
    "shorter than the fragment")                                                                  \
  X(TruncatedIcmp, "truncated_icmp", "ICMP/ICMPv6 header cut short")                              \
  X(TruncatedIcmpInner, "truncated_icmp_inner",                                                   \
    "ICMP error to a VIP whose embedded packet is too short to find the flow")                    \
  /* packets to a VIP that no correct host or router sends (validate.h) */                        \
  X(L2GroupAddress, "l2_group_address",                                                           \
    "packet to a VIP in a link-layer broadcast or multicast frame (RFC 1122 3.3.6)")              \
  X(BadSourceAddress, "bad_source_address",                                                       \
    "packet to a VIP from a source no host may use (0/8, 127/8, 224/4, 240/4, ::, ::1, "          \
    "ff00::/8, ::ffff:0:0/96): spoofed, or a leak from a host's own stack")                       \
  X(ZeroTtl, "zero_ttl", "packet to a VIP with TTL / hop limit 0 (RFC 1122 3.2.1.7, RFC 8200 3)") \
  X(Ipv4SourceRoute, "ipv4_source_route",                                                         \
    "IPv4 packet to a VIP with a loose or strict source-route option (RFC 7126 4.3, 4.4)")        \
  X(BadTcpFlags, "bad_tcp_flags",                                                                 \
    "TCP segment to a VIP with flags no stack sends (SYN+FIN, SYN+RST, none of SYN/RST/ACK, "     \
    "FIN+PSH+URG without ACK): a scan")                                                           \
  X(ZeroPort, "zero_port", "TCP/UDP packet to a VIP with source or destination port 0: a scan")   \
  /* classification and forwarding */                                                             \
  X(IcmpErrorNoFlow, "icmp_error_no_flow",                                                        \
    "ICMP error to a VIP whose embedded packet is not from that VIP's service")                   \
  X(IcmpUnsupported, "icmp_unsupported", "ICMP to a VIP that is neither echo nor an error")       \
  X(EchoDisabled, "echo_disabled", "echo request to a VIP that does not answer echo")             \
  X(NoBackend, "no_backend", "VIP has no backend with weight > 0 for a new flow")                 \
  X(NoHeadroom, "no_headroom", "buffer lacks headroom for the encapsulation or ICMP headers")     \
  X(TooBig, "too_big", "ICMP error to a VIP flow too large to encapsulate within the egress MTU") \
  X(MultiSegment, "multi_segment",                                                                \
    "frame received in several buffers (jumbo, scattered RX) that fits the egress MTU: the "      \
    "packet core forwards only contiguous frames; raise the mbuf data room")                      \
  X(Internal, "internal_error", "a stage disagreed with the parser about a frame: a bug")

enum class DropReason : uint8_t {
#define STEER_X(e, name, help) e,
  STEER_DROP_REASONS(STEER_X)
#undef STEER_X
};

inline constexpr size_t kDropReasonCount = 0
#define STEER_X(e, name, help) +1
    STEER_DROP_REASONS(STEER_X)
#undef STEER_X
    ;

inline constexpr std::array<std::string_view, kDropReasonCount> kDropReasonNames = {
#define STEER_X(e, name, help) name,
    STEER_DROP_REASONS(STEER_X)
#undef STEER_X
};

inline constexpr std::array<std::string_view, kDropReasonCount> kDropReasonHelp = {
#define STEER_X(e, name, help) help,
    STEER_DROP_REASONS(STEER_X)
#undef STEER_X
};

constexpr std::string_view drop_reason_name(DropReason r) {
  return kDropReasonNames[static_cast<size_t>(r)];
}

}  // namespace steer::dataplane
