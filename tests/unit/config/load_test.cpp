#include "config/load.hpp"
#include "config/rules.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <sstream>
#include <thread>

namespace bulwark::config {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Helpers

options loads(std::string_view yaml) {
  auto result = load_string(yaml, "test.yaml");
  if (const auto* error = std::get_if<load_error>(&result)) {
    ADD_FAILURE() << "unexpected error: " << error->message();
    return {};
  }
  return std::get<options>(std::move(result));
}

load_error fails(std::string_view yaml) {
  auto result = load_string(yaml, "test.yaml");
  if (std::holds_alternative<options>(result)) {
    ADD_FAILURE() << "loaded, but an error was expected for:\n" << yaml;
    return {};
  }
  return std::get<load_error>(std::move(result));
}

/// The error has this file, line and key, and its reason contains `reason_part`.
testing::AssertionResult is_error(const load_error& e, std::string_view file, int line,
                                  std::string_view key, std::string_view reason_part) {
  if (e.file == file && e.line == line && e.key == key &&
      e.reason.find(reason_part) != std::string::npos)
    return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << "got  " << e.file << " | " << e.line << " | " << e.key << " | " << e.reason << "\nwant "
         << file << " | " << line << " | " << key << " | ..." << reason_part << "...";
}

testing::AssertionResult fails_at(std::string_view yaml, int line, std::string_view key,
                                  std::string_view reason_part) {
  return is_error(fails(yaml), "test.yaml", line, key, reason_part);
}

std::string describe(const key_source& k) {
  return std::to_string(static_cast<int>(k.from)) + ":" + k.value;
}

/// Every field, so that two option sets can be compared in one assertion.
std::string dump(const options& o) {
  std::ostringstream s;
  const auto list = [&](const std::vector<std::string>& items) {
    for (const auto& item : items)
      s << item << ',';
    s << ';';
  };
  s << o.workers << ';' << o.limits.max_event_bytes << ';' << o.limits.max_depth << ';';
  const auto& k = o.kafka;
  s << k.brokers << ';' << k.group_id << ';' << k.exactly_once << ';';
  list(k.inputs);
  s << k.sanitized_suffix << ';' << k.alerts_topic << ';' << k.audit_topic << ';' << k.dlq_topic
    << ';' << k.quarantine_topic << ';' << k.embedded_partitions << ';';
  for (const auto& [name, value] : k.properties)
    s << name << '=' << value << ',';
  list(o.rules.packs);
  list(o.rules.extra);
  for (const auto& p : o.rules.system_prompts)
    s << p.name << '/' << p.file << '/' << p.text << ',';
  s << o.rules.action << ';' << describe(o.rules.hash_key) << ';';
  for (const auto& p : o.policies)
    s << p.path << '=' << p.action << ',';
  const auto& d = o.drift;
  s << d.event_time << ';';
  list(d.key);
  s << d.window.count() << ';' << d.reference_windows << ';' << d.reference_file << ';';
  const auto opt = [&](const auto& v) {
    if (v)
      s << *v << ',';
    else
      s << "unset,";
  };
  const auto floors = [&](const drift_floors& f) {
    opt(f.psi);
    opt(f.js);
    opt(f.shift);
  };
  for (const auto& f : d.features) {
    s << f.path << '=' << static_cast<int>(f.kind) << ',';
    floors(f.floors);
  }
  opt(d.allowed_lateness ? std::optional(d.allowed_lateness->count()) : std::nullopt);
  s << d.max_keys << ';' << d.evict_idle_windows << ';';
  for (const auto& sc : d.scales)
    s << sc.windows << '/' << sc.step << ',';
  s << d.bins << ';' << d.max_categories << ';' << d.min_window_events << ';' << d.min_pane_events
    << ';' << d.false_alarm_windows << ';';
  floors(d.floors);
  floors(d.large);
  s << d.cusum_slack << ';' << d.repeat_windows << ';';
  const auto& i = o.integrity;
  s << i.event_time << ';';
  for (const auto& [id, source] : i.keys)
    s << id << '=' << describe(source) << ',';
  list(i.require_signature);
  s << i.silence_after.count() << ';' << i.max_skew.count() << ';' << i.replay_window << ';'
    << i.audit_key << ';' << describe(i.audit_signing_key) << ';';
  for (const auto& [id, w] : i.key_windows) {
    s << id << '=';
    opt(w.not_before);
    opt(w.not_after);
  }
  s << i.reorder_tolerance << ';' << i.reset_max_seq << ';' << i.watermark_quorum << ';'
    << i.max_sources << ';' << i.max_streams << ';' << i.max_epochs_per_source << ';';
  const auto& p = i.poisoning;
  s << p.window.count() << ';' << p.min_peers << ';' << p.z_threshold << ';' << p.persistence << ';'
    << p.persistence_lookback << ';' << p.untrusted_for.count() << ';' << p.rollback_min_z << ';';
  list(p.non_negative);
  list(p.unit_interval);
  list(p.higher_is_worse);
  list(p.lower_is_worse);
  s << static_cast<int>(o.alerts.format) << ';' << o.alerts.alertmanager << ';';
  const auto timers = [&](const alert_timers& t) {
    for (const auto* member :
         {&t.group_wait, &t.group_interval, &t.repeat_interval, &t.resolve_timeout})
      opt(*member ? std::optional((*member)->count()) : std::nullopt);
  };
  for (const auto& t : o.alerts.timers)
    timers(t);
  for (const auto& [kind, t] : o.alerts.kinds) {
    s << kind << '=';
    timers(t);
  }
  for (const auto* b : {&o.alerts.per_source, &o.alerts.unverified, &o.alerts.global})
    s << b->burst << '/' << b->refill_every.count() << ',';
  const auto& fl = o.alerts.flood;
  s << fl.window.count() << ';' << fl.enter << ';' << fl.exit << ';' << fl.quiet_for.count() << ';'
    << fl.update_interval.count() << ';' << fl.top << ';' << o.alerts.max_alerts << ';'
    << o.alerts.max_sources << ';';
  s << o.http.listen << ';' << o.base_dir;
  return s.str();
}

constexpr std::string_view hex_key = "00112233445566778899aabbccddeeff";

// ---------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaults, AnEmptyFileYieldsExactlyTheDefaults) {
  const options o = loads("");
  EXPECT_EQ(dump(o), dump(options{}));

