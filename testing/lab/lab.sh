#!/usr/bin/env bash
# testing/lab/lab.sh: the netns lab builder. tools/lab, the operator's command, is a thin
# wrapper that runs it; lablib.Lab (testing/lab/lablib) runs it for the integration tests and
# the tools that build their own lab. Its usage, as `tools/lab help` prints it (the '#:'
# lines):
#
#: tools/lab: a steer PoP in network namespaces, for the integration tests and the demo.
#:
#:   tools/lab up [--afpacket] [--backends N] [--decap-mode xdp|xdp-generic|tc] [--no-check]
#:                [--bgp] [--lbs 1|2] [--site N] [--extra-vip ADDR]...
#:   tools/lab up --pops 2            two PoPs (labs <prefix>a, <prefix>b) joined by a transit
#:                                    router, with steerd's DNS on each (lablib/pops.py)
#:   tools/lab down [--pops 2]
#:   tools/lab status
#:   tools/lab exec NODE CMD...       NODE: client, router, lb1, lb2, b1..bN
#:   tools/lab api [--lb LB] CMD...   one request on a dataplane API socket (state, stats, ...)
#:   tools/lab backend bN stop|kill|start [MODE]|status
#:   tools/lab backend bN http-ok|http-503|http-hang|http-flap OK FAIL|cut|uncut
#:                                    a backend's servers: stop/kill/start the process, switch its
#:                                    HTTP answers (200, 503, accept and never answer, OK answers
#:                                    200 then FAIL answers 503...), cut its link (tc drop on the
#:                                    router, both ways) or connect it again
#:   tools/lab lb LB cut|uncut|status  an LB host's link: dropped on the router, both ways (a dead
#:                                    host: BGP notices after the hold time), or connected again
#:   tools/lab dataplane [--lb LB] stop|kill|start   steer-dataplane of an LB (LB: lb1 default,
#:                                    lb2; start: same port as `up`)
#:   tools/lab steerd [--lb LB] up [--interval MS] [--timeout MS] [--rise N] [--fall N]
#:                       [--warmup MS] [--vips web,echo,udp-echo,web6,echo6] [--backends b1,...]
#:                       [--bgp] [--bgp-set KEY=VALUE]... [--keep-config]
#:   tools/lab steerd [--lb LB] down|kill|status|config
#:                                    steerd in an LB namespace with a config written for the lab
#:                                    (lb1: steerd.toml, .sock, .log, .pid in the run dir; lb2:
#:                                    the same in lb2/); --bgp adds its [bgp] section
#:   tools/lab bird NODE start|stop|kill|restart|configure|status|birdc CMD...
#:                                    BIRD on NODE (router, lb1, lb2) of a --bgp lab
#:   tools/lab route [v4|v6]          the router kernel's routes to the VIPs (nexthops)
#:
#:   --site N (0-9) numbers the lab's client network and AS numbers, so that two labs can be
#:   joined into two PoPs (testing/lab/lablib/pops.py: `tools/lab up --pops 2`): clients
#:   198.18.N.0/24 and 2001:db8:c:N::/64, LB links 10.N.L.0/24, router AS 65000+10N, LB AS
#:   65001+10N (site 0: the addresses below). --extra-vip: another VIP address the backends hold on lo (a unicast
#:   per-PoP VIP beside the anycast one).
#:
#: Environment: STEER_LAB=<prefix> (namespace prefix, default "steer"; tests use "sl..."),
#: STEER_BUILD=<dir> (build directory, absolute or relative to the repository, default build),
#: STEER_LAB_RUN=<dir> (parent of the run directory, default /run/steer-lab).
#:
#
# Topology (every link a veth pair; MTU 1500 everywhere):
#
#   client ──cl0───to-client── router ──to-lb1────lb0── lb1 (steer-dataplane on lb0)
#   198.18.0.1-250/24          198.18.0.254/24    10.0.1.1/24  10.0.1.2/24
#   2001:db8:c::1-64/64        2001:db8:c::fe     fd00:1::1    fd00:1::2
#                                     ├──to-lb2────lb0── lb2 (--lbs 2)  10.0.2.2  fd00:2::2
#                                     ├──to-b1────be0── b1   10.0.11.2  fd00:11::2
#                                     ├──to-b2────be0── b2   10.0.12.2  fd00:12::2   (router
#                                     └── ...                          side: .1 and ::1)
#
# The router forwards (rp_filter off, no redirects) and routes the VIPs (192.0.2.10/32,
# 2001:db8::10/128) to the LB. The LB's kernel keeps its address for ARP/ND (the XDP program
# passes everything that is not a VIP); steer-dataplane encapsulates to the backends through
# the router (the gateway). Backends hold the VIPs on lo (rp_filter 0, arp_ignore 1,
# arp_announce 2), run steer-decap on be0 and the servers of testing/lab/servers.py, and answer
# clients directly (DSR). MSS is clamped on the backends' routes (advmss 1400 / 1380) so a
# full-size client segment still fits 1500 after encapsulation; bigger packets get a
# frag-needed / packet-too-big from the LB. Client and backend veths have tx checksum offload
# off: a frame generated locally on a veth carries an unfinished checksum (docs: FACTS).
#
# Every LB host runs its own steer-dataplane (lb1's files in the run dir, lb2's in lb2/) with
# the same initial state. Without --bgp the router has static routes for the VIPs to lb1. With
# --bgp it has none: BIRD on the router (AS 65000; router/bird.conf, bird.ctl, bird.log) has
# eBGP sessions to every LB host (AS 65001, one session per family over the link addresses),
# accepts only /32s in 192.0.2.0/24 and /128s in 2001:db8::/64, exports nothing, and puts the
# routes in its kernel with `merge paths` (two LBs announcing a VIP: an ECMP route; layer-4
# multipath hash). Each LB host runs BIRD (lbN/bird.conf, bird.ctl, bird.log) that includes
# lbN/steer-bird.conf (the snippet steerd writes; `up` leaves a comment in it) and exports the
# protocols named steer_*. Timers are short (hold 3 s, keepalive 1 s, retries 1 s), graceful
# restart is off, and routes leave the router's kernel when its BIRD stops. `up --bgp` waits
# for every session to be established but does not probe the VIPs: nothing routes them until
# something announces them.
#
# `up` is idempotent (it tears down leftovers of the same prefix first) and tears down what it
# built when any step fails. Run files (config, PIDs, logs, lab.json for the tests) are in
# $STEER_LAB_RUN/<prefix>/.
set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lab_self="$LAB_DIR/$(basename "${BASH_SOURCE[0]}")"
STEER_ROOT="${STEER_ROOT:-$(cd "$LAB_DIR/../.." && pwd)}"

LAB="${STEER_LAB:-steer}"
if [[ ! "$LAB" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$ ]]; then
  printf 'steer: %s\n' "lab: bad STEER_LAB prefix '$LAB' (1-16 of [A-Za-z0-9_-])" >&2
  exit 2
