#include "test_data.h"

#include <cstdlib>
#include <random>
#include <string>

namespace kindred::test {

std::filesystem::path shared_data_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("KINDRED_SHARED_DATA"); env && *env) {
    return fs::is_directory(env) ? fs::path(env) : fs::path();
  }
  fs::path p = KINDRED_SHARED_DATA_DEFAULT;
  return fs::is_directory(p) ? fs::canonical(p) : fs::path();
}

namespace {
// Owns the per-process scratch directory and removes it when the test binary exits.
struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("kindred-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
}  // namespace

std::filesystem::path temp_dir() {
  static ScratchDir dir;
  return dir.path;
}

}  // namespace kindred::test
