#include "pipeline/processor.hpp"

#include "json/splice.hpp"
#include <algorithm>
#include <cassert>
#include <charconv>

namespace bulwark::pipeline {

void stats::add(const stats& other) noexcept {
  records += other.records;
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
  for (std::size_t i = 0; i < by_verdict.size(); ++i)
    by_verdict[i] += other.by_verdict[i];
  for (std::size_t i = 0; i < rejected_by_reason.size(); ++i)
    rejected_by_reason[i] += other.rejected_by_reason[i];
  for (std::size_t i = 0; i < findings_by_category.size(); ++i)
    findings_by_category[i] += other.findings_by_category[i];
}

namespace {

void append_uint(std::string& out, std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

} // namespace

void append_placeholder(std::string& out, verdict v, std::string_view reason, const origin& from) {
  out += R"({"_bulwark":{"v":1,"verdict":")";
  out += to_string(v);
  out += R"(","reason":)";
  json::append_string(out, reason);
  out += R"(,"line":)";
  append_uint(out, from.line);
  out += "}}";
}

void append_dead_letter(std::string& out, std::string_view reason, std::string_view raw,
                        const raw_info& info, const origin& from) {
  if (from.topic.empty()) {
    out += R"({"line":)";
    append_uint(out, from.line);
  } else {
    out += R"({"topic":)";
    json::append_string(out, from.topic);
    out += R"(,"partition":)";
    out += std::to_string(from.partition);
    out += R"(,"offset":)";
    out += std::to_string(from.offset);
  }
  out += R"(,"reason":)";
  json::append_string(out, reason);
  out += R"(,"raw":)";
  // The raw bytes may be anything: invalid UTF-8 becomes U+FFFD so the record
  // itself is valid JSON.
  json::append_string_lossy(out, raw);
  if (info.truncated) {
    out += R"(,"truncated":true,"bytes":)";
    append_uint(out, info.full_size);
  }
  out += '}';
}

processor::value_scanner::value_scanner(std::shared_ptr<const scan::ruleset> rules,
                                        policy_set policies)
    : policies_(std::move(policies)), scanner_(std::move(rules)) {}

void processor::value_scanner::reset() {
  // The last record's edits and findings stay until the next collect_record():
  // for_each_last_finding() reads them after its finish().
  values_.clear();
  texts_.clear();
  pointers_.clear();
  text_arena_.clear();
  mark_values_ = mark_pointers_ = mark_texts_ = 0;
}

std::size_t processor::value_scanner::begin_record() noexcept {
  mark_values_ = values_.size();
  mark_pointers_ = pointers_.size();
  mark_texts_ = text_arena_.size();
  return mark_values_;
}

void processor::value_scanner::drop_record() noexcept {
  values_.resize(mark_values_);
  pointers_.resize(mark_pointers_);
  text_arena_.resize(mark_texts_);
}

bool processor::envelope_timestamp(std::string_view pointer, std::string_view text) noexcept {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), checked by shape only:
  // what matters here is that every byte is a digit in a fixed place or fixed
  // punctuation, and at most nine fraction digits (nanoseconds) are free, too
  // few for any value the packs look for. (Whether the date exists is the
  // integrity checks' business.)
  if (pointer != "/ts" || text.size() < 20) return false;
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const char want = shape[i];
    if (want == 'd'
            ? !digit(text[i])
            : (want == 'T' ? text[i] != 'T' && text[i] != 't' && text[i] != ' ' : text[i] != want))
      return false;
  }
  std::size_t pos = shape.size();
  if (text[pos] == '.') {
    const std::size_t from = ++pos;
    while (pos < text.size() && digit(text[pos]))
      ++pos;
    if (pos == from || pos - from > 9) return false;
  }
  const std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && digit(zone[1]) &&
         digit(zone[2]) && zone[3] == ':' && digit(zone[4]) && digit(zone[5]);
}

bool processor::value_scanner::on_value(const json::value_ref& v) {
  if (v.kind != json::value_kind::string) return true;
  // The envelope's own timestamp, when it is one, is not scanned: it cannot
  // hold a finding, and on every event it costs the digit databases most.
  if (envelope_timestamp(v.pointer, v.text)) return true;
  values_.push_back({v.begin, v.end, v.member_begin, pointers_.size(), v.pointer.size(),
                     text_arena_.size(), v.text.size(), v.in_object});
  pointers_.append(v.pointer);
  text_arena_.append(v.text);
  return true;
}

