#include "tools/steerctl/plan.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

namespace steer::tools {
namespace {

using hashing::MaglevBackend;
using hashing::MaglevTable;

constexpr std::string_view kWhitespace = " \t\r\v\f";

std::string_view trim(std::string_view s) {
  const size_t first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  const size_t last = s.find_last_not_of(kWhitespace);
  return s.substr(first, last - first + 1);
}

// A weight is plain decimal digits, 0..kMaxWeight; nullopt otherwise (no sign, no spaces).
std::optional<uint32_t> parse_weight(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > kMaxWeight) {
    return std::nullopt;
  }
  return value;
}

std::string bad_weight(std::string_view text) {
  return fmt::format("bad weight '{}' (want an integer 0..{})", text, kMaxWeight);
}

// `ADDRESS[=WEIGHT]` split and checked; the weight is nullopt when absent. Messages name only
// the problem; callers say where it came from.
struct Spec {
  IpAddress address;
  std::optional<uint32_t> weight;
};

Result<Spec> parse_spec(std::string_view text) {
  const size_t eq = text.rfind('=');
  const std::string_view addr_text = eq == std::string_view::npos ? text : text.substr(0, eq);
  const auto address = IpAddress::parse(addr_text);
  if (!address) return fail(fmt::format("bad address '{}' (want IPv4 or IPv6)", addr_text));
  Spec spec{*address, std::nullopt};
  if (eq != std::string_view::npos) {
    const std::string_view weight_text = text.substr(eq + 1);
    spec.weight = parse_weight(weight_text);
    if (!spec.weight) return fail(bad_weight(weight_text));
  }
  return spec;
}

uint64_t total_weight(const Pool& pool) {
  uint64_t total = 0;
  for (const PoolEntry& e : pool.entries) total += e.weight;
  return total;
}

size_t active_count(const Pool& pool) {
  return size_t(std::count_if(pool.entries.begin(), pool.entries.end(),
                              [](const PoolEntry& e) { return e.weight > 0; }));
}

// Builds the table of one pool and returns, for every slot, the index of its owner in `order`
// (the sorted union of addresses), or kNoBackend.
struct PoolTable {
  std::vector<uint32_t> owners;  // slot → index in the union order, or kNoBackend
  uint64_t fingerprint = 0;      // maglev_fingerprint of the pool's table
};

Result<PoolTable> owners_by_union_index(const Pool& pool, const std::vector<IpAddress>& order,
                                        uint32_t table_size, std::string_view name) {
  std::vector<MaglevBackend> backends;
  backends.reserve(pool.entries.size());
  std::vector<uint32_t> to_union;
  to_union.reserve(pool.entries.size());
  for (const PoolEntry& e : pool.entries) {
    backends.push_back(MaglevBackend{e.address, e.weight});
    const auto it = std::lower_bound(order.begin(), order.end(), e.address);
    to_union.push_back(uint32_t(it - order.begin()));
  }
  auto table = MaglevTable::build(backends, table_size);
  if (!table) return fail(fmt::format("{}: {}", name, table.error().message));
  PoolTable out;
  out.fingerprint = hashing::maglev_fingerprint(*table, backends);
  out.owners.reserve(table_size);
  for (const uint32_t index : table->entries()) {
    out.owners.push_back(index == MaglevTable::kNoBackend ? MaglevTable::kNoBackend
                                                          : to_union.at(index));
  }
  return out;
}

// max(0, target_before − target_after) for one backend, computed from the integer weights so
// that equal ratios give exactly 0. Both totals are above 0.
double target_shrink(uint64_t w_before, uint64_t total_before, uint64_t w_after,
                     uint64_t total_after) {
  // Weights ≤ 2^16 and totals < 2^40 (at most 2^24 backends), so the products fit in 64 bits.
  const uint64_t lhs = w_before * total_after;
  const uint64_t rhs = w_after * total_before;
  if (lhs <= rhs) return 0;
  return double(lhs - rhs) / (double(total_before) * double(total_after));
}

BackendState classify(const std::optional<uint32_t>& before, const std::optional<uint32_t>& after) {
  if (!before) return BackendState::Added;
  if (!after) return BackendState::Removed;
  if (*before == *after) return BackendState::Unchanged;
  if (*after == 0) return BackendState::Drained;
  if (*before == 0) return BackendState::Undrained;
  return BackendState::Reweighted;
}

// ---- formatting helpers -------------------------------------------------------------------

// Terminal columns taken by UTF-8 text: one per code point (the report uses no wide glyphs).
size_t display_width(std::string_view s) {
  return size_t(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad_right(std::string_view s, size_t width) {
  std::string out(s);
  const size_t w = display_width(s);
  if (w < width) out.append(width - w, ' ');
  return out;
}

std::string pad_left(std::string_view s, size_t width) {
  const size_t w = display_width(s);
  std::string out(w < width ? width - w : 0, ' ');
  out.append(s);
  return out;
}

std::string percent(double fraction) { return fmt::format("{:.3f}", fraction * 100.0); }

// A signed percentage-point delta; "0.000" rather than "+0.000" or "-0.000" when it rounds to 0.
std::string signed_points(double fraction) {
  const double points = fraction * 100.0;
  if (std::fabs(points) < 0.0005) return "0.000";
  return fmt::format("{:+.3f}", points);
}

std::string weight_text(const std::optional<uint32_t>& w) {
  return w ? fmt::format("{}", *w) : std::string("-");
}

// A "before → after" column of numbers: both sides right-aligned, so arrows and digits line up.
struct PairColumn {
  std::vector<std::pair<std::string, std::string>> cells;
  size_t before_width = 0;
  size_t after_width = 0;

  void add(std::string before, std::string after) {
    before_width = std::max(before_width, display_width(before));
    after_width = std::max(after_width, display_width(after));
    cells.emplace_back(std::move(before), std::move(after));
  }
  size_t width() const { return before_width + 3 + after_width; }
  std::string cell(size_t row) const {
    return pad_left(cells[row].first, before_width) + " → " +
           pad_left(cells[row].second, after_width);
  }
};

std::string json_number(double v) { return fmt::format("{:.4f}", v); }

template <class T>
std::string json_optional(const std::optional<T>& v) {
  if (!v) return "null";
  if constexpr (std::is_floating_point_v<T>) {
    return json_number(*v);
  } else {
    return fmt::format("{}", *v);
  }
}

}  // namespace

const PoolEntry* Pool::find(const IpAddress& address) const {
  for (const PoolEntry& e : entries) {
    if (e.address == address) return &e;
  }
  return nullptr;
}

PoolEntry* Pool::find(const IpAddress& address) {
  return const_cast<PoolEntry*>(std::as_const(*this).find(address));
}

Result<Pool> parse_pool(std::string_view text, std::string_view origin) {
  Pool pool;
  std::map<IpAddress, size_t> first_line;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);

    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::vector<std::string_view> fields;
    for (line = trim(line); !line.empty(); line = trim(line)) {
      const size_t end = std::min(line.find_first_of(kWhitespace), line.size());
      fields.push_back(line.substr(0, end));
      line = line.substr(end);
    }
    if (fields.empty()) continue;

    const auto where = [&](std::string_view what) {
      return fail(fmt::format("{}:{}: {}", origin, line_no, what));
    };
    if (fields.size() > 2) {
      return where(
          fmt::format("unexpected '{}' after the weight (want ADDRESS [WEIGHT])", fields[2]));
    }
    const auto address = IpAddress::parse(fields[0]);
    if (!address) return where(fmt::format("bad address '{}' (want IPv4 or IPv6)", fields[0]));
    uint32_t weight = 1;
    if (fields.size() == 2) {
      const auto w = parse_weight(fields[1]);
      if (!w) return where(bad_weight(fields[1]));
      weight = *w;
    }
    const auto [it, inserted] = first_line.emplace(*address, line_no);
    if (!inserted) {
      return where(fmt::format("duplicate backend {} (first on line {})", *address, it->second));
    }
    pool.entries.push_back(PoolEntry{*address, weight});
  }
  return pool;
}

