#pragma once
/// Distribution distances and tests between binned distributions, and the
/// special functions they need. Pure functions over weights (counts passed as
/// doubles, which hold integers exactly up to 2^53). Every definition matches
/// the scipy function named next to it; tests/unit/drift/scipy_check.py
/// compares them on fixed data sets.
#include <span>

namespace bulwark::drift {

/// Regularised lower incomplete gamma P(a, x) = γ(a, x) / Γ(a), for a > 0 and
/// x >= 0 (scipy.special.gammainc). NaN outside the domain.
double regularized_gamma_p(double a, double x) noexcept;

/// Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x), computed directly
/// so that tiny tail probabilities keep their relative precision
/// (scipy.special.gammaincc).
double regularized_gamma_q(double a, double x) noexcept;

/// Survival function of the chi-square distribution: Q(df/2, x/2)
/// (scipy.stats.chi2.sf). 1 when df <= 0.
double chi_square_sf(double statistic, double df) noexcept;

/// Two-sided p-value of a standard normal score: erfc(|z|/√2).
double normal_two_sided_p(double z) noexcept;

/// The inverse of normal_two_sided_p: the |z| whose two-sided p-value is `p`.
double normal_two_sided_critical(double p) noexcept;

/// A test statistic, its degrees of freedom and p-value.
struct test_result {
  double statistic = 0;
  double df = 0;
  double p = 1;
};

/// Pearson goodness of fit, Σ (o - e)² / e with k - 1 degrees of freedom
/// (scipy.stats.chisquare). Cells where both are zero are skipped; a cell with
/// observations but no expectation makes the statistic infinite (p = 0).
test_result chi_square_test(std::span<const double> observed,
                            std::span<const double> expected) noexcept;

/// G-test (log-likelihood ratio), 2 Σ o ln(o / e) with k - 1 degrees of
/// freedom (scipy.stats.power_divergence, lambda_="log-likelihood").
test_result g_test(std::span<const double> observed, std::span<const double> expected) noexcept;

/// Which statistic a homogeneity test uses.
enum class divergence : unsigned char { pearson, log_likelihood };

/// Two-sample homogeneity test on the 2×K table whose rows are `a` and `b`:
/// columns empty in both are dropped, expectations come from the margins, and
/// the statistic has K' - 1 degrees of freedom (scipy.stats.chi2_contingency
/// with correction=False). Treats both rows as samples, so the reference's own
/// sampling noise is part of the null distribution. p = 1 when a row is empty.
test_result homogeneity_test(std::span<const double> a, std::span<const double> b,
                             divergence kind = divergence::pearson) noexcept;

/// Population stability index Σ (p - q) ln(p / q) between the normalised
/// weights, each cell first raised by `epsilon` and the vectors renormalised,
/// so that empty cells give a finite value (equals scipy.stats.entropy(p, q) +
/// entropy(q, p) on those smoothed vectors). 0 when either side is empty.
double population_stability_index(std::span<const double> a, std::span<const double> b,
                                  double epsilon = 1e-4) noexcept;

/// Jensen–Shannon distance (natural logarithm, in [0, √ln 2]) between the
/// normalised weights (scipy.spatial.distance.jensenshannon).
double jensen_shannon_distance(std::span<const double> a, std::span<const double> b) noexcept;

/// Hellinger distance √(½ Σ (√p - √q)²), in [0, 1].
double hellinger_distance(std::span<const double> a, std::span<const double> b) noexcept;

/// First Wasserstein distance between two weightings of the same sorted
/// positions (scipy.stats.wasserstein_distance(x, x, a, b)).
double wasserstein_distance(std::span<const double> positions, std::span<const double> a,
                            std::span<const double> b) noexcept;

/// Siegmund's approximation of the in-control average run length of a
/// one-sided CUSUM with slack `k` and threshold `h` on N(0, 1) increments.
double cusum_average_run_length(double k, double h) noexcept;

/// The smallest threshold h whose one-sided in-control run length (Siegmund)
/// reaches `run_length`.
double cusum_threshold(double k, double run_length) noexcept;

} // namespace bulwark::drift
