// Key hygiene (issue 10.5): private key files only, no key material in any
// error, and the list of inline keys `run` warns about.
#include "config/load.hpp"
#include "crypto/keys.hpp"
#include "support/temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace bulwark::crypto {
namespace {

using bulwark::testing::temp_dir;
using bulwark::testing::write_file;
using kind = config::key_source::kind;

// Recognisable key material: if any error quotes a key, it quotes one of these.
const std::string canary_hex = "c0ffee11c0ffee22c0ffee33c0ffee44c0ffee55c0ffee66";
const std::string canary_short = "c0ffee77c0ffee88"; // 8 bytes: too short to be a key

std::string reason_of(const std::variant<key_bytes, key_error>& loaded) {
  if (!std::holds_alternative<key_error>(loaded)) {
    ADD_FAILURE() << "the key loaded, an error was expected";
    return {};
  }
  return std::get<key_error>(loaded).reason;
}

std::variant<key_bytes, key_error> from_file(const temp_dir& dir, const std::string& name) {
  return load_key({kind::file, name}, dir.path().string());
}

void set_mode(const std::string& path, unsigned mode) {
  ASSERT_EQ(::chmod(path.c_str(), static_cast<mode_t>(mode)), 0);
}

TEST(KeyFiles, PrivateFilesLoad) {
  temp_dir dir;
  write_file(dir.file("k.hex"), canary_hex + "\n");
  for (const unsigned mode : {0600U, 0400U, 0700U}) {
    set_mode(dir.file("k.hex"), mode);
    const auto k = from_file(dir, "k.hex");
    ASSERT_TRUE(std::holds_alternative<key_bytes>(k)) << std::oct << mode;
    EXPECT_EQ(std::get<key_bytes>(k).size(), canary_hex.size() / 2);
  }
}

TEST(KeyFiles, AnyAccessForOtherUsersIsRefusedWithTheModeAndTheFix) {
  temp_dir dir;
  write_file(dir.file("k.hex"), canary_hex + "\n");
  for (const unsigned mode : {0644U, 0604U, 0602U, 0601U, 0666U, 0400U | 04U}) {
    set_mode(dir.file("k.hex"), mode);
    const std::string reason = reason_of(from_file(dir, "k.hex"));
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode);
    EXPECT_NE(reason.find("key file " + dir.file("k.hex")), std::string::npos) << reason;
    EXPECT_NE(reason.find(std::string("mode ") + octal), std::string::npos) << reason;
    EXPECT_NE(reason.find("other users"), std::string::npos) << reason;
    EXPECT_NE(reason.find("chmod 600 " + dir.file("k.hex")), std::string::npos) << reason;
    EXPECT_EQ(reason.find(canary_hex), std::string::npos) << reason;
  }
}

// The decision documented in docs/configuration.md ("Keys"): group access is
// refused like other users' (as ssh does), and the message says which.
TEST(KeyFiles, GroupAccessIsRefusedToo) {
  temp_dir dir;
  write_file(dir.file("k.hex"), canary_hex);
  for (const unsigned mode : {0640U, 0620U, 0610U, 0440U}) {
    set_mode(dir.file("k.hex"), mode);
    const std::string reason = reason_of(from_file(dir, "k.hex"));
    EXPECT_NE(reason.find("its group"), std::string::npos) << reason;
    EXPECT_NE(reason.find("chmod 600"), std::string::npos) << reason;
    EXPECT_EQ(reason.find(canary_hex), std::string::npos) << reason;
  }
}

TEST(KeyFiles, OnlyRegularFilesOfAtMost64KiBAreRead) {
  temp_dir dir;
  std::filesystem::create_directory(dir.file("keys"));
  set_mode(dir.file("keys"), 0700);
  EXPECT_NE(reason_of(from_file(dir, "keys")).find("not a regular file"), std::string::npos);

  // A FIFO is refused at once rather than waited on.
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
  EXPECT_NE(reason_of(from_file(dir, "fifo")).find("not a regular file"), std::string::npos);

  write_file(dir.file("big"), std::string(64 * 1024 + 1, 'a'));
  set_mode(dir.file("big"), 0600);
  const std::string big = reason_of(from_file(dir, "big"));
  EXPECT_NE(big.find("larger than 64 KiB"), std::string::npos) << big;
  EXPECT_EQ(big.find("aaaa"), std::string::npos) << big;

  EXPECT_NE(reason_of(from_file(dir, "missing")).find("No such file"), std::string::npos);
}