void processor::value_scanner::rewrite_text(std::string_view text,
                                            const std::vector<scan::match>& matches,
                                            std::string& out) {
  if (matches.empty()) {
    out.assign(text);
    return;
  }
  const scan::rewrite_result r =
      scan::rewrite_value(text, matches, scanner_.rules(), std::nullopt, out, applied_);
  if (r.drop_member) out = "[REDACTED]";
}

void processor::value_scanner::redact_text(std::string_view text, std::string& out) {
  scanner_.scan(text, single_);
  rewrite_text(text, single_, out);
}

void processor::value_scanner::redact_texts(std::span<const std::string_view> texts,
                                            std::vector<std::string>& out,
                                            std::vector<std::uint8_t>& changed) {
  out.resize(texts.size());
  changed.assign(texts.size(), 0);
  scanner_.scan_values(texts, side_matches_);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (side_matches_[i].empty()) continue;
    rewrite_text(texts[i], side_matches_[i], out[i]);
    changed[i] = out[i] != texts[i] ? 1 : 0;
  }
}

void processor::value_scanner::scan_all() {
  texts_.clear();
  for (const string_value& v : values_)
    texts_.push_back(std::string_view(text_arena_).substr(v.text_begin, v.text_size));
  if (!texts_.empty()) scanner_.scan_values(texts_, matches_);
}

void processor::value_scanner::collect_record(std::size_t from, std::size_t to) {
  edits.clear();
  findings.clear();
  arena.clear();
  redacted = false;
  if (from == to) return;
  const scan::ruleset& rules = scanner_.rules();
  const auto pointer_of = [&](const string_value& v) {
    return std::string_view(pointers_).substr(v.pointer_begin, v.pointer_size);
  };
  system_messages_.clear();
  for (std::size_t k = from; k < to; ++k) {
    std::string_view message;
    if (texts_[k] == "system" && policy_set::is_message_role(pointer_of(values_[k]), message))
      system_messages_.push_back(message);
  }
  for (std::size_t k = from; k < to; ++k) {
    std::vector<scan::match>& matches = matches_[k];
    const string_value& v = values_[k];
    const std::string_view pointer = pointer_of(v);
    std::string_view message;
    if (!system_messages_.empty() && !texts_[k].empty() &&
        policy_set::is_message_content(pointer, message) &&
        std::find(system_messages_.begin(), system_messages_.end(), message) !=
            system_messages_.end()) {
      // The built-in policy: a logged system prompt leaks as a whole.
      matches.assign(1, scan::match{rules.system_message_rule(), 0,
                                    static_cast<std::uint32_t>(texts_[k].size())});
    }
    if (matches.empty()) continue;
    const scan::rewrite_result r = scan::rewrite_value(
        texts_[k], matches, rules, policies_.action_for(pointer), rewritten_, applied_);
    for (std::size_t i = 0; i < matches.size(); ++i) {
      const action act = applied_[i];
      redacted |= act != action::defuse;
      const std::uint32_t rule = matches[i].rule;
      auto same = [&](const finding& f) { return f.rule == rule && f.path == pointer; };
      if (auto it = std::find_if(findings.begin(), findings.end(), same); it != findings.end()) {
        ++it->count;
      } else {
        findings.push_back({rule, act, std::string(pointer), 1});
      }
    }
    const std::size_t arena_begin = arena.size();
    if (r.drop_member && v.in_object) {
      edits.push_back({v.member_begin, v.end, arena_begin, 0, true});
      continue;
    }
    // A dropped array element becomes null so the other indices keep their meaning.
    if (r.drop_member) {
      arena += "null";
    } else {
      json::append_string(arena, rewritten_);
    }
    edits.push_back({v.begin, v.end, arena_begin, arena.size() - arena_begin, false});
  }
}

processor::processor(const config::options& opts, std::shared_ptr<const scan::ruleset> rules)
    : walker_(json::limits{opts.limits.max_event_bytes, opts.limits.max_depth}) {
  if (rules) scanner_.emplace(std::move(rules), policy_set(opts.policies));
}

void processor::use_rules(std::shared_ptr<const scan::ruleset> rules,
                          const std::vector<config::policy>& policies) {
  assert(prepared() == 0 && "use_rules() inside a batch");
  scanner_.reset();
  if (rules) scanner_.emplace(std::move(rules), policy_set(policies));
}

