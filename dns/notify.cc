#include "dns/notify.h"

namespace steer::dns {

namespace {

constexpr uint8_t kOpcodeNotify = 4;

}  // namespace

std::vector<uint8_t> make_notify(const Name& apex, uint16_t id, const tsig::Key* key,
                                 uint64_t now_unix, std::vector<uint8_t>& mac_out) {
  // Header: the id, opcode NOTIFY with AA, one question.
  std::vector<uint8_t> m = {static_cast<uint8_t>(id >> 8),
                            static_cast<uint8_t>(id),
                            static_cast<uint8_t>(kOpcodeNotify << 3 | 0x04),
                            0,
                            0,
                            1,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0};
  m.reserve(kHeaderSize + apex.size + 4 + (key != nullptr ? tsig::record_size(*key) : 0));
  for (size_t i = 0; i < apex.size; ++i) m.push_back(apex.bytes[i]);
  append16(m, type::kSoa);
  append16(m, klass::kIn);
  mac_out.clear();
  if (key == nullptr) return m;
  const size_t size = m.size();
  m.resize(size + tsig::record_size(*key));
  tsig::Signing s;
  s.key = key;
  s.time = now_unix;
  s.original_id = id;
  m.resize(tsig::sign(m, size, s, mac_out));
  return m;
}

NotifyReply check_notify_reply(std::span<const uint8_t> msg, uint16_t id, const Name& apex,
                               const tsig::Key* key, std::span<const uint8_t> request_mac,
                               uint64_t now_unix, uint16_t& rcode_out) {
  if (msg.size() < kHeaderSize || read16(msg.data()) != id) return NotifyReply::NotOurs;
  if ((msg[2] & 0x80) == 0 || ((msg[2] >> 3) & 0x0f) != kOpcodeNotify) return NotifyReply::NotOurs;
  // The question, when echoed, is ours (RFC 1996 4.7 lets it be left out).
  if (read16(&msg[4]) == 1) {
    const size_t end = kHeaderSize + apex.size;
    if (msg.size() < end + 4) return NotifyReply::NotOurs;
    for (size_t i = 0; i < apex.size; ++i) {
      uint8_t c = msg[kHeaderSize + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c + 32);
      if (c != apex.bytes[i]) return NotifyReply::NotOurs;
    }
  }
  rcode_out = msg[3] & 0x0f;
  if (key != nullptr) {
    tsig::Record r;
    if (tsig::find(msg, r) != tsig::Found::Ok) return NotifyReply::BadSig;
    if (r.error != 0) {
      rcode_out = r.error;
      return NotifyReply::Error;
    }
    const tsig::Key* used = nullptr;
    const tsig::Key keys[] = {*key};
    if (tsig::verify(msg, r, keys, now_unix, request_mac, &used) != tsig::Verdict::Ok) {
      return NotifyReply::BadSig;
    }
  }
  return rcode_out == rcode::kNoError ? NotifyReply::Ack : NotifyReply::Error;
}

}  // namespace steer::dns
