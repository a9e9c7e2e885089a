#include "tools/steerctl/dns_view.h"

#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/steerctl/json_view.h"

namespace steer::tools {

using nlohmann::json;

namespace {

// Unix milliseconds as local "YYYY-MM-DD HH:MM:SS" ("-" for none).
std::string unix_ms_text(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms));
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", std::chrono::floor<std::chrono::seconds>(t));
}

std::string records(const json& section, const char* title) {
  if (section.empty()) return {};
  std::string out = fmt::format(";; {}\n", title);
  for (const json& r : section) {
    out += fmt::format("{:<32} {:>6} {:<6} {}\n", str(r.at("name")), r.at("ttl").get<uint64_t>(),
                       str(r.at("type")), str(r.at("data")));
  }
  return out;
}

}  // namespace

Result<std::string> format_dns_show(std::string_view text) {
  return guarded(text, [](const json& d) -> Result<std::string> {
    std::string out;
    std::string listen;
    if (d.contains("dns") && !d.at("dns").is_null()) {
      for (const json& l : d.at("dns").at("listen"))
        listen += (listen.empty() ? "" : ", ") + str(l);
    }
    out += fmt::format("responder: {}; NSID {}; table generation {} ({} builds, last {} µs)\n",
                       listen.empty() ? "NOT ANSWERING " + str(d.at("responder_error")) : listen,
                       str(d.at("nsid")), d.at("generation").get<uint64_t>(),
                       d.at("rebuilds").get<uint64_t>(), d.at("last_build_us").get<int64_t>());
    const json& g = d.at("geo");
    out += fmt::format("geo: nets {} ({} entries), mmdb {}{}{}\n",
                       str(g.at("nets")).empty() ? "-" : str(g.at("nets")),
                       g.at("nets_entries").get<uint64_t>(),
                       str(g.at("mmdb")).empty() ? "-" : str(g.at("mmdb")),
                       g.at("mmdb_open").get<bool>() ? " (open)" : "",
                       str(g.at("error")).empty() ? "" : " — " + str(g.at("error")));
    for (const json& z : d.at("zones")) {
      out += fmt::format("zone {} ({} records), serial {}\n", str(z.at("name")),
                         z.at("records").get<uint64_t>(), z.value("serial", uint64_t{0}));
      for (const json& a : z.value("transfer", json::array())) {
        out += fmt::format("  transfer allowed from {}{}\n", str(a.at("from")),
                           str(a.at("key")).empty() ? "" : " with key " + str(a.at("key")));
      }
      for (const json& x : z.value("transfers", json::array())) {
        out += fmt::format("  {} from {}{}: {} at serial {} ({} messages, {} records), {}\n",
                           x.at("ixfr").get<bool>() ? "IXFR" : "AXFR", str(x.at("peer")),
                           str(x.at("key")).empty() ? "" : " (key " + str(x.at("key")) + ")",
                           str(x.at("result")), x.at("serial").get<uint64_t>(),
                           x.at("messages").get<uint64_t>(), x.at("records").get<uint64_t>(),
                           unix_ms_text(x.at("unix_ms").get<int64_t>()));
      }
      for (const json& n : z.value("notify", json::array())) {
        const std::string state = str(n.at("state"));
        out += fmt::format(
            "  NOTIFY {}{}: serial {} {} (try {}, sent {}{}){}\n", str(n.at("to")),
            str(n.at("key")).empty() ? "" : " (key " + str(n.at("key")) + ")",
            n.at("serial").get<uint64_t>(), state, n.at("tries").get<int64_t>(),
            unix_ms_text(n.at("sent_unix_ms").get<int64_t>()),
            n.at("acknowledged_unix_ms").get<int64_t>() != 0
                ? ", acknowledged " + unix_ms_text(n.at("acknowledged_unix_ms").get<int64_t>())
                : "",
            str(n.at("error")).empty() ? "" : " — " + str(n.at("error")));
      }
    }
    if (d.contains("answers_by_pop")) {
      std::string headed, displaced;
      for (const json& p : d.at("answers_by_pop")) {
        headed += fmt::format(" {} {}", str(p.at("pop")), p.at("headed").get<uint64_t>());
        if (p.at("displaced").get<uint64_t>() != 0) {
          displaced += fmt::format(" {} {}", str(p.at("pop")), p.at("displaced").get<uint64_t>());
        }
      }
      out += fmt::format("service answers by heading PoP:{}\n", headed.empty() ? " -" : headed);
      out += fmt::format("displaced from their first choice (down, draining or disabled):{}\n",
                         displaced.empty() ? " none" : displaced);
    }
    for (const json& s : d.at("services")) {
      out += fmt::format(
          "\nservice {} ({}): TTL {}{}, {} address(es) per answer, when all down: {}\n",
          str(s.at("name")), str(s.at("owner")), s.at("ttl").get<uint64_t>(),
          s.at("pending").get<bool>()
              ? fmt::format(" (now {}: a change is pending)", s.at("pending_ttl").get<uint64_t>())
              : "",
          s.at("answers").get<uint64_t>(), str(s.at("when_all_down")));
      out += fmt::format("  {:<10} {:<12} {:<10} {:>9}  {}\n", "POP", "REGION", "STATE",
                         "ADDRESSES", "WHY");
      for (const json& p : s.at("pops")) {
        std::string state = p.at("healthy").get<bool>() ? "up" : "down";
        if (p.at("draining").get<bool>()) state += " drain";
        if (!p.at("override").is_null()) state = "disabled";
        std::string why = str(p.at("why"));
        if (!p.at("override").is_null()) {
          why = fmt::format("disabled in DNS by uid {} {}; {}",
                            p.at("override").at("uid").get<uint64_t>(),
                            str(p.at("override").at("user")), why);
        }
        out += fmt::format("  {:<10} {:<12} {:<10} {:>9}  {}{}\n", str(p.at("pop")),
                           str(p.at("region")), state, p.at("addresses").get<uint64_t>(), why,
                           p.at("local").get<bool>() ? " (this PoP)" : "");
      }
    }
    return out;
  });
}

