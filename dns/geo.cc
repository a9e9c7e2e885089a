// Client location: the nets file (a binary trie per family), the MMDB (libmaxminddb, mapped),
// and the PoP orders, all computed in build(); locate() only walks and indexes.
//
// Scope. An ECS answer is cached by resolvers for every client inside SCOPE, so SCOPE must
// never cover a client who would have got another answer. The matched nets prefix alone is not
// enough: with "10.0.0.0/8 eu" and "10.1.0.0/16 us", a client in 10.2.0.0 matches /8, but
// scope 8 would let a resolver hand the eu answer to 10.1.x clients. So the scope is the
// depth at which the client's walk leaves the trie: the widest block around the client that
// holds no other entry (here 10.2.0.0/15). With no nets match the same holds for the MMDB
// answer or the default (the larger of the nets block and the MMDB record's prefix: both
// blocks hold the client, so the longer one lies inside the other). When the client's own
// /SOURCE block holds more specific entries, the answer is the one for the block as a whole
// and the scope is the longest entry inside it (longer than SOURCE: RFC 7871 7.2.1, "send
// more bits"). The same rule covers an MMDB record more specific than SOURCE: the record of
// the block's first address answers, with the record's longer prefix as the scope.
//
// Orders. Every order lists every PoP once; distinct orders are stored once (one pool,
// `pops` entries each) and referenced by index, so the 64,800 grid cells cost 4 bytes each
// plus the orders they actually differ in. Ties are broken by PoP index throughout.
//   - a PoP: itself, then the others by great-circle distance from it;
//   - a region: its preference list (or, without one, its PoPs in configuration order), then
//     the rest by distance from the NEAREST of those listed PoPs. Nearest rather than the
//     first or the centroid: a region's clients are spread over its PoPs' areas, so a PoP
//     close to any of them is close to some of its clients; a centroid is ill-defined on a
//     sphere (a region across the antimeridian) and the first alone ignores the others;
//   - a grid cell: by distance from the cell's centre. Quantisation: every point of a
//     1 deg x 1 deg cell lies within 78.63 km of its centre (worst on the equator, at the
//     corners; cells nearer a pole are narrower). By the triangle inequality each PoP's
//     distance from the client differs from its distance from the centre by at most that,
//     so the grid can put PoP a before b only when a is at most 2 x 78.63 = 157.3 km farther
//     from the client than b (tests/unit/dns/geo_test.cc checks both against a direct sort).
//     That is below what the inputs resolve: MMDB coordinates are city centroids with
//     accuracy radii of tens to hundreds of km, 157 km of fibre is 1.6 ms of round trip, and
//     real fibre routes run hundreds of km longer than great circles anyway.
//   - the default: the local PoP's order.
//
// Nets lookups: a binary trie, one per family, nodes in one vector (16 bytes each; children
// by index). Chosen over one hash table per prefix length in use because the scope rule above
// needs the trie's shape (where the walk leaves it, the longest entry below a node), which
// hash tables per length do not give without a second structure. Measured against that
// alternative on the same IPv4 entries (bench/geo_bench.cc; the hash tables finding the match
// only): 59 vs 53 ns at 100 entries, 114 vs 101 ns at 10,000, 211 vs 91 ns at 100,000 — equal
// for the files operators write (tens to thousands of lines), and at worst a fraction of an
// MMDB lookup (367 ns) or of the syscalls around a query. The walk touches one node per bit
// and stops where the trie ends, so it is bounded by the longest entry and by SOURCE.
#include "dns/geo.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/file.h"

