# Shared by tools/test and tools/demo: the one list of Debian packages steer needs, and the
# build steps. Source it; it defines functions and changes nothing by itself.

STEER_ROOT="${STEER_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

# Everything a fresh Debian 12 machine needs to build, test, fuzz and demo steer.
STEER_PACKAGES=(
  g++ clang libclang-rt-14-dev clang-format clang-tidy
  meson ninja-build pkg-config
  libfmt-dev libxxhash-dev libexpected-dev libcli11-dev libtomlplusplus-dev
  libasio-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libdpdk-dev dpdk dpdk-dev libbpf-dev libxdp-dev bpftool libssl-dev nlohmann-json3-dev
  libmaxminddb-dev mmdb-bin libmaxmind-db-writer-perl
  python3 python3-scapy python3-pyflakes iproute2 iputils-ping ethtool tcpdump bird2
  knot knot-module-geoip knot-dnsutils bind9-dnsutils python3-dnspython python3-yaml zonemaster-cli
  dnsperf knot-resolver python3-matplotlib
)

steer_log() { printf 'steer: %s\n' "$*" >&2; }

# Installs the missing packages from STEER_PACKAGES; silent when nothing is missing.
steer_install_deps() {
  local missing=() p
  for p in "${STEER_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    steer_log "missing packages (run as root to install): ${missing[*]}"
    return 1
  fi
  steer_log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || { steer_log "apt-get update failed"; return 1; }
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { steer_log "apt-get install failed: ${missing[*]}"; return 1; }
}

# steer_build DIR [meson options...]: configures DIR once (or reconfigures with new options)
# and builds it.
steer_build() {
  local dir="$1"; shift
  if [ ! -f "$STEER_ROOT/$dir/build.ninja" ]; then
    meson setup "$STEER_ROOT/$dir" "$STEER_ROOT" "$@" >/dev/null || return 1
  elif [ $# -gt 0 ]; then
    meson configure "$STEER_ROOT/$dir" "$@" >/dev/null || return 1
  fi
  ninja -C "$STEER_ROOT/$dir" >/dev/null || ninja -C "$STEER_ROOT/$dir"
}
