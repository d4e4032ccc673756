#include "integrity/snapshot.hpp"

#include <algorithm>
#include <cstring>

namespace bulwark::integrity {
namespace {

constexpr std::string_view magic = "BWIS";
constexpr std::string_view position_magic = "BWIP";

enum flag : std::uint8_t {
  has_newest = 1,
  has_heard = 2,
  is_silent = 4,
  wall_clock = 8,
  has_untrusted = 16,
};
enum stream_flag : std::uint8_t { stream_has_newest = 1, stream_has_run = 2 };

class writer {
public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { fixed(v, 4); }
  void u64(std::uint64_t v) { fixed(v, 8); }
  void i64(std::int64_t v) { fixed(static_cast<std::uint64_t>(v), 8); }
  void text(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  void bytes(const std::vector<std::uint8_t>& b) {
    u32(static_cast<std::uint32_t>(b.size()));
    out_.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  std::string take() { return std::move(out_); }

private:
  void fixed(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

/// Reads fixed-width fields; any read past the end sets `bad` and yields 0.
class reader {
public:
  explicit reader(std::string_view in) : in_(in) {}
  bool bad() const noexcept { return bad_; }
  bool at_end() const noexcept { return pos_ == in_.size(); }
  std::size_t left() const noexcept { return in_.size() - pos_; }
  std::uint8_t u8() { return static_cast<std::uint8_t>(fixed(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
  std::uint64_t u64() { return fixed(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed(8)); }
  /// A time in ms since the epoch. The blob comes from a topic others could
  /// write: a time beyond ±2^47 ms (±4,000 years) is refused, so that the
  /// checker's differences of two times can never overflow.
  std::int64_t time() {
    const std::int64_t t = i64();
    constexpr std::int64_t bound = std::int64_t{1} << 47;
    if (t < -bound || t > bound) return fail<std::int64_t>();
    return t;
  }
  std::string text(std::size_t max) {
    const std::uint32_t n = u32();
    if (bad_ || n > max || n > left()) return fail<std::string>();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::vector<std::uint8_t> bytes(std::size_t max) {
    const std::uint32_t n = u32();
    if (bad_ || n > max || n > left()) return fail<std::vector<std::uint8_t>>();
    std::vector<std::uint8_t> b(n);
    if (n != 0) std::memcpy(b.data(), in_.data() + pos_, n);
    pos_ += n;
    return b;
  }

private:
  template <class T> T fail() {
    bad_ = true;
    return T{};
  }
  std::uint64_t fixed(std::size_t n) {
    if (bad_ || left() < n) return fail<std::uint64_t>();
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool bad_ = false;
};

/// The structural rules of one stream (see sequence_tracker's invariants).
bool plausible(const stream_snapshot& s) {
  if (s.seen.empty() || (s.seen[0] & 1U) == 0) return false; // the head was accepted
  // No bit for a number below 0, nor beyond the largest window.
  const std::uint64_t span = static_cast<std::uint64_t>(s.seen.size()) * 8;
  if (span > max_snapshot_window || span - 8 > s.head) return false;
  if (s.next_unjudged > s.head && s.next_unjudged - s.head > 1) return false;
  if (!std::is_sorted(s.accounted.begin(), s.accounted.end()) ||
      std::adjacent_find(s.accounted.begin(), s.accounted.end()) != s.accounted.end())
    return false;
  if (!s.accounted.empty() && s.accounted.front() < s.next_unjudged) return false;
  if (s.open_run &&
      (s.open_run->first > s.open_run->second || s.open_run->second >= s.next_unjudged))
    return false;
  return true;
}

} // namespace

std::string encode(const source_snapshot& s) {
  writer w;
  for (char c : magic)
    w.u8(static_cast<std::uint8_t>(c));
  w.u8(snapshot_version);
  std::uint8_t flags = 0;
  if (s.newest_time) flags |= has_newest;
  if (s.last_heard) flags |= has_heard;
  if (s.silent) flags |= is_silent;
  if (s.wall_clock_basis) flags |= wall_clock;
  if (s.untrusted_until) flags |= has_untrusted;
  w.u8(flags);
  w.text(s.source);
  w.i64(s.saved_at);
  w.text(s.current_epoch);
  if (s.newest_time) w.i64(*s.newest_time);
  if (s.last_heard) w.i64(*s.last_heard);
  if (s.untrusted_until) w.i64(*s.untrusted_until);
  w.u32(static_cast<std::uint32_t>(s.streams.size()));
  for (const stream_snapshot& st : s.streams) {
    std::uint8_t sf = 0;
    if (st.newest_time) sf |= stream_has_newest;
    if (st.open_run) sf |= stream_has_run;
    w.u8(sf);
    w.text(st.epoch);
    w.u64(st.head);
    w.u64(st.next_unjudged);
    if (st.newest_time) w.i64(*st.newest_time);
    if (st.open_run) {
      w.u64(st.open_run->first);
      w.u64(st.open_run->second);
    }
    w.u32(static_cast<std::uint32_t>(st.accounted.size()));
    for (std::uint64_t a : st.accounted)
      w.u64(a);
    w.bytes(st.seen);
  }
  return w.take();
}

std::optional<source_snapshot> decode(std::string_view bytes) {
  reader r(bytes);
  for (char c : magic)
    if (r.u8() != static_cast<std::uint8_t>(c)) return std::nullopt;
  if (r.u8() != snapshot_version || r.bad()) return std::nullopt;
  const std::uint8_t flags = r.u8();
  if ((flags & ~0x1FU) != 0) return std::nullopt;
  source_snapshot s;
  s.source = r.text(max_snapshot_name);
  s.saved_at = r.time();
  s.current_epoch = r.text(max_snapshot_name);
  if ((flags & has_newest) != 0) s.newest_time = r.time();
  if ((flags & has_heard) != 0) s.last_heard = r.time();
  s.silent = (flags & is_silent) != 0;
  s.wall_clock_basis = (flags & wall_clock) != 0;
  if ((flags & has_untrusted) != 0) s.untrusted_until = r.time();
  const std::uint32_t n = r.u32();
  if (r.bad() || s.source.empty() || n > max_snapshot_streams) return std::nullopt;
  if (s.silent && !s.last_heard) return std::nullopt;
  s.streams.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    stream_snapshot st;
    const std::uint8_t sf = r.u8();
    if ((sf & ~0x3U) != 0) return std::nullopt;
    st.epoch = r.text(max_snapshot_name);
    st.head = r.u64();
    st.next_unjudged = r.u64();
    if ((sf & stream_has_newest) != 0) st.newest_time = r.time();
    if ((sf & stream_has_run) != 0) {
      const std::uint64_t a = r.u64();
      st.open_run.emplace(a, r.u64());
    }
    const std::uint32_t accounted = r.u32();
    // Each number takes 8 bytes: a count the rest of the blob cannot hold is a lie.
    if (r.bad() || accounted > max_snapshot_accounted || accounted > r.left() / 8)
      return std::nullopt;
    st.accounted.resize(accounted);
    for (auto& a : st.accounted)
      a = r.u64();
    st.seen = r.bytes(max_snapshot_window / 8);
    if (r.bad() || !plausible(st)) return std::nullopt;
    if (std::any_of(s.streams.begin(), s.streams.end(),
                    [&](const stream_snapshot& o) { return o.epoch == st.epoch; }))
      return std::nullopt; // one stream per epoch
    s.streams.push_back(std::move(st));
  }
  if (r.bad() || !r.at_end()) return std::nullopt;
  return s;
}

std::string encode(const partition_position& p) {
  writer w;
  for (char c : position_magic)
    w.u8(static_cast<std::uint8_t>(c));
  w.u8(snapshot_version);
  w.i64(p.high);
  w.u32(static_cast<std::uint32_t>(p.replayed.size()));
  for (std::int64_t o : p.replayed)
    w.i64(o);
  return w.take();
}

std::optional<partition_position> decode_position(std::string_view bytes) {
  reader r(bytes);
  for (char c : position_magic)
    if (r.u8() != static_cast<std::uint8_t>(c)) return std::nullopt;
  if (r.u8() != snapshot_version) return std::nullopt;
  partition_position p;
  p.high = r.i64();
  const std::uint32_t n = r.u32();
  if (r.bad() || p.high < -1 || n > max_position_replays || n != r.left() / 8) return std::nullopt;
  p.replayed.resize(n);
  for (auto& o : p.replayed)
    o = r.i64();
  if (r.bad() || !r.at_end() || !std::is_sorted(p.replayed.begin(), p.replayed.end()))
    return std::nullopt;
  if (!p.replayed.empty() && (p.replayed.front() < 0 || p.replayed.back() > p.high))
    return std::nullopt;
  return p;
}

} // namespace bulwark::integrity
