// Handing a key from one monitor to another (export_key / import_key): the
// receiving monitor carries on exactly where the sender stood, at every stage
// of a key's life (learning, counting, frozen with open panes, in alarm), and
// refuses snapshots it cannot take without ever crashing on them.
#include "drift/monitor.hpp"
#include "support/drift_refs.hpp"
#include "unit/drift/stream.hpp"

#include <gtest/gtest.h>
#include <random>

namespace bulwark::drift {
namespace {

using namespace streams;

settings two_features() {
  settings s;
  s.features = {{"/score", feature_type::numeric, {}, {}, {}},
                {"/country", feature_type::categorical, {}, {}, {}}};
  s.reference_windows = 8;
  s.scales = {{6, 1}, {12, 3}};
  s.repeat_windows = 4;
  return s;
}

monitor make(const settings& s) {
  auto m = monitor::make(s);
  return std::move(std::get<monitor>(m));
}

using test::ref_id;
using test::ref_text;

/// Every tracked key of `from` moves to `to`.
void hand_over(monitor& from, monitor& to) {
  for (const std::string& key : from.tracked_keys()) {
    const auto text = from.export_key(key, ref_text);
    ASSERT_TRUE(text.has_value()) << key;
    const auto e = to.import_key(*text, ref_id);
    ASSERT_FALSE(e) << e->message;
    ASSERT_TRUE(from.release_key(key));
  }
  EXPECT_TRUE(from.tracked_keys().empty());
}

/// A stream of two keys, learning then drifting: the numeric feature shifts
/// slowly from window 20 for "fraud", the categories move to new values from
/// window 26 for "chat"; "chat" is silent in windows 14 and 15.
struct stream_gen {
  std::mt19937_64 rng{5};
  std::normal_distribution<double> n{0, 1};
  std::uniform_int_distribution<int> pick{0, 5};