fi
BUILD="${STEER_BUILD:-build}"
[[ "$BUILD" = /* ]] || BUILD="$STEER_ROOT/$BUILD"
RUN="${STEER_LAB_RUN:-/run/steer-lab}/$LAB"
PY=/usr/bin/python3
# The lab's Python library on the command line (python3 -m lablib CMD ...: lablib/cli.py).
LABLIB=(env "PYTHONPATH=$LAB_DIR${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m lablib)
DATAPLANE="$BUILD/dataplane/steer-dataplane"
DECAP="$BUILD/dataplane/xdp/steer-decap"
STEERD="$BUILD/control/steerd"
BIRD=/usr/sbin/bird
BIRDC=/usr/sbin/birdc

# Addresses and names (lab.json repeats them for the tests).
VIP4=192.0.2.10
VIP6=2001:db8::10
CLIENT_V4_COUNT=250
CLIENT_V6_COUNT=100
EGRESS_MTU=1500
ADVMSS_V4=1400
ADVMSS_V6=1380
GUE_PORT=6080
MAX_BACKENDS=8
MAX_LBS=2
AS_ROUTER=65000
AS_LB=65001
SITE=0
CLIENT_NET4=198.18.0     # the client /24 (198.18.SITE)
CLIENT_NET6=2001:db8:c:  # the client /64 (2001:db8:c:SITE::), host part appended
LB_NET4=10.0             # the LB links' /16 (10.SITE): LB l is LB_NET4.l.2
EXTRA_VIPS=()

# set_site N: the client networks and AS numbers of site N (`up --site`).
set_site() {
  SITE=$1
  CLIENT_NET4="198.18.$SITE"
  LB_NET4="10.$SITE"
  if [[ $SITE -eq 0 ]]; then CLIENT_NET6="2001:db8:c:"; else CLIENT_NET6="2001:db8:c:$SITE:"; fi
  AS_ROUTER=$((65000 + 10 * SITE))
  AS_LB=$((65001 + 10 * SITE))
}

lab_log() { printf 'lab[%s]: %s\n' "$LAB" "$*" >&2; }
die() {
  lab_log "error: $*"
  exit 1
}

ns() { printf '%s-%s' "$LAB" "$1"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
nsx() {
  local node=$1
  shift
  ip netns exec "$(ns "$node")" "$@"
}
mac() { printf '02:00:00:00:%02x:%02x' "$1" "$2"; }  # mac LINK HOST
client_v6() { printf '%s:%x' "$CLIENT_NET6" "$1"; }

backend_count() {
  if [[ -f "$RUN/backends" ]]; then cat "$RUN/backends"; else echo 0; fi
}

# LB hosts of the lab (1 unless `up --lbs 2`), and whether it runs BGP.
lb_count() {
  if [[ -f "$RUN/lbs" ]]; then cat "$RUN/lbs"; else echo 1; fi
}
lab_bgp() { [[ -f "$RUN/bgp" && "$(cat "$RUN/bgp")" == 1 ]]; }
lb_names() {
  local i
  for ((i = 1; i <= $(lb_count); i++)); do echo "lb$i"; done
}
# An LB's directory for its dataplane and steerd files: lb1's stay in the run directory (where
# they were before there was a second LB), lb2's are in lb2/. BIRD's files are in NODE/ for
# every node (router, lb1, lb2).
lb_dir() { if [[ $1 == lb1 ]]; then echo "$RUN"; else echo "$RUN/$1"; fi; }
lb_conf() { if [[ $1 == lb1 ]]; then echo "$RUN/lb1.toml"; else echo "$RUN/$1/dataplane.toml"; fi; }
check_lb() {
  [[ "$1" =~ ^lb([1-9])$ && ${BASH_REMATCH[1]} -le $(lb_count) ]] ||
    die "no LB '$1' in lab '$LAB' (lb1..lb$(lb_count))"
}

# Our namespaces that exist now (whatever `up` created, even half-way).
lab_namespaces() {
  ip netns list 2>/dev/null | awk '{print $1}' |
    grep -E "^${LAB}-(client|router|lb[0-9]+|b[0-9]+)$" || true
}

# True when the process exists and is not a zombie (our daemons are reparented when `up`
# exits, and a zombie waits for its new parent to reap it: it is gone for our purposes).
alive() {
  local stat
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat%% *}" != Z && "${stat%% *}" != X ]]
}

# Stops processes by PID: TERM to all, up to 5 s for them to exit, then KILL.
# stop_pids WHAT PID...
stop_pids() {
  local what=$1 pid i left
  shift
  for pid in "$@"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null; done
  for ((i = 0; i < 100; i++)); do
    left=()
    for pid in "$@"; do alive "$pid" && left+=("$pid"); done
    [[ ${#left[@]} -eq 0 ]] && return 0
    sleep 0.05
  done
  lab_log "$what (pids ${left[*]}) ignored SIGTERM: killing"
  kill -KILL "${left[@]}" 2>/dev/null || true
}

cmd_down() {
  local f n lb dir
  # steerd first (so it does not see the lab vanish piece by piece), then the dataplanes (they
  # hold the LB ports), then BIRD (a clean stop: it closes its sessions), then the servers and
  # anything else we started; each by the PID we recorded.
  for dir in "$RUN" "$RUN"/lb[0-9]; do
    if [[ -f "$dir/steerd.pid" ]]; then
      stop_pids steerd "$(cat "$dir/steerd.pid" 2>/dev/null)"
      rm -f "$dir/steerd.pid"
    fi
  done
  for dir in "$RUN" "$RUN"/lb[0-9]; do
    if [[ -f "$dir/dataplane.pid" ]]; then
      stop_pids steer-dataplane "$(cat "$dir/dataplane.pid" 2>/dev/null)"
      rm -f "$dir/dataplane.pid"
    fi
  done
  local pids=()
  for f in "$RUN"/*/bird.pid; do
    [[ -f "$f" ]] && pids+=("$(cat "$f" 2>/dev/null)")
  done
  [[ ${#pids[@]} -eq 0 ]] || stop_pids bird "${pids[@]}"
  rm -f "$RUN"/*/bird.pid
  pids=()
  for f in "$RUN"/*.pid "$RUN"/*/*.pid; do
    [[ -f "$f" ]] && pids+=("$(cat "$f" 2>/dev/null)")
  done
  # Whatever still runs inside our namespaces was started by this lab (a client left by a
  # killed test, a capture): stop it by PID before the namespace goes.
  for n in $(lab_namespaces); do
    # shellcheck disable=SC2207
    pids+=($(ip netns pids "$n" 2>/dev/null))
  done
  [[ ${#pids[@]} -eq 0 ]] || stop_pids "lab processes" "${pids[@]}"
  # Deleting a namespace deletes its veths (and any XDP/tc program on them).
  for n in $(lab_namespaces); do
    ip netns del "$n" 2>/dev/null || lab_log "cannot delete namespace $n"
  done
  for lb in $(seq 1 $MAX_LBS); do rm -rf "/var/run/dpdk/$LAB-lb$lb"; done
  rm -rf "$RUN"
}

# Writes sysctls inside a namespace: sysctl_ns NODE key=value...
sysctl_ns() {
  local node=$1
  shift
  nsx "$node" sysctl -q -w "$@" >/dev/null
}

# build_topology BACKENDS LBS BGP
build_topology() {
  local n=$1 nl=$2 bgp=$3 i b l
  for node in client router; do ip netns add "$(ns "$node")"; done
  for ((l = 1; l <= nl; l++)); do ip netns add "$(ns "lb$l")"; done
  for ((i = 1; i <= n; i++)); do ip netns add "$(ns "b$i")"; done

  # Links. Link numbers in MACs: 0 client, l LB l, 10+i backend i; host 1 = router side.
  ip link add cl0 netns "$(ns client)" address "$(mac 0 2)" type veth \
    peer name to-client netns "$(ns router)" address "$(mac 0 1)"
  for ((l = 1; l <= nl; l++)); do
    ip link add lb0 netns "$(ns "lb$l")" address "$(mac "$l" 2)" type veth \
      peer name "to-lb$l" netns "$(ns router)" address "$(mac "$l" 1)"
  done
  for ((i = 1; i <= n; i++)); do
    ip link add be0 netns "$(ns "b$i")" address "$(mac $((10 + i)) 2)" type veth \
      peer name "to-b$i" netns "$(ns router)" address "$(mac $((10 + i)) 1)"
  done

  # Kernel settings before the links come up (no IPv6 DAD: addresses usable at once).
  local common=(net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0)
  sysctl_ns client "${common[@]}" net.ipv6.conf.cl0.accept_dad=0 net.ipv6.conf.cl0.accept_ra=0
  # Multipath routes (two LBs announcing a VIP) hash on layer 4: each TCP flow picks an LB.
  sysctl_ns router "${common[@]}" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 \
    net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1
  for f in to-client $(for ((l = 1; l <= nl; l++)); do echo "to-lb$l"; done) \
    $(for ((i = 1; i <= n; i++)); do echo "to-b$i"; done); do
    sysctl_ns router "net.ipv6.conf.$f.accept_dad=0" "net.ipv4.conf.$f.rp_filter=0" \
      "net.ipv4.conf.$f.send_redirects=0"
  done
  for ((l = 1; l <= nl; l++)); do
    sysctl_ns "lb$l" "${common[@]}" net.ipv6.conf.lb0.accept_dad=0 net.ipv6.conf.lb0.accept_ra=0
  done
  for ((i = 1; i <= n; i++)); do
    sysctl_ns "b$i" "${common[@]}" net.ipv6.conf.be0.accept_dad=0 net.ipv6.conf.be0.accept_ra=0 \
      net.ipv4.conf.be0.rp_filter=0 net.ipv4.conf.lo.rp_filter=0 \
      net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.be0.arp_ignore=1 net.ipv4.conf.be0.arp_announce=2
  done

  # Client: many source addresses on one link.
  {
    echo "link set lo up"
    echo "addr add $CLIENT_NET4.1/24 dev cl0"
    for ((i = 2; i <= CLIENT_V4_COUNT; i++)); do echo "addr add $CLIENT_NET4.$i/24 dev cl0"; done
    for ((i = 1; i <= CLIENT_V6_COUNT; i++)); do
      echo "addr add $(client_v6 "$i")/64 dev cl0 nodad"
    done
    echo "link set cl0 up"
    echo "route add default via $CLIENT_NET4.254"
    echo "route add default via $CLIENT_NET6:fe"
  } | ip -n "$(ns client)" -b -

  # Router.
  {
    echo "link set lo up"
    echo "addr add $CLIENT_NET4.254/24 dev to-client"
    echo "addr add $CLIENT_NET6:fe/64 dev to-client nodad"
    for ((l = 1; l <= nl; l++)); do
      echo "addr add $LB_NET4.$l.1/24 dev to-lb$l"
      echo "addr add fd00:$l::1/64 dev to-lb$l nodad"
      echo "neigh replace $LB_NET4.$l.2 lladdr $(mac "$l" 2) dev to-lb$l nud permanent"
      echo "neigh replace fd00:$l::2 lladdr $(mac "$l" 2) dev to-lb$l nud permanent"
    done
    for ((i = 1; i <= n; i++)); do
      echo "addr add 10.0.$((10 + i)).1/24 dev to-b$i"
      echo "addr add fd00:$((10 + i))::1/64 dev to-b$i nodad"
    done
    for f in to-client $(for ((l = 1; l <= nl; l++)); do echo "to-lb$l"; done) \
      $(for ((i = 1; i <= n; i++)); do echo "to-b$i"; done); do
      echo "link set $f up"
    done
    # With BGP the VIP routes come from BIRD (announced by the LBs); without, lb1 has them.
    if [[ $bgp -eq 0 ]]; then
      echo "route add $VIP4/32 via $LB_NET4.1.2"
      echo "route add $VIP6/128 via fd00:1::2"
    fi
  } | ip -n "$(ns router)" -b -

  # LB hosts: the kernel keeps its address (ARP/ND, BGP, management); the gateway's MAC is
  # pinned so steer-dataplane finds it in the neighbour table at once.
  for ((l = 1; l <= nl; l++)); do
    {
      echo "link set lo up"
      echo "addr add $LB_NET4.$l.2/24 dev lb0"
      echo "addr add fd00:$l::2/64 dev lb0 nodad"
      echo "link set lb0 up"
      echo "neigh replace $LB_NET4.$l.1 lladdr $(mac "$l" 1) dev lb0 nud permanent"
      echo "neigh replace fd00:$l::1 lladdr $(mac "$l" 1) dev lb0 nud permanent"
      echo "route add default via $LB_NET4.$l.1"
      echo "route add default via fd00:$l::1"
    } | ip -n "$(ns "lb$l")" -b -
  done

  # Backends.
  for ((i = 1; i <= n; i++)); do
    b=$((10 + i))
    {
      echo "link set lo up"
      echo "addr add $VIP4/32 dev lo"
      echo "addr add $VIP6/128 dev lo nodad"
      for v in "${EXTRA_VIPS[@]}"; do
        if [[ $v == *:* ]]; then echo "addr add $v/128 dev lo nodad"; else echo "addr add $v/32 dev lo"; fi
      done
      echo "addr add 10.0.$b.2/24 dev be0"
      echo "addr add fd00:$b::2/64 dev be0 nodad"
      echo "link set be0 up"
      echo "route add default via 10.0.$b.1 advmss $ADVMSS_V4"
      echo "route add default via fd00:$b::1 advmss $ADVMSS_V6"
    } | ip -n "$(ns "b$i")" -b -
  done

  nsx client ethtool -K cl0 tx off >/dev/null
  # An LB host's own connections to a VIP (steerd probing another PoP's VIP) are forwarded by
  # a dataplane as they are: their checksum must be finished on the way out.
  for ((l = 1; l <= nl; l++)); do nsx "lb$l" ethtool -K lb0 tx off >/dev/null; done
  for ((i = 1; i <= n; i++)); do nsx "b$i" ethtool -K be0 tx off >/dev/null; done
}

# Starts the servers of backend i (HTTP mode: ok, 503, hang or flap:OK:FAIL).
start_server() {
  local i=$1 mode=${2:-ok} v extra=()
  rm -f "$RUN/b$i.ready"
  if [[ -f "$RUN/extra_vips" ]]; then
    for v in $(cat "$RUN/extra_vips"); do extra+=(--vip "$v"); done
  fi
  setsid ip netns exec "$(ns "b$i")" "$PY" "$LAB_DIR/servers.py" \
    --name "b$i" --vip "$VIP4" --vip "$VIP6" "${extra[@]}" --addr "10.0.$((10 + i)).2" \
    --addr "fd00:$((10 + i))::2" --ready-file "$RUN/b$i.ready" \
    --control "$RUN/b$i.control" --http-mode "$mode" \
    </dev/null >>"$RUN/servers-b$i.log" 2>&1 &
  echo $! >"$RUN/servers-b$i.pid"
}

start_servers() {
  local n=$1 i
  for ((i = 1; i <= n; i++)); do start_server "$i"; done
}

wait_server() {
  local i=$1 t
  for ((t = 0; t < 100; t++)); do
    [[ -f "$RUN/b$i.ready" ]] && return 0
    alive "$(cat "$RUN/servers-b$i.pid")" ||
      die "servers on b$i exited: $(tail -3 "$RUN/servers-b$i.log")"
    sleep 0.1
  done
  die "servers on b$i not ready after 10 s"
}

wait_servers() {
  local n=$1 i
  for ((i = 1; i <= n; i++)); do wait_server "$i"; done
}

attach_decap() {
  local n=$1 mode=$2 i
  [[ -x "$DECAP" ]] || die "steer-decap not built: $DECAP (ninja -C $BUILD)"
  for ((i = 1; i <= n; i++)); do
    if ! timeout 20 ip netns exec "$(ns "b$i")" "$DECAP" attach --dev be0 --mode "$mode" \
      >"$RUN/decap-b$i.log" 2>&1; then
      die "steer-decap attach on b$i failed: $(tail -3 "$RUN/decap-b$i.log")"
    fi
  done
}

# write_dataplane_config LB VDEV
write_dataplane_config() {
  local lb=$1 vdev=$2 l=${1#lb}
  cat >"$(lb_conf "$lb")" <<EOF
# steer-dataplane of $lb of lab '$LAB' (written by testing/lab/lab.sh)
[api]
socket = "$(lb_dir "$lb")/dataplane.sock"
[dataplane]
flow_table_size = 65536
idle_sleep_us = 50
[[port]]
vdev = "$vdev"
[egress]
mtu = $EGRESS_MTU
gateway = "$LB_NET4.$l.1"
source_v4 = "$LB_NET4.$l.2"
source_v6 = "fd00:$l::2"
EOF
}

# start_dataplane LB VDEV: starts the LB's steer-dataplane on the given vdev; returns non-zero
# when it exits or its API does not answer within 30 s. The worker lcores of two LBs are on
# different cores (lb1: main 0, worker 1; lb2: main 1, worker 0).
start_dataplane() {
  local lb=$1 vdev=$2 pid dir cores=(-l "0,1")
  dir=$(lb_dir "$lb")
  [[ $lb == lb1 ]] || cores=(-l "0,1" --main-lcore 1)
  mkdir -p "$dir"
  write_dataplane_config "$lb" "$vdev"
  echo "$vdev" >"$dir/vdev"
  rm -f "$dir/dataplane.sock"
  setsid ip netns exec "$(ns "$lb")" "$DATAPLANE" "${cores[@]}" --no-huge -m 512 --no-pci \
    --file-prefix "$LAB-$lb" -- -c "$(lb_conf "$lb")" </dev/null >>"$dir/dataplane.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/dataplane.pid"
  if "${LABLIB[@]}" wait-api --socket "$dir/dataplane.sock" --pid "$pid" --timeout 30 \
    >/dev/null; then
    return 0
  fi
  stop_pids steer-dataplane "$pid"
  rm -f "$dir/dataplane.pid"
  return 1
}

# BIRD (up --bgp). Every node's BIRD runs in the foreground in its namespace, its PID recorded
# like the dataplane's; its files are in $RUN/NODE/: bird.conf, bird.ctl, bird.log, bird.pid.
BGP_TIMERS="hold time 3; keepalive time 1; connect delay time 1; connect retry time 1;
  error wait time 1, 2; graceful restart no; long lived graceful restart no;"

# The router: a session per family to every LB, only routes inside the VIP networks accepted
# (host routes, and aggregates such as a steerd [[bgp.group]] 192.0.2.0/24), nothing exported;
# the kernel protocols put the BGP routes in the kernel, merging equal paths from several LBs
# into one multipath route, and take them out again when BIRD stops (persist off).
write_router_bird_config() {
  local nl=$1 l dir="$RUN/router"
  mkdir -p "$dir"
  {
    cat <<EOF
# BIRD of the router of lab '$LAB' (written by testing/lab/lab.sh)
log "$dir/bird.log" all;
router id $CLIENT_NET4.254;

protocol device { }

filter steer_vips4 { if net ~ [ 192.0.2.0/24{24,32} ] then accept; reject; }
filter steer_vips6 { if net ~ [ 2001:db8::/64{64,128} ] then accept; reject; }

protocol kernel kernel4 {
  ipv4 { import none; export where source = RTS_BGP; };
  merge paths yes;
  persist no;
}
protocol kernel kernel6 {
  ipv6 { import none; export where source = RTS_BGP; };
  merge paths yes;
  persist no;
}

template bgp lb {
  local as $AS_ROUTER;
  $BGP_TIMERS
}
EOF
    for ((l = 1; l <= nl; l++)); do
      cat <<EOF
protocol bgp lb${l}_v4 from lb {
  neighbor $LB_NET4.$l.2 as $AS_LB;
  local $LB_NET4.$l.1;
  ipv4 { import filter steer_vips4; export none; };
}
protocol bgp lb${l}_v6 from lb {
  neighbor fd00:$l::2 as $AS_LB;
  local fd00:$l::1;
  ipv6 { import filter steer_vips6; export none; };
}
EOF
    done
    # Sessions beyond the PoP (a transit joining two labs: lablib/pops.py writes the file).
    echo "include \"$dir/transit.conf\";"
  } >"$dir/bird.conf"
  echo "# sessions beyond this PoP: none" >"$dir/transit.conf"
}

# An LB host: steerd's protocols (the snippet) exported to the router, nothing imported, no
# kernel protocol.
write_lb_bird_config() {
  local lb=$1 l=${1#lb} dir="$RUN/$1"
  mkdir -p "$dir"
  echo "# steer's BIRD protocols (steerd [bgp] snippet): none yet" >"$dir/steer-bird.conf"
  cat >"$dir/bird.conf" <<EOF
# BIRD of LB host $lb of lab '$LAB' (written by testing/lab/lab.sh)
log "$dir/bird.log" all;
router id $LB_NET4.$l.2;

protocol device { }

include "$dir/steer-bird.conf";

template bgp upstream {
  local as $AS_LB;
  $BGP_TIMERS
}
protocol bgp router_v4 from upstream {
  neighbor $LB_NET4.$l.1 as $AS_ROUTER;
  local $LB_NET4.$l.2;
  ipv4 { import none; export where proto ~ "steer_*"; };
}
protocol bgp router_v6 from upstream {
  neighbor fd00:$l::1 as $AS_ROUTER;
  local fd00:$l::2;
  ipv6 { import none; export where proto ~ "steer_*"; };
}
EOF
}

bird_nodes() { if lab_bgp; then echo router; lb_names; fi; }

check_bird_node() {
  lab_bgp || die "lab '$LAB' has no BGP (tools/lab up --bgp)"
  [[ $1 == router ]] || check_lb "$1"
}

# start_bird NODE: returns once its control socket answers (non-zero if it exits or does not
# answer within 10 s).
start_bird() {
  local node=$1 dir="$RUN/$1" pid t
  rm -f "$dir/bird.ctl"
  setsid ip netns exec "$(ns "$node")" "$BIRD" -f -c "$dir/bird.conf" -s "$dir/bird.ctl" \
    </dev/null >>"$dir/bird.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/bird.pid"
  for ((t = 0; t < 100; t++)); do
    if ! alive "$pid"; then
      rm -f "$dir/bird.pid"
      lab_log "BIRD on $node exited: $(tail -3 "$dir/bird.log")"
      return 1
    fi
    "$BIRDC" -s "$dir/bird.ctl" show status 2>/dev/null | grep -q "Daemon is up" && return 0
    sleep 0.1
  done
  lab_log "BIRD on $node: control socket $dir/bird.ctl does not answer"
  return 1
}

# Waits (up to 30 s) until every BGP session of every BIRD is established.
wait_bgp() {
  local t node want got
  for ((t = 0; t < 300; t++)); do
    got=0
    want=0
    for node in $(bird_nodes); do
      if [[ $node == router ]]; then want=$((want + 2 * $(lb_count))); else want=$((want + 2)); fi
      got=$((got + $("$BIRDC" -s "$RUN/$node/bird.ctl" show protocols 2>/dev/null |
        grep -c ' BGP .* Established' || true)))
    done
    [[ $got -eq $want ]] && return 0
    sleep 0.1
  done
  die "BGP sessions not all established after 30 s ($got of $want):
$("$BIRDC" -s "$RUN/router/bird.ctl" show protocols 2>&1)"
}

# The initial desired state: every VIP with every backend, weight 1.
write_initial_state() {
  local n=$1 i b4="" b6=""
  for ((i = 1; i <= n; i++)); do
    b4+="${b4:+, }{\"address\": \"10.0.$((10 + i)).2\", \"weight\": 1, \"state\": \"up\"}"
    b6+="${b6:+, }{\"address\": \"fd00:$((10 + i))::2\", \"weight\": 1, \"state\": \"up\"}"
  done
  cat >"$RUN/state.json" <<EOF
{"vips": [
  {"address": "$VIP4", "proto": "tcp", "port": 80, "encap": "ipip", "echo": true,
   "backends": [$b4]},
  {"address": "$VIP4", "proto": "tcp", "port": 7, "encap": "ipip", "backends": [$b4]},
  {"address": "$VIP4", "proto": "udp", "port": 7, "encap": "gue", "gue_port": $GUE_PORT,
   "backends": [$b4]},
  {"address": "$VIP6", "proto": "tcp", "port": 80, "encap": "ipip", "echo": true,
   "backends": [$b6]},
  {"address": "$VIP6", "proto": "tcp", "port": 7, "encap": "ipip", "backends": [$b6]}
]}
EOF
}

write_lab_json() {
  local n=$1 mode=$2 decap_mode=$3 nl=$4 bgp=$5 i b l dir backends="" c4="" c6="" lbs=""
  local lbns="" bgp_json=false router_bird=null bird_sock snippet
  for ((i = 1; i <= n; i++)); do
    b=$((10 + i))
    backends+="${backends:+,
    }{\"name\": \"b$i\", \"ns\": \"$(ns "b$i")\", \"iface\": \"be0\", \"mac\": \"$(mac $b 2)\",
     \"v4\": \"10.0.$b.2\", \"v6\": \"fd00:$b::2\", \"router_iface\": \"to-b$i\"}"
  done
  if [[ $bgp -eq 1 ]]; then
    bgp_json=true
    router_bird="\"$RUN/router/bird.ctl\""
  fi
  for ((l = 1; l <= nl; l++)); do
    dir=$(lb_dir "lb$l")
    bird_sock=null
    snippet=null
    if [[ $bgp -eq 1 ]]; then
      bird_sock="\"$RUN/lb$l/bird.ctl\""
      snippet="\"$RUN/lb$l/steer-bird.conf\""
    fi
    lbns+=", \"lb$l\": \"$(ns "lb$l")\""
    lbs+="${lbs:+,
    }{\"name\": \"lb$l\", \"ns\": \"$(ns "lb$l")\", \"iface\": \"lb0\", \"mac\": \"$(mac "$l" 2)\",
     \"v4\": \"$LB_NET4.$l.2\", \"v6\": \"fd00:$l::2\", \"router_iface\": \"to-lb$l\",
     \"router_v4\": \"$LB_NET4.$l.1\", \"router_v6\": \"fd00:$l::1\",
     \"socket\": \"$dir/dataplane.sock\", \"bird_socket\": $bird_sock, \"snippet\": $snippet,
     \"steerd_socket\": \"$dir/steerd.sock\", \"run_dir\": \"$dir\"}"
  done
  for ((i = 1; i <= CLIENT_V4_COUNT; i++)); do c4+="${c4:+, }\"$CLIENT_NET4.$i\""; done
  local ev=""
  for v in "${EXTRA_VIPS[@]}"; do ev+="${ev:+, }\"$v\""; done
  for ((i = 1; i <= CLIENT_V6_COUNT; i++)); do c6+="${c6:+, }\"$(client_v6 "$i")\""; done
  cat >"$RUN/lab.json" <<EOF
{"prefix": "$LAB", "run_dir": "$RUN", "build": "$BUILD",
 "socket": "$RUN/dataplane.sock", "port_mode": "$mode", "decap_mode": "$decap_mode",
 "egress_mtu": $EGRESS_MTU, "gue_port": $GUE_PORT,
 "vips": {"v4": "$VIP4", "v6": "$VIP6", "http_port": 80, "echo_port": 7},
 "namespaces": {"client": "$(ns client)", "router": "$(ns router)"$lbns},
 "client": {"ns": "$(ns client)", "iface": "cl0", "mac": "$(mac 0 2)",
            "router_mac": "$(mac 0 1)", "router_iface": "to-client",
            "gateway_v4": "$CLIENT_NET4.254", "gateway_v6": "$CLIENT_NET6:fe",
            "net_v4": "$CLIENT_NET4.0/24", "net_v6": "$CLIENT_NET6:/64",
            "v4": [$c4],
            "v6": [$c6]},
 "lb": {"ns": "$(ns lb1)", "iface": "lb0", "mac": "$(mac 1 2)", "v4": "$LB_NET4.1.2",
        "v6": "fd00:1::2", "router_iface": "to-lb1"},
 "bgp": $bgp_json, "router_bird_socket": $router_bird,
 "asn": {"router": $AS_ROUTER, "lb": $AS_LB}, "site": $SITE, "extra_vips": [$ev],
 "lbs": [$lbs],
 "backends": [$backends]}
EOF
}

cmd_up() {
  local afpacket=0 n=4 decap_mode=xdp check=1 mode nl=1 bgp=0 lb node l
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --afpacket) afpacket=1 ;;
      --backends)
        n=${2:-}
        shift
        ;;
      --decap-mode)
        decap_mode=${2:-}
        shift
        ;;
      --no-check) check=0 ;;
      --bgp) bgp=1 ;;
      --lbs)
        nl=${2:-}
        shift
        ;;
      --site)
        [[ "${2:-}" =~ ^[0-9]$ ]] || die "up: --site must be 0..9"
        set_site "$2"
        shift
        ;;
      --extra-vip)
        [[ "${2:-}" =~ ^192\.0\.2\.[0-9]+$|^2001:db8::[0-9a-f]+$ ]] ||
          die "up: --extra-vip must be a host in 192.0.2.0/24 or 2001:db8::/64 (got '${2:-}')"
        EXTRA_VIPS+=("$2")
        shift
        ;;
      --pops)
        # Two labs joined by a transit: lablib/pops.py builds them with this script.
        [[ "${2:-}" == 2 && $# -eq 2 ]] || die "up: --pops takes 2, and no other option"
        exec "${LABLIB[@]}" pops up --prefix "$LAB"
        ;;
      *) die "up: unknown option '$1'" ;;
    esac
    shift
  done
  [[ "$n" =~ ^[1-9]$ && "$n" -le $MAX_BACKENDS ]] || die "up: --backends must be 1..$MAX_BACKENDS"
  [[ "$nl" =~ ^[1-9]$ && "$nl" -le $MAX_LBS ]] || die "up: --lbs must be 1..$MAX_LBS"
  [[ "$decap_mode" =~ ^(xdp|xdp-generic|tc)$ ]] || die "up: bad --decap-mode '$decap_mode'"
  [[ "$(id -u)" -eq 0 ]] || die "must run as root (network namespaces)"
  [[ -x "$DATAPLANE" ]] || die "steer-dataplane not built: $DATAPLANE (ninja -C $BUILD)"
  [[ -x "$DECAP" ]] || die "steer-decap not built: $DECAP (ninja -C $BUILD)"
  if [[ $bgp -eq 1 ]]; then
    [[ -x "$BIRD" && -x "$BIRDC" ]] || die "BIRD not installed ($BIRD, $BIRDC: apt install bird2)"
  fi
  local t0=$EPOCHREALTIME

  cmd_down
  mkdir -p "$RUN"
  echo "$n" >"$RUN/backends"
  echo "$nl" >"$RUN/lbs"
  echo "$bgp" >"$RUN/bgp"
  echo "$SITE" >"$RUN/site"
  echo "${EXTRA_VIPS[*]}" >"$RUN/extra_vips"
  trap on_up_exit EXIT
  trap 'exit 130' INT TERM

  build_topology "$n" "$nl" "$bgp"
  # BIRD first: its sessions come up (connect delay 1 s) while the rest starts.
  if [[ $bgp -eq 1 ]]; then
    write_router_bird_config "$nl"
    for lb in $(lb_names); do write_lb_bird_config "$lb"; done
    for node in router $(lb_names); do start_bird "$node" || die "BIRD on $node did not start"; done
  fi
  start_servers "$n"
  attach_decap "$n" "$decap_mode"

  mode=af_xdp
  if [[ $afpacket -eq 1 ]]; then mode=af_packet; fi
  if [[ $mode == af_xdp ]] && ! start_dataplane lb1 "net_af_xdp0,iface=lb0"; then
    lab_log "steer-dataplane on net_af_xdp failed (log: $RUN/dataplane.log); trying net_af_packet"
    tail -5 "$RUN/dataplane.log" >&2 || true
    mode=af_packet
  fi
  if [[ $mode == af_packet ]]; then
    start_dataplane lb1 "net_af_packet0,iface=lb0" ||
      die "steer-dataplane did not start: $(tail -5 "$RUN/dataplane.log")"
  fi
  for ((l = 2; l <= nl; l++)); do
    start_dataplane "lb$l" "net_${mode}0,iface=lb0" ||
      die "steer-dataplane of lb$l did not start: $(tail -5 "$(lb_dir "lb$l")/dataplane.log")"
  done
  write_lab_json "$n" "$mode" "$decap_mode" "$nl" "$bgp"
  write_initial_state "$n"
  for lb in $(lb_names); do
    "${LABLIB[@]}" apply --socket "$(lb_dir "$lb")/dataplane.sock" --check "$RUN/state.json" \
      >/dev/null || die "initial state not applied on $lb"
  done
  wait_servers "$n"
  if [[ $bgp -eq 1 ]]; then
    wait_bgp
    lab_log "BGP sessions established; smoke check skipped (--bgp: the router has no route" \
      "to the VIPs until something announces them)"
  elif [[ $check -eq 1 ]]; then
    "${LABLIB[@]}" probe --lab "$RUN/lab.json" || die "smoke check through the VIPs failed"
  fi
  trap - EXIT INT TERM
  local extra=""
  [[ $nl -eq 1 ]] || extra+=", $nl LBs"
  [[ $bgp -eq 0 ]] || extra+=", BGP (router: birdc -s $RUN/router/bird.ctl)"
  lab_log "up in $(elapsed "$t0") s: $n backends, dataplane on $mode" \
    "(pid $(cat "$RUN/dataplane.pid")), decap $decap_mode; API $RUN/dataplane.sock$extra"
}

# EXIT trap of `up`: a failed `up` leaves nothing behind but its logs.
on_up_exit() {
  local rc=$?
  trap - EXIT
  if [[ $rc -ne 0 ]]; then
    lab_log "up failed: tearing down"
    keep_logs
    cmd_down
  fi
  exit "$rc"
}

# When `up` fails, the logs are copied out of the run directory before it is removed.
keep_logs() {
  local dest="/tmp/steer-lab-$LAB-failed"
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$RUN"/*.log "$RUN"/*.toml "$dest"/ 2>/dev/null || true
  local f
  for f in "$RUN"/*/*.log "$RUN"/*/*.conf "$RUN"/*/*.toml; do
    [[ -f "$f" ]] && cp "$f" "$dest/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  lab_log "logs kept in $dest"
}

cmd_status() {
  local n i pid state lb node
  if [[ ! -f "$RUN/lab.json" ]]; then
    echo "lab '$LAB': not up"
    lab_namespaces | sed 's/^/  leftover namespace: /'
    return 1
  fi
  n=$(backend_count)
  echo "lab '$LAB' ($RUN):"
  for node in client router $(lb_names) $(for ((i = 1; i <= n; i++)); do echo "b$i"; done); do
    if ip netns list | awk '{print $1}' | grep -qx "$(ns "$node")"; then
      echo "  $node: namespace $(ns "$node")"
    else
      echo "  $node: MISSING namespace $(ns "$node")"
    fi
  done
  local name
  for f in "$RUN"/*.pid "$RUN"/*/*.pid; do
    [[ -f "$f" ]] || continue
    pid=$(cat "$f")
    state=dead
    alive "$pid" && state=running
    name=${f#"$RUN"/}
    echo "  ${name%.pid}: pid $pid $state"
  done
  for ((i = 1; i <= n; i++)); do
    echo "  b$i be0 decap: $(nsx "b$i" "$DECAP" status --dev be0 2>&1 | head -1)"
  done
  if lab_bgp; then
    for node in $(bird_nodes); do
      echo "  BIRD on $node ($RUN/$node/bird.ctl):"
      "$BIRDC" -s "$RUN/$node/bird.ctl" show protocols 2>&1 | sed -n '2,$p' | sed 's/^/    /'
    done
    echo "  router's VIP routes:"
    cmd_route | sed 's/^/    /'
  fi
  for lb in $(lb_names); do
    echo "  $lb dataplane ($(lb_dir "$lb")/dataplane.sock):"
    "${LABLIB[@]}" api --socket "$(lb_dir "$lb")/dataplane.sock" status || true
  done
}

need_lab() {
  [[ -f "$RUN/lab.json" ]] || die "lab '$LAB' is not up (tools/lab up)"
}

# wait_gone PID: up to 5 s for a killed process to go.
wait_gone() {
  local t
  for ((t = 0; t < 100; t++)); do
    alive "$1" || return 0
    sleep 0.05
  done
  die "pid $1 did not exit"
}

# tools/lab backend bN ACTION [ARGS]: drive one backend's servers and link.
cmd_backend() {
  need_lab
  local usage="usage: tools/lab backend bN stop|kill|start [MODE]|status|http-ok|http-503"
  usage+="|http-hang|http-flap OK FAIL|cut|uncut"
  [[ $# -ge 2 ]] || die "$usage"
  local name=$1 action=$2 i pid ctl
  shift 2
  [[ "$name" =~ ^b([1-9])$ && ${BASH_REMATCH[1]} -le $(backend_count) ]] ||
    die "no backend '$name' in lab '$LAB' (b1..b$(backend_count))"
  i=${BASH_REMATCH[1]}
  pid=$(cat "$RUN/servers-$name.pid" 2>/dev/null || true)
  ctl=("${LABLIB[@]}" server --socket "$RUN/$name.control")
  case "$action" in
    stop)
      alive "$pid" || die "servers on $name are not running"
      stop_pids "servers on $name" "$pid"
      rm -f "$RUN/servers-$name.pid" "$RUN/$name.ready"
      ;;
    kill)
      alive "$pid" || die "servers on $name are not running"
      kill -KILL "$pid"
      wait_gone "$pid"
      rm -f "$RUN/servers-$name.pid" "$RUN/$name.ready" "$RUN/$name.control"
      ;;
    start)
      ! alive "$pid" || die "servers on $name already run (pid $pid)"
      start_server "$i" "${1:-ok}"
      wait_server "$i"
      ;;
    http-ok | http-503 | http-hang) "${ctl[@]}" http "${action#http-}" ;;
    http-flap)
      [[ $# -eq 2 ]] || die "usage: tools/lab backend $name http-flap OK FAIL"
      "${ctl[@]}" http flap "$1" "$2"
      ;;
    cut)
      # Everything to and from the backend is dropped on the router's side of its link
      # (a classic-BPF tc filter returning TC_ACT_SHOT; this kernel has no netem, gact or
      # matchall): probes time out, as with a dead host or a cut cable.
      nsx router tc qdisc replace dev "to-$name" clsact
      nsx router tc filter replace dev "to-$name" egress pref 1 bpf da bytecode '1,6 0 0 2,'
      nsx router tc filter replace dev "to-$name" ingress pref 1 bpf da bytecode '1,6 0 0 2,'
      ;;
    uncut) nsx router tc qdisc del dev "to-$name" clsact 2>/dev/null || true ;;
    status)
      if alive "$pid"; then "${ctl[@]}" status; else echo "servers on $name: not running"; fi
      if nsx router tc filter show dev "to-$name" egress 2>/dev/null | grep -q bpf; then
        echo "link: cut"
      else
        echo "link: connected"
      fi
      ;;
    *) die "backend: unknown action '$action'" ;;
  esac
}

