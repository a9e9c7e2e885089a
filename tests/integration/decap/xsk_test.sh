#!/bin/bash
# Runs xsk-program-test (argument 1; further arguments go to it) inside a fresh network
# namespace holding one end of a veth pair; the peer end sits in a second namespace. Both
# are deleted on exit, whatever happens. Needs root; exits 77 (skip) without it.
set -u
test_bin=$1
shift
if [ "$(id -u)" -ne 0 ]; then
  echo "xsk_test.sh: needs root (network namespaces, XDP)" >&2
  exit 77
fi

host_ns=sx-xsk-$$
peer_ns=sx-xsp-$$
cleanup() {
  ip netns del "$host_ns" 2>/dev/null
  ip netns del "$peer_ns" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

set -e
ip netns add "$host_ns"
ip netns add "$peer_ns"
ip link add xh0 netns "$host_ns" type veth peer name xp0 netns "$peer_ns"
ip -n "$host_ns" link set lo up
ip -n "$peer_ns" link set lo up
ip -n "$host_ns" addr add 10.98.0.1/24 dev xh0
ip -n "$host_ns" addr add fd98::1/64 dev xh0 nodad
ip -n "$peer_ns" addr add 10.98.0.2/24 dev xp0
ip -n "$peer_ns" addr add fd98::2/64 dev xp0 nodad
ip -n "$host_ns" link set xh0 up
ip -n "$peer_ns" link set xp0 up
ip -n "$peer_ns" route add 192.0.2.0/24 via 10.98.0.1
ip -n "$peer_ns" -6 route add 2001:db8::/64 via fd98::1
set +e

STEER_TEST_IFACE=xh0 STEER_TEST_PEER_NS="$peer_ns" ip netns exec "$host_ns" "$test_bin" "$@"