bool processor::fact_visitor::on_value(const json::value_ref& v) {
  if (const auto* slots = spec_->slots_for(v.pointer)) {
    for (const std::uint16_t slot : *slots) {
      fact& f = facts_->fields[slot];
      switch (v.kind) {
      case json::value_kind::string:
        f.k = fact::kind::string;
        f.text.assign(v.text);
        break;
      case json::value_kind::number:
        f.k = fact::kind::number;
        f.text.assign(line_.substr(v.begin, v.end - v.begin));
        break;
      case json::value_kind::boolean:
        f.k = fact::kind::boolean;
        f.flag = line_.substr(v.begin, 4) == "true";
        break;
      case json::value_kind::null:
        f.k = fact::kind::null;
        break;
      default:
        f.k = fact::kind::other;
      }
    }
  }
  return next_ == nullptr || next_->on_value(v);
}

verdict processor::process(std::string_view record, const raw_info& info, const origin& from,
                           std::string& out, std::string& dlq) {
  prepare_impl(record, info, from, nullptr, nullptr);
  return finish_impl(out, dlq);
}

verdict processor::process(std::string_view record, const raw_info& info, const origin& from,
                           std::string& out, std::string& dlq, const fact_spec& spec,
                           record_facts& facts) {
  prepare_impl(record, info, from, &spec, &facts);
  return finish_impl(out, dlq);
}

void processor::prepare(std::string_view record, const raw_info& info, const origin& from,
                        const fact_spec& spec, record_facts& facts) {
  prepare_impl(record, info, from, &spec, &facts);
}

verdict processor::finish(std::string& out, std::string& dlq) {
  return finish_impl(out, dlq);
}

void processor::prepare_impl(std::string_view record, const raw_info& info, const origin& from,
                             const fact_spec* spec, record_facts* facts) {
  assert(next_finish_ == 0 && "prepare() after finish() of a batch not yet finished");
  ++stats_.records;
  stats_.bytes_in += info.truncated ? info.full_size : record.size();
  if (facts != nullptr) facts->reset(spec->size());
  pending p{record, info, from, spec, facts, json::error::none, 0, 0};
  if (info.truncated) {
    p.err = json::error::too_large;
  } else {
    json::visitor* vis = nullptr;
    if (scanner_) {
      p.values_begin = scanner_->begin_record();
      vis = &*scanner_;
    }
    if (facts != nullptr) {
      fact_visitor_.arm(spec, facts, record, vis);
      vis = &fact_visitor_;
    }
    p.err = walker_.walk(record, info.readable_after, vis);
    if (scanner_) {
      if (p.err != json::error::none) scanner_->drop_record();
      p.values_end = scanner_->values_end();
    }
  }
  pending_.push_back(p);
}

verdict processor::finish_impl(std::string& out, std::string& dlq) {
  assert(next_finish_ < pending_.size() && "finish() without a prepared record");
  // The batch's first finish() scans the values of all its records.
  if (scanner_ && next_finish_ == 0) scanner_->scan_all();
  const pending& p = pending_[next_finish_++];
  last_reason_ = {};
  const std::size_t out_before = out.size();
  verdict v = verdict::clean;
  if (p.err != json::error::none) {
    // No values of this record were kept, so the scanner's state is free for
    // the dead letter's byte-level redaction.
    reject(p.err, p.record, p.info, p.from, out, dlq);
    v = verdict::rejected;
  } else {
    if (scanner_) scanner_->collect_record(p.values_begin, p.values_end);
    if (!scanner_ || scanner_->findings.empty()) {
      out.append(p.record); // no finding: byte-identical
    } else {
      v = scanner_->redacted ? verdict::redacted : verdict::flagged;
      splice(p.record);
      emit_annotation(v, out);
      if (p.facts != nullptr) {
        p.facts->body_size = spliced_.size();
        p.facts->findings_json = findings_json_;
        for (const auto& f : scanner_->findings) {
          const config::rule_spec& rs = scanner_->rules().rule(f.rule).spec;
          p.facts->findings.push_back({rs.id, rs.cat, f.count});
        }
      }
    }
    if (p.facts != nullptr) p.facts->parsed = true;
    ++stats_.by_verdict[static_cast<int>(v)];
  }
  stats_.bytes_out += out.size() - out_before;
  if (p.facts != nullptr) {
    p.facts->v = v;
    p.facts->reason = last_reason_;
  }
  if (next_finish_ == pending_.size()) {
    pending_.clear();
    next_finish_ = 0;
    if (scanner_) scanner_->reset();
  }
  return v;
}