# Sets LB_ARG and LB_REST (an array) from ARGS: `--lb LB` anywhere (default lb1), the rest.
parse_lb_option() {
  LB_ARG=lb1
  LB_REST=()
  while [[ $# -gt 0 ]]; do
    if [[ $1 == --lb ]]; then
      [[ $# -ge 2 ]] || die "--lb needs a value (lb1, lb2)"
      LB_ARG=$2
      shift 2
    else
      LB_REST+=("$1")
      shift
    fi
  done
  check_lb "$LB_ARG"
}

# tools/lab dataplane [--lb LB] stop|kill|start
cmd_dataplane() {
  need_lab
  parse_lb_option "$@"
  local lb=$LB_ARG pid dir
  set -- "${LB_REST[@]}"
  dir=$(lb_dir "$lb")
  pid=$(cat "$dir/dataplane.pid" 2>/dev/null || true)
  case "${1:-}" in
    stop)
      alive "$pid" || die "steer-dataplane of $lb is not running"
      stop_pids steer-dataplane "$pid"
      rm -f "$dir/dataplane.pid"
      ;;
    kill)
      alive "$pid" || die "steer-dataplane of $lb is not running"
      kill -KILL "$pid"
      wait_gone "$pid"
      rm -f "$dir/dataplane.pid"
      ;;
    start)
      ! alive "$pid" || die "steer-dataplane of $lb already runs (pid $pid)"
      [[ -f "$dir/vdev" ]] || die "no $dir/vdev (lab brought up by an older tools/lab?)"
      start_dataplane "$lb" "$(cat "$dir/vdev")" ||
        die "steer-dataplane of $lb did not start: $(tail -5 "$dir/dataplane.log")"
      lab_log "steer-dataplane of $lb started (pid $(cat "$dir/dataplane.pid")); its state is" \
        "empty until a controller (steerd) or 'tools/lab api apply' gives it one"
      ;;
    *) die "usage: tools/lab dataplane [--lb LB] stop|kill|start" ;;
  esac
}