Result<PoolEntry> parse_backend_spec(std::string_view spec) {
  auto parsed = parse_spec(spec);
  if (!parsed) return tl::unexpected(parsed.error());
  return PoolEntry{parsed->address, parsed->weight.value_or(1)};
}

Result<void> add_backend(Pool& pool, const PoolEntry& entry) {
  if (pool.find(entry.address)) {
    return fail(fmt::format("duplicate backend {} (already in the pool)", entry.address));
  }
  pool.entries.push_back(entry);
  return {};
}

std::string_view change_flag(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::Add:
      return "--add";
    case ChangeKind::Remove:
      return "--remove";
    case ChangeKind::Weight:
      return "--weight";
    case ChangeKind::Drain:
      return "--drain";
    case ChangeKind::Undrain:
      return "--undrain";
  }
  return "--?";
}

Result<Change> parse_change(ChangeKind kind, std::string_view arg) {
  const auto where = [&](std::string_view what) {
    return fail(fmt::format("{} {}: {}", change_flag(kind), arg, what));
  };
  auto spec = parse_spec(arg);
  if (!spec) return where(spec.error().message);
  Change change{kind, spec->address, 0};
  switch (kind) {
    case ChangeKind::Add:
      change.weight = spec->weight.value_or(1);
      break;
    case ChangeKind::Remove:
    case ChangeKind::Drain:
      if (spec->weight) return where("takes an address only, no =WEIGHT");
      break;
    case ChangeKind::Weight:
      if (!spec->weight) return where("missing weight (want ADDRESS=WEIGHT)");
      change.weight = *spec->weight;
      break;
    case ChangeKind::Undrain:
      if (!spec->weight) return where("missing weight (want ADDRESS=WEIGHT)");
      if (*spec->weight == 0) return where("weight must be above 0 to take new flows again");
      change.weight = *spec->weight;
      break;
  }
  return change;
}

