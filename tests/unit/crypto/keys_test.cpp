#include "crypto/keys.hpp"
#include "support/temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>

namespace bulwark::crypto {
namespace {

using bulwark::testing::temp_dir;
using bulwark::testing::write_file;

const std::string hex32 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

config::key_source source(config::key_source::kind k, std::string v) {
  return {k, std::move(v)};
}

TEST(Keys, AHexKeyDecodes) {
  auto k = load_key(source(config::key_source::kind::hex, hex32), ".");
  ASSERT_TRUE(std::holds_alternative<key_bytes>(k));
  EXPECT_EQ(std::get<key_bytes>(k).size(), 32U);
  EXPECT_EQ(std::get<key_bytes>(k)[31], 0x1f);
}

TEST(Keys, AnEnvironmentKeyIsReadAndAMissingOneNamed) {
  ::setenv("BULWARK_TEST_KEY", hex32.c_str(), 1);
  auto k = load_key(source(config::key_source::kind::env, "BULWARK_TEST_KEY"), ".");
  EXPECT_TRUE(std::holds_alternative<key_bytes>(k));
  ::unsetenv("BULWARK_TEST_KEY");
  auto missing = load_key(source(config::key_source::kind::env, "BULWARK_TEST_KEY"), ".");
  ASSERT_TRUE(std::holds_alternative<key_error>(missing));
  EXPECT_EQ(std::get<key_error>(missing).reason, "env BULWARK_TEST_KEY: not set");
}

TEST(Keys, AKeyFileMustBePrivateAndIsResolvedAgainstTheConfigDirectory) {
  temp_dir dir;
  write_file(dir.file("k.hex"), hex32 + "\n");
  std::filesystem::permissions(dir.file("k.hex"), std::filesystem::perms::owner_read |
                                                      std::filesystem::perms::owner_write);
  auto k = load_key(source(config::key_source::kind::file, "k.hex"), dir.path().string());
  ASSERT_TRUE(std::holds_alternative<key_bytes>(k));
  EXPECT_EQ(std::get<key_bytes>(k).size(), 32U);
  std::filesystem::permissions(dir.file("k.hex"), std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  auto refused = load_key(source(config::key_source::kind::file, "k.hex"), dir.path().string());
  ASSERT_TRUE(std::holds_alternative<key_error>(refused));
  EXPECT_NE(std::get<key_error>(refused).reason.find("other users"), std::string::npos);
}

TEST(Keys, ErrorsNeverContainTheKey) {
  const std::string short_hex = "deadbeefdeadbeef";
  auto k = load_key(source(config::key_source::kind::hex, short_hex), ".");
  ASSERT_TRUE(std::holds_alternative<key_error>(k));
  EXPECT_EQ(std::get<key_error>(k).reason.find(short_hex), std::string::npos);
  auto bad = load_key(source(config::key_source::kind::hex, "zz" + hex32), ".");
  ASSERT_TRUE(std::holds_alternative<key_error>(bad));
  EXPECT_EQ(std::get<key_error>(bad).reason.find(hex32), std::string::npos);
}

} // namespace
} // namespace bulwark::crypto
