// DOC: zone transfers — steer as the primary of secondary servers (Knot, NSD, BIND) run by a
// second DNS provider. What they transfer is each zone's *fallback view*: not a per-client
// geo answer, but what any client could be given:
//   static records      as configured (SOA, apex NS, delegations, glue, everything else)
//   a service name      A and AAAA: the addresses of every PoP that may be handed out (healthy
//                       and not draining; else healthy and draining; when none is up, the
//                       service's when_all_down: every PoP not disabled, or its static
//                       addresses), per family as the responder decides, at the service's TTL
//
// The view is made from a published Table (dns/table.h) on steerd's control thread
// (control/dns_link.cc), right after the table itself, and published with it
// (Table::transfers), so that a transfer and the answers of that table agree. Only zones
// with a `transfer` or `notify` list have a view; the others keep their configured serial
// (nothing follows them, and their SOA stays the same on every PoP). A followed zone's serial:
// unchanged while the view is unchanged; when it changes (a PoP goes down or up, a reload
// changes the zone), max(previous + 1, unix time, the configured serial when it was changed)
// in RFC 1982 arithmetic — monotonic within a run, and across restarts as long as the serial did
// not run ahead of the clock. The responder serves the same serial in its SOA answers
// (Table::serials).
//
// Serving (the responder's TCP path, dns/responder.cc): start() decides what a transfer
// request gets — REFUSED from an address no `transfer` entry allows (or without the TSIG key
// its entry requires), a TSIG error (NOTAUTH with BADKEY / BADSIG / BADTIME, RFC 8945 5.2)
// for a bad signature, otherwise a Transfer that writes the SOA, every record and the SOA
// again, in messages of at most 64 KiB, each TSIG-signed when the request was — one message
// per next() call, so the responder interleaves a large zone with other connections' queries.
// IXFR is answered the same way (a full transfer: RFC 1995 4 allows it). Over UDP, transfers
// are REFUSED like any other client's (dns/answer.h). Other queries a secondary signs (its SOA
// query before a transfer) get signed answers (answer_signed).
//
// XfrLog: what each secondary transferred last, and counters by result; written by the
// responder threads (a mutex: once per transfer, never per query), read by the control
// thread. Everything else here is pure; any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "dns/answer.h"
#include "dns/config.h"
#include "dns/table.h"
#include "dns/tsig.h"

namespace steer::dns {

// One zone's fallback view: the records a secondary transfers.
struct ZoneView {
  Name apex;
  uint32_t serial = 0;
  uint32_t configured_serial = 0;  // the configuration's (a change of it is a change)
  std::vector<uint8_t> soa;        // the SOA record (owner uncompressed), serial filled in
  std::vector<uint8_t> records;    // every other record: owner TYPE CLASS TTL RDLENGTH RDATA
  std::vector<uint32_t> ends;      // where each record of `records` ends
  // Everything but the serial is the same.
  bool same_content(const ZoneView& o) const;
};

enum class XfrResult : uint8_t { Ok, Refused, BadKey, BadSig, BadTime, Aborted };
inline constexpr size_t kXfrResults = 6;
const char* xfr_result_name(XfrResult r);

struct XfrRecord {
  std::string zone;
  IpAddress peer;
  std::string key;  // the TSIG key name, "" unsigned
  int64_t unix_ms = 0;
  uint32_t serial = 0;
  XfrResult result = XfrResult::Ok;
  uint32_t messages = 0;
  uint32_t records = 0;
  bool ixfr = false;
};

class XfrLog {
 public:
  // A transfer's outcome (any thread).
  void add(XfrRecord r);
  // A refusal from an address in no `transfer` entry: counted, not kept (any thread).
  void tally(XfrResult r);
  // The last record per (zone, peer), oldest first (any thread).
  std::vector<XfrRecord> last() const;
  uint64_t count(XfrResult r) const { return counts_[static_cast<size_t>(r)].load(); }