namespace steer::dns {

namespace {

constexpr double kEarthRadiusKm = 6371.0;
constexpr double kRadiansPerDegree = 3.14159265358979323846 / 180.0;
constexpr unsigned kGridRows = 180, kGridCols = 360;  // 1 deg x 1 deg cells
constexpr uint32_t kNoTarget = std::numeric_limits<uint32_t>::max();

struct UnitVector {
  double x, y, z;
};

UnitVector unit_vector(double lat, double lon) {
  const double phi = lat * kRadiansPerDegree, lambda = lon * kRadiansPerDegree;
  return {std::cos(phi) * std::cos(lambda), std::cos(phi) * std::sin(lambda), std::sin(phi)};
}

double dot(const UnitVector& a, const UnitVector& b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

bool valid_coordinates(double lat, double lon) {
  // Written so that NaN fails every comparison.
  return lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
}

uint32_t cell_index(double lat, double lon) {
  const int row = std::clamp(static_cast<int>(std::floor(lat + 90.0)), 0, int{kGridRows} - 1);
  const int col = std::clamp(static_cast<int>(std::floor(lon + 180.0)), 0, int{kGridCols} - 1);
  return static_cast<uint32_t>(row) * kGridCols + static_cast<uint32_t>(col);
}

// Levenshtein distance, case-insensitive; names are short.
size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t substitute = diagonal + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for the closest candidate within a third of the longer name's
// length (at least one edit), else "".
std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (std::string_view c : candidates) {
    const size_t d = edit_distance(name, c);
    if (d < best_distance) best = c, best_distance = d;
  }
  const size_t allowed = std::max<size_t>(1, std::max(name.size(), best.size()) / 3);
  if (best.empty() || best_distance > allowed) return "";
  return fmt::format(" (did you mean '{}'?)", best);
}

// Bit `i` (0 = most significant) of a key in network order.
inline unsigned key_bit(const uint8_t* key, unsigned i) {
  return (key[i >> 3] >> (7 - (i & 7))) & 1u;
}

// Zeroes every bit of the `bytes`-long key from bit `keep` on.
void mask_key(uint8_t* key, unsigned bytes, unsigned keep) {
  for (unsigned i = 0; i < bytes; ++i) {
    const unsigned first = i * 8;
    if (first >= keep) {
      key[i] = 0;
    } else if (keep - first < 8) {
      key[i] = static_cast<uint8_t>(key[i] & (0xffu << (8 - (keep - first))));
    }
  }
}

IpAddress address_of(const uint8_t* key, bool v4, unsigned length) {
  uint8_t b[16] = {};
  std::memcpy(b, key, v4 ? 4 : 16);
  mask_key(b, v4 ? 4 : 16, length);
  return v4 ? IpAddress::from_v4(b) : IpAddress::from_v6(b);
}

// One node of a nets trie. `target` and `length` are the longest entry on the path from the
// root to here, this node included (kNoTarget: none); `deepest` is the longest entry in the
// subtree. The root is node 0 and is nobody's child, so child 0 means "none".
struct Node {
  uint32_t child[2] = {0, 0};
  uint32_t target = kNoTarget;
  uint8_t length = 0;
  uint8_t deepest = 0;
};
static_assert(sizeof(Node) == 16);

struct NetsMatch {
  uint32_t target = kNoTarget;  // kNoTarget: no entry holds the client
  uint8_t length = 0;           // the matched entry's prefix length
  uint8_t scope = 0;            // see the top of this file
};

// The longest entry of length <= `source` holding `key`, and the scope. One node per bit.
NetsMatch walk(const std::vector<Node>& nodes, const uint8_t* key, unsigned source) noexcept {
  const Node* node = nodes.data();
  unsigned depth = 0;
  while (depth < source) {
    const unsigned bit = key_bit(key, depth);
    const uint32_t next = node->child[bit];
    if (next == 0) {
      // Nothing below on the client's side: the block at this depth (the node has no children
      // at all) or its half on the client's side (the other half holds entries) is uniform.
      const uint8_t scope = static_cast<uint8_t>(node->child[bit ^ 1u] ? depth + 1 : depth);
      return {node->target, node->length, scope};
    }
    node = &nodes[next];
    ++depth;
  }
  const bool below = (node->child[0] | node->child[1]) != 0;
  return {node->target, node->length, below ? node->deepest : static_cast<uint8_t>(depth)};
}

// Builds one family's trie from its entries, keeping each entry's line for duplicates.
class TrieBuilder {
 public:
  // Adds an entry; returns 0, or the line of an earlier entry with the same prefix.
  unsigned insert(const uint8_t* key, unsigned length, uint32_t target, unsigned line) {
    uint32_t at = 0;
    for (unsigned d = 0; d < length; ++d) {
      const unsigned bit = key_bit(key, d);
      if (nodes_[at].child[bit] == 0) {
        nodes_[at].child[bit] = static_cast<uint32_t>(nodes_.size());
        nodes_.emplace_back();
        extra_.push_back({kNoTarget, 0, static_cast<uint8_t>(d + 1)});
      }
      at = nodes_[at].child[bit];
    }
    if (extra_[at].target != kNoTarget) return extra_[at].line;
    extra_[at].target = target;
    extra_[at].line = line;
    return 0;
  }

