// DOC: where a client is, as far as steering cares: which PoPs to prefer, in order, and for
// how wide an address prefix that holds (the ECS SCOPE of the answer, RFC 7871 7.2.1).
//
// Sources, first match wins:
//   1. the `nets` file — the operator's own knowledge: "CIDR TARGET" lines, TARGET a PoP or a
//      region name; longest prefix wins. A PoP target: that PoP first, then the others by
//      great-circle distance from it. A region: the region's preference list when [dns] has
//      one, else its PoPs (configuration order) then the rest by distance from them.
//   2. a MaxMind-format database (MMDB, through libmaxminddb): the record's coordinates
//      ("location" latitude/longitude) give the PoPs in order of great-circle distance; the
//      record's network prefix is the scope.
//   3. neither: the default order — by distance from the local PoP (a client that reached
//      this PoP's anycast DNS address is, as BGP sees it, nearest to it), scope 0.
// Orders are computed when the Geo is built, never per query: one per PoP, one per region, and
// one per 1° x 1° cell of the globe for coordinates (the distinct orders are shared), so a
// lookup is a longest-prefix match or an MMDB tree walk, then an index. Nothing allocates or
// locks in locate(); any thread may call it on a built (immutable) Geo. Building reads the
// files and may fail with an operator's message (file:line for the nets file).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/ip_prefix.h"
#include "common/result.h"

namespace steer::dns {

struct GeoPop {
  std::string name;
  std::string region;
  double latitude = 0, longitude = 0;  // degrees
};

struct GeoConfig {
  std::vector<GeoPop> pops;  // PoP indices below are positions in this list
  uint16_t local_pop = 0;    // the PoP this responder runs at
  // Explicit preference lists by region name (PoP names, most preferred first; PoPs not
  // listed follow by distance).
  std::vector<std::pair<std::string, std::vector<std::string>>> region_preferences;
  std::string nets_path;  // "" = none
  std::string mmdb_path;  // "" = none
};

enum class LocationSource : uint8_t { Default, Nets, Mmdb };
std::string_view location_source_name(LocationSource s);  // "default", "nets", "mmdb"

struct Location {
  std::span<const uint16_t> order;  // PoP indices, most preferred first; every PoP appears once
  uint8_t scope = 0;                // the prefix length this location holds for
  LocationSource source = LocationSource::Default;
};

// For `steerctl dns query`: how the location was found, in words.
struct LocationDetail {
  Location location;
  std::string
      matched;  // "nets 198.51.100.0/24 -> eu-central", "mmdb 2001:db8::/32 (50.11, 8.68) DE"
};

class Geo {
 public:
  // Reads the nets file and opens the MMDB (when configured) and computes every order.
  static Result<std::shared_ptr<const Geo>> build(const GeoConfig& config);
  ~Geo();
  Geo(const Geo&) = delete;
  Geo& operator=(const Geo&) = delete;

  // The client's location from `address` with prefix length `prefix` (an ECS option's
  // SOURCE PREFIX-LENGTH, or the full length for a resolver's address). Never fails: unknown
  // addresses get the default order. noexcept, no allocation, thread-safe.
  Location locate(const IpAddress& address, uint8_t prefix) const noexcept;
  LocationDetail explain(const IpAddress& address, uint8_t prefix) const;

  const GeoConfig& config() const { return config_; }
  size_t nets_entries() const;
  bool has_mmdb() const;

 private:
  Geo() = default;
  struct Impl;
  GeoConfig config_;
  std::unique_ptr<Impl> impl_;
};

// Great-circle distance in kilometres (haversine, mean Earth radius 6371 km).
double great_circle_km(double lat1, double lon1, double lat2, double lon2);

}  // namespace steer::dns