  std::vector<feature_value> event(std::string_view key, std::int64_t w) {
    static const std::string_view common[] = {"DE", "FR", "IT", "DE", "FR", "ES"};
    static const std::string_view novel[] = {"x1", "x2", "x3", "x4", "x5", "x6"};
    const double mean = key == "fraud" && w >= 20 ? 0.08 * static_cast<double>(w - 19) : 0;
    const bool moved = key == "chat" && w >= 26;
    return {feature_value::of(mean + n(rng)),
            feature_value::of(moved && pick(rng) < 3 ? novel[pick(rng)] : common[pick(rng)])};
  }
};

struct outcome {
  std::vector<raised_alert> alerts;
  std::vector<std::string> audit;
  std::uint64_t accounted = 0;
  std::string references;
};

/// Runs the stream through one monitor, or through a chain of fresh monitors
/// that each take over every key at the given windows (at event `at` of it:
/// mid-window, with open panes).
outcome run(const settings& s, const std::vector<std::int64_t>& hand_over_at, int at) {
  std::vector<monitor> chain;
  chain.push_back(make(s));
  outcome out;
  stream_gen gen;
  std::uint64_t ref = 0;
  const auto collect = [&](monitor& m) {
    for (auto& r : m.take_audit_records())
      out.audit.push_back(std::move(r.json));
  };
  for (std::int64_t w = 0; w < 40; ++w) {
    for (int i = 0; i < 400; ++i) {
      if (i == at && std::find(hand_over_at.begin(), hand_over_at.end(), w) != hand_over_at.end()) {
        collect(chain.back());
        out.accounted += chain.back().stats().observed;
        chain.push_back(make(s));
        hand_over(chain[chain.size() - 2], chain.back());
      }
      monitor& m = chain.back();
      const timestamp_ms t = t0 + w * hour + hour * i / 400;
      for (auto& a : m.advance(t))
        out.alerts.push_back(std::move(a));
      for (const std::string_view key : {"fraud", "chat"}) {
        if (key == "chat" && (w == 14 || w == 15)) continue;
        m.observe(key, key, gen.event(key, w), t, ++ref);
      }
    }
  }
  monitor& last = chain.back();
  for (auto& a : last.finish())
    out.alerts.push_back(std::move(a));
  collect(last);
  out.accounted += last.stats().observed;
  out.references = last.export_reference();
  return out;
}

void expect_same(const outcome& single, const outcome& chained) {
  ASSERT_EQ(chained.alerts.size(), single.alerts.size());
  for (std::size_t i = 0; i < single.alerts.size(); ++i) {
    EXPECT_EQ(chained.alerts[i].request.kind, single.alerts[i].request.kind) << i;
    EXPECT_EQ(chained.alerts[i].request.rule, single.alerts[i].request.rule) << i;
    EXPECT_EQ(chained.alerts[i].request.evidence, single.alerts[i].request.evidence) << i;
    EXPECT_EQ(chained.alerts[i].request.at, single.alerts[i].request.at) << i;
    EXPECT_EQ(chained.alerts[i].ref_id, single.alerts[i].ref_id) << i;
  }
  EXPECT_EQ(chained.audit, single.audit);
  EXPECT_EQ(chained.accounted, single.accounted);
  EXPECT_EQ(chained.references, single.references);
}

TEST(DriftHandOver, AtEveryStageTheNextMonitorCarriesOnExactly) {
  const settings s = two_features();
  const outcome single = run(s, {}, 0);
  // The stream must exercise what is handed over: both keys alert, by more
  // than one detector, and a reference froze for each key and feature.
  ASSERT_GE(single.alerts.size(), 4u);
  bool numeric = false, categorical = false;
  for (const auto& a : single.alerts) {
    numeric = numeric || a.request.rule == "/score";
    categorical = categorical || a.request.rule == "/country";
  }
  EXPECT_TRUE(numeric);
  EXPECT_TRUE(categorical);
  EXPECT_EQ(single.audit.size(), 4u);
  // Windows 1 (reservoir stage), 3 (counting stage), 8 (just frozen), 14
  // ("chat" silent), 22 and 27 (drifting, in alarm), 33 (repeats due).
  for (const int at : {0, 137, 399}) {
    SCOPED_TRACE(at);
    expect_same(single, run(s, {1, 3, 8, 14, 22, 27, 33}, at));
  }
}

TEST(DriftHandOver, AReceiverThatClosedMoreWindowsClosesThemForTheKeyAtOnce) {
  // "fraud" is silent in windows 10–12 everywhere; meanwhile B has seen
  // "other" up to window 13, so it has closed windows A has not.
  const settings s = two_features();
  monitor single = make(s), a = make(s), b = make(s);
  stream_gen gen_single, gen_a;
  std::vector<raised_alert> from_single, from_b;
  std::uint64_t ref = 0;
  const auto feed = [&](monitor& m, stream_gen& gen, std::string_view key, std::int64_t w, int i,
                        std::uint64_t id, std::vector<raised_alert>* keep) {
    const timestamp_ms t = t0 + w * hour + hour * i / 300;
    for (auto& x : m.advance(t))
      if (keep != nullptr && x.request.model == "fraud") keep->push_back(std::move(x));
    m.observe(key, key, gen.event(key, w), t, id);
  };
  stream_gen gen_other_single, gen_other_b;
  for (std::int64_t w = 0; w < 14; ++w)
    for (int i = 0; i < 300; ++i) {
      if (w < 10) {
        ++ref;
        feed(single, gen_single, "fraud", w, i, ref, &from_single);
        feed(a, gen_a, "fraud", w, i, ref, &from_b);
      }
      if (i % 10 == 0) {
        feed(single, gen_other_single, "other", w, i, 1'000'000 + ref, &from_single);
        feed(b, gen_other_b, "other", w, i, 1'000'000 + ref, nullptr);
      }
    }
  const auto text = a.export_key("fraud", ref_text);
  ASSERT_TRUE(text);
  ASSERT_FALSE(b.import_key(*text, ref_id));
  for (std::int64_t w = 14; w < 30; ++w)
    for (int i = 0; i < 300; ++i) {
      ++ref;
      stream_gen g1 = gen_single; // the same values on both sides
      feed(single, gen_single, "fraud", w, i, ref, &from_single);
      feed(b, g1, "fraud", w, i, ref, &from_b);
    }
  for (auto& x : single.finish())
    if (x.request.model == "fraud") from_single.push_back(std::move(x));
  for (auto& x : b.finish())
    if (x.request.model == "fraud") from_b.push_back(std::move(x));
  ASSERT_FALSE(from_single.empty());
  ASSERT_EQ(from_b.size(), from_single.size());
  for (std::size_t i = 0; i < from_b.size(); ++i) {
    EXPECT_EQ(from_b[i].request.evidence, from_single[i].request.evidence) << i;
    EXPECT_EQ(from_b[i].ref_id, from_single[i].ref_id) << i;
  }
}

TEST(DriftHandOver, EventsForWindowsTheSenderClosedAreLateHereToo) {
  settings s = two_features();
  s.allowed_lateness_ms = 0;
  monitor a = make(s), b = make(s);
  stream_gen gen;
  for (std::int64_t w = 0; w < 12; ++w)
    for (int i = 0; i < 50; ++i) {
      const timestamp_ms t = t0 + w * hour + hour * i / 50;
      a.advance(t);
      a.observe("fraud", "fraud", gen.event("fraud", w), t, 1);
    }
  // B is behind: it has only seen window 3 of another key.
  b.advance(t0 + 3 * hour);
  b.observe("other", "other", gen.event("other", 3), t0 + 3 * hour, 2);
  ASSERT_FALSE(b.import_key(*a.export_key("fraud", ref_text), ref_id));
  const auto late_before = b.stats().late;
  EXPECT_EQ(b.observe("fraud", "fraud", gen.event("fraud", 4), t0 + 4 * hour, 3),
            observe_result::late);
  EXPECT_EQ(b.stats().late, late_before + 1);
  EXPECT_EQ(b.observe("fraud", "fraud", gen.event("fraud", 11), t0 + 11 * hour + 5, 4),
            observe_result::future); // B's own horizon still bounds what it holds
}

TEST(DriftHandOver, RefusesForeignSettingsUnknownEventsAndTheKeyCapWithoutChange) {
  settings s = two_features();
  monitor a = make(s);
  stream_gen gen;
  for (std::int64_t w = 0; w < 10; ++w)
    for (int i = 0; i < 100; ++i) {
      const timestamp_ms t = t0 + w * hour + hour * i / 100;
      a.advance(t);
      a.observe("fraud", "fraud", gen.event("fraud", w), t, 7);
    }
  const std::string text = *a.export_key("fraud", ref_text);
  EXPECT_FALSE(a.export_key("nobody", ref_text));

  settings other = s;
  other.numeric_bins = 16;
  monitor c = make(other);
  auto e = c.import_key(text, ref_id);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("different drift settings"), std::string::npos) << e->message;
  EXPECT_TRUE(c.tracked_keys().empty());

