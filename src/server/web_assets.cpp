// The page's files are assembled into read-only data with .incbin (see util/incbin.h);
// KINDRED_WEB_DIR comes from CMakeLists.txt, whose OBJECT_DEPENDS re-assembles on a change.
#include "server/web_assets.h"

#include <array>
#include <cstdint>

#include "util/incbin.h"

KINDRED_INCBIN(kindred_web_index_html, KINDRED_WEB_DIR "/index.html");
KINDRED_INCBIN(kindred_web_app_js, KINDRED_WEB_DIR "/app.js");
KINDRED_INCBIN(kindred_web_mood_chart_js, KINDRED_WEB_DIR "/mood_chart.js");
KINDRED_INCBIN(kindred_web_style_css, KINDRED_WEB_DIR "/style.css");
KINDRED_INCBIN(kindred_web_openapi_json, KINDRED_DOCS_DIR "/openapi.json");

extern "C" const char kindred_web_index_html[], kindred_web_index_html_end[];
extern "C" const char kindred_web_app_js[], kindred_web_app_js_end[];
extern "C" const char kindred_web_mood_chart_js[], kindred_web_mood_chart_js_end[];
extern "C" const char kindred_web_style_css[], kindred_web_style_css_end[];
extern "C" const char kindred_web_openapi_json[], kindred_web_openapi_json_end[];

namespace kindred::server {

namespace {

struct Route {
  std::string_view path;
  std::string_view content_type;
  const char* begin;
  const char* end;
};

const std::array<Route, 6> kRoutes = {{
    {"/", "text/html; charset=utf-8", kindred_web_index_html, kindred_web_index_html_end},
    {"/index.html", "text/html; charset=utf-8", kindred_web_index_html, kindred_web_index_html_end},
    {"/web/app.js", "text/javascript; charset=utf-8", kindred_web_app_js, kindred_web_app_js_end},
    {"/web/mood_chart.js", "text/javascript; charset=utf-8", kindred_web_mood_chart_js, kindred_web_mood_chart_js_end},
    {"/web/style.css", "text/css; charset=utf-8", kindred_web_style_css, kindred_web_style_css_end},
    // The machine-readable form of docs/SERVER_API.md.
    {"/openapi.json", "application/json; charset=utf-8", kindred_web_openapi_json, kindred_web_openapi_json_end},
}};

}  // namespace

std::optional<WebAsset> find_web_asset(std::string_view path) {
  for (const Route& route : kRoutes) {
    if (route.path == path) {
      return WebAsset{route.content_type, std::string_view(route.begin, static_cast<size_t>(route.end - route.begin))};
    }
  }
  return std::nullopt;
}

}  // namespace kindred::server