Result<Pool> apply_changes(const Pool& pool, std::span<const Change> changes) {
  Pool out = pool;
  for (const Change& c : changes) {
    const auto where = [&](std::string_view what) {
      return fail(fmt::format("{} {}: {}", change_flag(c.kind), c.address, what));
    };
    PoolEntry* entry = out.find(c.address);
    if (c.kind == ChangeKind::Add) {
      if (entry) return where("already in the pool (use --weight to change its weight)");
      out.entries.push_back(PoolEntry{c.address, c.weight});
      continue;
    }
    if (!entry) return where("no such backend in the pool");
    switch (c.kind) {
      case ChangeKind::Add:
        break;
      case ChangeKind::Remove:
        out.entries.erase(out.entries.begin() + (entry - out.entries.data()));
        break;
      case ChangeKind::Weight:
        entry->weight = c.weight;
        break;
      case ChangeKind::Drain:
        if (entry->weight == 0) return where("already drained (weight 0)");
        entry->weight = 0;
        break;
      case ChangeKind::Undrain:
        if (entry->weight != 0) {
          return where(
              fmt::format("not drained (weight {}; use --weight to change it)", entry->weight));
        }
        entry->weight = c.weight;
        break;
    }
  }
  return out;
}

Result<void> check_table_size(uint32_t table_size) {
  if (table_size < 2 || table_size > MaglevTable::kMaxSize || !hashing::is_prime(table_size)) {
    return fail(fmt::format(
        "table size {} is not a prime in [2, {}]; Maglev needs a prime (e.g. 65537, 131071)",
        table_size, MaglevTable::kMaxSize));
  }
  return {};
}

std::string_view state_name(BackendState state) {
  switch (state) {
    case BackendState::Unchanged:
      return "unchanged";
    case BackendState::Added:
      return "added";
    case BackendState::Removed:
      return "removed";
    case BackendState::Drained:
      return "drained";
    case BackendState::Undrained:
      return "undrained";
    case BackendState::Reweighted:
      return "reweighted";
  }
  return "?";
}