  monitor d = make(s);
  e = d.import_key(text, [](std::string_view) { return std::optional<std::uint64_t>{}; });
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("cannot refer to"), std::string::npos) << e->message;
  EXPECT_TRUE(d.tracked_keys().empty());

  settings one_key = s;
  one_key.max_keys = 1;
  monitor f = make(one_key);
  f.advance(t0);
  f.observe("chat", "chat", gen.event("chat", 0), t0, 1);
  e = f.import_key(text, ref_id);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("max_keys"), std::string::npos);
  EXPECT_EQ(f.tracked_keys(), std::vector<std::string>{"chat"});
}

TEST(DriftHandOver, AReferenceWhoseCutSampleHeldNoNumberStillLoads) {
  // Found while fuzzing the hand-over: a numeric feature null throughout the
  // first quarter of learning (the cut sample) and numeric afterwards froze
  // into a reference that export_reference() wrote and load_reference()
  // refused ("u_n must count the non-null values"): numbers counted against
  // a reference without a cdf get no u.
  settings s = two_features();
  monitor a = make(s);
  for (std::int64_t w = 0; w < 9; ++w)
    for (int i = 0; i < 50; ++i) {
      const timestamp_ms t = t0 + w * hour + hour * i / 50;
      a.advance(t);
      const std::vector<feature_value> v{w < 2 ? feature_value::missing() : feature_value::of(i),
                                         feature_value::of(std::string_view("DE"))};
      a.observe("fraud", "fraud", v, t, 1);
    }
  ASSERT_EQ(a.state().frozen, 2u);
  const std::string file = a.export_reference();
  s.learn_references = false;
  monitor b = make(s);
  const auto loaded = b.load_reference(file, t0);
  ASSERT_TRUE(std::holds_alternative<std::vector<audit_record>>(loaded))
      << std::get<error>(loaded).message;
  EXPECT_EQ(b.export_reference(), file);
  monitor c = make(two_features());
  ASSERT_FALSE(c.import_key(*a.export_key("fraud", ref_text), ref_id));
}

