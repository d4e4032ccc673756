#pragma once
/// Hyperscan filters: a looser pattern per rule for the "which rules occur"
/// question, while RE2 confirms with the rule's exact pattern (ruleset.hpp).
///
/// Hyperscan answers that question for every value a rule's gate admits, and
/// what makes it slow is the tail of a pattern, not its head: wide bounded
/// repeats with optional separators (an IBAN's 25 country lengths of
/// `(?: ?[A-Z0-9]{4}){n}`, a card's `(?:[ -]?\d{4}){3}`) compile to large
/// automata that run over every admitted byte. RE2 runs the exact pattern
/// anyway on the values of an event where the filter fired, so the filter
/// only has to fire wherever the exact pattern matches, and to fire seldom
/// elsewhere.
///
/// The filter is a prefix of the pattern: each branch is cut once what it has
/// consumed is selective enough (`bits`, an estimate of how unlikely the kept
/// prefix is at a random position of random bytes: 8 per literal byte, log2
/// of 256 over the class size per class, nothing for assertions and optional
/// pieces). Every match of the pattern starts with a match of the prefix at
/// the same position, with the same context before it, so the filter is a
/// superset of the pattern wherever the two are run; the bytes after the cut
/// (trailing `\b`, terminators, the rest of the repeats) are dropped.
///
/// Then an alternation of formats without letters (a card's issuer prefixes
/// and groupings) is flattened: the bytes each of its first offsets admits in
/// any branch, one class per offset ("[2-6][0-9]{3}[ -0-9][0-9]{3}"). Still a
/// superset, and a small automaton instead of a union of many: the card
/// filter went from ~12 to ~2.5 cycles per byte of the values with digits.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::scan {

/// The bits of selectivity a filter keeps per branch, by measurement
/// (bench/RESULTS.md, third pass): at 40 a filter fires without its pattern
/// in under 1% of the benchmark's events (cards, bare SSNs); at 36 one phrase
/// rule's fires on every chat's system prompt; at 48 the IBAN, phone and
/// phrase rules keep their costly tails.
inline constexpr double filter_bits = 40;

/// `pattern` cut after `bits` of selectivity in every branch; nullopt when
/// nothing is cut or the pattern uses syntax the cut does
/// not follow (look-around, `\p{…}`, `\Q…\E`, POSIX classes, back-references):
/// then the pattern itself is the filter.
/// `caseless`: the database is compiled case-insensitively (letters then
/// match either case, as under `(?i)`).
std::optional<std::string> hyperscan_filter(std::string_view pattern, bool caseless,
                                            double bits = filter_bits);

/// The length of the longest run of literal bytes (a letter counts in either
/// case) that every match of `pattern` holds: Hyperscan finds such a pattern
/// by its literal, and runs an automaton over every byte for one without
/// (`[A-Za-z0-9/+]{40}`). 0 for syntax hyperscan_filter does not follow.
std::size_t required_literal(std::string_view pattern, bool caseless);

} // namespace bulwark::scan
