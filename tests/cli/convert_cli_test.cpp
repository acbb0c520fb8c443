// `kindred convert llama2c`: the subcommand wiring in-process, and the binary's exit code and
// one-line error for a bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "gguf/gguf.h"
#include "test_data.h"

namespace kindred::cli {
namespace {
namespace fs = std::filesystem;

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `kindred convert ...` through CLI11 in this process; returns what it printed on stdout.
std::string run_convert(std::vector<std::string> args) {
  CLI::App app;
  app.require_subcommand(1);
  add_convert_command(app);
  args.insert(args.begin(), {"kindred", "convert"});
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  ::testing::internal::CaptureStdout();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (...) {
    ::testing::internal::GetCapturedStdout();
    throw;
  }
  return ::testing::internal::GetCapturedStdout();
}

TEST(ConvertCommand, Llama2cWritesGguf) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const auto dir = data / "models" / "stories260K";
  const fs::path out = test::temp_dir() / "convert-cli" / "stories260K.gguf";
  fs::create_directories(out.parent_path());
  const std::string printed = run_convert({"llama2c", (dir / "stories260K.bin").string(),
                                           (dir / "tok512.bin").string(), "-o", out.string()});
  EXPECT_EQ(printed, out.string() + "\n");
  const auto f = gguf::File::open(out);
  EXPECT_EQ(f.get_u32("llama.context_length"), 512u);
  EXPECT_EQ(f.tensors().size(), 48u);

  // With llama.cpp's context length the file is the reference, byte for byte.
  run_convert({"llama2c", (dir / "stories260K.bin").string(), (dir / "tok512.bin").string(), "-o",
               out.string(), "--context-length", "128"});
  EXPECT_TRUE(read_bytes(out) == read_bytes(dir / "stories260K.gguf"));
}

TEST(ConvertCommand, ErrorsAreExceptions) {
  const fs::path dir = test::temp_dir() / "convert-cli-errors";
  fs::create_directories(dir);
  EXPECT_THROW(run_convert({"llama2c", "a.bin", "b.bin"}), CLI::RequiredError);  // no -o
  EXPECT_THROW(run_convert({}), CLI::RequiredError);                             // no format
  try {
    run_convert({"llama2c", (dir / "missing.bin").string(), (dir / "tok.bin").string(), "-o",
                 (dir / "out.gguf").string()});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open checkpoint"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "out.gguf"));
}

TEST(ConvertCommand, BinaryExitsWithOneLineError) {
  const fs::path dir = test::temp_dir() / "convert-cli-binary";
  fs::create_directories(dir);
  std::ofstream(dir / "bad.bin", std::ios::binary) << "short";
  std::ofstream(dir / "tok.bin", std::ios::binary) << "tok";
  const fs::path err = dir / "stderr.txt";
  const std::string cmd = std::string("'") + KINDRED_BINARY + "' convert llama2c '" +
                          (dir / "bad.bin").string() + "' '" + (dir / "tok.bin").string() +
                          "' -o '" + (dir / "out.gguf").string() + "' >/dev/null 2>'" +
                          err.string() + "'";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::ifstream in(err);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(text.rfind("kindred: ", 0), 0u) << text;
  EXPECT_NE(text.find("too short for its 28-byte header"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << text;
}

}  // namespace
}  // namespace kindred::cli
