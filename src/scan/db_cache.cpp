#include "scan/db_cache.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string_view>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bulwark::scan::db_cache {
namespace {

constexpr char magic[8] = {'B', 'W', 'H', 'S', 'D', 'B', '0', '1'};

std::uint64_t fnv1a(const std::string& s) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string file_for(const std::string& dir, const std::string& key) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.hsdb", static_cast<unsigned long long>(fnv1a(key)));
  return dir + "/" + name;
}

/// The directory exists (created 0700 if missing), is ours and not writable by others.
bool usable(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec))
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  if (st.st_uid != ::geteuid()) return false;
  return (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/// A cache file mapped read-only: no copy but Hyperscan's own when it
/// deserializes (reading it into a growing string cost ~10% of start-up).
/// Files are only ever replaced whole (store() renames a new one over them),
/// never truncated in place, so a mapping cannot lose its pages under it.
class mapped_file {
public:
  explicit mapped_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ,
                       MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const char*>(p);
        size_ = static_cast<std::size_t>(st.st_size);
      }
    }
    ::close(fd);
  }
  ~mapped_file() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  std::string_view bytes() const noexcept { return {data_ == nullptr ? "" : data_, size_}; }

private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

} // namespace

std::string directory() {
  std::string dir;
  if (const char* d = std::getenv("BULWARK_CACHE_DIR"); d != nullptr && *d != '\0') {
    if (std::strcmp(d, "off") == 0) return {};
    dir = d;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
    dir = std::string(x) + "/bulwark";
  } else if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    dir = std::string(h) + "/.cache/bulwark";
  }
  if (dir.empty() || !usable(dir)) return {};
  return dir;
}

hs_database_ptr load(const std::string& dir, const std::string& key) {
  if (dir.empty()) return nullptr;
  const mapped_file file(file_for(dir, key));
  const std::string_view content = file.bytes();
  const std::size_t head = sizeof magic + sizeof(std::uint64_t);
  if (content.size() < head || std::memcmp(content.data(), magic, sizeof magic) != 0)
    return nullptr;
  std::uint64_t key_size = 0;
  std::memcpy(&key_size, content.data() + sizeof magic, sizeof key_size);
  if (key_size != key.size() || content.size() < head + key_size ||
      content.compare(head, key_size, key) != 0)
    return nullptr;
  const std::size_t offset = head + key_size;
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(content.data() + offset, content.size() - offset, &db) != HS_SUCCESS)
    return nullptr;
  return hs_database_ptr(db);
}

void store(const std::string& dir, const std::string& key, const hs_database_t* db) {
  if (dir.empty() || db == nullptr) return;
  char* bytes = nullptr;
  std::size_t size = 0;
  if (hs_serialize_database(db, &bytes, &size) != HS_SUCCESS) return;
  const std::string path = file_for(dir, key);
  // Written whole to a private temporary file, then renamed: readers never see
  // a partial file, and concurrent writers each write their own.
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd >= 0) {
    const std::uint64_t key_size = key.size();
    std::FILE* f = ::fdopen(fd, "wb");
    bool ok = f != nullptr;
    if (ok) {
      ok = std::fwrite(magic, 1, sizeof magic, f) == sizeof magic &&
           std::fwrite(&key_size, 1, sizeof key_size, f) == sizeof key_size &&
           std::fwrite(key.data(), 1, key.size(), f) == key.size() &&
           std::fwrite(bytes, 1, size, f) == size;
      ok = std::fclose(f) == 0 && ok;
    } else {
      ::close(fd);
    }
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
  }
  std::free(bytes);
}

} // namespace bulwark::scan::db_cache