# tools/lab steerd [--lb LB] up|down|kill|status|config ...
cmd_steerd() {
  need_lab
  parse_lb_option "$@"
  local lb=$LB_ARG keep=0 pid a dir action args=()
  set -- "${LB_REST[@]}"
  action=${1:-}
  [[ $# -gt 0 ]] && shift
  for a in "$@"; do
    if [[ "$a" == --keep-config ]]; then keep=1; else args+=("$a"); fi
  done
  dir=$(lb_dir "$lb")
  pid=$(cat "$dir/steerd.pid" 2>/dev/null || true)
  case "$action" in
    config)
      "${LABLIB[@]}" steerd-config --lab "$RUN/lab.json" --lb "$lb" "${args[@]}" \
        >"$dir/steerd.toml.new" || die "steerd config not written"
      mv "$dir/steerd.toml.new" "$dir/steerd.toml"
      echo "$dir/steerd.toml"
      ;;
    up)
      [[ -x "$STEERD" ]] || die "steerd not built: $STEERD (ninja -C $BUILD control/steerd)"
      ! alive "$pid" || die "steerd of $lb already runs (pid $pid)"
      if [[ $keep -eq 0 || ! -f "$dir/steerd.toml" ]]; then
        cmd_steerd --lb "$lb" config "${args[@]}" >/dev/null
      elif [[ ${#args[@]} -gt 0 ]]; then
        die "steerd up: --keep-config takes no other options"
      fi
      # Anyone may reach the CLI socket (mode 0666): only root may change anything.
      chmod a+x "$dir" "$RUN" "$(dirname "$RUN")"
      setsid ip netns exec "$(ns "$lb")" "$STEERD" -c "$dir/steerd.toml" \
        </dev/null >>"$dir/steerd.log" 2>&1 &
      pid=$!
      echo "$pid" >"$dir/steerd.pid"
      if ! "${LABLIB[@]}" wait-steerd --socket "$dir/steerd.sock" --pid "$pid" --timeout 20 \
        >/dev/null; then
        stop_pids steerd "$pid"
        rm -f "$dir/steerd.pid"
        die "steerd of $lb did not start: $(tail -5 "$dir/steerd.log")"
      fi
      lab_log "steerd of $lb up (pid $pid): CLI $dir/steerd.sock, log $dir/steerd.log"
      ;;
    down)
      if alive "$pid"; then stop_pids steerd "$pid"; fi
      rm -f "$dir/steerd.pid"
      ;;
    kill)
      alive "$pid" || die "steerd of $lb is not running"
      kill -KILL "$pid"
      wait_gone "$pid"
      rm -f "$dir/steerd.pid"
      ;;
    status)
      alive "$pid" || {
        echo "steerd of $lb: not running"
        return 1
      }
      "$BUILD/tools/steerctl/steerctl" show status -s "$dir/steerd.sock"
      ;;
    *) die "usage: tools/lab steerd [--lb LB] up|down|kill|status|config [options]" ;;
  esac
}

