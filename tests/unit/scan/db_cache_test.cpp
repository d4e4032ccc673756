#include "scan/db_cache.hpp"
#include "scan/scanner.hpp"
#include "support/temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>

namespace bulwark::scan {
namespace {

using bulwark::testing::temp_dir;

hs_database_ptr compile_one(const char* pattern) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  EXPECT_EQ(hs_compile(pattern, HS_FLAG_SINGLEMATCH, HS_MODE_BLOCK, nullptr, &db, &err),
            HS_SUCCESS);
  return hs_database_ptr(db);
}

TEST(DbCache, AStoredDatabaseLoadsForTheSameKeyOnly) {
  temp_dir dir;
  const std::string d = dir.file("cache");
  std::filesystem::create_directories(d);
  std::filesystem::permissions(d, std::filesystem::perms::owner_all);
  const auto db = compile_one("abc");
  db_cache::store(d, "key one", db.get());
  EXPECT_TRUE(db_cache::load(d, "key one"));
  EXPECT_FALSE(db_cache::load(d, "key two"));
}

TEST(DbCache, AFileWhoseKeyDiffersIsNotUsedEvenUnderTheSameName) {
  temp_dir dir;
  const std::string d = dir.file("cache");
  std::filesystem::create_directories(d);
  std::filesystem::permissions(d, std::filesystem::perms::owner_all);
  db_cache::store(d, "key", compile_one("abc").get());
  // Corrupt the stored key in place: the file name still matches, the content does not.
  for (const auto& entry : std::filesystem::directory_iterator(d)) {
    std::string content = bulwark::testing::read_file(entry.path().string());
    const auto pos = content.find("key");
    ASSERT_NE(pos, std::string::npos);
    content[pos] = 'K';
    bulwark::testing::write_file(entry.path().string(), content);
  }
  EXPECT_FALSE(db_cache::load(d, "key"));
}

TEST(DbCache, ADirectoryOthersCanWriteIsNotUsed) {
  temp_dir dir;
  const std::string d = dir.file("shared");
  std::filesystem::create_directories(d);
  std::filesystem::permissions(d, std::filesystem::perms::all);
  ::setenv("BULWARK_CACHE_DIR", d.c_str(), 1);
  EXPECT_EQ(db_cache::directory(), "");
  ::setenv("BULWARK_CACHE_DIR", "off", 1);
  EXPECT_EQ(db_cache::directory(), "");
  ::unsetenv("BULWARK_CACHE_DIR");
}

TEST(DbCache, RulesLoadedFromTheCacheFindTheSameMatches) {
  temp_dir dir;
  ::setenv("BULWARK_CACHE_DIR", dir.file("c").c_str(), 1);
  const std::string text = "key AKIAZ3MSJV4WWNKWW5FG and mail bob@example.com <script>";
  std::vector<match> first, second;
  for (auto* out : {&first, &second}) {
    auto built = load_ruleset(default_rules_dir(), {"secrets", "pii", "injection"}, {});
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const ruleset>>(built));
    scanner s(std::get<std::shared_ptr<const ruleset>>(built));
    s.scan(text, *out);
  }
  ::unsetenv("BULWARK_CACHE_DIR");
  EXPECT_FALSE(std::filesystem::is_empty(dir.file("c"))) << "the first load filled the cache";
  ASSERT_EQ(first.size(), 3U);
  ASSERT_EQ(second.size(), first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].rule, second[i].rule);
    EXPECT_EQ(first[i].begin, second[i].begin);
    EXPECT_EQ(first[i].end, second[i].end);
  }
}

} // namespace
} // namespace bulwark::scan
