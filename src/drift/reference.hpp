#pragma once
/// The frozen reference of one (key, feature): how values are binned, what
/// u = F_ref(x) each value gets, and how often each bin held values while the
/// reference was learned.
///
/// Numeric: equal-probability bins cut at a sample's quantiles (numpy's
/// default "linear" quantile, duplicates removed), plus below-min, above-max
/// and null slots. u is the sample's piecewise-linear empirical CDF through
/// the cuts, quantised to 1/4096 so that sums of u stay integers and merge
/// exactly.
///
/// Categorical: the most frequent categories (at most max_categories), plus
/// "other" (every value outside the table) and null slots.
///
/// Learning has two stages when the reference spans two windows or more: the
/// first quarter of the reference windows fixes the cuts and the u function
/// (or the category table) from a bounded sample; the remaining windows are
/// counted exactly against them. The counts are then a sample independent of
/// the cuts, as large as the traffic, and no raw values are kept beyond the
/// first stage's reservoir.
///
/// Invariants:
///  1. A reference never changes after it is built (held as shared_ptr<const>).
///  2. Within [min, max], the inner bin of x is
///     np.searchsorted(cuts, x, side="right").
///  3. counts[i] is the number of reference values in slot i; n their sum.
#include "core/json_writer.hpp"
#include "drift/json_reader.hpp"
#include "drift/pane.hpp"
#include "drift/settings.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::drift {

/// u is stored in units of 1/u_scale.
inline constexpr std::uint32_t u_scale = 4096;

/// Where a value falls: its slot and, for numeric values, its quantised u
/// (-1 when it has none: null, or the reference has no numeric values).
struct placement {
  std::uint32_t slot = 0;
  std::int32_t u = -1;
};

/// A frozen reference (see the file comment).
struct reference {
  feature_type type = feature_type::numeric;
  std::uint64_t n = 0;               ///< reference values, nulls included
  std::vector<std::uint64_t> counts; ///< per slot
  // numeric
  double min = 0, max = 0;  ///< of the cut sample (meaningless when cdf is empty)
  std::vector<double> cuts; ///< strictly increasing, min < cut <= max
  std::vector<double> cdf;  ///< u at min, at each cut, at max: 0 ... 1; empty: no values
  std::uint64_t u_n = 0;    ///< reference values with a u (the non-null ones)
  double u_mean = 0.5;      ///< of the reference values' quantised u
  double u_var = 1.0 / 12;  ///< population variance of the same
  // categorical
  std::vector<std::string> categories; ///< sorted, unique

  /// Number of slots (bins plus the special ones).
  std::size_t slots() const noexcept { return counts.size(); }
  /// Numeric: cuts + 1 inner bins, then below-min, above-max, null.
  std::size_t inner() const noexcept { return cuts.size() + 1; }
  /// Numeric special slots.
  std::size_t below_slot() const noexcept { return inner(); }
  std::size_t above_slot() const noexcept { return inner() + 1; }
  /// Categorical: the categories, then other, null.
  std::size_t other_slot() const noexcept { return categories.size(); }
  /// The null slot, last for both types.
  std::size_t null_slot() const noexcept { return counts.size() - 1; }

  /// Where a numeric value falls (NaN: null).
  placement place(double x) const noexcept;
  /// Where a category falls (not in the table: other).
  std::uint32_t place(std::string_view category) const noexcept;
  /// The bounds of inner bin `bin`: [from, to), the last one closed.
  std::pair<double, double> bounds(std::size_t bin) const noexcept;
  /// Positions on the u scale in the order below-min, inner bins, above-max:
  /// 0, each bin's mid-quantile, 1 (for the Wasserstein distance).
  std::vector<double> u_positions() const;
};

/// Builds a numeric reference from one sample (NaN meaning null): cuts, u
/// function and counts all from that sample.
reference build_numeric(std::vector<double> sample, std::uint32_t bins);

/// One category and how often it was seen.
struct category_count {
  std::string value;
  std::uint64_t count = 0;
};

/// Builds a categorical reference: the `max_categories` most frequent of
/// `seen` (ties by value), everything else of `non_null` in other.
reference build_categorical(std::vector<category_count> seen, std::uint64_t non_null,
                            std::uint64_t nulls, std::uint32_t max_categories);

