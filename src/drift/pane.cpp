#include "drift/pane.hpp"

#include "crypto/hmac.hpp"
#include "drift/reference.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace bulwark::drift {

void category_sketch::add(std::uint64_t hash) noexcept {
  const auto first = hashes_.begin();
  const auto last = first + static_cast<std::ptrdiff_t>(size_);
  const auto it = std::lower_bound(first, last, hash);
  if (it != last && *it == hash) return;
  if (size_ == k) {
    if (it == last) return; // larger than all k kept
    std::copy_backward(it, last - 1, last);
    *it = hash;
    return;
  }
  std::copy_backward(it, last, last + 1);
  *it = hash;
  ++size_;
}

void category_sketch::merge(const category_sketch& other) noexcept {
  for (std::size_t i = 0; i < other.size_; ++i)
    add(other.hashes_[i]);
}

double category_sketch::distinct() const noexcept {
  if (size_ < k) return static_cast<double>(size_);
  const double h = (static_cast<double>(hashes_[k - 1]) + 1.0) / 18446744073709551616.0;
  return static_cast<double>(k - 1) / h;
}

bool category_sketch::operator==(const category_sketch& o) const noexcept {
  return size_ == o.size_ &&
         std::equal(hashes_.begin(), hashes_.begin() + static_cast<std::ptrdiff_t>(size_),
                    o.hashes_.begin());
}

std::uint64_t category_hash(std::string_view category) {
  const auto d = crypto::sha256(category);
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < 8; ++i)
    h = (h << 8) | d[i];
  return h;
}

std::uint64_t pane::total() const noexcept {
  std::uint64_t t = 0;
  for (const auto c : slots)
    t += c;
  return t;
}

void pane::clear() noexcept {
  std::fill(slots.begin(), slots.end(), 0);
  u_n = u_sum = u_sum_sq = 0;
  last_time = std::numeric_limits<timestamp_ms>::min();
  last_ref = 0;
  novel.clear();
}

void pane::merge(const pane& other) noexcept {
  const std::size_t n = std::min(slots.size(), other.slots.size());
  for (std::size_t i = 0; i < n; ++i)
    slots[i] += other.slots[i];
  u_n += other.u_n;
  u_sum += other.u_sum;
  u_sum_sq += other.u_sum_sq;
  if (other.total() > 0) note(other.last_time, other.last_ref);
  novel.merge(other.novel);
}

void pane::note(timestamp_ms t, std::uint64_t ref) noexcept {
  if (t > last_time || (t == last_time && ref > last_ref)) {
    last_time = t;
    last_ref = ref;
  }
}

std::size_t pane::bytes() const noexcept {
  return sizeof(pane) + slots.capacity() * sizeof(std::uint64_t);
}

bool pane::operator==(const pane& o) const noexcept {
  return slots == o.slots && u_n == o.u_n && u_sum == o.u_sum && u_sum_sq == o.u_sum_sq &&
         last_time == o.last_time && last_ref == o.last_ref && novel == o.novel;
}

void write_pane(json_writer& w, const pane& p) {
  w.begin_object();
  w.key("slots").begin_array();
  for (const auto c : p.slots)
    w.value(c);
  w.end_array();
  w.key("u_n").value(p.u_n);
  w.key("u_sum").value(p.u_sum);
  w.key("u_sum_sq").value(p.u_sum_sq);
  if (!p.empty()) {
    w.key("last_time").value(std::int64_t{p.last_time});
    w.key("last_ref").value(p.last_ref);
  }
  w.key("novel").begin_array();
  for (std::size_t i = 0; i < p.novel.size(); ++i)
    w.value(p.novel[i]);
  w.end_array();
  w.end_object();
}

std::variant<pane, error> read_pane(const json::value& v, std::size_t slot_count) {
  const auto bad = [](std::string why) { return error{"drift pane: " + std::move(why)}; };
  if (!v.is_object()) return bad("not an object");
  pane p(slot_count);
  const auto* slots = v.find("slots");
  if (slots == nullptr || !slots->is_array() || slots->items.size() != slot_count)
    return bad("slots must match the reference");
  for (std::size_t i = 0; i < slot_count; ++i) {
    const auto c = slots->items[i].as_u64();
    if (!c) return bad("slot counts must be unsigned integers");
    p.slots[i] = *c;
  }
  const auto u64 = [&](std::string_view name) -> std::optional<std::uint64_t> {
    const auto* m = v.find(name);
    return m != nullptr ? m->as_u64() : std::nullopt;
  };
  const auto un = u64("u_n"), us = u64("u_sum"), uss = u64("u_sum_sq");
  if (!un || !us || !uss) return bad("u_n, u_sum and u_sum_sq are required");
  p.u_n = *un;
  p.u_sum = *us;
  p.u_sum_sq = *uss;
  if (p.u_n > p.total() || p.u_sum > p.u_n * u_scale) return bad("u sums are inconsistent");
  if (!p.empty()) {
    const auto* lt = v.find("last_time");
    const auto lr = u64("last_ref");
    if (lt == nullptr || !lt->as_i64() || !lr) return bad("last_time and last_ref are required");
    p.last_time = *lt->as_i64();
    p.last_ref = *lr;
  }
  if (const auto* novel = v.find("novel"); novel != nullptr && novel->is_array()) {
    if (novel->items.size() > category_sketch::k) return bad("too many sketch entries");
    for (const auto& h : novel->items) {
      const auto x = h.as_u64();
      if (!x) return bad("sketch entries must be unsigned integers");
      p.novel.add(*x);
    }
  }
  return p;
}

} // namespace bulwark::drift
