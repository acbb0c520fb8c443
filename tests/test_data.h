// Locating the shared fixtures (../shared/data). A user's fresh clone has none: tests that need
// them skip with a message; under CI (CI=true) a missing fixture folder is a failure instead.
#pragma once
#include <filesystem>
#include <gtest/gtest.h>

namespace kindred::test {

// The fixture root, or an empty path when it is absent.
std::filesystem::path shared_data_dir();

// A temporary directory unique to the running test, removed at exit of the process.
std::filesystem::path temp_dir();

}  // namespace kindred::test

// Skips (or fails under CI) when ../shared/data is missing; yields the path otherwise.
#define KINDRED_REQUIRE_SHARED_DATA(var)                                                  \
  const std::filesystem::path var = ::kindred::test::shared_data_dir();                   \
  if (var.empty()) {                                                                      \
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") {            \
      FAIL() << "CI=true but the shared fixtures (../shared/data) are missing";           \
    }                                                                                     \
    GTEST_SKIP() << "no ../shared/data here (set KINDRED_SHARED_DATA to run this test)";  \
  }
