// DOC: what the dns/geo tests and benchmarks share: a temporary directory, a set of PoPs with
// real coordinates, and small MMDBs written at run time by testing/dns/make_mmdb.pl (Perl's
// MaxMind::DB::Writer, Debian's libmaxmind-db-writer-perl; tools/lib/common.sh installs it).
// The script is found through STEER_SOURCE_ROOT, which meson sets for unit tests and
// benchmarks, or else the STEER_GEO_FIXTURES_SOURCE_ROOT macro (tests/unit/dns/meson.build
// defines it, so the test binary also runs by hand). Header-only; test code, so failures are
// returned as messages for the test to report.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <stdlib.h>
#include <unistd.h>

#include "common/file.h"
#include "dns/geo.h"

namespace steer::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/steer-geo-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  std::string path(std::string_view name) const { return path_ + "/" + std::string(name); }

  // Writes `text` to `name` in the directory; returns its path ("" on failure).
  std::string write(std::string_view name, std::string_view text) const {
    const std::string p = path(name);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    return out ? p : "";
  }

 private:
  std::string path_;
};

// Eight PoPs on five continents (city-centre coordinates), in four regions plus "ap" with two.
inline dns::GeoConfig world_pops() {
  dns::GeoConfig c;
  c.pops = {
      {"fra", "eu-central", 50.11, 8.68}, {"ams", "eu-central", 52.37, 4.90},
      {"lon", "eu-west", 51.51, -0.13},   {"nyc", "us-east", 40.71, -74.01},
      {"sfo", "us-west", 37.77, -122.42}, {"sin", "ap", 1.35, 103.82},
      {"syd", "ap", -33.87, 151.21},      {"gru", "sa", -23.55, -46.63},
  };
  c.local_pop = 0;
  return c;
}

// Writes an MMDB at `out` from a make_mmdb.pl spec ("CIDR lat=.. lon=.. country=.. ..." lines).
// Returns "" or what went wrong.
inline std::string write_mmdb(const TempDir& dir, const std::string& out, std::string_view spec,
                              int ip_version = 6) {
  const char* root = std::getenv("STEER_SOURCE_ROOT");  // NOLINT(concurrency-mt-unsafe)
#ifdef STEER_GEO_FIXTURES_SOURCE_ROOT
  if (!root || !*root) root = STEER_GEO_FIXTURES_SOURCE_ROOT;
#endif
  if (!root || !*root) return "STEER_SOURCE_ROOT is not set (meson test sets it)";
  const std::string spec_path = dir.write("mmdb-spec.txt", spec);
  const std::string log = dir.path("mmdb-writer.log");
  if (spec_path.empty()) return "cannot write the MMDB spec";
  const std::string command = "perl '" + std::string(root) + "/testing/dns/make_mmdb.pl' " +
                              "--ip-version " + std::to_string(ip_version) + " '" + out + "' < '" +
                              spec_path + "' > '" + log + "' 2>&1";
  if (std::system(command.c_str()) != 0) {  // NOLINT(concurrency-mt-unsafe,cert-env33-c)
    auto why = read_file(log);
    return "make_mmdb.pl failed: " + (why ? *why : why.error().message);
  }
  return "";
}

}  // namespace steer::testing
