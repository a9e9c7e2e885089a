// DOC: NOTIFY (RFC 1996) messages — what steer sends its secondaries when a zone's serial
// changes, and how their answers are recognised. The sending, retries and bookkeeping are
// control/dns_notify.h's (steerd's control thread); this is the wire part. Pure; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dns/tsig.h"
#include "dns/wire.h"

namespace steer::dns {

// A NOTIFY for `apex`: opcode 4, AA, the question `apex IN SOA`; TSIG-signed with `key` when
// given (its MAC in `mac_out`, for checking the response).
std::vector<uint8_t> make_notify(const Name& apex, uint16_t id, const tsig::Key* key,
                                 uint64_t now_unix, std::vector<uint8_t>& mac_out);

enum class NotifyReply : uint8_t {
  NotOurs,  // not a response to this NOTIFY (another id, opcode or question): ignore it
  Ack,      // NOERROR (signed by the key when the NOTIFY was)
  Error,    // an rcode other than NOERROR (`rcode_out`), or a TSIG error
  BadSig,   // signed NOTIFY, but the response is unsigned or does not verify: ignored
};
NotifyReply check_notify_reply(std::span<const uint8_t> msg, uint16_t id, const Name& apex,
                               const tsig::Key* key, std::span<const uint8_t> request_mac,
                               uint64_t now_unix, uint16_t& rcode_out);

}  // namespace steer::dns
