// The web page's embedded assets: each known path answers its file, nothing else answers.
#include "server/web_assets.h"

#include <gtest/gtest.h>

#include <string>

namespace kindred::server {
namespace {

TEST(WebAssets, EveryAssetIsFoundWithItsContentType) {
  struct Expected {
    const char* path;
    const char* content_type;
  };
  for (const Expected& e : {Expected{"/", "text/html; charset=utf-8"}, Expected{"/index.html", "text/html; charset=utf-8"},
                            Expected{"/web/app.js", "text/javascript; charset=utf-8"},
                            Expected{"/web/mood_chart.js", "text/javascript; charset=utf-8"},
                            Expected{"/web/style.css", "text/css; charset=utf-8"},
                            Expected{"/openapi.json", "application/json; charset=utf-8"}}) {
    const auto asset = find_web_asset(e.path);
    ASSERT_TRUE(asset.has_value()) << e.path;
    EXPECT_EQ(asset->content_type, e.content_type) << e.path;
    EXPECT_GT(asset->body.size(), 100u) << e.path;
    // The embedded bytes end exactly at the file's end: no terminating 0 inside the body.
    EXPECT_EQ(asset->body.find('\0'), std::string_view::npos) << e.path;
  }
}

TEST(WebAssets, RootAndIndexAreTheSamePage) {
  EXPECT_EQ(find_web_asset("/")->body.data(), find_web_asset("/index.html")->body.data());
}

TEST(WebAssets, PageReferencesTheOtherAssetsAndTheKindredApi) {
  const std::string_view html = find_web_asset("/")->body;
  EXPECT_TRUE(html.starts_with("<!doctype html>"));
  EXPECT_NE(html.find("src=\"/web/app.js\""), std::string_view::npos);
  EXPECT_NE(html.find("src=\"/web/mood_chart.js\""), std::string_view::npos);
  EXPECT_NE(html.find("href=\"/web/style.css\""), std::string_view::npos);
  EXPECT_NE(html.find("id=\"mood-chart\""), std::string_view::npos);
  const std::string_view js = find_web_asset("/web/app.js")->body;
  EXPECT_NE(js.find("'/kindred/v1'"), std::string_view::npos);
  EXPECT_NE(js.find("text/event-stream"), std::string_view::npos);
}

TEST(WebAssets, OpenApiDocumentDescribesTheKindredApi) {
  const std::string_view doc = find_web_asset("/openapi.json")->body;
  EXPECT_TRUE(doc.starts_with("{"));
  EXPECT_NE(doc.find("\"openapi\": \"3.0.3\""), std::string_view::npos);  // docs/openapi.json
  EXPECT_NE(doc.find("\"/kindred/v1/sessions/{id}/messages\""), std::string_view::npos);
}

TEST(WebAssets, UnknownPathsAreNotFound) {
  for (const char* path : {"", "/web/", "/web", "/app.js", "/style.css", "/web/missing.js", "/favicon.ico", "/web/openapi.json",
                           "/WEB/APP.JS", "/web/app.js?v=1", "/web/app.js/", "//web/app.js", "/index.htm"}) {
    EXPECT_FALSE(find_web_asset(path).has_value()) << path;
  }
}

TEST(WebAssets, PathTraversalFindsNothing) {
  for (const char* path : {"/web/../index.html", "/web/../../etc/passwd", "/../web/app.js", "/web/./app.js",
                           "/web/%2e%2e/index.html", "/web/..%2Fstyle.css", "/web/app.js%00", "../web/style.css"}) {
    EXPECT_FALSE(find_web_asset(path).has_value()) << path;
  }
  EXPECT_FALSE(find_web_asset(std::string_view("/web/app.js\0", 12)).has_value());
}

}  // namespace
}  // namespace kindred::server
