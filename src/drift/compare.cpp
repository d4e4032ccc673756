#include "drift/compare.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bulwark::drift {
namespace {

std::vector<double> as_doubles(const std::vector<std::uint64_t>& v) {
  return {v.begin(), v.end()};
}

/// Slot weights in u order (below-min, inner bins, above-max), nulls left out.
std::vector<double> u_ordered(const reference& ref, const std::vector<std::uint64_t>& slots) {
  std::vector<double> w;
  w.reserve(ref.inner() + 2);
  w.push_back(static_cast<double>(slots[ref.below_slot()]));
  for (std::size_t j = 0; j < ref.inner(); ++j)
    w.push_back(static_cast<double>(slots[j]));
  w.push_back(static_cast<double>(slots[ref.above_slot()]));
  return w;
}

} // namespace

window_stats compare(const reference& ref, const pane& window, double psi_epsilon) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  window_stats s;
  s.n = window.total();
  s.reference_n = ref.n;
  const auto r = as_doubles(ref.counts);
  const auto w = as_doubles(window.slots);
  s.psi = population_stability_index(w, r, psi_epsilon);
  s.js = jensen_shannon_distance(w, r);
  s.hellinger = hellinger_distance(w, r);
  s.chi2 = homogeneity_test(r, w, divergence::pearson);
  s.g = homogeneity_test(r, w, divergence::log_likelihood);
  s.u_n = window.u_n;
  if (ref.type == feature_type::categorical) {
    s.wasserstein_u = s.u_mean = s.u_shift = s.z = nan;
    s.z_p = 1;
    return s;
  }
  s.wasserstein_u = wasserstein_distance(ref.u_positions(), u_ordered(ref, window.slots),
                                         u_ordered(ref, ref.counts));
  if (window.u_n == 0 || ref.u_n == 0) {
    s.u_mean = s.u_shift = s.z = nan;
    s.z_p = 1;
    return s;
  }
  const double n = static_cast<double>(window.u_n);
  s.u_mean = static_cast<double>(window.u_sum) / (n * u_scale);
  s.u_shift = s.u_mean - ref.u_mean;
  const double se = std::sqrt(ref.u_var * (1 / n + 1 / static_cast<double>(ref.u_n)));
  if (se > 0)
    s.z = s.u_shift / se;
  else
    s.z = s.u_shift == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), s.u_shift);
  s.z_p = normal_two_sided_p(s.z);
  return s;
}

std::vector<moved_slot> most_moved(const reference& ref, const pane& window, double psi_epsilon,
                                   std::size_t limit) {
  std::vector<moved_slot> out;
  const double tw = static_cast<double>(window.total());
  const double tr = static_cast<double>(ref.n);
  if (!(tw > 0) || !(tr > 0)) return out;
  const double norm = 1 + static_cast<double>(ref.slots()) * psi_epsilon;
  for (std::size_t i = 0; i < ref.slots(); ++i) {
    moved_slot m;
    m.slot = i;
    m.share = static_cast<double>(window.slots[i]) / tw;
    m.reference_share = static_cast<double>(ref.counts[i]) / tr;
    if (m.share == m.reference_share) continue;
    const double p = (m.share + psi_epsilon) / norm;
    const double q = (m.reference_share + psi_epsilon) / norm;
    m.contribution = (p - q) * std::log(p / q);
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](const moved_slot& a, const moved_slot& b) {
    return a.contribution != b.contribution ? a.contribution > b.contribution : a.slot < b.slot;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

void write_slot_label(json_writer& w, const reference& ref, std::size_t slot) {
  if (slot == ref.null_slot()) {
    w.key("slot").value("null");
    return;
  }
  if (ref.type == feature_type::numeric) {
    if (slot == ref.below_slot()) {
      w.key("slot").value("below_min");
    } else if (slot == ref.above_slot()) {
      w.key("slot").value("above_max");
    } else {
      const auto [from, to] = ref.bounds(slot);
      w.key("bin").value(static_cast<std::uint64_t>(slot));
      w.key("from").value(from);
      w.key("to").value(to);
    }
    return;
  }
  if (slot == ref.other_slot()) {
    w.key("slot").value("other");
    return;
  }
  const std::string& c = ref.categories[slot];
  if (is_identifier(c))
    w.key("category").value(c);
  else
    w.key("category_sha256").value(short_digest(c));
}

} // namespace bulwark::drift
