// `kindred chat` driven through stdin as a person would type: a reply streams, the commands work,
// the session is saved at the end and resumes from its cache the next time.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "run_kindred.h"
#include "test_data.h"

namespace kindred {
namespace {

using test::Outcome;

Outcome chat(const std::filesystem::path& dir, const std::string& input, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"chat", "-n", "16", "-s", "1", "--no-facts", "-c", "512"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::run_kindred(args, input, "XDG_DATA_HOME=" + test::shell_quote(dir.string()));
}

TEST(ChatCli, CommandsWorkAndTheSessionResumes) {
  const auto dir = test::temp_dir();
  const Outcome first = chat(dir, "Once upon a time\n/regen\n/swipe <\n/history\n/memory\n/bogus\n/quit\n");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("[0] User: Once upon a time"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("(swipe 1/2)"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("window: turns 0.."), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("unknown command /bogus"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("saved"), std::string::npos) << first.out;
  EXPECT_TRUE(std::filesystem::exists(dir / "kindred" / "kindred.db"));

  const Outcome second = chat(dir, "The end\n/memory\n/undo\n/history\n");  // ends with Ctrl-D (EOF)
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("resumed from its saved cache"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("[2] User: The end"), std::string::npos) << "undo kept the turn:\n" << second.out;
  EXPECT_NE(second.out.find("(last exchange removed)"), std::string::npos) << second.out;

  const Outcome bad = chat(dir, "", {"--character", (dir / "missing.png").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("missing.png"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace kindred
