#pragma once
/// The live status page served at `/` (docs/status-page.md): a fixed HTML
/// shell, its stylesheet and its script, compiled in; no external resource.
///
/// Invariants:
///  1. The three documents are constants: nothing of a request or of the
///     telemetry is ever spliced into them.
///  2. The HTML holds no inline script or style and no event-handler
///     attribute, so the page works under `script-src 'self'; style-src 'self'`.
///  3. The script renders /api/status only through textContent,
///     createElement and setAttribute of `class`/`title`-like attributes; it
///     never assigns innerHTML/outerHTML, never calls document.write or eval,
///     and never builds a URL (href, src) from data. A value from telemetry can
///     therefore only ever appear as text.
#include <string_view>

namespace bulwark::http::status_page {

/// `GET /` (text/html).
std::string_view html() noexcept;
/// `GET /status.js` (text/javascript).
std::string_view script() noexcept;
/// `GET /status.css` (text/css).
std::string_view stylesheet() noexcept;

} // namespace bulwark::http::status_page
