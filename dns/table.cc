#include "dns/table.h"

#include <xxhash.h>

namespace steer::dns {

const RRset* Node::find(uint16_t t) const {
  for (const RRset& r : rrsets) {
    if (r.type == t) return &r;
  }
  return nullptr;
}

size_t NameHash::operator()(std::string_view s) const noexcept {
  return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
}

const Node* Zone::find(std::span<const uint8_t> name) const {
  auto it = nodes.find(std::string_view(reinterpret_cast<const char*>(name.data()), name.size()));
  return it == nodes.end() ? nullptr : &it->second;
}

const Zone* Catalog::zone_of(const Name& qname) const {
  const Zone* best = nullptr;
  for (const Zone& z : zones) {
    if (qname.within(z.apex) && (best == nullptr || z.apex.size > best->apex.size)) best = &z;
  }
  return best;
}

}  // namespace steer::dns
