#!/usr/bin/env bash
# steer-dataplane on AF_XDP survives kill -9 without manual clean-up: after the kill its XDP
# program and socket file are left behind; a plain restart detaches the stale program,
# replaces the socket, re-applies the saved state and answers traffic again (ICMP echo to the
# VIP, answered by steer through AF_XDP). Then SIGTERM leaves nothing behind.
#
#   restart_test.sh BUILD_DIR       (root; namespaces sr-lb-$$ / sr-peer-$$)
set -uo pipefail
BUILD="${1:?usage: restart_test.sh BUILD_DIR}"
DP="$BUILD/dataplane/steer-dataplane"
CTL="$BUILD/tools/steerctl/steerctl"
LB="sr-lb-$$"
PEER="sr-peer-$$"
DIR=$(mktemp -d /tmp/steer-restart-XXXXXX)
SOCK="$DIR/api.sock"
PID=""
failures=0

cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
  ip netns del "$LB" 2>/dev/null
  ip netns del "$PEER" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {  # check DESCRIPTION COMMAND...
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

ip netns add "$LB" && ip netns add "$PEER" || exit 1
ip link add sr0 netns "$LB" type veth peer name sr1 netns "$PEER" || exit 1
ip -n "$LB" addr add 10.99.0.2/24 dev sr0
ip -n "$PEER" addr add 10.99.0.1/24 dev sr1
ip -n "$LB" link set lo up; ip -n "$LB" link set sr0 up
ip -n "$PEER" link set lo up; ip -n "$PEER" link set sr1 up
ip -n "$PEER" route add 192.0.2.10/32 via 10.99.0.2

cat >"$DIR/dp.toml" <<TOML
[api]
socket = "$SOCK"
[dataplane]
flow_table_size = 4096
idle_sleep_us = 200
state_file = "$DIR/state.json"
[[port]]
vdev = "net_af_xdp0,iface=sr0"
[egress]
gateway = "10.99.0.1"
source_v4 = "10.99.0.2"
TOML
cat >"$DIR/state.json.in" <<'JSON'
{"vips": [{"address": "192.0.2.10", "proto": "tcp", "port": 80,
           "backends": [{"address": "10.99.0.1"}]}]}
JSON

start() {
  ip netns exec "$LB" "$DP" -l 0,1 --no-huge -m 256 --no-pci --file-prefix "sr-$$" \
    --log-level lib.eal:warning -- -c "$DIR/dp.toml" >>"$DIR/dp.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    "$CTL" dataplane -s "$SOCK" --timeout 500 status >/dev/null 2>&1 && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "steer-dataplane did not come up:"; tail -20 "$DIR/dp.log"
  return 1
}
xdp_prog_id() { ip -n "$LB" -d link show sr0 | grep -o 'prog/xdp id [0-9]*' | awk '{print $3}'; }
vip_answers() { ip netns exec "$PEER" ping -c 2 -W 1 -i 0.2 192.0.2.10; }

start || exit 1
check "state applied" "$CTL" dataplane -s "$SOCK" apply "$DIR/state.json.in"
check "steer answers ping to the VIP" vip_answers
first_id=$(xdp_prog_id)
check "steer's XDP program attached" test -n "$first_id"

kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=""
check "after kill -9 the XDP program is still attached" test -n "$(xdp_prog_id)"
check "after kill -9 the socket file is left" test -S "$SOCK"

start || exit 1
check "restart detached the stale program" grep -q "removed a stale XDP program" "$DIR/dp.log"
second_id=$(xdp_prog_id)
check "a new XDP program is attached" test -n "$second_id" -a "$second_id" != "$first_id"
check "the saved state was applied at start" grep -q "applied the saved state" "$DIR/dp.log"
check "the VIP is in the restored state" sh -c "'$CTL' dataplane -s '$SOCK' --json state | grep -q 192.0.2.10"
check "steer answers ping to the VIP after the restart" vip_answers
check "workers alive" sh -c "'$CTL' dataplane -s '$SOCK' --json status | grep -q '\"alive\":true'"

kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=""
check "SIGTERM exits 0" test "$rc" -eq 0
check "SIGTERM detaches the XDP program" test -z "$(xdp_prog_id)"
check "SIGTERM removes the socket" test ! -e "$SOCK"

if [ "$failures" -gt 0 ]; then
  echo "--- steer-dataplane log"; cat "$DIR/dp.log"
  exit 1
fi
