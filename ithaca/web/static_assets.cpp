#include "ithaca/web/static_assets.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <vector>

namespace ithaca::web {
namespace {

struct EmbeddedFile {
  const char* name;
  const unsigned char* data;
  size_t size;
};

#include "ithaca/web/demo_files.inc"  // kDemoFiles: web/demo/*
#include "ithaca/web/sdk_files.inc"   // kSdkFiles: sdks/js/src/*.js as sdk/*, but server.js

std::vector<StaticAsset> build_index() {
  std::vector<StaticAsset> out;
  out.reserve(std::size(kDemoFiles) + std::size(kSdkFiles));
  for (const auto table :
       {std::span<const EmbeddedFile>(kDemoFiles), std::span<const EmbeddedFile>(kSdkFiles)}) {
    for (const auto& f : table) {
      const std::string_view name(f.name);
      out.push_back({name, content_type_for(name),
                     std::string_view(reinterpret_cast<const char*>(f.data), f.size)});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const StaticAsset& a, const StaticAsset& b) { return a.name < b.name; });
  return out;
}

const std::vector<StaticAsset>& index() {
  static const std::vector<StaticAsset> assets = build_index();
  return assets;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  }};
  for (const auto& [ext, type] : kTypes) {
    if (ends_with(name, ext)) return type;
  }
  return "application/octet-stream";
}

std::span<const StaticAsset> demo_assets() {
  return index();
}

std::optional<StaticAsset> find_demo_asset(std::string_view path) {
  if (path == "/") path = "/index.html";
  if (path.size() < 2 || path.front() != '/') return std::nullopt;
  const std::string_view name = path.substr(1);
  for (const auto& asset : index()) {
    if (asset.name == name) return asset;
  }
  return std::nullopt;
}

}  // namespace ithaca::web