# tools/lab bird NODE start|stop|kill|restart|configure|status|birdc CMD...
cmd_bird() {
  need_lab
  [[ $# -ge 2 ]] ||
    die "usage: tools/lab bird NODE start|stop|kill|restart|configure|status|birdc CMD..."
  local node=$1 action=$2 pid dir out
  shift 2
  check_bird_node "$node"
  dir="$RUN/$node"
  pid=$(cat "$dir/bird.pid" 2>/dev/null || true)
  case "$action" in
    start)
      ! alive "$pid" || die "BIRD on $node already runs (pid $pid)"
      start_bird "$node" || die "BIRD on $node did not start"
      ;;
    stop)
      alive "$pid" || die "BIRD on $node is not running"
      stop_pids "BIRD on $node" "$pid"
      rm -f "$dir/bird.pid"
      ;;
    kill)
      alive "$pid" || die "BIRD on $node is not running"
      kill -KILL "$pid"
      wait_gone "$pid"
      rm -f "$dir/bird.pid"
      ;;
    restart)
      if alive "$pid"; then stop_pids "BIRD on $node" "$pid"; fi
      rm -f "$dir/bird.pid"
      start_bird "$node" || die "BIRD on $node did not start"
      ;;
    configure)
      alive "$pid" || die "BIRD on $node is not running"
      out=$("$BIRDC" -s "$dir/bird.ctl" configure 2>&1) || die "birdc configure: $out"
      echo "$out"
      grep -q "Reconfigur" <<<"$out" || die "BIRD on $node did not take its configuration"
      ;;
    status)
      if alive "$pid"; then echo "BIRD on $node: pid $pid running"; else
        echo "BIRD on $node: not running"
        return 1
      fi
      "$BIRDC" -s "$dir/bird.ctl" show protocols
      ;;
    birdc)
      [[ $# -ge 1 ]] || die "usage: tools/lab bird $node birdc CMD..."
      "$BIRDC" -s "$dir/bird.ctl" "$@"
      ;;
    *) die "bird: unknown action '$action'" ;;
  esac
}