  // A child's index is always above its parent's: one pass down fills the inherited match,
  // one pass up the deepest entry.
  std::vector<Node> finish() && {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = nodes_[i];
      if (extra_[i].target != kNoTarget) {
        n.target = extra_[i].target;
        n.length = extra_[i].depth;
      }
      for (uint32_t c : n.child) {
        if (c == 0) continue;
        nodes_[c].target = n.target;
        nodes_[c].length = n.length;
      }
    }
    for (size_t i = nodes_.size(); i-- > 0;) {
      Node& n = nodes_[i];
      n.deepest = extra_[i].target != kNoTarget ? extra_[i].depth : 0;
      for (uint32_t c : n.child) {
        if (c != 0) n.deepest = std::max(n.deepest, nodes_[c].deepest);
      }
    }
    nodes_.shrink_to_fit();
    return std::move(nodes_);
  }

 private:
  struct Extra {
    uint32_t target;
    unsigned line;
    uint8_t depth;
  };
  std::vector<Node> nodes_{1};
  std::vector<Extra> extra_{{kNoTarget, 0, 0}};
};

// Distinct orders, each `pops` PoP indices long, stored once and referred to by id.
class OrderPool {
 public:
  uint32_t add(const std::vector<uint16_t>& order) {
    std::string key(order.size() * sizeof(uint16_t), '\0');
    std::memcpy(key.data(), order.data(), key.size());
    auto [it, inserted] = ids_.try_emplace(std::move(key), static_cast<uint32_t>(ids_.size()));
    if (inserted) pool_.insert(pool_.end(), order.begin(), order.end());
    return it->second;
  }
  std::vector<uint16_t> take() && {
    pool_.shrink_to_fit();
    return std::move(pool_);
  }

 private:
  std::vector<uint16_t> pool_;
  std::unordered_map<std::string, uint32_t> ids_;
};

// `head` in its own order, then every other PoP by ascending `key` (ties: PoP index).
void order_after(const std::vector<uint16_t>& head, const std::vector<double>& key,
                 std::vector<uint16_t>& out) {
  out.assign(head.begin(), head.end());
  const size_t n = key.size();
  std::vector<bool> listed(n, false);
  for (uint16_t h : head) listed[h] = true;
  const size_t rest = out.size();
  for (size_t i = 0; i < n; ++i) {
    if (!listed[i]) out.push_back(static_cast<uint16_t>(i));
  }
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(rest), out.end(),
            [&](uint16_t a, uint16_t b) { return key[a] != key[b] ? key[a] < key[b] : a < b; });
}

Result<void> validate(const GeoConfig& config) {
  if (config.pops.empty()) return fail("geo: no PoPs");
  if (config.pops.size() > std::numeric_limits<uint16_t>::max()) {
    return fail(fmt::format("geo: {} PoPs (at most {})", config.pops.size(),
                            std::numeric_limits<uint16_t>::max()));
  }
  if (config.local_pop >= config.pops.size()) {
    return fail(fmt::format("geo: local PoP index {} but only {} PoPs", config.local_pop,
                            config.pops.size()));
  }
  for (size_t i = 0; i < config.pops.size(); ++i) {
    const GeoPop& p = config.pops[i];
    if (p.name.empty()) return fail(fmt::format("geo: PoP {} has no name", i));
    if (!valid_coordinates(p.latitude, p.longitude)) {
      return fail(fmt::format(
          "geo: PoP '{}': coordinates ({}, {}) out of range (latitude -90..90, longitude "
          "-180..180)",
          p.name, p.latitude, p.longitude));
    }
    for (size_t j = 0; j < i; ++j) {
      if (config.pops[j].name == p.name) return fail(fmt::format("geo: PoP '{}' twice", p.name));
    }
  }
  return {};
}