Result<std::string> format_dns_query(std::string_view text) {
  return guarded(text, [](const json& d) -> Result<std::string> {
    std::string out =
        fmt::format(";; {}{}{}", str(d.at("rcode")), d.at("aa").get<bool>() ? ", aa" : "",
                    d.at("tc").get<bool>() ? ", tc" : "");
    if (!d.at("ecs_scope").is_null())
      out += fmt::format(", ECS scope /{}", d.at("ecs_scope").get<uint64_t>());
    out += fmt::format(" (table generation {})\n", d.at("generation").get<uint64_t>());
    out += records(d.at("answer"), "ANSWER");
    out += records(d.at("authority"), "AUTHORITY");
    out += records(d.at("additional"), "ADDITIONAL");
    out += fmt::format(";; why: {}{}\n", str(d.at("outcome")),
                       str(d.at("zone")).empty() ? "" : " (zone " + str(d.at("zone")) + ")");
    const json& loc = d.at("location");
    if (!str(loc.at("matched")).empty()) {
      out += fmt::format(";; client located by {}: {} (scope /{})\n", str(loc.at("source")),
                         str(loc.at("matched")), loc.at("scope").get<uint64_t>());
    }
    for (const json& p : d.at("pops")) out += fmt::format(";;   {}\n", str(p));
    return out;
  });
}

Result<std::string> format_dns_done(std::string_view text) {
  return guarded(text, [](const json& d) -> Result<std::string> {
    const std::string what =
        str(d.at("pop")) == "*" ? fmt::format("service {} (every PoP)", str(d.at("service")))
        : str(d.at("service")) == "*"
            ? fmt::format("PoP {} (every service)", str(d.at("pop")))
            : fmt::format("service {} at {}", str(d.at("service")), str(d.at("pop")));
    return fmt::format(
        "{}: {}\n", what,
        d.at("disabled").get<bool>() ? "out of DNS answers" : "back in DNS answers when healthy");
  });
}

}  // namespace steer::tools