TEST(KeyErrors, NeverEchoTheKeyMaterial) {
  temp_dir dir;
  // A short key in a private file: refused for its length, not quoted.
  write_file(dir.file("short.hex"), canary_short + "\n");
  set_mode(dir.file("short.hex"), 0600);
  const std::string short_file = reason_of(from_file(dir, "short.hex"));
  EXPECT_NE(short_file.find("at least 16 bytes"), std::string::npos) << short_file;
  EXPECT_EQ(short_file.find(canary_short), std::string::npos) << short_file;

  // Malformed hex around a long recognisable value, inline and in the environment.
  const std::vector<std::string> malformed{canary_hex + "zz", "zz" + canary_hex, canary_hex + "0",
                                           canary_hex + " " + canary_hex, canary_short};
  for (const auto& value : malformed) {
    const std::string inline_reason = reason_of(load_key({kind::hex, value}, "."));
    EXPECT_EQ(inline_reason.find("c0ffee"), std::string::npos) << inline_reason;
    ::setenv("BULWARK_HYGIENE_KEY", value.c_str(), 1);
    const std::string env_reason = reason_of(load_key({kind::env, "BULWARK_HYGIENE_KEY"}, "."));
    ::unsetenv("BULWARK_HYGIENE_KEY");
    EXPECT_NE(env_reason.find("env BULWARK_HYGIENE_KEY"), std::string::npos) << env_reason;
    EXPECT_EQ(env_reason.find("c0ffee"), std::string::npos) << env_reason;
  }

  // An exposed file is refused before it is read.
  write_file(dir.file("open.hex"), canary_hex);
  set_mode(dir.file("open.hex"), 0644);
  EXPECT_EQ(reason_of(from_file(dir, "open.hex")).find("c0ffee"), std::string::npos);
}

TEST(KeyErrors, TheConfigurationLoaderNeverEchoesAKeyEither) {
  const std::vector<std::string> files{
      "integrity:\n  keys:\n    k1: {hex: \"" + canary_hex + "zz\"}\n",
      "integrity:\n  keys:\n    k1: {hex: \"" + canary_hex + "0\"}\n",
      "integrity:\n  keys:\n    k1: {hex: \"" + canary_short + "\"}\n",
      "integrity:\n  keys:\n    k1: \"" + canary_hex + "\"\n", // the key where a source belongs
      "integrity:\n  keys:\n    k1: {hex: \"" + canary_hex + "\", file: k.bin}\n",
      "rules:\n  hash_key: {hex: \"" + canary_hex + "g\"}\n",
      "rules:\n  hash_key: " + canary_hex + "\n",
      "integrity:\n  keys: {k1: {env: K}}\n  audit_signing_key: {hex: \"" + canary_hex + "\"}\n",
  };
  for (const auto& yaml : files) {
    const auto loaded = config::load_string(yaml, "hygiene.yaml");
    ASSERT_TRUE(std::holds_alternative<config::load_error>(loaded)) << yaml;
    const std::string message = std::get<config::load_error>(loaded).message();
    EXPECT_EQ(message.find("c0ffee"), std::string::npos) << message;
  }
}

TEST(InlineKeys, NamesTheConfigurationPathOfEveryHexKeyAndNothingElse) {
  const auto loaded = config::load_string("rules:\n"
                                          "  hash_key: {hex: \"" +
                                              canary_hex +
                                              "\"}\n"
                                              "integrity:\n"
                                              "  keys:\n"
                                              "    zeta: {hex: \"" +
                                              canary_hex +
                                              "\"}\n"
                                              "    alpha: {env: BULWARK_K}\n"
                                              "    beta: {file: keys/beta.hex}\n"
                                              "    gamma: {hex: \"" +
                                              canary_hex + "\"}\n",
                                          "inline.yaml");
  ASSERT_TRUE(std::holds_alternative<config::options>(loaded));
  const auto& o = std::get<config::options>(loaded);
  EXPECT_EQ(
      config::inline_keys(o),
      (std::vector<std::string>{"rules.hash_key", "integrity.keys.gamma", "integrity.keys.zeta"}));

  EXPECT_TRUE(config::inline_keys(config::options{}).empty()); // hash_key: {env: …}

  config::options by_hand;
  by_hand.integrity.audit_signing_key = {kind::hex, canary_hex};
  EXPECT_EQ(config::inline_keys(by_hand), std::vector<std::string>{"integrity.audit_signing_key"});
}

} // namespace
} // namespace bulwark::crypto