// Parses "ADDRESS/LENGTH" for the nets file; the error is the message after "path:line: ".
Result<IpPrefix> parse_cidr(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return fail(fmt::format("'{}' is not a CIDR prefix (ADDRESS/LENGTH)", text));
  }
  const std::string_view addr_text = text.substr(0, slash), len_text = text.substr(slash + 1);
  auto address = IpAddress::parse(addr_text);
  if (!address) return fail(fmt::format("bad address '{}' in '{}'", addr_text, text));
  // An IPv4-mapped IPv6 prefix (::ffff:0:0/96 and longer) is the IPv4 prefix it maps: the
  // address is held as IPv4 and IPv4 clients are looked up as IPv4.
  const bool mapped = address->is_v4() && addr_text.find(':') != std::string_view::npos;
  const unsigned max = address->is_v4() && !mapped ? 32 : 128;
  unsigned length = 0;
  auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
  if (len_text.empty() || ec != std::errc() || end != len_text.data() + len_text.size() ||
      length > max || (mapped && length < 96)) {
    return fail(fmt::format("bad prefix length '{}' in '{}' ({})", len_text, text,
                            mapped      ? "IPv4-mapped IPv6: 96..128"
                            : max == 32 ? "IPv4: 0..32"
                                        : "IPv6: 0..128"));
  }
  if (mapped) length -= 96;
  const bool v4 = address->is_v4();
  const uint8_t* key = v4 ? address->v4_data() : address->data();
  const IpAddress network = address_of(key, v4, length);
  if (network != *address) {
    return fail(fmt::format("'{}' has host bits set (did you mean {}/{}?)", text,
                            network.to_string(), length));
  }
  return IpPrefix{network, static_cast<uint8_t>(length)};
}

struct Target {
  std::string name;  // a PoP's or a region's
  uint32_t order;
};

}  // namespace

struct Geo::Impl {
  size_t pops = 0;
  std::vector<uint16_t> orders;       // distinct orders, `pops` entries each
  std::vector<uint32_t> cell_orders;  // kGridRows x kGridCols order ids, row = latitude + 90
  uint32_t default_order = 0;
  std::vector<Target> targets;  // every PoP (by index), then every region
  std::vector<Node> v4{1}, v6{1};
  size_t nets_entries = 0;
  MMDB_s mmdb{};
  bool mmdb_open = false;

  ~Impl() {
    if (mmdb_open) MMDB_close(&mmdb);
  }

  std::span<const uint16_t> order(uint32_t id) const {
    return {orders.data() + static_cast<size_t>(id) * pops, pops};
  }

  // Everything locate() and explain() need to know about one client.
  struct Resolution {
    Location location;
    bool v4 = false;
    uint8_t key[16] = {};  // the address, its bits from SOURCE on zeroed; 4 bytes for IPv4
    NetsMatch nets;
    bool in_mmdb = false, has_coordinates = false;
    uint8_t mmdb_length = 0;  // the record's prefix length (own family)
    double latitude = 0, longitude = 0;
    MMDB_entry_s entry{};
  };
  Resolution resolve(const IpAddress& address, uint8_t prefix) const noexcept;
  void lookup_mmdb(Resolution& r) const noexcept;

  // Building, in this order: the orders (PoPs, regions given as name and leading PoPs, the
  // grid), then the nets file (targets name entries of `targets`), then the MMDB.
  using Regions = std::vector<std::pair<std::string, std::vector<uint16_t>>>;
  void build_orders(const GeoConfig& config, const Regions& regions);
  Result<void> load_nets(const std::string& path);
  Result<void> open_mmdb(const std::string& path);
};

