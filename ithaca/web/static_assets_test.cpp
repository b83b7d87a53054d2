#include "ithaca/web/static_assets.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ithaca::web {
namespace {

// The source file an asset name comes from: web/demo/NAME, or sdks/js/src/NAME for sdk/NAME.
std::string read_source(const std::string& name) {
  const std::string root(ITHACA_SOURCE_DIR);
  const std::string path = name.rfind("sdk/", 0) == 0 ? root + "/sdks/js/src/" + name.substr(4)
                                                      : root + "/web/demo/" + name;
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

size_t files_in(const std::string& dir, std::string_view extension, std::string_view but) {
  size_t n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(ITHACA_SOURCE_DIR) + dir)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.front() == '.' || name.back() == '~' || name == but)
      continue;
    if (name.size() >= extension.size() &&
        name.compare(name.size() - extension.size(), extension.size(), extension) == 0) {
      ++n;
    }
  }
  return n;
}

TEST(StaticAssetsTest, RootIsTheIndexPage) {
  auto root = find_demo_asset("/");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->name, "index.html");
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  EXPECT_NE(root->body.find("DEV MODE"), std::string_view::npos);
  auto index = find_demo_asset("/index.html");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body.data(), root->body.data());
}

TEST(StaticAssetsTest, EveryDemoFileIsEmbeddedByteForByte) {
  for (const char* name :
       {"index.html", "demo.js", "watch.html", "watch.js", "sdk/index.js", "sdk/client.js",
        "sdk/spectator.js", "sdk/endpoints.js", "sdk/frame-marker.js"}) {
    auto asset = find_demo_asset(std::string("/") + name);
    ASSERT_TRUE(asset) << name;
    const std::string on_disk = read_source(name);
    ASSERT_FALSE(on_disk.empty()) << name;
    EXPECT_EQ(asset->body, on_disk) << name << " is stale: the build did not re-embed it";
  }
  EXPECT_EQ(find_demo_asset("/demo.js")->content_type, "text/javascript; charset=utf-8");
  // Exactly the files of the folders, sorted, no leftovers: every file of web/demo/, and the
  // SDK's .js files but server.js (the API-key path is Node only).
  const size_t on_disk =
      files_in("/web/demo", "", "") + files_in("/sdks/js/src", ".js", "server.js");
  const auto all = demo_assets();
  EXPECT_EQ(all.size(), on_disk);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].name, all[i].name);
}

TEST(StaticAssetsTest, OnlyExactNamesMatch) {
  for (const char* path :
       {"", "demo.js", "/demo.js/", "/../demo.js", "/./demo.js", "//demo.js", "/DEMO.JS",
        "/demo.js?x=1", "/web/demo/demo.js", "/nope.html", "/sdk/", "/sdk", "/sdk/server.js",
        "/sdk/index.d.ts", "/sdk/../demo.js", "/sdks/js/src/index.js", "/index.js"}) {
    EXPECT_FALSE(find_demo_asset(path)) << path;
  }
}

TEST(StaticAssetsTest, ContentTypesByExtension) {
  EXPECT_EQ(content_type_for("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("a.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("a.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("a.bin"), "application/octet-stream");
  EXPECT_EQ(content_type_for("js"), "application/octet-stream");
}

}  // namespace
}  // namespace ithaca::web
