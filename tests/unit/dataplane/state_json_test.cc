#include "dataplane/state_json.h"

#include <gtest/gtest.h>

namespace steer::dataplane {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

TEST(StateJson, ParsesEveryOption) {
  auto spec = parse_state_json(R"({"flow_hash_seed": "0x10", "vips": [
    {"address": "192.0.2.10", "proto": "tcp", "port": 80, "encap": "gue", "gue_port": 7000,
     "table_size": 251, "hash": "3-tuple", "echo": false,
     "backends": [{"address": "10.0.2.11", "weight": 3},
                  {"address": "10.0.2.12", "state": "drain", "weight": 5},
                  {"address": "10.0.2.13", "state": "down"}]}]})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->flow_hash_seed, 0x10u);
  ASSERT_EQ(spec->vips.size(), 1u);
  const VipSpec& v = spec->vips[0];
  EXPECT_EQ(v.address, ip("192.0.2.10"));
  EXPECT_EQ(v.proto, 6);
  EXPECT_EQ(v.port, 80);
  EXPECT_EQ(v.encap, EncapType::Gue);
  EXPECT_EQ(v.gue_port, 7000);
  EXPECT_EQ(v.table_size, 251u);
  EXPECT_EQ(v.hash_mode, hashing::FlowHashMode::ThreeTuple);
  EXPECT_FALSE(v.answer_echo);
  ASSERT_EQ(v.backends.size(), 2u);  // the "down" one is not in the set
  EXPECT_EQ(v.backends[0].weight, 3u);
  EXPECT_EQ(v.backends[1].address, ip("10.0.2.12"));
  EXPECT_EQ(v.backends[1].weight, 0u);  // drained
}

TEST(StateJson, DefaultsMatchVipSpec) {
  auto spec = parse_state_json(
      R"({"vips": [{"address": "2001:db8::10", "proto": "udp", "backends": []}]})");
  ASSERT_TRUE(spec) << spec.error().message;
  const VipSpec& v = spec->vips[0];
  const VipSpec d;
  EXPECT_EQ(v.port, 0);
  EXPECT_EQ(v.encap, d.encap);
  EXPECT_EQ(v.table_size, d.table_size);
  EXPECT_EQ(v.gue_port, d.gue_port);
  EXPECT_EQ(spec->flow_hash_seed, hashing::kDefaultFlowHashSeed);
}

TEST(StateJson, ErrorsNameThePlace) {
  struct Case {
    const char* doc;
    const char* expect;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "expected a JSON object"},
      {"{}", "vips: missing"},
      {R"({"vip": []})", "vip: unknown key"},
      {R"({"vips": [{"proto": "tcp"}]})", "vips[0]: address missing"},
      {R"({"vips": [{"address": "1.2.3", "proto": "tcp"}]})", "vips[0].address: '1.2.3'"},
      {R"({"vips": [{"address": "1.2.3.4", "proto": "sctp"}]})", "vips[0].proto"},
      {R"({"vips": [{"address": "1.2.3.4", "proto": "tcp", "port": 70000}]})",
       "vips[0].port: 70000 is larger than 65535"},
      {R"({"vips": [{"address": "1.2.3.4", "proto": "tcp", "prot": 1}]})",
       "vips[0].prot: unknown key"},
      {R"({"vips": [{"address": "1.2.3.4", "proto": "tcp", "backends": [{"weight": -1,
          "address": "10.0.0.1"}]}]})",
       "vips[0].backends[0].weight: expected an integer"},
      {R"({"vips": [{"address": "1.2.3.4", "proto": "tcp", "backends": [{"address": "10.0.0.1",
          "state": "sick"}]}]})",
       "vips[0].backends[0].state: 'sick'"},
      {R"({"flow_hash_seed": "0xZZ", "vips": []})", "flow_hash_seed"},
  };
  for (const Case& c : cases) {
    auto r = parse_state_json(c.doc);
    ASSERT_FALSE(r) << c.doc;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << c.doc << " -> " << r.error().message;
  }
}

TEST(StateJson, StateOutputAppliesAgainUnchanged) {
  auto spec = parse_state_json(R"({"vips": [
    {"address": "192.0.2.10", "proto": "tcp", "port": 80,
     "backends": [{"address": "10.0.2.11"}, {"address": "10.0.2.12", "state": "drain"}]},
    {"address": "2001:db8::10", "proto": "udp", "port": 53, "encap": "gue", "hash": "source",
     "backends": [{"address": "2001:db8:b::1", "weight": 2}]}]})");
  ASSERT_TRUE(spec);
  const std::string out = state_to_json(*spec, 7);
  EXPECT_NE(out.find("\"generation\":7"), std::string::npos);
  auto again = parse_state_json(out);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(state_to_json(*again, 7), out);
}

}  // namespace
}  // namespace steer::dataplane