void Geo::Impl::lookup_mmdb(Resolution& r) const noexcept {
  // The sockaddr is built on the stack and the values read with MMDB_aget_value (a path
  // array): MMDB_get_value's variadic form calloc()s its path on every call.
  union {
    sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
  } addr{};
  if (r.v4) {
    addr.in4.sin_family = AF_INET;
    std::memcpy(&addr.in4.sin_addr, r.key, 4);
  } else {
    addr.in6.sin6_family = AF_INET6;
    std::memcpy(&addr.in6.sin6_addr, r.key, 16);
  }
  int error = MMDB_SUCCESS;
  MMDB_lookup_result_s result = MMDB_lookup_sockaddr(&mmdb, &addr.sa, &error);
  // An IPv6 address in an IPv4-only database is an error: the database says nothing about
  // any IPv6 address, so the whole family is one block (length 0).
  if (error != MMDB_SUCCESS) return;
  // The netmask counts in the database's tree: an IPv4 lookup in an IPv6 tree starts at the
  // IPv4 subtree (::/96), 96 bits down, or above it when a record covers all of it.
  unsigned length = result.netmask;
  if (r.v4 && mmdb.metadata.ip_version == 6) length = length >= 96 ? length - 96 : 0;
  r.mmdb_length = static_cast<uint8_t>(std::min(length, r.v4 ? 32u : 128u));
  if (!result.found_entry) return;
  r.in_mmdb = true;
  r.entry = result.entry;
  // "location" is found once in the record's map, then both keys in the location map (a map
  // value's offset is a valid start for another lookup): one top-level map walk, not two.
  static const char* const kLocation[] = {"location", nullptr};
  static const char* const kLatitude[] = {"latitude", nullptr};
  static const char* const kLongitude[] = {"longitude", nullptr};
  MMDB_entry_data_s location{}, lat{}, lon{};
  if (MMDB_aget_value(&result.entry, &location, kLocation) != MMDB_SUCCESS || !location.has_data ||
      location.type != MMDB_DATA_TYPE_MAP) {
    return;
  }
  MMDB_entry_s in_location{&mmdb, location.offset};
  auto number = [](const MMDB_entry_data_s& d, double& out) {
    if (!d.has_data) return false;
    if (d.type == MMDB_DATA_TYPE_DOUBLE) return out = d.double_value, true;
    if (d.type == MMDB_DATA_TYPE_FLOAT) return out = static_cast<double>(d.float_value), true;
    return false;
  };
  if (MMDB_aget_value(&in_location, &lat, kLatitude) != MMDB_SUCCESS ||
      MMDB_aget_value(&in_location, &lon, kLongitude) != MMDB_SUCCESS || !number(lat, r.latitude) ||
      !number(lon, r.longitude) || !valid_coordinates(r.latitude, r.longitude)) {
    return;
  }
  r.has_coordinates = true;
}

Geo::Impl::Resolution Geo::Impl::resolve(const IpAddress& address, uint8_t prefix) const noexcept {
  Resolution r;
  r.v4 = address.is_v4();
  const unsigned bytes = r.v4 ? 4 : 16;
  const unsigned source = std::min<unsigned>(prefix, bytes * 8);
  std::memcpy(r.key, r.v4 ? address.v4_data() : address.data(), bytes);
  mask_key(r.key, bytes, source);

  r.nets = walk(r.v4 ? v4 : v6, r.key, source);
  if (r.nets.target != kNoTarget) {
    r.location = {order(targets[r.nets.target].order), r.nets.scope, LocationSource::Nets};
    return r;
  }
  uint8_t scope = r.nets.scope;
  if (mmdb_open) {
    lookup_mmdb(r);
    scope = std::max(scope, r.mmdb_length);
    if (r.has_coordinates) {
      r.location = {order(cell_orders[cell_index(r.latitude, r.longitude)]), scope,
                    LocationSource::Mmdb};
      return r;
    }
  }
  r.location = {order(default_order), scope, LocationSource::Default};
  return r;
}

