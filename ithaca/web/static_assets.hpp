// Static assets built into the binary: today the demo page of `ithaca server --dev` (the files
// of web/demo/, embedded at build time by embed_files.cmake, so the binary needs no files
// beside it). Lookups are by request path; the data is static and immutable, so everything here
// is thread-safe and the returned views live as long as the process.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace ithaca::web {

struct StaticAsset {
  std::string_view name;          // file name in web/demo/, e.g. "demo.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

// The demo asset served at a request path: "/" is index.html, "/demo.js" is demo.js. Only
// exact names of embedded files match (no directories, no "..", no query string).
std::optional<StaticAsset> find_demo_asset(std::string_view path);

// Every embedded demo file, sorted by name.
std::span<const StaticAsset> demo_assets();

// The Content-Type for a file name, from its extension; application/octet-stream if unknown.
std::string_view content_type_for(std::string_view name);

}  // namespace ithaca::web