void processor::splice(std::string_view record) {
  edits_.clear();
  for (const auto& e : scanner_->edits)
    edits_.push_back({e.begin, e.end,
                      std::string_view(scanner_->arena).substr(e.arena_begin, e.arena_size),
                      e.remove_member});
  spliced_.clear();
  json::apply_edits(record, edits_, spliced_);
}

void processor::emit_annotation(verdict v, std::string& out) {
  const scan::ruleset& rules = scanner_->rules();
  findings_json_.clear();
  bool first = true;
  for (const auto& f : scanner_->findings) {
    const config::rule_spec& spec = rules.rule(f.rule).spec;
    stats_.findings_by_category[static_cast<int>(spec.cat)] += f.count;
    if (!first) findings_json_ += ',';
    first = false;
    findings_json_ += R"({"rule":)";
    json::append_string(findings_json_, spec.id);
    findings_json_ += R"(,"category":")";
    findings_json_ += to_string(spec.cat);
    findings_json_ += R"(","path":)";
    json::append_string(findings_json_, f.path);
    findings_json_ += R"(,"action":")";
    findings_json_ += to_string(f.act);
    findings_json_ += R"(","count":)";
    append_uint(findings_json_, f.count);
    findings_json_ += '}';
  }
  annotation_.clear();
  append_annotation(annotation_, v, std::nullopt, false, findings_json_);
  json::append_with_member(out, spliced_, "_bulwark", annotation_);
}

void append_annotation(std::string& out, verdict v, std::optional<std::string_view> integrity,
                       bool untrusted, std::string_view findings_json) {
  out += R"({"v":1,"verdict":")";
  out += to_string(v);
  out += '"';
  if (integrity) {
    out += R"(,"integrity":")";
    out += *integrity;
    out += '"';
  }
  if (untrusted) out += R"(,"trust":"untrusted")";
  out += R"(,"findings":[)";
  out += findings_json;
  out += "]}";
}

bool processor::redact_side_text(std::string_view text, std::string& out) {
  raw_text_.clear();
  json::append_utf8_lossy(raw_text_, text);
  bool changed = raw_text_ != text;
  if (!scanner_) {
    if (changed) out = raw_text_;
    return changed;
  }
  scanner_->redact_text(raw_text_, out);
  changed |= out != text;
  return changed;
}

void processor::redact_side_texts(std::span<const std::string_view> texts,
                                  std::vector<std::string>& out,
                                  std::vector<std::uint8_t>& changed) {
  // Valid texts (nearly all) are scanned where they are; only invalid ones
  // are copied, made valid, into the arena.
  constexpr std::size_t valid = std::string_view::npos;
  side_lossy_.clear();
  side_ends_.clear();
  for (const std::string_view t : texts) {
    if (json::is_valid_utf8(t)) {
      side_ends_.push_back(valid);
      continue;
    }
    json::append_utf8_lossy(side_lossy_, t);
    side_ends_.push_back(side_lossy_.size());
  }
  side_views_.clear(); // made once the arena has stopped growing
  for (std::size_t i = 0, from = 0; i < texts.size(); ++i) {
    if (side_ends_[i] == valid) {
      side_views_.push_back(texts[i]);
      continue;
    }
    side_views_.push_back(std::string_view(side_lossy_).substr(from, side_ends_[i] - from));
    from = side_ends_[i];
  }
  out.resize(texts.size());
  if (scanner_)
    scanner_->redact_texts(side_views_, out, changed);
  else
    changed.assign(texts.size(), 0);
  for (std::size_t i = 0; i < texts.size(); ++i)
    if (side_ends_[i] != valid && changed[i] == 0) {
      out[i].assign(side_views_[i]); // made valid, nothing redacted
      changed[i] = 1;
    }
}

void processor::reject(json::error why, std::string_view record, const raw_info& info,
                       const origin& from, std::string& out, std::string& dlq) {
  ++stats_.by_verdict[static_cast<int>(verdict::rejected)];
  ++stats_.rejected_by_reason[static_cast<int>(why)];
  const std::string_view reason = json::to_string(why);
  last_reason_ = reason;
  append_placeholder(out, verdict::rejected, reason, from);
  if (!scanner_) {
    append_dead_letter(dlq, reason, record, info, from);
    return;
  }
  // The DLQ gets what cannot be parsed, secrets included: redact at the byte
  // level first, the whole line scanned as one text (made valid UTF-8).
  raw_text_.clear();
  json::append_utf8_lossy(raw_text_, record);
  scanner_->redact_text(raw_text_, redacted_raw_);
  append_dead_letter(dlq, reason, redacted_raw_, info, from);
}

} // namespace bulwark::pipeline
