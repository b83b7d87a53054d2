// Static assets built into the binary: today the demo page of `ithaca server --dev` (the files
// of web/demo/) and the JS SDK it runs on (the browser modules of sdks/js/src/, as sdk/NAME.js),
// embedded at build time by embed_files.cmake, so the binary needs no files beside it. Lookups
// are by request path; the data is static and immutable, so everything here is thread-safe and
// the returned views live as long as the process.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace ithaca::web {

struct StaticAsset {
  std::string_view name;          // "demo.js" (web/demo/demo.js), "sdk/client.js" (sdks/js/src/)
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

// The demo asset served at a request path: "/" is index.html, "/demo.js" is demo.js,
// "/sdk/index.js" the SDK's entry. Only exact names of embedded files match (no directory
// listings, no "..", no query string).
std::optional<StaticAsset> find_demo_asset(std::string_view path);

// Every embedded file (web/demo's and the SDK's sdk/*), sorted by name.
std::span<const StaticAsset> demo_assets();

// The Content-Type for a file name, from its extension; application/octet-stream if unknown.
std::string_view content_type_for(std::string_view name);

}  // namespace ithaca::web
