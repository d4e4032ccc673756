#pragma once
/// One window (any union of panes) against its frozen reference: every
/// statistic the detectors and the evidence use.
#include "drift/pane.hpp"
#include "drift/reference.hpp"
#include "drift/statistics.hpp"

#include <string>
#include <vector>

namespace bulwark::drift {

/// Statistics of a window against the reference. The u fields are NaN for
/// categorical features and when either side has no numeric values.
struct window_stats {
  std::uint64_t n = 0;           ///< window values, nulls included
  std::uint64_t reference_n = 0; ///< reference sample values, nulls included
  double psi = 0;
  double js = 0; ///< Jensen–Shannon distance, natural log
  double hellinger = 0;
  double wasserstein_u = 0; ///< on the u scale, non-null values; NaN for categorical
  test_result chi2;         ///< homogeneity (2×K) on slot counts
  test_result g;            ///< the same as a G-test
  std::uint64_t u_n = 0;    ///< window values with a u
  double u_mean = 0;        ///< mean u of the window
  double u_shift = 0;       ///< u_mean - the reference's mean u
  double z = 0;             ///< u_shift / √(var_ref (1/n + 1/N))
  double z_p = 1;           ///< two-sided p of z
};

/// Computes window_stats (see the field comments).
window_stats compare(const reference& ref, const pane& window, double psi_epsilon);

/// A slot whose share moved between reference and window.
struct moved_slot {
  std::size_t slot = 0;
  double share = 0;           ///< in the window
  double reference_share = 0; ///< in the reference
  double contribution = 0;    ///< to the PSI
};

/// The `limit` slots contributing most to the PSI, largest first.
std::vector<moved_slot> most_moved(const reference& ref, const pane& window, double psi_epsilon,
                                   std::size_t limit = 3);

/// Writes a slot's name into an evidence object: `bin`/`from`/`to` for an
/// inner numeric bin, `slot` (below_min, above_max, null, other) otherwise,
/// `category` for a table category of identifier shape, else
/// `category_sha256` (8 hex digits).
void write_slot_label(json_writer& w, const reference& ref, std::size_t slot);

} // namespace bulwark::drift
