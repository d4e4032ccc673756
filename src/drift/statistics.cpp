#include "drift/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bulwark::drift {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double eps = 1e-16;
constexpr int max_iterations = 100000;

/// x^a e^-x / Γ(a), in logarithms so that large a and x do not overflow.
double gamma_prefactor(double a, double x) noexcept {
  return std::exp(-x + a * std::log(x) - std::lgamma(a));
}

/// P(a, x) by its power series; converges quickly for x < a + 1.
double gamma_p_series(double a, double x) noexcept {
  double term = 1.0 / a;
  double sum = term;
  double ap = a;
  for (int i = 0; i < max_iterations; ++i) {
    ap += 1.0;
    term *= x / ap;
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * eps) break;
  }
  return sum * gamma_prefactor(a, x);
}

/// Q(a, x) by its continued fraction (modified Lentz); converges quickly for
/// x >= a + 1, and keeps relative precision deep in the tail.
double gamma_q_fraction(double a, double x) noexcept {
  constexpr double tiny = 1e-300;
  double b = x + 1.0 - a;
  double c = 1.0 / tiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < max_iterations; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < eps) break;
  }
  return gamma_prefactor(a, x) * h;
}

double total(std::span<const double> w) noexcept {
  double s = 0;
  for (const double v : w)
    s += v;
  return s;
}

/// a ln(a / b), with the convention 0 ln 0 = 0.
double xlogxy(double a, double b) noexcept {
  return a > 0 ? a * std::log(a / b) : 0.0;
}

} // namespace

double regularized_gamma_p(double a, double x) noexcept {
  if (!(a > 0) || !(x >= 0) || std::isinf(a)) return nan;
  if (x == 0) return 0;
  if (std::isinf(x)) return 1;
  if (x < a + 1.0) return std::min(1.0, gamma_p_series(a, x));
  return std::max(0.0, 1.0 - gamma_q_fraction(a, x));
}

double regularized_gamma_q(double a, double x) noexcept {
  if (!(a > 0) || !(x >= 0) || std::isinf(a)) return nan;
  if (x == 0) return 1;
  if (std::isinf(x)) return 0;
  if (x < a + 1.0) return std::max(0.0, 1.0 - gamma_p_series(a, x));
  return std::min(1.0, gamma_q_fraction(a, x));
}

double chi_square_sf(double statistic, double df) noexcept {
  if (!(df > 0)) return 1;
  if (std::isnan(statistic)) return nan;
  if (statistic <= 0) return 1;
  return regularized_gamma_q(df / 2.0, statistic / 2.0);
}

double normal_two_sided_p(double z) noexcept {
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

double normal_two_sided_critical(double p) noexcept {
  if (!(p > 0)) return std::numeric_limits<double>::infinity();
  if (p >= 1) return 0;
  // Bisection: calibration runs once per monitor, and erfc is monotone.
  double lo = 0, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (normal_two_sided_p(mid) > p ? lo : hi) = mid;
  }
  return hi;
}

test_result chi_square_test(std::span<const double> observed,
                            std::span<const double> expected) noexcept {
  test_result r;
  const std::size_t k = std::min(observed.size(), expected.size());
  double cells = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double o = observed[i], e = expected[i];
    if (o == 0 && e == 0) continue;
    cells += 1;
    r.statistic += e > 0 ? (o - e) * (o - e) / e : std::numeric_limits<double>::infinity();
  }
  r.df = std::max(0.0, cells - 1);
  r.p = std::isinf(r.statistic) ? 0 : chi_square_sf(r.statistic, r.df);
  return r;
}

test_result g_test(std::span<const double> observed, std::span<const double> expected) noexcept {
  test_result r;
  const std::size_t k = std::min(observed.size(), expected.size());
  double cells = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double o = observed[i], e = expected[i];
    if (o == 0 && e == 0) continue;
    cells += 1;
    r.statistic += o > 0 && e == 0 ? std::numeric_limits<double>::infinity() : xlogxy(o, e);
  }
  r.statistic *= 2;
  r.df = std::max(0.0, cells - 1);
  r.p = std::isinf(r.statistic) ? 0 : chi_square_sf(r.statistic, r.df);
  return r;
}