  EXPECT_EQ(o.workers, 0);
  EXPECT_EQ(o.limits.max_event_bytes, 1048576U);
  EXPECT_EQ(o.limits.max_depth, 64U);
  EXPECT_EQ(o.kafka.brokers, "embedded");
  EXPECT_EQ(o.kafka.group_id, "bulwark");
  EXPECT_FALSE(o.kafka.exactly_once);
  EXPECT_EQ(o.kafka.inputs, std::vector<std::string>{"telemetry"});
  EXPECT_EQ(o.kafka.sanitized_suffix, ".sanitized");
  EXPECT_EQ(o.kafka.alerts_topic, "bulwark.alerts");
  EXPECT_EQ(o.kafka.quarantine_topic, "bulwark.quarantine");
  EXPECT_EQ(o.kafka.embedded_partitions, 8);
  EXPECT_TRUE(o.kafka.properties.empty());
  EXPECT_EQ(o.rules.packs,
            (std::vector<std::string>{"secrets", "pii", "injection", "prompt_injection"}));
  EXPECT_TRUE(o.rules.system_prompts.empty());
  EXPECT_EQ(o.rules.action, "tag");
  EXPECT_EQ(o.rules.hash_key.from, key_source::kind::env);
  EXPECT_EQ(o.rules.hash_key.value, "BULWARK_HASH_KEY");
  EXPECT_TRUE(o.policies.empty());
  EXPECT_EQ(o.drift.event_time, "/ts");
  EXPECT_EQ(o.drift.key, std::vector<std::string>{"/model"});
  EXPECT_EQ(o.drift.window, 1h);
  EXPECT_EQ(o.drift.reference_windows, 24);
  EXPECT_EQ(o.drift.reference_file, "");
  EXPECT_TRUE(o.drift.features.empty());
  EXPECT_EQ(o.integrity.event_time, "/ts");
  EXPECT_TRUE(o.integrity.keys.empty());
  EXPECT_EQ(o.integrity.silence_after, 5min);
  EXPECT_EQ(o.integrity.max_skew, 2min);
  EXPECT_EQ(o.integrity.replay_window, 1024U);
  EXPECT_EQ(o.integrity.audit_key, "");
  EXPECT_EQ(o.integrity.audit_signing_key.from, key_source::kind::none);
  EXPECT_EQ(o.alerts.format, alerts_options::output_format::bulwark);
  EXPECT_EQ(o.alerts.alertmanager, "");
  EXPECT_EQ(o.http.listen, "127.0.0.1:9464");
  EXPECT_EQ(o.base_dir, ".");
}

TEST(ConfigDefaults, CommentsAnEmptyMappingOrAnEmptyDocumentAlsoYieldTheDefaults) {
  for (const std::string_view yaml :
       {"# nothing here\n   \n# still nothing\n", "{}", "---\n", "---\n...\n", "~\n"}) {
    SCOPED_TRACE(yaml);
    EXPECT_EQ(dump(loads(yaml)), dump(options{}));
  }
}

TEST(ConfigDefaults, ASectionWhoseKeysAreAllCommentedOutKeepsItsDefaults) {
  const options o = loads("kafka:\n  # brokers: a:9092\nrules:\npolicies:\n");
  EXPECT_EQ(dump(o), dump(options{}));
}

TEST(ConfigDefaults, AbsentKeysKeepTheirDefaultsNextToKeysThatAreSet) {
  const options o = loads("kafka:\n  group_id: fleet\n");
  EXPECT_EQ(o.kafka.group_id, "fleet");
  EXPECT_EQ(o.kafka.brokers, "embedded");
  EXPECT_EQ(o.kafka.inputs, std::vector<std::string>{"telemetry"});
}