std::string_view location_source_name(LocationSource s) {
  switch (s) {
    case LocationSource::Default:
      return "default";
    case LocationSource::Nets:
      return "nets";
    case LocationSource::Mmdb:
      return "mmdb";
  }
  return "default";
}

double great_circle_km(double lat1, double lon1, double lat2, double lon2) {
  const double phi1 = lat1 * kRadiansPerDegree, phi2 = lat2 * kRadiansPerDegree;
  const double dphi = phi2 - phi1, dlambda = (lon2 - lon1) * kRadiansPerDegree;
  const double s1 = std::sin(dphi / 2), s2 = std::sin(dlambda / 2);
  const double h = s1 * s1 + std::cos(phi1) * std::cos(phi2) * s2 * s2;
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

// Reads the nets file into the two tries. A name that is both a PoP and a region means the
// PoP (PoPs come first in `targets`; the region's order differs only by its preference list).
Result<void> Geo::Impl::load_nets(const std::string& path) {
  std::unordered_map<std::string, uint32_t> names;
  std::vector<std::string_view> candidates;
  for (uint32_t t = 0; t < targets.size(); ++t) {
    if (names.emplace(targets[t].name, t).second) candidates.push_back(targets[t].name);
  }
  auto text = read_file(path);
  if (!text) return fail(text.error().message);
  TrieBuilder v4_builder, v6_builder;
  unsigned line_no = 0;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::string_view fields[3];
    size_t count = 0;
    size_t at = 0;
    while (true) {
      at = line.find_first_not_of(" \t\r\f\v", at);
      if (at == std::string_view::npos) break;
      const size_t end = std::min(line.find_first_of(" \t\r\f\v", at), line.size());
      if (count < 3) fields[count] = line.substr(at, end - at);
      ++count;
      at = end;
    }
    if (count == 0) continue;
    auto where = [&](std::string message) {
      return fail(fmt::format("{}:{}: {}", path, line_no, message));
    };
    if (count != 2) {
      return where(
          fmt::format("expected 'CIDR TARGET', got {} field{}", count, count == 1 ? "" : "s"));
    }
    auto prefix = parse_cidr(fields[0]);
    if (!prefix) return where(prefix.error().message);
    auto named = names.find(std::string(fields[1]));
    if (named == names.end()) {
      return where(fmt::format("unknown target '{}' (not a PoP or region){}", fields[1],
                               did_you_mean(fields[1], candidates)));
    }
    const bool v4_prefix = prefix->is_v4();
    const uint8_t* key = v4_prefix ? prefix->address.v4_data() : prefix->address.data();
    const unsigned first =
        (v4_prefix ? v4_builder : v6_builder).insert(key, prefix->length, named->second, line_no);
    if (first != 0) {
      return where(fmt::format("duplicate prefix {} (first at line {})", *prefix, first));
    }
    ++nets_entries;
  }
  v4 = std::move(v4_builder).finish();
  v6 = std::move(v6_builder).finish();
  return {};
}

// The database is mapped, not read: locate() walks the file's own pages, and lookups on an
// opened MMDB_s only read it (libmaxminddb is thread-safe so), so every responder thread may
// share it. A reload opens the new file in a new Geo; the old mapping lives until the old Geo
// goes. Operators must replace the file by rename (as geoipupdate does), never rewrite it in
// place: a mapped file truncated under a reader is a SIGBUS.
Result<void> Geo::Impl::open_mmdb(const std::string& path) {
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &mmdb);
  if (status != MMDB_SUCCESS) {
    const int saved = errno;
    std::string why = MMDB_strerror(status);
    if (status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR) {
      why += ": " + std::generic_category().message(saved);
    }
    return fail(fmt::format("cannot open MMDB {}: {}", path, why));
  }
  mmdb_open = true;
  return {};
}