/// `base`'s cuts, u function or table, with the counts (and u moments) of
/// `counted`, a pane accumulated against `base`.
reference with_counts(const reference& base, const pane& counted);

/// Learns a numeric reference. Stage 1: a reservoir sample (Algorithm R,
/// seeded, so the result depends only on the input order) of at most
/// `capacity` values. start_counting() fixes the cuts; stage 2 counts every
/// value against them.
class numeric_learner {
public:
  /// A learner sampling `capacity` values, cutting `bins` bins.
  numeric_learner(std::uint32_t capacity, std::uint64_t seed, std::uint32_t bins);
  /// Adds a value (NaN: null): sampled in stage 1, counted in stage 2.
  void add(double x);
  /// Ends stage 1: fixes the cuts (or the table) and frees the sample.
  void start_counting();
  /// True in stage 2.
  bool counting() const noexcept { return base_.has_value(); }
  /// The reference learned so far (stage 1 alone if nothing was counted).
  reference freeze() const;
  /// Values added, nulls included.
  std::uint64_t seen() const noexcept { return seen_; }
  /// Heap and inline bytes held.
  std::size_t bytes() const noexcept;

  /// Writes the whole learning state (sample or counts, random state) into
  /// the object `w` has open, for another monitor's read_state().
  void write_state(json_writer& w) const;
  /// Replaces this learner's state with what write_state() wrote for a
  /// learner made with the same capacity and bins; on error (an inconsistent
  /// or foreign state) the learner is unchanged.
  std::optional<error> read_state(const json::value& v);

private:
  std::vector<double> sample_;
  std::uint32_t capacity_;
  std::uint32_t bins_;
  std::uint64_t seen_ = 0;
  std::uint64_t rng_;
  std::optional<reference> base_;
  pane counted_;
};

/// Learns a categorical reference. Stage 1: a space-saving summary of
/// 4 × max_categories entries chooses the table (its counts are exact while
/// there are no more distinct values than entries, lower bounds otherwise).
/// Stage 2 counts every value exactly against the table. Values longer than
/// max_category_bytes are never table members.
class categorical_learner {
public:
  /// A learner keeping at most `max_categories` in its table.
  explicit categorical_learner(std::uint32_t max_categories);
  /// Adds a category: summarised in stage 1, counted in stage 2.
  void add(std::string_view category);
  /// Adds a missing value.
  void add_null() noexcept;
  /// Ends stage 1: fixes the cuts (or the table) and frees the sample.
  void start_counting();
  /// True in stage 2.
  bool counting() const noexcept { return base_.has_value(); }
  /// The reference learned so far (stage 1 alone if nothing was counted).
  reference freeze() const;
  /// Values added, nulls included.
  std::uint64_t seen() const noexcept { return non_null_ + nulls_; }
  /// Heap and inline bytes held.
  std::size_t bytes() const noexcept;

  /// Writes the whole learning state (summary or counts) into the object `w`
  /// has open, for another monitor's read_state().
  void write_state(json_writer& w) const;
  /// Replaces this learner's state with what write_state() wrote for a
  /// learner with the same max_categories; on error the learner is unchanged.
  std::optional<error> read_state(const json::value& v);

private:
  struct entry {
    std::string value;
    std::uint64_t count = 0;
    std::uint64_t error = 0;
  };
  std::vector<entry> entries_;
  std::uint32_t max_categories_;
  std::uint64_t non_null_ = 0;
  std::uint64_t nulls_ = 0;
  std::optional<reference> base_;
  pane counted_;
};

/// Categories longer than this are never kept in a table.
inline constexpr std::size_t max_category_bytes = 128;

/// Writes a reference's members into the object `w` has open.
void write_reference(json_writer& w, const reference& r);

/// Reads the members write_reference wrote, checking every invariant.
std::variant<reference, error> read_reference(const json::value& entry, feature_type type,
                                              std::uint32_t max_categories);

/// Whether `text` has the shape of a conservative identifier: 1–32
/// characters of A–Z a–z 0–9 . _ - :, starting with a letter or digit. Only
/// such strings (and only from a frozen table or configured identifiers) are
/// echoed in evidence.
bool is_identifier(std::string_view text) noexcept;

/// The first 8 hex digits of SHA-256(text): how evidence names a string it
/// may not echo.
std::string short_digest(std::string_view text);

} // namespace bulwark::drift