 private:
  mutable std::mutex mu_;
  std::vector<XfrRecord> last_;
  std::array<std::atomic<uint64_t>, kXfrResults> counts_{};
};

// Everything transfers need, per table: keys, each zone's view and allowed secondaries.
struct Transfers {
  struct Zone {
    std::shared_ptr<const ZoneView> view;  // null: nobody follows the zone
    std::vector<TransferFrom> allowed;
  };
  std::vector<tsig::Key> keys;
  std::vector<Zone> zones;      // Catalog::zones order
  std::shared_ptr<XfrLog> log;  // never null
};

// The fallback view of catalog zone `zone` over `table`, with `serial`.
std::shared_ptr<ZoneView> fallback_view(const Table& table, size_t zone, uint32_t serial);

// The serial after `previous` for a changed view: max(previous + 1, now, configured) in
// RFC 1982 arithmetic (with_transfers passes the configured serial only when it changed).
uint32_t next_serial(uint32_t previous, uint32_t now_unix, uint32_t configured);

// `table` with its Transfers and serials: each followed zone's view, its serial kept from
// `previous` (the last published Transfers, matched by apex; may be null) when the view is
// unchanged, else advanced by next_serial. Control thread.
std::shared_ptr<const Table> with_transfers(const std::shared_ptr<const Table>& table,
                                            const DnsConfig& config, const Transfers* previous,
                                            std::shared_ptr<XfrLog> log, uint32_t now_unix);

// The TSIG keys of a configuration.
std::vector<tsig::Key> tsig_keys(const DnsConfig& config);

// An outgoing transfer (or the one error message answering a request).
class Transfer {
 public:
  ~Transfer();  // logs the transfer (Aborted when it did not finish)
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // Appends the next message, with its 2-byte TCP length, to `out`. False when there is none
  // left (then finish() has been called).
  bool next(std::vector<uint8_t>& out);
  XfrResult result() const { return record_.result; }

 private:
  friend std::unique_ptr<Transfer> start_transfer(const Table&, std::span<const uint8_t>,
                                                  const IpAddress&, uint64_t, int64_t);
  Transfer() = default;
  void finish();

  std::shared_ptr<const Transfers> transfers_;  // keeps the view and the log alive
  std::shared_ptr<const ZoneView> view_;
  const tsig::Key* key_ = nullptr;
  std::vector<uint8_t> question_;  // as received
  uint16_t id_ = 0;
  uint16_t flags_ = 0;  // RD / CD copied
  std::vector<uint8_t> mac_;
  uint64_t time_ = 0;
  size_t next_record_ = 0;  // 0: the first SOA not yet written; ends.size() + 1: done
  bool soa_done_ = false, done_ = false, finished_ = false;
  std::vector<uint8_t> error_;  // a one-message answer (REFUSED, a TSIG error)
  XfrRecord record_;
};

// Whether `msg` asks for a zone transfer (a QUERY for AXFR or IXFR) — and so goes to
// start_transfer() on TCP. Cheap: the question's type after the name.
bool is_transfer_request(std::span<const uint8_t> msg);

// What a TCP transfer request from `peer` gets at `now_unix`. nullptr: nothing special —
// answer it as any query (REFUSED by dns/answer.h: the zone does not exist, or the peer is in
// no `transfer` entry).
std::unique_ptr<Transfer> start_transfer(const Table& table, std::span<const uint8_t> msg,
                                         const IpAddress& peer, uint64_t now_unix,
                                         int64_t now_unix_ms);

// Whether `peer` is in some zone's `transfer` list (cheap: false at once without any).
bool is_transfer_peer(const Table& table, const IpAddress& peer);

// A TSIG-signed query from a transfer peer (a secondary's SOA query before it transfers):
// answered by answer() and the answer signed (or NOTAUTH with the TSIG error). nullopt when
// `msg` carries no TSIG record (answer it as usual). `out` as for answer().
std::optional<size_t> answer_signed(const Table& table, std::span<const uint8_t> msg,
                                    const Client& client, std::span<uint8_t> out, uint32_t random,
                                    Counters& counters, uint64_t now_unix);

}  // namespace steer::dns