void Geo::Impl::build_orders(const GeoConfig& config, const Regions& regions) {
  const size_t n = config.pops.size();
  OrderPool pool;
  std::vector<double> key(n);
  std::vector<uint16_t> order;

  pops = n;
  targets.clear();
  for (size_t p = 0; p < n; ++p) {
    const GeoPop& from = config.pops[p];
    for (size_t q = 0; q < n; ++q) {
      const GeoPop& to = config.pops[q];
      key[q] = great_circle_km(from.latitude, from.longitude, to.latitude, to.longitude);
    }
    order_after({static_cast<uint16_t>(p)}, key, order);
    targets.push_back({from.name, pool.add(order)});
  }
  default_order = targets[config.local_pop].order;

  for (const auto& [name, head] : regions) {
    if (head.empty()) {
      targets.push_back({name, default_order});
      continue;
    }
    for (size_t q = 0; q < n; ++q) {
      const GeoPop& to = config.pops[q];
      key[q] = std::numeric_limits<double>::infinity();
      for (uint16_t h : head) {
        const GeoPop& from = config.pops[h];
        key[q] = std::min(
            key[q], great_circle_km(from.latitude, from.longitude, to.latitude, to.longitude));
      }
    }
    order_after(head, key, order);
    targets.push_back({name, pool.add(order)});
  }

  // The grid sorts by the dot product of unit vectors: great-circle distance is R * acos(dot),
  // decreasing in dot, so the order is the same at a fraction of haversine's cost (64,800
  // cells x PoPs).
  std::vector<UnitVector> at(n);
  for (size_t q = 0; q < n; ++q)
    at[q] = unit_vector(config.pops[q].latitude, config.pops[q].longitude);
  cell_orders.resize(size_t{kGridRows} * kGridCols);
  for (unsigned row = 0; row < kGridRows; ++row) {
    for (unsigned col = 0; col < kGridCols; ++col) {
      const UnitVector centre = unit_vector(row - 89.5, col - 179.5);
      for (size_t q = 0; q < n; ++q) key[q] = -dot(centre, at[q]);
      order_after({}, key, order);
      cell_orders[size_t{row} * kGridCols + col] = pool.add(order);
    }
  }
  orders = std::move(pool).take();
}

Result<std::shared_ptr<const Geo>> Geo::build(const GeoConfig& config) {
  if (auto ok = validate(config); !ok) return tl::unexpected(ok.error());
  const size_t n = config.pops.size();

  std::unordered_map<std::string, uint16_t> pop_index;
  std::vector<std::string_view> pop_names;
  for (size_t i = 0; i < n; ++i) {
    pop_index.emplace(config.pops[i].name, static_cast<uint16_t>(i));
    pop_names.push_back(config.pops[i].name);
  }

  // Regions: those with a preference list (in the lists' order), then those named by PoPs
  // (first appearance). A region without a list, or with an empty one, leads with its PoPs in
  // configuration order.
  Impl::Regions regions;
  auto known = [&](std::string_view name) {
    return std::any_of(regions.begin(), regions.end(), [&](auto& r) { return r.first == name; });
  };
  for (const auto& [name, list] : config.region_preferences) {
    if (name.empty()) return fail("geo: a region preference list without a region name");
    if (known(name)) return fail(fmt::format("geo: region '{}': two preference lists", name));
    std::vector<uint16_t> head;
    for (const std::string& pop : list) {
      auto it = pop_index.find(pop);
      if (it == pop_index.end()) {
        return fail(fmt::format("geo: region '{}': unknown PoP '{}' in its preference list{}", name,
                                pop, did_you_mean(pop, pop_names)));
      }
      if (std::find(head.begin(), head.end(), it->second) != head.end()) {
        return fail(
            fmt::format("geo: region '{}': PoP '{}' twice in its preference list", name, pop));
      }
      head.push_back(it->second);
    }
    regions.emplace_back(name, std::move(head));
  }
  for (const GeoPop& p : config.pops) {
    if (!p.region.empty() && !known(p.region))
      regions.emplace_back(p.region, std::vector<uint16_t>{});
  }
  for (auto& [name, head] : regions) {
    if (!head.empty()) continue;
    for (size_t i = 0; i < n; ++i) {
      if (config.pops[i].region == name) head.push_back(static_cast<uint16_t>(i));
    }
  }

  std::shared_ptr<Geo> geo(new Geo());
  geo->config_ = config;
  geo->impl_ = std::make_unique<Impl>();
  geo->impl_->build_orders(config, regions);
  if (!config.nets_path.empty()) {
    if (auto ok = geo->impl_->load_nets(config.nets_path); !ok) return tl::unexpected(ok.error());
  }
  if (!config.mmdb_path.empty()) {
    if (auto ok = geo->impl_->open_mmdb(config.mmdb_path); !ok) return tl::unexpected(ok.error());
  }
  return std::shared_ptr<const Geo>(std::move(geo));
}

