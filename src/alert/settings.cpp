#include "alert/settings.hpp"

#include "alert/sanitize.hpp"
#include "core/alert_request.hpp"

#include <algorithm>

namespace bulwark::alert {
namespace {

std::optional<error> check_timers(const timers& t, const std::string& where) {
  if (t.group_wait < 0 || t.group_interval < 0 || t.repeat_interval < 0)
    return error{where + ": timers must not be negative"};
  if (t.resolve_timeout <= 0) return error{where + ".resolve_timeout: must be positive"};
  return std::nullopt;
}

std::optional<error> check_budget(const budget& b, const std::string& where) {
  if (b.burst == 0) return error{where + ".burst: must be at least 1"};
  if (b.refill_every <= 0) return error{where + ".refill_every: must be positive"};
  return std::nullopt;
}

} // namespace

std::optional<error> validate(const engine_settings& s) {
  for (std::size_t i = 0; i < s.by_severity.size(); ++i) {
    const std::string where = "alerts.timers." + std::string(to_string(static_cast<severity>(i)));
    if (auto e = check_timers(s.by_severity[i], where)) return e;
  }
  for (const kind_timers& k : s.by_kind) {
    // A kind that would be hashed could never match a request's kind.
    if (k.kind.empty() || !is_plain_identifier(k.kind, s.limit.max_identifier_bytes))
      return error{"alerts.kinds: \"" + k.kind + "\" is not a kind name"};
    if (auto e = check_timers(k.value, "alerts.kinds." + k.kind)) return e;
  }
  if (auto e = check_budget(s.per_source, "alerts.budget.per_source")) return e;
  if (auto e = check_budget(s.unverified, "alerts.budget.unverified")) return e;
  if (auto e = check_budget(s.global, "alerts.budget.global")) return e;

  const flood_settings& f = s.flood;
  if (f.window < static_cast<std::int64_t>(rate_window::slots))
    return error{"alerts.flood.window: must be at least 10 ms"};
  if (f.enter_count == 0) return error{"alerts.flood.enter_count: must be at least 1"};
  if (f.exit_count > f.enter_count)
    return error{"alerts.flood.exit_count: must not exceed enter_count"};
  if (f.quiet_for < 0 || f.update_interval < 0)
    return error{"alerts.flood: durations must not be negative"};
  if (f.top_n == 0 || f.source_slots < f.top_n || f.kind_slots == 0)
    return error{"alerts.flood: top_n must be at least 1 and at most source_slots"};

  const limits& l = s.limit;
  if (l.max_folds == 0 || l.max_priority_folds == 0 || l.max_budgets == 0)
    return error{"alerts.limits: table sizes must be at least 1"};
  if (l.max_identifier_bytes < 8 || l.max_identifier_bytes > 256)
    return error{"alerts.limits.max_identifier_bytes: must be 8-256"};
  if (l.max_title_bytes < 16) return error{"alerts.limits.max_title_bytes: must be at least 16"};
  if (l.max_evidence_bytes < 64)
    return error{"alerts.limits.max_evidence_bytes: must be at least 64"};
  if (l.max_refs == 0) return error{"alerts.limits.max_refs: must be at least 1"};
  if (!s.instance.empty() && !is_plain_identifier(s.instance, 64))
    return error{"alerts.instance: use up to 64 of [A-Za-z0-9._:/-]"};
  return std::nullopt;
}

namespace {

timers overlay(timers base, const config::alert_timers& t) {
  if (t.group_wait) base.group_wait = t.group_wait->count();
  if (t.group_interval) base.group_interval = t.group_interval->count();
  if (t.repeat_interval) base.repeat_interval = t.repeat_interval->count();
  if (t.resolve_timeout) base.resolve_timeout = t.resolve_timeout->count();
  return base;
}

budget budget_of(const config::alert_budget& b) {
  return {b.burst, b.refill_every.count()};
}

} // namespace

engine_settings settings_from(const config::alerts_options& options) {
  engine_settings s;
  for (std::size_t i = 0; i < s.by_severity.size(); ++i)
    s.by_severity[i] = overlay(s.by_severity[i], options.timers[i]);
  for (const auto& [kind, t] : options.kinds) {
    // A kind's unset timers are those of its severity.
    const auto level = static_cast<std::size_t>(default_severity(kind));
    s.by_kind.push_back({kind, overlay(s.by_severity[level], t)});
  }
  s.per_source = budget_of(options.per_source);
  s.unverified = budget_of(options.unverified);
  s.global = budget_of(options.global);
  const auto& f = options.flood;
  s.flood.window = f.window.count();
  s.flood.enter_count = f.enter;
  s.flood.exit_count = f.exit;
  s.flood.quiet_for = f.quiet_for.count();
  s.flood.update_interval = f.update_interval.count();
  s.flood.top_n = f.top;
  s.flood.source_slots = std::max(s.flood.source_slots, f.top);
  s.limit.max_folds = options.max_alerts;
  s.limit.max_priority_folds = options.max_alerts;
  s.limit.max_budgets = options.max_sources;
  return s;
}

} // namespace bulwark::alert