test_result homogeneity_test(std::span<const double> a, std::span<const double> b,
                             divergence kind) noexcept {
  test_result r;
  const std::size_t k = std::min(a.size(), b.size());
  const double ra = total(a.first(k)), rb = total(b.first(k));
  const double t = ra + rb;
  if (!(ra > 0) || !(rb > 0)) return r;
  double columns = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double c = a[i] + b[i];
    if (c == 0) continue;
    columns += 1;
    const double ea = ra * c / t, eb = rb * c / t;
    if (kind == divergence::pearson)
      r.statistic += (a[i] - ea) * (a[i] - ea) / ea + (b[i] - eb) * (b[i] - eb) / eb;
    else
      r.statistic += 2 * (xlogxy(a[i], ea) + xlogxy(b[i], eb));
  }
  r.df = std::max(0.0, columns - 1);
  r.p = chi_square_sf(r.statistic, r.df);
  return r;
}

double population_stability_index(std::span<const double> a, std::span<const double> b,
                                  double epsilon) noexcept {
  const std::size_t k = std::min(a.size(), b.size());
  const double ta = total(a.first(k)), tb = total(b.first(k));
  if (!(ta > 0) || !(tb > 0)) return 0;
  const double norm = 1.0 + static_cast<double>(k) * epsilon;
  double psi = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double p = (a[i] / ta + epsilon) / norm;
    const double q = (b[i] / tb + epsilon) / norm;
    psi += (p - q) * std::log(p / q);
  }
  return psi;
}

double jensen_shannon_distance(std::span<const double> a, std::span<const double> b) noexcept {
  const std::size_t k = std::min(a.size(), b.size());
  const double ta = total(a.first(k)), tb = total(b.first(k));
  if (!(ta > 0) || !(tb > 0)) return 0;
  double js = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double p = a[i] / ta, q = b[i] / tb;
    const double m = (p + q) / 2;
    js += xlogxy(p, m) + xlogxy(q, m);
  }
  return std::sqrt(std::max(0.0, js / 2));
}

double hellinger_distance(std::span<const double> a, std::span<const double> b) noexcept {
  const std::size_t k = std::min(a.size(), b.size());
  const double ta = total(a.first(k)), tb = total(b.first(k));
  if (!(ta > 0) || !(tb > 0)) return 0;
  double s = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double d = std::sqrt(a[i] / ta) - std::sqrt(b[i] / tb);
    s += d * d;
  }
  return std::sqrt(s / 2);
}

double wasserstein_distance(std::span<const double> positions, std::span<const double> a,
                            std::span<const double> b) noexcept {
  const std::size_t k = std::min({positions.size(), a.size(), b.size()});
  const double ta = total(a.first(k)), tb = total(b.first(k));
  if (!(ta > 0) || !(tb > 0)) return 0;
  double ca = 0, cb = 0, w = 0;
  for (std::size_t i = 0; i + 1 < k; ++i) {
    ca += a[i];
    cb += b[i];
    w += std::fabs(ca / ta - cb / tb) * (positions[i + 1] - positions[i]);
  }
  return w;
}

double cusum_average_run_length(double k, double h) noexcept {
  // Siegmund (1985): ARL ≈ (e^{2kb} - 2kb - 1) / (2k²), b = h + 1.166, for
  // increments N(0, 1) - k; the 1.166 corrects for overshoot of the boundary.
  const double b = h + 1.166;
  const double x = 2 * k * b;
  return (std::exp(x) - x - 1) / (2 * k * k);
}

double cusum_threshold(double k, double run_length) noexcept {
  double lo = 0, hi = 1000;
  if (cusum_average_run_length(k, lo) >= run_length) return lo;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (cusum_average_run_length(k, mid) >= run_length ? hi : lo) = mid;
  }
  return hi;
}

} // namespace bulwark::drift