TEST(ConfigDefaults, TheDefaultsFileInTheDocumentationLoadsAsExactlyTheDefaults) {
  std::ifstream in(std::string(BULWARK_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md not found";
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto section = doc.find("## A complete file with the defaults");
  ASSERT_NE(section, std::string::npos);
  const auto begin = doc.find("```yaml\n", section);
  ASSERT_NE(begin, std::string::npos);
  const auto end = doc.find("```", begin + 8);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(dump(loads(doc.substr(begin + 8, end - begin - 8))), dump(options{}));
}

TEST(ConfigDefaults, EffectiveWorkersIsWorkersOrTheCoreCount) {
  options o;
  o.workers = 3;
  EXPECT_EQ(o.effective_workers(), 3);
  o.workers = 0;
  EXPECT_EQ(o.effective_workers(),
            static_cast<int>(std::max(1U, std::thread::hardware_concurrency())));
  EXPECT_GE(o.effective_workers(), 1);
}

// ---------------------------------------------------------------------------
// A full file

constexpr std::string_view full_config = R"(workers: 6
limits:
  max_event_bytes: 512KiB
  max_depth: 32
kafka:
  brokers: "k1:9092,k2:9092"
  group_id: fleet-guard
  exactly_once: true
  inputs: [telemetry, logs.v2]
  sanitized_suffix: -clean
  alerts_topic: sec.alerts
  audit_topic: sec.audit
  dlq_topic: sec.dlq
  quarantine_topic: sec.quarantine
  embedded_partitions: 3
  properties:
    linger.ms: 5
    enable.idempotence: true
    compression.type: zstd
    client.id: "True"
rules:
  packs: [secrets, pii]
  extra: [rules/local.yaml, /etc/bulwark/more.yaml]
  system_prompts:
    - {name: support-bot, file: prompts/support.txt}
    - name: billing
      text: "You are the billing assistant."
  action: mask
  hash_key: {hex: "00112233445566778899aabbccddeeff"}
policies:
  - {path: /features/note, action: drop}
  - {path: "/input/messages/*/content", action: hash}
drift:
  event_time: /meta/time
  key: [/model, /model_version]
  window: 15m
  reference: {file: baseline.json}
  features:
    - {path: /features/amount, type: numeric}
    - {path: /features/country, type: categorical}
integrity:
  event_time: /meta/time
  keys:
    k2: {file: keys/k2.bin}
    k1: {env: BULWARK_K1}
  require_signature: ["fraud-svc-*", billing]
  silence_after: 90s
  max_skew: 250ms
  replay_window: 4096
  audit_key: k1
alerts:
  format: ocsf
  alertmanager: http://127.0.0.1:9093
http:
  listen: "[::1]:0"
)";

TEST(ConfigFile, EveryKeyOfAFullFileLandsInItsField) {
  const options o = loads(full_config);
  EXPECT_EQ(o.workers, 6);
  EXPECT_EQ(o.limits.max_event_bytes, 512U * 1024U);
  EXPECT_EQ(o.limits.max_depth, 32U);

  EXPECT_EQ(o.kafka.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(o.kafka.group_id, "fleet-guard");
  EXPECT_TRUE(o.kafka.exactly_once);
  EXPECT_EQ(o.kafka.inputs, (std::vector<std::string>{"telemetry", "logs.v2"}));
  EXPECT_EQ(o.kafka.sanitized_suffix, "-clean");
  EXPECT_EQ(o.kafka.alerts_topic, "sec.alerts");
  EXPECT_EQ(o.kafka.audit_topic, "sec.audit");
  EXPECT_EQ(o.kafka.dlq_topic, "sec.dlq");
  EXPECT_EQ(o.kafka.quarantine_topic, "sec.quarantine");
  EXPECT_EQ(o.kafka.embedded_partitions, 3);
  EXPECT_EQ(o.kafka.properties, (std::map<std::string, std::string>{
                                    {"linger.ms", "5"},
                                    {"enable.idempotence", "true"},
                                    {"compression.type", "zstd"},
                                    {"client.id", "True"}, // quoted: a string, left alone
                                }));

  EXPECT_EQ(o.rules.packs, (std::vector<std::string>{"secrets", "pii"}));
  EXPECT_EQ(o.rules.extra,
            (std::vector<std::string>{"rules/local.yaml", "/etc/bulwark/more.yaml"}));
  ASSERT_EQ(o.rules.system_prompts.size(), 2U);
  EXPECT_EQ(o.rules.system_prompts[0].name, "support-bot");
  EXPECT_EQ(o.rules.system_prompts[0].file, "prompts/support.txt");
  EXPECT_EQ(o.rules.system_prompts[0].text, "");
  EXPECT_EQ(o.rules.system_prompts[1].name, "billing");
  EXPECT_EQ(o.rules.system_prompts[1].file, "");
  EXPECT_EQ(o.rules.system_prompts[1].text, "You are the billing assistant.");
  EXPECT_EQ(o.rules.action, "mask");
  EXPECT_EQ(o.rules.hash_key.from, key_source::kind::hex);
  EXPECT_EQ(o.rules.hash_key.value, hex_key);

  ASSERT_EQ(o.policies.size(), 2U);
  EXPECT_EQ(o.policies[0].path, "/features/note");
  EXPECT_EQ(o.policies[0].action, "drop");
  EXPECT_EQ(o.policies[1].path, "/input/messages/*/content");
  EXPECT_EQ(o.policies[1].action, "hash");

  EXPECT_EQ(o.drift.event_time, "/meta/time");
  EXPECT_EQ(o.drift.key, (std::vector<std::string>{"/model", "/model_version"}));
  EXPECT_EQ(o.drift.window, 15min);
  EXPECT_EQ(o.drift.reference_file, "baseline.json");
  ASSERT_EQ(o.drift.features.size(), 2U);
  EXPECT_EQ(o.drift.features[0].path, "/features/amount");
  EXPECT_EQ(o.drift.features[0].kind, drift_feature::type::numeric);
  EXPECT_EQ(o.drift.features[1].path, "/features/country");
  EXPECT_EQ(o.drift.features[1].kind, drift_feature::type::categorical);

  EXPECT_EQ(o.integrity.event_time, "/meta/time");
  ASSERT_EQ(o.integrity.keys.size(), 2U);
  EXPECT_EQ(o.integrity.keys.at("k1").from, key_source::kind::env);
  EXPECT_EQ(o.integrity.keys.at("k1").value, "BULWARK_K1");
  EXPECT_EQ(o.integrity.keys.at("k2").from, key_source::kind::file);
  EXPECT_EQ(o.integrity.keys.at("k2").value, "keys/k2.bin");
  EXPECT_EQ(o.integrity.require_signature, (std::vector<std::string>{"fraud-svc-*", "billing"}));
  EXPECT_EQ(o.integrity.silence_after, 90s);
  EXPECT_EQ(o.integrity.max_skew, 250ms);
  EXPECT_EQ(o.integrity.replay_window, 4096U);
  EXPECT_EQ(o.integrity.audit_key, "k1");
  EXPECT_EQ(o.integrity.audit_signing_key.from, key_source::kind::none);

  EXPECT_EQ(o.alerts.format, alerts_options::output_format::ocsf);
  EXPECT_EQ(o.alerts.alertmanager, "http://127.0.0.1:9093");
  EXPECT_EQ(o.http.listen, "[::1]:0");
  EXPECT_EQ(o.base_dir, ".");
}

TEST(ConfigFile, ReferenceWindowsAndPlainByteCountsAreAccepted) {
  const options o = loads("limits: {max_event_bytes: 64}\ndrift:\n  reference: {windows: 7}\n");
  EXPECT_EQ(o.limits.max_event_bytes, 64U);
  EXPECT_EQ(o.drift.reference_windows, 7);
  EXPECT_EQ(o.drift.reference_file, "");
}

TEST(ConfigFile, AuditKeyDefaultsToTheFirstKeyInFileOrder) {
  const options o = loads("integrity:\n  keys:\n    zz: {env: Z}\n    aa: {env: A}\n");
  EXPECT_EQ(o.integrity.audit_key, "zz");
}

TEST(ConfigFile, AnAuditSigningKeyIsAFileAndLeavesAuditKeyEmpty) {
  const options o = loads("integrity:\n  keys: {k1: {env: K}}\n  audit_signing_key: {file: "
                          "audit.pem}\n");
  EXPECT_EQ(o.integrity.audit_signing_key.from, key_source::kind::file);
  EXPECT_EQ(o.integrity.audit_signing_key.value, "audit.pem");
  EXPECT_EQ(o.integrity.audit_key, "");
}

TEST(ConfigFile, PlainBooleanPropertiesAreSpelledTheWayLibrdkafkaExpects) {
  const options o = loads("kafka:\n  properties: {a: True, b: FALSE, c: 'TRUE', d: 1.5}\n");
  EXPECT_EQ(o.kafka.properties.at("a"), "true");
  EXPECT_EQ(o.kafka.properties.at("b"), "false");
  EXPECT_EQ(o.kafka.properties.at("c"), "TRUE");
  EXPECT_EQ(o.kafka.properties.at("d"), "1.5");
}

TEST(ConfigFile, ListenAcceptsHostnamesIpv4AndBracketedIpv6) {
  for (const std::string_view listen : {"localhost:80", "0.0.0.0:65535", "[::]:9464"}) {
    SCOPED_TRACE(listen);
    EXPECT_EQ(loads("http: {listen: \"" + std::string(listen) + "\"}").http.listen, listen);
  }
}

// ---------------------------------------------------------------------------
// Errors: each class names the file, line, key and reason.

TEST(ConfigErrors, AnUnknownTopLevelKeyIsNamedWithTheKnownKeys) {
  const load_error e = fails("workers: 2\nworkerz: 3\n");
  EXPECT_TRUE(is_error(e, "test.yaml", 2, "workerz", "unknown key"));
  EXPECT_NE(e.reason.find("did you mean \"workers\""), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("known keys: workers, limits, kafka,"), std::string::npos) << e.reason;
}

TEST(ConfigErrors, AnUnknownNestedKeyIsNamedByItsDottedPath) {
  EXPECT_TRUE(fails_at("kafka:\n  group_id: g\n  brokerz: x\n", 3, "kafka.brokerz",
                       "unknown key, did you mean \"brokers\"? (known keys: brokers, group_id"));
}

TEST(ConfigErrors, AnUnknownKeyInAListItemIsNamedWithTheItemIndex) {
  EXPECT_TRUE(fails_at("policies:\n  - {path: /a, action: tag}\n  - pathh: /b\n    action: tag\n",
                       3, "policies[1].pathh", "unknown key"));
  EXPECT_TRUE(fails_at("integrity:\n  keys:\n    k1: {hex: \"00\", hexx: 1}\n", 3,
                       "integrity.keys.k1.hexx", "unknown key"));
}

// Found by the config fuzz target: a key pasted where a key name belongs came
// back in the error's dotted path.
TEST(ConfigErrors, AKeyPastedAsAKeyNameIsNotEchoedInThePath) {
  const std::string hex = "6b3f0c9a1e5d7b2f48a6c0e3d9f1b7a52c8e4d6f0a3b5c7e9d1f2a4b6c8e0d3f";
  for (const std::string& yaml : {hex + ": 1\n", "integrity:\n  " + hex + ": {}\n",
                                  "integrity:\n  keys:\n    k1:\n      " + hex + ": x\n"}) {
    const load_error e = fails(yaml);
    EXPECT_EQ(e.message().find(hex.substr(0, 32)), std::string::npos) << e.message();
    EXPECT_NE(e.key.find("<key that looks like key material>"), std::string::npos) << e.message();
  }
}

TEST(ConfigErrors, ControlBytesInAKeyNameAreEscapedInThePath) {
  const load_error e = fails("\"work\\e[31mers\": 1\n");
  EXPECT_EQ(e.key, "work\\x1b[31mers");
  EXPECT_EQ(e.message().find('\x1b'), std::string::npos) << e.message();
}

TEST(ConfigErrors, AWrongTypeIsReportedWithWhatWasExpectedAndWhatWasFound) {
  EXPECT_TRUE(fails_at("workers: abc\n", 1, "workers", "expected an integer, got \"abc\""));
  EXPECT_TRUE(fails_at("workers: 1.5\n", 1, "workers", "expected an integer, got \"1.5\""));
  EXPECT_TRUE(fails_at("\nkafka: [a, b]\n", 2, "kafka", "expected a mapping, got a list"));
  EXPECT_TRUE(fails_at("kafka:\n  inputs: telemetry\n", 2, "kafka.inputs",
                       "expected a list, got a scalar"));
  EXPECT_TRUE(fails_at("kafka:\n  exactly_once: yes\n", 2, "kafka.exactly_once",
                       "expected true or false, got \"yes\""));
  EXPECT_TRUE(fails_at("kafka:\n  brokers: {a: 1}\n", 2, "kafka.brokers",
                       "expected a string, got a mapping"));
  EXPECT_TRUE(fails_at("kafka:\n  properties: {a: [1]}\n", 2, "kafka.properties.a",
                       "expected a string, number or boolean, got a list"));
  EXPECT_TRUE(
      fails_at("workers:\nlimits: {}\n", 1, "workers", "expected an integer, got an empty value"));
}

TEST(ConfigErrors, AnOutOfRangeNumberNamesTheRange) {
  EXPECT_TRUE(fails_at("kafka:\n  embedded_partitions: 0\n", 2, "kafka.embedded_partitions",
                       "must be between 1 and 1000, got 0"));
  EXPECT_TRUE(fails_at("workers: -1\n", 1, "workers", "must be between 0 and 1024, got -1"));
  EXPECT_TRUE(
      fails_at("workers: 99999999999999999999999\n", 1, "workers", "must be between 0 and 1024"));
  EXPECT_TRUE(fails_at("limits:\n  max_depth: 1025\n", 2, "limits.max_depth",
                       "must be between 1 and 1024"));
  EXPECT_TRUE(fails_at("integrity:\n  replay_window: 63\n", 2, "integrity.replay_window",
                       "must be between 64 and 1048576"));
  EXPECT_TRUE(fails_at("drift:\n  reference: {windows: 0}\n", 2, "drift.reference.windows",
                       "must be between 1 and"));
}

TEST(ConfigErrors, AByteSizeOutsideItsLimitsOrWithADecimalUnitIsRefused) {
  EXPECT_TRUE(fails_at("limits:\n  max_event_bytes: 63\n", 2, "limits.max_event_bytes",
                       "must be between 64 bytes and 256MiB, got \"63\""));
  EXPECT_TRUE(fails_at("limits:\n  max_event_bytes: 257MiB\n", 2, "limits.max_event_bytes",
                       "must be between 64 bytes and 256MiB"));
  EXPECT_TRUE(
      fails_at("limits:\n  max_event_bytes: 1MB\n", 2, "limits.max_event_bytes", "not a size"));
}

TEST(ConfigErrors, ABadDurationShowsTheAcceptedForms) {
  EXPECT_TRUE(fails_at("drift:\n  window: 90\n", 2, "drift.window",
                       "not a duration (use 90s, 5m, 1h, 1d), got \"90\""));
  EXPECT_TRUE(fails_at("integrity:\n  max_skew: 1.5m\n", 2, "integrity.max_skew",
                       "not a duration (use 90s, 5m, 1h, 1d)"));
  EXPECT_TRUE(fails_at("integrity:\n  silence_after: 0s\n", 2, "integrity.silence_after",
                       "must be greater than 0"));
}

TEST(ConfigErrors, ABadTopicNameIsRefused) {
  EXPECT_TRUE(fails_at("kafka:\n  inputs:\n    - ok\n    - \"bad topic\"\n", 4, "kafka.inputs[1]",
                       "not a valid Kafka topic name"));
  EXPECT_TRUE(
      fails_at("kafka:\n  dlq_topic: ..\n", 2, "kafka.dlq_topic", "not a valid Kafka topic name"));
  EXPECT_TRUE(fails_at("kafka:\n  dlq_topic: " + std::string(250, 'a') + "\n", 2, "kafka.dlq_topic",
                       "not a valid Kafka topic name"));
  EXPECT_TRUE(fails_at("kafka:\n  inputs: []\n", 2, "kafka.inputs", "must not be empty"));
  EXPECT_TRUE(fails_at("kafka:\n  sanitized_suffix: \"\"\n", 2, "kafka.sanitized_suffix",
                       "must be non-empty"));
}

TEST(Config, TheIntegrityStateTopicHasADefaultCanBeRenamedOrTurnedOff) {
  EXPECT_EQ(options{}.kafka.integrity_state_topic, "bulwark.integrity.state");
  EXPECT_EQ(loads("kafka:\n  integrity_state_topic: sec.state\n").kafka.integrity_state_topic,
            "sec.state");
  EXPECT_EQ(loads("kafka:\n  integrity_state_topic: \"\"\n").kafka.integrity_state_topic, "");
  EXPECT_TRUE(fails_at("kafka:\n  integrity_state_topic: bulwark.audit\n", 2,
                       "kafka.integrity_state_topic", "is used twice"));
}

TEST(Config, TheAuditWriterIsNamedOrTakenFromTheHostName) {
  EXPECT_EQ(options{}.kafka.audit_writer, "");
  const options named = loads("kafka:\n  audit_writer: eu-1.bulwark-0\n");
  EXPECT_EQ(named.kafka.audit_writer, "eu-1.bulwark-0");
  EXPECT_EQ(audit_writer_id(named.kafka, "host-a"), "eu-1.bulwark-0");
  // Unnamed: the host name, with anything outside the writer-id characters
  // replaced (a writer id is shown by `bulwark verify` and logged).
  EXPECT_EQ(audit_writer_id(kafka_options{}, "node-7.example.org"), "node-7.example.org");
  EXPECT_EQ(audit_writer_id(kafka_options{}, "odd host<\x1b>"), "odd-host---");
  EXPECT_EQ(audit_writer_id(kafka_options{}, std::string(300, 'h')), std::string(128, 'h'));
  EXPECT_EQ(audit_writer_id(kafka_options{}, ""), "bulwark");
  EXPECT_TRUE(
      fails_at("kafka:\n  audit_writer: \"a b\"\n", 2, "kafka.audit_writer", "not a writer id"));
  EXPECT_TRUE(
      fails_at("kafka:\n  audit_writer: \"\"\n", 2, "kafka.audit_writer", "not a writer id"));
  EXPECT_TRUE(fails_at("kafka:\n  audit_writer: " + std::string(129, 'w') + "\n", 2,
                       "kafka.audit_writer", "not a writer id"));
}

TEST(ConfigErrors, ATopicUsedForTwoPurposesIsRefusedWhereItWasSet) {
  EXPECT_TRUE(fails_at("kafka:\n  alerts_topic: telemetry\n", 2, "kafka.alerts_topic",
                       "topic \"telemetry\" is used twice: by kafka.inputs[0] and by "
                       "kafka.alerts_topic"));
  EXPECT_TRUE(
      fails_at("kafka:\n  inputs: [a, a.sanitized]\n", 2, "kafka.inputs[1]", "is used twice"));
  EXPECT_TRUE(fails_at("kafka:\n  inputs: [a, b, a]\n", 2, "kafka.inputs[2]", "is used twice"));
  EXPECT_TRUE(fails_at("kafka:\n  sanitized_suffix: .x\n  dlq_topic: telemetry.x\n", 3,
                       "kafka.dlq_topic",
                       "used twice: by kafka.inputs[0] + sanitized_suffix and by kafka.dlq_topic"));
  EXPECT_TRUE(fails_at("kafka:\n  dlq_topic: telemetry.x\n  sanitized_suffix: .x\n", 3,
                       "kafka.sanitized_suffix", "used twice"));
  EXPECT_TRUE(fails_at("kafka:\n  inputs: [" + std::string(240, 'a') + "]\n", 2, "kafka.inputs[0]",
                       "would be longer than 249 characters"));
}

TEST(ConfigErrors, AnUnknownRulePackOrActionListsTheValidOnes) {
  EXPECT_TRUE(fails_at("rules:\n  packs: [secrets, passwords]\n", 2, "rules.packs[1]",
                       "must be one of secrets, pii, injection, prompt_injection, got "
                       "\"passwords\""));
  EXPECT_TRUE(fails_at("rules:\n  action: redact\n", 2, "rules.action",
                       "must be one of tag, hash, mask, drop, defuse, got \"redact\""));
  EXPECT_TRUE(fails_at("rules:\n  packs: [pii, pii]\n", 2, "rules.packs[1]",
                       "duplicate of rules.packs[0]"));
}

TEST(ConfigErrors, SystemPromptsNeedAUniqueNameAndExactlyOneOfFileOrText) {
  EXPECT_TRUE(fails_at("rules:\n  system_prompts:\n    - {file: a.txt}\n", 3,
                       "rules.system_prompts[0].name", "required key is missing"));
  EXPECT_TRUE(fails_at("rules:\n  system_prompts:\n    - {name: a, file: a.txt, text: hi}\n", 3,
                       "rules.system_prompts[0]", "takes exactly one of: file, text"));
  EXPECT_TRUE(fails_at("rules:\n  system_prompts:\n    - {name: a}\n", 3, "rules.system_prompts[0]",
                       "needs exactly one of: file, text"));
  EXPECT_TRUE(fails_at("rules:\n  system_prompts:\n    - {name: a, text: x}\n    - name: a\n"
                       "      text: y\n",
                       4, "rules.system_prompts[1].name", "duplicate of rules.system_prompts[0]"));
}

TEST(ConfigErrors, APolicyNeedsAJsonPointerAndAnAction) {
  EXPECT_TRUE(fails_at("policies:\n  - {path: features.note, action: drop}\n", 2,
                       "policies[0].path", "must be a JSON pointer starting with \"/\""));
  EXPECT_TRUE(fails_at("policies:\n  - {path: /a~2b, action: drop}\n", 2, "policies[0].path",
                       "\"~\" must be followed by 0 or 1"));
  EXPECT_TRUE(
      fails_at("policies:\n  - {path: /a}\n", 2, "policies[0].action", "required key is missing"));
  EXPECT_TRUE(fails_at("policies:\n  - {path: /a, action: tag}\n  - {path: /a, action: drop}\n", 3,
                       "policies[1].path", "duplicate of policies[0]"));
}

TEST(ConfigErrors, AKeySourceWithTwoKindsIsRefused) {
  EXPECT_TRUE(fails_at("rules:\n  hash_key: {env: K, file: k.bin}\n", 2, "rules.hash_key",
                       "takes exactly one of: hex, file, env (found file and env)"));
}

TEST(ConfigErrors, AKeySourceWithNoKindIsRefused) {
  EXPECT_TRUE(fails_at("rules:\n  hash_key: {}\n", 2, "rules.hash_key",
                       "needs exactly one of: hex, file, env"));
  EXPECT_TRUE(fails_at("integrity:\n  keys:\n    k1:\n", 3, "integrity.keys.k1",
                       "needs exactly one of: hex, file, env"));
}

TEST(ConfigErrors, AShortOddOrNonHexKeyIsRefused) {
  EXPECT_TRUE(fails_at("rules:\n  hash_key:\n    hex: \"00112233\"\n", 3, "rules.hash_key.hex",
                       "must be at least 32 hex digits (16 bytes)"));
  EXPECT_TRUE(fails_at("rules:\n  hash_key: {hex: \"00112233445566778899aabbccddeeff0\"}\n", 2,
                       "rules.hash_key.hex", "even number of hex digits"));
  EXPECT_TRUE(fails_at("rules:\n  hash_key: {hex: \"zz112233445566778899aabbccddeeff\"}\n", 2,
                       "rules.hash_key.hex", "only hex digits"));
}

TEST(ConfigErrors, OtherKeySourceMistakesAreRefused) {
  EXPECT_TRUE(fails_at("rules:\n  hash_key: {env: 1BAD}\n", 2, "rules.hash_key.env",
                       "not a valid environment variable name"));
  EXPECT_TRUE(fails_at("rules:\n  hash_key: {file: \"\"}\n", 2, "rules.hash_key.file",
                       "must not be empty"));
  EXPECT_TRUE(fails_at("rules:\n  hash_key: MY_VAR\n", 2, "rules.hash_key",
                       "expected a key source ({hex: \"...\"} or {file: PATH} or {env: VAR}), "
                       "got a scalar"));
  EXPECT_TRUE(fails_at("integrity:\n  audit_signing_key: {env: K}\n", 2,
                       "integrity.audit_signing_key", "only {file: PATH} is accepted here"));
  EXPECT_TRUE(fails_at("integrity:\n  keys:\n    \"k:1\": {env: K}\n", 3, "integrity.keys.k:1",
                       "a key id must be"));
}

TEST(ConfigErrors, ADriftReferenceWithBothWindowsAndFileIsRefused) {
  EXPECT_TRUE(fails_at("drift:\n  window: 1h\n  reference:\n    windows: 3\n    file: b.json\n", 4,
                       "drift.reference", "takes exactly one of: windows, file"));
  EXPECT_TRUE(fails_at("drift:\n  reference: {}\n", 2, "drift.reference",
                       "needs exactly one of: windows, file"));
}

TEST(ConfigErrors, ADriftFeatureNeedsAKnownType) {
  EXPECT_TRUE(fails_at("drift:\n  features:\n    - {path: /a, type: ordinal}\n", 3,
                       "drift.features[0].type", "must be one of numeric, categorical"));
  EXPECT_TRUE(fails_at("drift:\n  features:\n    - {path: /a}\n", 3, "drift.features[0].type",
                       "required key is missing"));
}

TEST(ConfigErrors, AnAuditKeyNamingAnUnknownKeyIsRefused) {
  EXPECT_TRUE(fails_at("integrity:\n  keys: {k1: {env: K1}, k2: {env: K2}}\n  audit_key: k3\n", 3,
                       "integrity.audit_key",
                       "names key \"k3\", which is not in integrity.keys (k1, k2)"));
  EXPECT_TRUE(fails_at("integrity:\n  audit_key: k1\n", 2, "integrity.audit_key",
                       "integrity.keys is empty"));
}

TEST(ConfigErrors, IntegrityOptionsThatContradictEachOtherAreRefused) {
  EXPECT_TRUE(fails_at("integrity:\n  keys: {k1: {env: K}}\n  audit_key: k1\n"
                       "  audit_signing_key: {file: a.pem}\n",
                       4, "integrity.audit_signing_key", "not both"));
  EXPECT_TRUE(fails_at("integrity:\n  require_signature: [svc]\n", 2, "integrity.require_signature",
                       "needs integrity.keys"));
}

TEST(ConfigErrors, AlertsAndHttpValuesAreChecked) {
  EXPECT_TRUE(fails_at("alerts:\n  format: cef\n", 2, "alerts.format",
                       "must be one of bulwark, ocsf, got \"cef\""));
  EXPECT_TRUE(fails_at("alerts:\n  alertmanager: 127.0.0.1:9093\n", 2, "alerts.alertmanager",
                       "an http:// URL with a host"));
  EXPECT_TRUE(fails_at("alerts:\n  alertmanager: \"http://\"\n", 2, "alerts.alertmanager",
                       "an http:// URL with a host"));
  EXPECT_TRUE(fails_at("alerts:\n  alertmanager: https://am.example.org\n", 2,
                       "alerts.alertmanager", "https is not supported"));
  for (const std::string_view listen : {"9464", "::1:9464", "host:65536", ":9464", "host:x"}) {
    SCOPED_TRACE(listen);
    EXPECT_TRUE(fails_at("http:\n  listen: \"" + std::string(listen) + "\"\n", 2, "http.listen",
                         "must be host:port"));
  }
}

TEST(ConfigErrors, ADuplicateKeyIsRefusedRatherThanGuessed) {
  EXPECT_TRUE(fails_at("workers: 1\nkafka: {}\nworkers: 2\n", 3, "workers",
                       "duplicate key (first at line 1)"));
}

TEST(ConfigErrors, AYamlSyntaxErrorIsReportedWithItsLine) {
  const load_error e = fails("workers: 1\nkafka:\n  inputs: [a, b\n  group_id: g\n");
  EXPECT_EQ(e.file, "test.yaml");
  EXPECT_GT(e.line, 2);
  EXPECT_EQ(e.key, "");
  EXPECT_NE(e.reason.find("invalid YAML"), std::string::npos) << e.reason;

  EXPECT_TRUE(fails_at("workers: 1\nkafka:\n\tbrokers: x\n", 3, "", "invalid YAML"));
}

TEST(ConfigErrors, ARootThatIsNotAMappingIsRefused) {
  EXPECT_TRUE(fails_at("- workers\n- kafka\n", 1, "", "must be a mapping"));
  EXPECT_TRUE(fails_at("\nhello\n", 2, "", "must be a mapping"));
}

TEST(ConfigErrors, ASecondYamlDocumentIsRefused) {
  EXPECT_TRUE(fails_at("workers: 1\n---\nworkers: 2\n", 3, "", "more than one YAML document"));
}

TEST(ConfigErrors, ATrailingDocumentMarkerIsAcceptedButADocumentAfterAnEmptyOneIsNot) {
  EXPECT_EQ(loads("workers: 3\n---\n").workers, 3);
  EXPECT_TRUE(fails_at("workers: 1\n---\n---\nworkers: 2\n", 4, "", "more than one YAML document"));
}

// Found by the config fuzz target: yaml-cpp 0.7's LoadAll never returns on
// these (it reports an empty document without consuming the token, forever).
TEST(ConfigErrors, ATokenTheYamlParserCannotConsumeIsAnErrorNotAHang) {
  for (const std::string_view yaml : {",", ",a}", ", shift: 0.014}}\n", "workers: 1\n---\n,\n"}) {
    const load_error e = fails(yaml);
    EXPECT_NE(e.reason.find("invalid YAML"), std::string::npos) << yaml << ": " << e.message();
  }
  const auto rules = load_rule_string(",a}", "r.yaml");
  ASSERT_TRUE(std::holds_alternative<load_error>(rules));
  EXPECT_NE(std::get<load_error>(rules).reason.find("invalid YAML"), std::string::npos);
}

TEST(ConfigErrors, MessageJoinsFileLineKeyAndReasonLeavingOutUnknownParts) {
  EXPECT_EQ((load_error{"b.yaml", 7, "kafka.embedded_partitions", "must be between 1 and 1000"})
                .message(),
            "b.yaml:7: kafka.embedded_partitions: must be between 1 and 1000");
  EXPECT_EQ((load_error{"b.yaml", 0, "", "cannot read: No such file or directory"}).message(),
            "b.yaml: cannot read: No such file or directory");
  EXPECT_EQ((load_error{"b.yaml", 3, "", "invalid YAML: x"}).message(),
            "b.yaml:3: invalid YAML: x");
}

TEST(ConfigErrors, LoadStringNamesTheGivenSourceInErrors) {
  auto result = load_string("workerz: 1", "inline config");
  ASSERT_TRUE(std::holds_alternative<load_error>(result));
  EXPECT_EQ(std::get<load_error>(result).message(),
            "inline config:1: workerz: unknown key, did you mean \"workers\"? (known keys: "
            "workers, limits, kafka, rules, policies, drift, integrity, alerts, http)");
}

// ---------------------------------------------------------------------------
// Key material stays out of errors.

TEST(ConfigSecrecy, AHexKeyNeverAppearsInAnyErrorMessage) {
  const std::string key(hex_key);
  const std::string odd = key + "a";
  const std::string bad = "zz" + key.substr(2);
  const std::string shorter = key.substr(0, 30);
  const std::vector<std::string> configs = {
      "rules:\n  hash_key: {hex: \"" + odd + "\"}\n",
      "rules:\n  hash_key: {hex: \"" + bad + "\"}\n",
      "rules:\n  hash_key: {hex: \"" + shorter + "\"}\n",
      "rules:\n  hash_key: {hex: \"" + key + "\", env: K}\n",
      "rules:\n  hash_key: \"" + key + "\"\n",
      "rules:\n  hash_key: [\"" + key + "\"]\n",
      "integrity:\n  keys: {k1: \"" + key + "\"}\n",
      "integrity:\n  keys: {k1: {hex: \"" + key + "\"}}\n  audit_key: \"" + key + "\"\n",
      "integrity:\n  audit_signing_key: {hex: \"" + key + "\"}\n",
      "workers: " + key + "\n",
      "kafka:\n  group_id: \"" + key + "\"\n  bogus: 1\n",
      "kafka:\n  properties: {sasl.password: [\"" + key + "\"]}\n",
  };
  for (const auto& yaml : configs) {
    SCOPED_TRACE(yaml);
    const load_error e = fails(yaml);
    EXPECT_FALSE(e.reason.empty());
    EXPECT_EQ(e.message().find(shorter), std::string::npos) << e.message();
    EXPECT_EQ(e.message().find(key.substr(2, 24)), std::string::npos) << e.message();
  }
}

// ---------------------------------------------------------------------------
// Durations and sizes

TEST(ParseDuration, AcceptsAnIntegerWithAUnit) {
  const std::vector<std::pair<std::string_view, duration>> cases = {
      {"250ms", 250ms},  {"0s", 0s},
      {"90s", 90s},      {"5m", 5min},
      {"1h", 1h},        {"1d", 24h},
      {"007s", 7s},      {"36h", 36h},
      {"1000d", 24000h}, {"9223372036854775807ms", duration(9223372036854775807)},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    const auto d = parse_duration(text);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, expected);
  }
}

TEST(ParseDuration, RejectsBareNumbersSignsFractionsSpacesUnknownUnitsAndOverflow) {
  for (const std::string_view text :
       {"", "90", "s", "-5s", "+5s", "1.5h", " 5s", "5s ", "5 s", "5S", "5min", "5sec", "1w", "5s5",
        "0x10s", "9223372036854775808ms", "106751991167301d", "99999999999999999999999s"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse_duration(text).has_value());
  }
}

TEST(ParseByteSize, AcceptsBytesAndBinaryUnits) {
  EXPECT_EQ(parse_byte_size("64"), 64U);
  EXPECT_EQ(parse_byte_size("64B"), 64U);
  EXPECT_EQ(parse_byte_size("512KiB"), 512U * 1024U);
  EXPECT_EQ(parse_byte_size("1MiB"), 1048576U);
  EXPECT_EQ(parse_byte_size("2GiB"), 2ULL << 30U);
  for (const std::string_view text :
       {"", "1MB", "1kb", "1 MiB", "-1", "1.5MiB", "MiB", "99999999999999999999GiB"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse_byte_size(text).has_value());
  }
}

// ---------------------------------------------------------------------------
// Files

class ConfigFiles : public testing::Test {
protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "bulwark-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string write(const std::string& name, std::string_view content) {
    const auto path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << content;
    return path.string();
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigFiles, AFileLoadsAndItsDirectoryBecomesTheBaseDirectory) {
  const std::string path = write("conf/bulwark.yaml", "workers: 2\n");
  auto result = load_file(path);
  ASSERT_TRUE(std::holds_alternative<options>(result)) << std::get<load_error>(result).message();
  EXPECT_EQ(std::get<options>(result).workers, 2);
  EXPECT_EQ(std::get<options>(result).base_dir, (dir_ / "conf").string());
}

TEST_F(ConfigFiles, AnEmptyFileLoadsTheDefaults) {
  auto result = load_file(write("empty.yaml", ""));
  ASSERT_TRUE(std::holds_alternative<options>(result));
  options expected;
  expected.base_dir = dir_.string();
  EXPECT_EQ(dump(std::get<options>(result)), dump(expected));
}

TEST_F(ConfigFiles, ErrorsNameThePathOfTheFile) {
  const std::string path = write("bad.yaml", "# header\nkafka:\n  brokerz: x\n");
  auto result = load_file(path);
  ASSERT_TRUE(std::holds_alternative<load_error>(result));
  EXPECT_TRUE(is_error(std::get<load_error>(result), path, 3, "kafka.brokerz", "unknown key"));
  EXPECT_EQ(std::get<load_error>(result).message().rfind(path + ":3: kafka.brokerz: ", 0), 0U);
}

TEST_F(ConfigFiles, AMissingFileCannotBeRead) {
  const std::string path = (dir_ / "missing.yaml").string();
  auto result = load_file(path);
  ASSERT_TRUE(std::holds_alternative<load_error>(result));
  EXPECT_TRUE(is_error(std::get<load_error>(result), path, 0, "",
                       "cannot read: No such file or directory"));
}

TEST_F(ConfigFiles, ADirectoryCannotBeRead) {
  auto result = load_file(dir_.string());
  ASSERT_TRUE(std::holds_alternative<load_error>(result));
  EXPECT_TRUE(is_error(std::get<load_error>(result), dir_.string(), 0, "", "cannot read: "));
}

TEST_F(ConfigFiles, ARelativePathGivesAnAbsoluteBaseDirSoALaterChdirCannotMoveIt) {
  const auto previous = std::filesystem::current_path();
  write("sub/here.yaml", "");
  std::filesystem::current_path(dir_);
  auto result = load_file("sub/../sub/here.yaml");
  std::filesystem::current_path(previous);
  ASSERT_TRUE(std::holds_alternative<options>(result));
  EXPECT_EQ(std::get<options>(result).base_dir,
            std::filesystem::weakly_canonical(dir_ / "sub").string());
}

// ---------------------------------------------------------------------------
// Settings beyond SPEC §2: drift, integrity, alerts

TEST(ConfigExtras, DriftSettingsLandInTheirFields) {
  const options o = loads(R"(drift:
  window: 10m
  features:
    - {path: /score, type: numeric, floors: {psi: 0.2}}
    - {path: /country, type: categorical}
  allowed_lateness: 0s
  max_keys: 10
  evict_idle_windows: 48
  scales: [{windows: 6, step: 2}, {windows: 144}]
  bins: 16
  max_categories: 8
  min_window_events: 50
  min_pane_events: 10
  false_alarm_windows: 1e4
  floors: {js: 0.05}
  large: {psi: 0.5, js: 0.3, shift: 0.2}
  cusum_slack: 0.25
  repeat_windows: 6
)");
  const drift_options& d = o.drift;
  ASSERT_EQ(d.features.size(), 2U);
  EXPECT_EQ(d.features[0].floors.psi, 0.2);
  EXPECT_FALSE(d.features[0].floors.js);
  EXPECT_FALSE(d.features[1].floors.psi);
  ASSERT_TRUE(d.allowed_lateness);
  EXPECT_EQ(*d.allowed_lateness, 0ms);
  EXPECT_EQ(d.max_keys, 10U);
  EXPECT_EQ(d.evict_idle_windows, 48U);
  ASSERT_EQ(d.scales.size(), 2U);
  EXPECT_EQ(d.scales[0].windows, 6U);
  EXPECT_EQ(d.scales[0].step, 2U);
  EXPECT_EQ(d.scales[1].windows, 144U);
  EXPECT_EQ(d.scales[1].step, 1U);
  EXPECT_EQ(d.bins, 16U);
  EXPECT_EQ(d.max_categories, 8U);
  EXPECT_EQ(d.min_window_events, 50U);
  EXPECT_EQ(d.min_pane_events, 10U);
  EXPECT_EQ(d.false_alarm_windows, 1e4);
  // A floor left out of the section keeps its default.
  EXPECT_EQ(d.floors.psi, 0.10);
  EXPECT_EQ(d.floors.js, 0.05);
  EXPECT_EQ(d.floors.shift, 0.014);
  EXPECT_EQ(d.large.psi, 0.5);
  EXPECT_EQ(d.cusum_slack, 0.25);
  EXPECT_EQ(d.repeat_windows, 6U);
}

TEST(ConfigExtras, DriftSettingsAreChecked) {
  EXPECT_TRUE(fails_at("drift:\n  scales: [{windows: 10, step: 3}]\n", 2, "drift.scales[0]",
                       "step (3) must divide windows (10)"));
  EXPECT_TRUE(fails_at("drift:\n  scales: [{step: 3}]\n", 2, "drift.scales[0].windows",
                       "required key is missing"));
  EXPECT_TRUE(fails_at("drift:\n  bins: 1\n", 2, "drift.bins", "between 2 and 1024"));
  EXPECT_TRUE(fails_at("drift:\n  floors: {psi: -0.1}\n", 2, "drift.floors.psi", "between 0"));
  EXPECT_TRUE(fails_at("drift:\n  floors: {shift: 0.7}\n", 2, "drift.floors.shift", "and 0.5"));
  EXPECT_TRUE(fails_at("drift:\n  cusum_slack: lots\n", 2, "drift.cusum_slack",
                       "expected a number, got \"lots\""));
  EXPECT_TRUE(fails_at("drift:\n  false_alarm_windows: .nan\n", 2, "drift.false_alarm_windows",
                       "expected a number"));
  EXPECT_TRUE(
      fails_at("drift:\n  allowed_lateness: 5\n", 2, "drift.allowed_lateness", "not a duration"));
  EXPECT_TRUE(fails_at("drift:\n  features:\n    - {path: /a, type: numeric, floors: {psy: 1}}\n",
                       3, "drift.features[0].floors.psy", "psi"));
}

TEST(ConfigExtras, IntegritySettingsLandInTheirFields) {
  const options o = loads(R"(integrity:
  keys:
    old: {env: OLD_KEY, not_after: "2026-11-30T00:00:00Z"}
    new: {env: NEW_KEY, not_before: "2026-11-28T00:00:00Z"}
    plain: {env: PLAIN_KEY}
  replay_window: 2048
  reorder_tolerance: 128
  reset_max_seq: 4
  watermark_quorum: 5
  max_sources: 100
  max_streams: 200
  max_epochs_per_source: 2
  poisoning:
    window: 5m
    min_peers: 5
    z_threshold: 4.5
    persistence: 3
    persistence_lookback: 6
    untrusted_for: 2h
    rollback_min_z: 1.5
    non_negative: ["*latency*"]
    unit_interval: ["*rate*"]
    higher_is_worse: ["*latency*"]
    lower_is_worse: ["*accuracy*"]
)");
  const integrity_options& i = o.integrity;
  ASSERT_EQ(i.keys.size(), 3U);
  EXPECT_EQ(i.keys.at("old").value, "OLD_KEY");
  EXPECT_EQ(i.keys.at("new").from, key_source::kind::env);
  ASSERT_EQ(i.key_windows.size(), 2U); // `plain` has none
  EXPECT_FALSE(i.key_windows.at("old").not_before);
  EXPECT_EQ(i.key_windows.at("old").not_after, 1'795'996'800'000); // 2026-11-30T00:00:00Z
  EXPECT_EQ(i.key_windows.at("new").not_before, 1'795'824'000'000);
  EXPECT_FALSE(i.key_windows.at("new").not_after);
  EXPECT_EQ(i.audit_key, "old"); // the first key in file order, windows or not
  EXPECT_EQ(i.reorder_tolerance, 128U);
  EXPECT_EQ(i.reset_max_seq, 4U);
  EXPECT_EQ(i.watermark_quorum, 5U);
  EXPECT_EQ(i.max_sources, 100U);
  EXPECT_EQ(i.max_streams, 200U);
  EXPECT_EQ(i.max_epochs_per_source, 2U);
  EXPECT_EQ(i.poisoning.window, 5min);
  EXPECT_EQ(i.poisoning.min_peers, 5U);
  EXPECT_EQ(i.poisoning.z_threshold, 4.5);
  EXPECT_EQ(i.poisoning.persistence, 3U);
  EXPECT_EQ(i.poisoning.persistence_lookback, 6U);
  EXPECT_EQ(i.poisoning.untrusted_for, 2h);
  EXPECT_EQ(i.poisoning.rollback_min_z, 1.5);
  EXPECT_EQ(i.poisoning.unit_interval, std::vector<std::string>{"*rate*"});
}

TEST(ConfigExtras, IntegritySettingsAreChecked) {
  EXPECT_TRUE(fails_at("integrity:\n  keys:\n    k1: {env: K, not_before: tomorrow}\n", 3,
                       "integrity.keys.k1.not_before", "not an RFC 3339 time"));
  EXPECT_TRUE(
      fails_at("integrity:\n  keys:\n    k1: {env: K, not_before: \"2026-12-01T00:00:00Z\", "
               "not_after: \"2026-11-01T00:00:00Z\"}\n",
               3, "integrity.keys.k1", "not_before is after not_after"));
  // The rest of the entry is still a key source, with its own checks.
  EXPECT_TRUE(fails_at("integrity:\n  keys:\n    k1: {not_after: \"2026-11-01T00:00:00Z\"}\n", 3,
                       "integrity.keys.k1", "exactly one of"));
  EXPECT_TRUE(fails_at("integrity:\n  keys:\n    k1: {env: K, colour: red}\n", 3,
                       "integrity.keys.k1.colour", "unknown key"));
  EXPECT_TRUE(fails_at("integrity:\n  keys:\n    \"a:b\": {env: K}\n", 3, "integrity.keys.a:b",
                       "a key id must be"));
  EXPECT_TRUE(fails_at("integrity:\n  replay_window: 64\n  reorder_tolerance: 63\n", 3,
                       "integrity.reorder_tolerance", "must be below replay_window - 1 (64)"));
  EXPECT_TRUE(fails_at("integrity:\n  poisoning: {min_peers: 2}\n", 2,
                       "integrity.poisoning.min_peers", "between 3 and 256"));
  EXPECT_TRUE(fails_at("integrity:\n  poisoning: {persistence: 6}\n", 2,
                       "integrity.poisoning.persistence",
                       "must not exceed persistence_lookback (5)"));
}

TEST(ConfigExtras, AlertSettingsLandInTheirFields) {
  const options o = loads(R"(alerts:
  timers:
    medium: {group_wait: 0s, group_interval: 1m}
    critical: {repeat_interval: 30m}
  kinds:
    integrity.gap: {group_interval: 10m}
    drift: {repeat_interval: 0s}
  per_source: {burst: 5, refill_every: 12s}
  unverified: {burst: 2}
  global: {refill_every: 500ms}
  flood: {window: 30s, enter: 500, exit: 100, quiet_for: 2m, update_interval: 10s, top: 5}
  max_alerts: 100
  max_sources: 50
)");
  const alerts_options& a = o.alerts;
  EXPECT_FALSE(a.timers[0].group_wait);
  EXPECT_EQ(a.timers[1].group_wait, 0ms);
  EXPECT_EQ(a.timers[1].group_interval, 1min);
  EXPECT_FALSE(a.timers[1].repeat_interval);
  EXPECT_EQ(a.timers[3].repeat_interval, 30min);
  ASSERT_EQ(a.kinds.size(), 2U);
  EXPECT_EQ(a.kinds.at("integrity.gap").group_interval, 10min);
  EXPECT_EQ(a.kinds.at("drift").repeat_interval, 0ms);
  EXPECT_EQ(a.per_source.burst, 5U);
  EXPECT_EQ(a.per_source.refill_every, 12s);
  EXPECT_EQ(a.unverified.burst, 2U);
  EXPECT_EQ(a.unverified.refill_every, 6s);
  EXPECT_EQ(a.global.burst, 100U);
  EXPECT_EQ(a.global.refill_every, 500ms);
  EXPECT_EQ(a.flood.window, 30s);
  EXPECT_EQ(a.flood.enter, 500U);
  EXPECT_EQ(a.flood.exit, 100U);
  EXPECT_EQ(a.flood.quiet_for, 2min);
  EXPECT_EQ(a.flood.update_interval, 10s);
  EXPECT_EQ(a.flood.top, 5U);
  EXPECT_EQ(a.max_alerts, 100U);
  EXPECT_EQ(a.max_sources, 50U);
}

TEST(ConfigExtras, AlertSettingsAreChecked) {
  EXPECT_TRUE(fails_at("alerts:\n  timers:\n    urgent: {group_wait: 1s}\n", 3,
                       "alerts.timers.urgent", "not a severity: use low, medium, high, critical"));
  EXPECT_TRUE(fails_at("alerts:\n  kinds:\n    integrity.gaps: {group_wait: 1s}\n", 3,
                       "alerts.kinds.integrity.gaps", "not an alert kind"));
  EXPECT_TRUE(fails_at("alerts:\n  timers:\n    low: {resolve_timeout: 0s}\n", 3,
                       "alerts.timers.low.resolve_timeout", "greater than 0"));
  EXPECT_TRUE(fails_at("alerts:\n  flood: {enter: 10, exit: 10}\n", 2, "alerts.flood.exit",
                       "must be below enter (10)"));
  EXPECT_TRUE(
      fails_at("alerts:\n  per_source: {burst: 0}\n", 2, "alerts.per_source.burst", "between 1"));
}

} // namespace
} // namespace bulwark::config