Geo::~Geo() = default;

// Measured (bench/geo_bench.cc, CPU time per call; g++ 12 -O2 on a 2-core 2.4 GHz VM that
// other builds were loading, so take them as upper bounds):
//   nets file, IPv4: 100 entries 59 ns; 10,000 entries 114 ns (ECS /24: 107 ns); 100,000
//     entries 211 ns;
//   MMDB (4,000 records, IPv4 /24s in an IPv6 tree and IPv6 /48s): a record with coordinates
//     367 ns (the tree walk, then "location" and its two keys); an address in no record 34 ns.
// Geo::build, no files, PoPs at random places: 8 PoPs 8.5 ms (595 distinct orders, 9.5 KB);
// 32 PoPs 62 ms (45,278 orders, 2.9 MB); 128 PoPs 0.39 s (64,102 orders, 16 MB) — nearly
// every cell's order differs once PoPs are many, the price of full orders per cell.
Location Geo::locate(const IpAddress& address, uint8_t prefix) const noexcept {
  return impl_->resolve(address, prefix).location;
}

LocationDetail Geo::explain(const IpAddress& address, uint8_t prefix) const {
  const Impl::Resolution r = impl_->resolve(address, prefix);
  LocationDetail d{r.location, {}};
  const std::string& local = config_.pops[config_.local_pop].name;
  switch (r.location.source) {
    case LocationSource::Nets:
      d.matched = fmt::format("nets {}/{} -> {}", address_of(r.key, r.v4, r.nets.length),
                              r.nets.length, impl_->targets[r.nets.target].name);
      break;
    case LocationSource::Mmdb:
    case LocationSource::Default: {
      std::string where;
      if (r.in_mmdb) {
        // Country and continent, for the operator only: locate() never reads them.
        static const char* const kCountry[] = {"country", "iso_code", nullptr};
        static const char* const kContinent[] = {"continent", "code", nullptr};
        MMDB_entry_s entry = r.entry;
        for (const char* const* path : {kCountry, kContinent}) {
          MMDB_entry_data_s data{};
          if (MMDB_aget_value(&entry, &data, path) == MMDB_SUCCESS && data.has_data &&
              data.type == MMDB_DATA_TYPE_UTF8_STRING) {
            where += ' ';
            where.append(data.utf8_string, data.data_size);
          }
        }
      }
      const std::string record =
          fmt::format("mmdb {}/{}", address_of(r.key, r.v4, r.mmdb_length), r.mmdb_length);
      if (r.location.source == LocationSource::Mmdb) {
        d.matched = fmt::format("{} ({:.2f}, {:.2f}){}", record, r.latitude, r.longitude, where);
        break;
      }
      std::string why = config_.nets_path.empty() ? "no nets file" : "no nets match";
      if (!impl_->mmdb_open) {
        why += ", no MMDB";
      } else if (!r.in_mmdb) {
        why += fmt::format(", not in the MMDB ({} holds no record)", record.substr(5));
      } else {
        why += fmt::format(", {} has no coordinates{}", record, where);
      }
      d.matched = fmt::format("default (by distance from {}): {}", local, why);
      break;
    }
  }
  return d;
}

size_t Geo::nets_entries() const { return impl_->nets_entries; }
bool Geo::has_mmdb() const { return impl_->mmdb_open; }

}  // namespace steer::dns