Result<PlanReport> plan(const Pool& before, const Pool& after, uint32_t table_size) {
  if (auto ok = check_table_size(table_size); !ok) return tl::unexpected(ok.error());

  // The union of both pools, sorted by address: the report's rows and the owner identity that
  // slots are compared by.
  std::vector<IpAddress> order;
  for (const Pool* pool : {&before, &after}) {
    for (const PoolEntry& e : pool->entries) order.push_back(e.address);
  }
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());

  auto owners_before = owners_by_union_index(before, order, table_size, "current pool");
  if (!owners_before) return tl::unexpected(owners_before.error());
  auto owners_after = owners_by_union_index(after, order, table_size, "proposed pool");
  if (!owners_after) return tl::unexpected(owners_after.error());

  PlanReport report;
  report.table_size = table_size;
  report.fingerprint_before = owners_before->fingerprint;
  report.fingerprint_after = owners_after->fingerprint;
  report.backends_before = before.entries.size();
  report.backends_after = after.entries.size();
  report.total_weight_before = total_weight(before);
  report.total_weight_after = total_weight(after);
  report.backends.resize(order.size());
  for (size_t i = 0; i < order.size(); ++i) report.backends[i].address = order[i];

  for (uint32_t slot = 0; slot < table_size; ++slot) {
    const uint32_t a = owners_before->owners[slot];
    const uint32_t b = owners_after->owners[slot];
    if (a == MaglevTable::kNoBackend) {
      ++report.unowned_slots_before;
    } else {
      ++report.backends[a].slots_before;
    }
    if (b == MaglevTable::kNoBackend) {
      ++report.unowned_slots_after;
    } else {
      ++report.backends[b].slots_after;
    }
    if (a != b) ++report.moved_slots;
  }
  report.moved_fraction = double(report.moved_slots) / table_size;

  const uint64_t wb_total = report.total_weight_before;
  const uint64_t wa_total = report.total_weight_after;
  double optimal = 0;
  if (wb_total == 0 || wa_total == 0) {
    // All of the space changes between "unowned" and owned, unless both sides are unowned.
    optimal = (wb_total == 0) == (wa_total == 0) ? 0.0 : 1.0;
  }
  for (BackendPlan& row : report.backends) {
    if (const PoolEntry* e = before.find(row.address)) row.weight_before = e->weight;
    if (const PoolEntry* e = after.find(row.address)) row.weight_after = e->weight;
    const uint64_t wb = row.weight_before.value_or(0);
    const uint64_t wa = row.weight_after.value_or(0);
    row.share_before = double(row.slots_before) / table_size;
    row.share_after = double(row.slots_after) / table_size;
    row.target_before = wb_total ? double(wb) / double(wb_total) : 0.0;
    row.target_after = wa_total ? double(wa) / double(wa_total) : 0.0;
    row.state = classify(row.weight_before, row.weight_after);
    if (wb_total && wa_total) optimal += target_shrink(wb, wb_total, wa, wa_total);
  }
  report.optimal_fraction = std::min(optimal, 1.0);
  if (report.optimal_fraction > 0) {
    report.moved_to_optimal = report.moved_fraction / report.optimal_fraction;
  }
  report.size_warning =
      hashing::maglev_size_warning(table_size, std::max(active_count(before), active_count(after)));

  if (wb_total == 0) {
    report.notes.push_back(
        "no backend takes new flows in the current pool (it is empty or every weight is 0)");
  }
  if (wa_total == 0) {
    report.notes.push_back(
        "no backend takes new flows after the change (the pool is empty or every weight is 0)");
  }
  for (const BackendPlan& row : report.backends) {
    if (row.state == BackendState::Drained) {
      report.notes.push_back(fmt::format(
          "{} is drained: it takes no new flows, but its existing flows stay on it through the "
          "flow table, so its connections are not cut",
          row.address));
    } else if (row.state == BackendState::Removed && row.weight_before.value_or(0) > 0) {
      report.notes.push_back(fmt::format(
          "{} is removed: connections still on it are cut; drain it first and remove it once "
          "they have finished",
          row.address));
    }
  }
  if (report.moved_slots > 0) {
    report.notes.push_back(
        "existing flows keep their backend through each LB's flow table; the moved space "
        "applies to new flows");
  }
  return report;
}