TEST(DriftHandOver, TextThatIsNotUtf8IsRefused) {
  // Found by fuzz_drift_key: a category of invalid UTF-8 was taken, then
  // written back with replacement characters (longer than 128 bytes, so the
  // next monitor refused the hand-over). JSON text is UTF-8; the reader now
  // says so.
  settings s = two_features();
  monitor a = make(s);
  stream_gen gen;
  a.advance(t0);
  a.observe("fraud", "fraud", gen.event("fraud", 0), t0, 1);
  std::string text = *a.export_key("fraud", ref_text);
  const std::size_t at = text.find("\"value\":\"");
  ASSERT_NE(at, std::string::npos) << "the categorical learner's summary is in the snapshot";
  text.insert(at + 9, "\xd4\xd4");
  monitor b = make(s);
  const auto e = b.import_key(text, ref_id);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("invalid UTF-8"), std::string::npos) << e->message;
  EXPECT_TRUE(b.tracked_keys().empty());
  // Valid multi-byte UTF-8 crosses unchanged.
  monitor c = make(s);
  c.advance(t0);
  const std::vector<feature_value> v{
      feature_value::of(0.5), feature_value::of(std::string_view("M\xc3\xbcnchen \xe2\x82\xac"))};
  c.observe("fraud", "fraud", v, t0, 2);
  const std::string good = *c.export_key("fraud", ref_text);
  monitor d = make(s);
  ASSERT_FALSE(d.import_key(good, ref_id));
  EXPECT_EQ(*d.export_key("fraud", ref_text), good);
}

TEST(DriftHandOver, CorruptedSnapshotsAreRefusedOrTakenNeverACrash) {
  // Bit flips and truncations of a real snapshot (a key in alarm, with open
  // panes and full rings): each is refused with an error or taken as a
  // consistent state that the monitor then runs on; under the sanitizer
  // build neither path may touch memory it should not.
  settings s = two_features();
  monitor a = make(s);
  stream_gen gen;
  for (std::int64_t w = 0; w < 28; ++w)
    for (int i = 0; i < 60; ++i) {
      const timestamp_ms t = t0 + w * hour + hour * i / 60;
      a.advance(t);
      a.observe("fraud", "fraud", gen.event("fraud", w), t, 9);
      a.observe("chat", "chat", gen.event("chat", w), t, 10);
    }
  const std::string good = *a.export_key("chat", ref_text);
  std::mt19937_64 rng(99);
  std::size_t refused = 0, taken = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bad = good;
    if (round % 4 == 0) {
      bad.resize(rng() % bad.size());
    } else {
      for (int k = 0; k < 1 + round % 3; ++k)
        bad[rng() % bad.size()] ^= static_cast<char>(1u << (rng() % 8));
    }
    monitor b = make(s);
    if (b.import_key(bad, ref_id)) {
      ++refused;
      EXPECT_TRUE(b.tracked_keys().empty());
      continue;
    }
    ++taken;
    for (std::int64_t w = 28; w < 31; ++w) {
      const timestamp_ms t = t0 + w * hour;
      b.advance(t);
      b.observe("chat", "chat", gen.event("chat", w), t, 11);
    }
    b.finish();
  }
  EXPECT_GT(refused, 1000u);
  EXPECT_EQ(refused + taken, 3000u);
}

} // namespace
} // namespace bulwark::drift