# tools/lab route [v4|v6]: the router kernel's routes to the VIPs.
cmd_route() {
  need_lab
  case "${1:-all}" in
    v4) ip -n "$(ns router)" route show "$VIP4" ;;
    v6) ip -n "$(ns router)" -6 route show "$VIP6" ;;
    all)
      ip -n "$(ns router)" route show "$VIP4"
      ip -n "$(ns router)" -6 route show "$VIP6"
      ;;
    *) die "usage: tools/lab route [v4|v6]" ;;
  esac
}

# tools/lab lb LB cut|uncut|status: an LB host's link, dropped on the router's side (both ways).
cmd_lb() {
  need_lab
  [[ $# -eq 2 ]] || die "usage: tools/lab lb LB cut|uncut|status"
  local lb=$1 iface
  check_lb "$lb"
  iface="to-$lb"
  case "$2" in
    cut)
      nsx router tc qdisc replace dev "$iface" clsact
      nsx router tc filter replace dev "$iface" egress pref 1 bpf da bytecode '1,6 0 0 2,'
      nsx router tc filter replace dev "$iface" ingress pref 1 bpf da bytecode '1,6 0 0 2,'
      ;;
    uncut) nsx router tc qdisc del dev "$iface" clsact 2>/dev/null || true ;;
    status)
      if nsx router tc filter show dev "$iface" egress 2>/dev/null | grep -q bpf; then
        echo "$lb link: cut"
      else
        echo "$lb link: connected"
      fi
      ;;
    *) die "lb: unknown action '$2'" ;;
  esac
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  # A lab that is up keeps its site's addresses for every later command.
  if [[ $cmd != up && -f "$RUN/site" ]]; then set_site "$(cat "$RUN/site")"; fi
  case "$cmd" in
    up) cmd_up "$@" ;;
    down)
      if [[ $# -gt 0 ]]; then
        [[ "$1" == --pops && "${2:-}" == 2 && $# -eq 2 ]] || die "usage: tools/lab down [--pops 2]"
        exec "${LABLIB[@]}" pops down --prefix "$LAB"
      fi
      cmd_down
      ;;
    status) cmd_status ;;
    exec)
      [[ $# -ge 2 ]] || die "usage: tools/lab exec NODE CMD..."
      local node=$1
      shift
      [[ "$node" == lb ]] && node=lb1
      ip netns list | awk '{print $1}' | grep -qx "$(ns "$node")" ||
        die "no node '$node' in lab '$LAB' (client, router, lb1, lb2, b1..bN; is the lab up?)"
      exec ip netns exec "$(ns "$node")" "$@"
      ;;
    api)
      local lb=lb1
      if [[ ${1:-} == --lb ]]; then
        [[ -f "$RUN/lab.json" ]] && check_lb "${2:-}"
        lb=${2:-}
        shift 2
      fi
      [[ $# -ge 1 ]] || die "usage: tools/lab api [--lb LB] CMD..."
      exec "${LABLIB[@]}" api --socket "$(lb_dir "$lb")/dataplane.sock" "$@"
      ;;
    backend) cmd_backend "$@" ;;
    lb) cmd_lb "$@" ;;
    dataplane) cmd_dataplane "$@" ;;
    steerd) cmd_steerd "$@" ;;
    bird) cmd_bird "$@" ;;
    route) cmd_route "$@" ;;
    *)
      sed -n 's/^#: \{0,1\}//p' "$lab_self"
      [[ -z "$cmd" || "$cmd" == help || "$cmd" == -h || "$cmd" == --help ]] || exit 2
      ;;
  esac
}

main "$@"
