#pragma once
/// Defusing: rewrite a string value so that no viewer (browser, terminal, log
/// pipeline, Log4j, an LLM reading logs) is attacked by it, while a person can
/// still read what was there. SPEC §3: in the decoded value no `<` opens a tag,
/// no `javascript:` scheme and no `${` lookup (plain or obfuscated) remain, and
/// no control character other than `\t` and `\n` remains; each is replaced by a
/// visible token.
///
/// Replacements:
///  - `<` followed by a letter, `/`, `!` or `?`            -> `[LT]`
///  - a `javascript:` or `vbscript:` scheme (any case, also with ASCII whitespace
///    or control characters inside the word, as browsers tolerate), and `data:`
///    followed by an HTML, SVG, XML or script media type -> the word with `[:]`
///  - `$` followed by `{` (also with whitespace/zero-width in between) -> `$[{]`
///  - C0 controls except TAB and LF: `[NUL]` `[BEL]` `[BS]` `[VT]` `[FF]` `[CR]`
///    `[ESC]`, others `[CTRL-XX]`; DEL -> `[DEL]`; C1 controls (U+0080..U+009F) ->
///    `[C1-XX]`; U+2028/U+2029 -> `[LS]`/`[PS]`; bidirectional overrides and
///    isolates (U+202A..U+202E, U+2066..U+2069) -> `[BIDI]`
/// Everything else is copied unchanged, so ordinary chat text with newlines,
/// tabs, `<3`, `a < b`, prices in `$` keep their meaning.
///
/// "Whitespace" inside a scheme word and between `$` and `{` means any blank,
/// invisible or control character: ASCII 0x00..0x20 and DEL, U+0080..U+00A0,
/// U+00AD, U+1680, U+180E, U+2000..U+200F, U+2028..U+202F, U+205F..U+2064,
/// U+2066..U+206F, U+3000, U+FEFF. Those characters are kept (or tokenised
/// when they are controls): `java\rscript:` -> `java[CR]script[:]`,
/// `$ {` -> `$ [{]`. No word boundary is required before a scheme word.
/// Active `data:` media types: text/html, text/xml, text/javascript,
/// text/ecmascript, text/jscript, text/vbscript, application/javascript,
/// application/x-javascript, application/ecmascript, application/xhtml+xml,
/// application/xml, image/svg+xml (case-insensitive prefix; blanks allowed).
/// defuse() is idempotent: its output contains nothing it would replace.
#include <cstddef>
#include <string>
#include <string_view>

namespace bulwark::scan {

/// True when defuse() would change `text`. Fast: one pass, no allocation.
bool needs_defuse(std::string_view text) noexcept;

/// Appends the defused form of `text` (valid UTF-8) to `out`. Returns how many
/// constructs were replaced.
std::size_t defuse(std::string_view text, std::string& out);

} // namespace bulwark::scan
