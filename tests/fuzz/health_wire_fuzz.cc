// libFuzzer target for the health checker's readers of backend replies (control/health): the
// DNS reply decoder and the HTTP/1.x response reader take whatever a backend sends. Arbitrary
// bytes must never crash, hang or read out of bounds, and what they report must hold:
// decoded addresses come from the answer count, a complete HTTP reply has a 3-digit status
// and a body no longer than the cap, and a prefix of a complete reply is never malformed
// when the whole is not.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "control/health/dns_wire.h"
#include "control/health/http_response.h"

using namespace steer::control::health;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::span<const uint8_t> rest(data + 1, size - 1);

  if ((mode & 1) == 0) {
    dns::Reply r;
    if (dns::decode_reply(rest, r) == dns::DnsDecode::Ok) {
      if (r.addresses.size() > r.ancount) std::abort();
      if (r.qdcount > 0 && (r.qname.empty() || r.qname.back() != '.')) std::abort();
      if (r.qname.size() > dns::kMaxName) std::abort();
    }
    // The query encoder on the same bytes read as a name.
    uint8_t out[dns::kHeaderSize + dns::kMaxName + 4];
    size_t n = 0;
    const std::string_view name(reinterpret_cast<const char*>(rest.data()), rest.size());
    if (dns::encode_query(0x1234, name, 1, false, out, n) == dns::DnsEncode::Ok) {
      if (n > sizeof out) std::abort();
      dns::Reply q;
      out[2] |= 0x80;  // as a reply: the question must read back
      if (dns::decode_reply(std::span<const uint8_t>(out, n), q) != dns::DnsDecode::Ok) {
        std::abort();
      }
    }
    return 0;
  }

  const bool eof = (mode & 2) != 0;
  const bool want_body = (mode & 4) != 0;
  const std::string_view in(reinterpret_cast<const char*>(rest.data()), rest.size());
  std::string scratch;
  HttpReply reply;
  const HttpParse whole = parse_http_reply(in, eof, want_body, reply, scratch);
  if (whole == HttpParse::Complete) {
    if (reply.status < 100 || reply.status > 999) std::abort();
    if (reply.body.size() > kMaxHttpBody) std::abort();
    // Every prefix, read without EOF, must not be called malformed (it may need more).
    for (size_t cut = 0; cut < in.size(); cut += 1 + in.size() / 16) {
      std::string s2;
      HttpReply r2;
      if (parse_http_reply(in.substr(0, cut), false, want_body, r2, s2) == HttpParse::Malformed) {
        std::abort();
      }
    }
  }
  return 0;
}