std::string format_plan_table(const PlanReport& report) {
  const std::vector<std::string> headers = {"BACKEND", "WEIGHT",  "SLOTS",
                                            "SHARE %", "Δ SHARE", "STATE"};
  const size_t rows = report.backends.size();
  std::vector<std::string> address(rows), delta(rows), state(rows);
  PairColumn weight, slots, share;
  for (size_t i = 0; i < rows; ++i) {
    const BackendPlan& b = report.backends[i];
    address[i] = b.address.to_string();
    weight.add(weight_text(b.weight_before), weight_text(b.weight_after));
    slots.add(fmt::format("{}", b.slots_before), fmt::format("{}", b.slots_after));
    share.add(percent(b.share_before), percent(b.share_after));
    delta[i] = signed_points(b.share_after - b.share_before);
    state[i] = std::string(state_name(b.state));
  }
  const auto column_width = [&](const std::vector<std::string>& cells, size_t header) {
    size_t w = display_width(headers[header]);
    for (const std::string& c : cells) w = std::max(w, display_width(c));
    return w;
  };
  const size_t w_addr = column_width(address, 0);
  const size_t w_weight = std::max(weight.width(), display_width(headers[1]));
  const size_t w_slots = std::max(slots.width(), display_width(headers[2]));
  const size_t w_share = std::max(share.width(), display_width(headers[3]));
  const size_t w_delta = column_width(delta, 4);

  std::string out;
  const auto line = [&](std::string_view a, std::string_view w, std::string_view s,
                        std::string_view sh, std::string_view d, std::string_view st,
                        bool right_delta) {
    out += pad_right(a, w_addr) + "  " + pad_right(w, w_weight) + "  " + pad_right(s, w_slots) +
           "  " + pad_right(sh, w_share) + "  " +
           (right_delta ? pad_left(d, w_delta) : pad_right(d, w_delta)) + "  " + std::string(st);
    out += '\n';
  };
  line(headers[0], headers[1], headers[2], headers[3], headers[4], headers[5], false);
  for (size_t i = 0; i < rows; ++i) {
    line(address[i], weight.cell(i), slots.cell(i), share.cell(i), delta[i], state[i], true);
  }
  if (rows == 0) out += "(no backends)\n";
  out += '\n';

  const auto summary = [&](std::string_view label, std::string_view value) {
    out += fmt::format("{:<17}{}\n", label, value);
  };
  summary("table size", fmt::format("{} slots", report.table_size));
  summary("backends", fmt::format("{} → {} (total weight {} → {})", report.backends_before,
                                  report.backends_after, report.total_weight_before,
                                  report.total_weight_after));
  summary("moved",
          fmt::format("{} % of new-flow hash space changes owner ({} of {} slots)",
                      percent(report.moved_fraction), report.moved_slots, report.table_size));
  summary("optimal", fmt::format("{} % must move under any scheme (space whose owner's target "
                                 "share shrank)",
                                 percent(report.optimal_fraction)));
  summary("moved / optimal", report.moved_to_optimal
                                 ? fmt::format("{:.3f}", *report.moved_to_optimal)
                                 : std::string("n/a (nothing has to move)"));
  summary("fingerprint", fmt::format("{:016x} → {:016x} (compare with every LB: docs/maglev.md)",
                                     report.fingerprint_before, report.fingerprint_after));
  if (report.unowned_slots_before || report.unowned_slots_after) {
    summary("unowned slots",
            fmt::format("{} → {}", report.unowned_slots_before, report.unowned_slots_after));
  }
  if (report.size_warning) out += fmt::format("warning: {}\n", *report.size_warning);
  for (const std::string& note : report.notes) out += fmt::format("note: {}\n", note);
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\u{:04x}", u);
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string format_plan_json(const PlanReport& report) {
  std::string out = "{\n";
  out += fmt::format("  \"table_size\": {},\n", report.table_size);
  out += fmt::format("  \"backends_before\": {},\n", report.backends_before);
  out += fmt::format("  \"backends_after\": {},\n", report.backends_after);
  out += fmt::format("  \"total_weight_before\": {},\n", report.total_weight_before);
  out += fmt::format("  \"total_weight_after\": {},\n", report.total_weight_after);
  out += "  \"backends\": [";
  for (size_t i = 0; i < report.backends.size(); ++i) {
    const BackendPlan& b = report.backends[i];
    out += i == 0 ? "\n" : ",\n";
    out += fmt::format(
        "    {{\"address\": {}, \"state\": {}, \"weight_before\": {}, \"weight_after\": {}, "
        "\"slots_before\": {}, \"slots_after\": {}, \"share_before_percent\": {}, "
        "\"share_after_percent\": {}, \"share_delta_percent\": {}, "
        "\"target_share_before_percent\": {}, \"target_share_after_percent\": {}}}",
        json_quote(b.address.to_string()), json_quote(state_name(b.state)),
        json_optional(b.weight_before), json_optional(b.weight_after), b.slots_before,
        b.slots_after, json_number(b.share_before * 100), json_number(b.share_after * 100),
        json_number((b.share_after - b.share_before) * 100), json_number(b.target_before * 100),
        json_number(b.target_after * 100));
  }
  out += report.backends.empty() ? "],\n" : "\n  ],\n";
  out += fmt::format("  \"unowned_slots_before\": {},\n", report.unowned_slots_before);
  out += fmt::format("  \"unowned_slots_after\": {},\n", report.unowned_slots_after);
  out += fmt::format("  \"fingerprint_before\": \"{:016x}\",\n", report.fingerprint_before);
  out += fmt::format("  \"fingerprint_after\": \"{:016x}\",\n", report.fingerprint_after);
  out += fmt::format("  \"moved_slots\": {},\n", report.moved_slots);
  out += fmt::format("  \"moved_percent\": {},\n", json_number(report.moved_fraction * 100));
  out += fmt::format("  \"optimal_percent\": {},\n", json_number(report.optimal_fraction * 100));
  out += fmt::format("  \"moved_to_optimal\": {},\n", json_optional(report.moved_to_optimal));
  out += fmt::format("  \"size_warning\": {},\n",
                     report.size_warning ? json_quote(*report.size_warning) : "null");
  out += "  \"notes\": [";
  for (size_t i = 0; i < report.notes.size(); ++i) {
    out += fmt::format("{}\n    {}", i == 0 ? "" : ",", json_quote(report.notes[i]));
  }
  out += report.notes.empty() ? "]\n" : "\n  ]\n";
  out += "}\n";
  return out;
}

}  // namespace steer::tools
