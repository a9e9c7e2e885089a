#include "dataplane/state_json.h"

namespace steer::dataplane {

namespace {

// The names were checked by parse_desired_state(); anything else takes the default.
EncapType encap_of(std::string_view name) {
  return name == encap_name(EncapType::Gue) ? EncapType::Gue : EncapType::Ipip;
}

hashing::FlowHashMode hash_mode_of(std::string_view name) {
  for (hashing::FlowHashMode m :
       {hashing::FlowHashMode::ThreeTuple, hashing::FlowHashMode::SourceOnly}) {
    if (name == hash_mode_name(m)) return m;
  }
  return hashing::FlowHashMode::FiveTuple;
}

}  // namespace

std::string_view encap_name(EncapType type) { return type == EncapType::Gue ? "gue" : "ipip"; }

std::string_view hash_mode_name(hashing::FlowHashMode mode) {
  switch (mode) {
    case hashing::FlowHashMode::ThreeTuple:
      return "3-tuple";
    case hashing::FlowHashMode::SourceOnly:
      return "source";
    case hashing::FlowHashMode::FiveTuple:
      break;
  }
  return "5-tuple";
}

StateSpec to_state_spec(const doc::DesiredState& state) {
  StateSpec spec;
  if (state.flow_hash_seed) spec.flow_hash_seed = *state.flow_hash_seed;
  spec.vips.reserve(state.vips.size());
  for (const doc::Vip& v : state.vips) {
    VipSpec vip;
    vip.address = v.key.address;
    vip.proto = ip_proto_number(v.key.proto);
    vip.port = v.key.port;
    vip.table_size = v.table_size;
    vip.encap = encap_of(v.encap);
    vip.gue_port = v.gue_port;
    vip.hash_mode = hash_mode_of(v.hash);
    vip.answer_echo = v.echo;
    for (const doc::Backend& b : v.backends) {
      const std::optional<uint32_t> weight = table_weight(b.state, b.weight);
      if (!weight) continue;  // down: not in the set
      vip.backends.push_back(BackendSpec{b.address, *weight});
    }
    spec.vips.push_back(std::move(vip));
  }
  return spec;
}

doc::DesiredState to_document(const StateSpec& spec, uint64_t generation) {
  doc::DesiredState state;
  state.generation = generation;
  state.flow_hash_seed = spec.flow_hash_seed;
  state.vips.reserve(spec.vips.size());
  for (const VipSpec& v : spec.vips) {
    doc::Vip vip;
    // TCP unless UDP: an applied spec holds nothing else (see the header).
    vip.key = VipKey{v.address, l4_proto_of(v.proto).value_or(L4Proto::Tcp), v.port};
    vip.encap = encap_name(v.encap);
    vip.gue_port = v.gue_port;
    vip.table_size = v.table_size;
    vip.hash = hash_mode_name(v.hash_mode);
    vip.echo = v.answer_echo;
    for (const BackendSpec& b : v.backends) {
      vip.backends.push_back(doc::Backend{b.address, b.weight,
                                          b.weight == 0 ? BackendState::Drain : BackendState::Up});
    }
    state.vips.push_back(std::move(vip));
  }
  return state;
}

Result<StateSpec> parse_state_json(std::string_view document) {
  auto state = doc::parse_desired_state(document);
  if (!state) return tl::unexpected(state.error());
  return to_state_spec(*state);
}

std::string state_to_json(const StateSpec& spec, uint64_t generation) {
  return doc::to_json(to_document(spec, generation));
}

}  // namespace steer::dataplane
