// Runs the built `kindred` binary as a user would (a shell command with stdin from a file) and
// collects its exit code, stdout and stderr: shared by the CLI tests.
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_data.h"

namespace kindred::test {

struct Outcome {
  int exit_code;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `env` is prepended as is (e.g. "XDG_DATA_HOME=/tmp/x"); `input` is fed on stdin.
inline Outcome run_kindred(const std::vector<std::string>& args, const std::string& input = "",
                           const std::string& env = "") {
  const auto dir = temp_dir();
  std::ofstream(dir / "stdin") << input;
  std::string cmd = env.empty() ? "" : env + " ";
  cmd += shell_quote(KINDRED_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " < " + shell_quote((dir / "stdin").string()) + " > " + shell_quote((dir / "stdout").string()) + " 2> " +
         shell_quote((dir / "stderr").string());
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "stdout"), slurp(dir / "stderr")};
}

}  // namespace kindred::test
