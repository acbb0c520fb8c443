// `kindred pull` against a local stand-in for the Hugging Face hub (cpp-httplib on 127.0.0.1):
// full download, resume with Range, servers that ignore Range or answer 416, cut connections,
// redirects, 404/401, non-GGUF content, the cache layout and the CLI wiring.
#include "cli/pull.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "test_data.h"

namespace kindred::cli {
namespace {
namespace fs = std::filesystem;

std::string fake_gguf(size_t size) {
  std::string s = "GGUF";
  s += std::string("\x03\x00\x00\x00", 4);
  std::mt19937 rng(42);
  while (s.size() < size) s += static_cast<char>(rng() & 0xff);
  return s;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Serves files at /OWNER/REPO/resolve/REVISION/FILE the way the hub does, and records requests.
class FakeHub {
 public:
  struct Seen {
    std::string path, range, auth;
    int status = 0;
    size_t body_bytes = 0;  // bytes the handler handed to the connection
  };

  FakeHub() {
    server_.Get(R"(/(.+))",
                [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeHub() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  // Configuration; set before the requests.
  std::map<std::string, std::string> files;      // URL path → body
  std::map<std::string, std::string> redirects;  // URL path → Location
  std::string required_token;
  bool ignore_range = false;
  std::atomic<size_t> cut_after{0};  // > 0: send this many bytes, then drop the connection

 private:
  void record(const httplib::Request& req, int status, size_t bytes) {
    std::lock_guard lock(mu_);
    seen_.push_back({req.path, req.get_header_value("Range"), req.get_header_value("Authorization"),
                     status, bytes});
  }
  void add_bytes(size_t n) {
    std::lock_guard lock(mu_);
    seen_.back().body_bytes += n;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    if (!required_token.empty() &&
        req.get_header_value("Authorization") != "Bearer " + required_token) {
      res.status = 401;
      res.set_header("X-Error-Message", "Invalid credentials in Authorization header");
      res.set_content("Unauthorized", "text/plain");
      return record(req, 401, 0);
    }
    if (auto r = redirects.find(req.path); r != redirects.end()) {
      res.set_redirect(r->second);
      return record(req, res.status, 0);
    }
    const auto f = files.find(req.path);
    if (f == files.end()) {
      res.status = 404;
      res.set_header("X-Error-Message", "Entry not found");
      res.set_content("Entry not found", "text/plain");
      return record(req, 404, 0);
    }
    const std::string* body = &f->second;
    const size_t cut = cut_after.exchange(0);
    if (ignore_range || cut > 0) {
      // A chunked body: cpp-httplib applies no Range to it, so this is a plain 200.
      res.status = 200;
      record(req, 200, 0);
      res.set_chunked_content_provider(
          "application/octet-stream", [this, body, cut](size_t offset, httplib::DataSink& sink) {
            if (cut > 0 && offset >= cut) return false;  // drop the connection mid-body
            const size_t end = cut > 0 ? std::min(cut, body->size()) : body->size();
            const size_t n = std::min<size_t>(end - offset, 16384);
            sink.write(body->data() + offset, n);
            add_bytes(n);
            if (offset + n == body->size()) sink.done();
            return true;
          });
      return;
    }
    if (!req.ranges.empty() && req.ranges[0].first >= static_cast<ssize_t>(body->size())) {
      res.status = 416;
      res.set_header("Content-Range", "bytes */" + std::to_string(body->size()));
      return record(req, 416, 0);
    }
    // cpp-httplib turns a Range request into a 206 and asks the provider for just that span.
    record(req, req.ranges.empty() ? 200 : 206, 0);
    res.set_content_provider(body->size(), "application/octet-stream",
                             [this, body](size_t offset, size_t length, httplib::DataSink& sink) {
                               const size_t n = std::min<size_t>(length, 16384);
                               sink.write(body->data() + offset, n);
                               add_bytes(n);
                               return true;
                             });
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Seen> seen_;
};

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache =
        test::temp_dir() /
        ("pull-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(cache);
    hub.files["/owner/repo/resolve/main/model.gguf"] = content;
  }
  PullOptions options(std::string uri = "hf://owner/repo/model.gguf") const {
    PullOptions o;
    o.uri = std::move(uri);
    o.cache_dir = cache;
    o.endpoint = hub.endpoint();
    o.progress = Progress::None;
    return o;
  }
  fs::path cached(const std::string& rel = "owner/repo/model.gguf") const {
    return cache / "models" / rel;
  }
  std::string error_of(const PullOptions& o) const {
    try {
      pull_model(o);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }

  const std::string content = fake_gguf(300'000);
  FakeHub hub;
  fs::path cache;
  ScopedEnv no_token{"HF_TOKEN", nullptr};
  ScopedEnv no_proxy{"no_proxy", "127.0.0.1"};  // a proxy from the environment must not interfere
};

TEST(HfRef, ParsesAndValidates) {
  const HfRef a = parse_hf_ref("hf://TheBloke/Llama-2-7B-GGUF/llama-2-7b.Q4_K_M.gguf");
  EXPECT_EQ(a.owner, "TheBloke");
  EXPECT_EQ(a.repo, "Llama-2-7B-GGUF");
  EXPECT_EQ(a.file, "llama-2-7b.Q4_K_M.gguf");
  EXPECT_EQ(a.revision, "main");
  const HfRef b = parse_hf_ref("hf://o/r/sub/dir/m.GGUF@v1.0");
  EXPECT_EQ(b.file, "sub/dir/m.GGUF");
  EXPECT_EQ(b.revision, "v1.0");
  const HfRef c = parse_hf_ref("hf://o/r/a@b.gguf@refs/pr/3");
  EXPECT_EQ(c.file, "a@b.gguf");
  EXPECT_EQ(c.revision, "refs/pr/3");
  for (const char* bad :
       {"o/r/m.gguf", "https://o/r/m.gguf", "hf://o/r", "hf://o/r/", "hf:///r/m.gguf",
        "hf://o//m.gguf", "hf://o w/r/m.gguf", "hf://o/r/../m.gguf", "hf://o/r/a//m.gguf",
        "hf://o/r/m.bin", "hf://o/r/m.gguf@", "hf://o/r/a\\m.gguf", "hf://o/../m.gguf"}) {
    EXPECT_THROW(parse_hf_ref(bad), std::runtime_error) << bad;
  }
}

TEST(HfRef, DefaultsFromEnvironment) {
  {
    ScopedEnv a("KINDRED_CACHE_DIR", "/tmp/kc");
    EXPECT_EQ(default_cache_dir(), fs::path("/tmp/kc"));
  }
  {
    ScopedEnv a("KINDRED_CACHE_DIR", nullptr);
    ScopedEnv b("XDG_CACHE_HOME", "/tmp/xdg");
    EXPECT_EQ(default_cache_dir(), fs::path("/tmp/xdg/kindred"));
    ScopedEnv c("XDG_CACHE_HOME", "relative");  // ignored, per the XDG spec
    ScopedEnv d("HOME", "/home/u");
    EXPECT_EQ(default_cache_dir(), fs::path("/home/u/.cache/kindred"));
  }
  ScopedEnv e("KINDRED_HF_ENDPOINT", nullptr);
  ScopedEnv f("HF_ENDPOINT", nullptr);
  EXPECT_EQ(default_hf_endpoint(), "https://huggingface.co");
  ScopedEnv g("HF_ENDPOINT", "http://mirror");
  EXPECT_EQ(default_hf_endpoint(), "http://mirror");
  ScopedEnv h("KINDRED_HF_ENDPOINT", "http://local:1");
  EXPECT_EQ(default_hf_endpoint(), "http://local:1");
}

TEST_F(PullTest, DownloadsIntoTheCache) {
  const PullResult r = pull_model(options());
  EXPECT_EQ(r.path, cached());
  EXPECT_TRUE(r.downloaded);
  EXPECT_FALSE(r.resumed);
  EXPECT_EQ(r.bytes_received, content.size());
  EXPECT_EQ(read_all(r.path), content);
  EXPECT_FALSE(fs::exists(r.path.string() + ".part"));
  const auto seen = hub.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/owner/repo/resolve/main/model.gguf");
  EXPECT_EQ(seen[0].range, "");
  EXPECT_EQ(seen[0].auth, "");
}

TEST_F(PullTest, ResumesFromPartWithRange) {
  const size_t have = 123'457;
  write_all(cached().string() + ".part", content.substr(0, have));
  const PullResult r = pull_model(options());
  EXPECT_TRUE(r.downloaded);
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(r.bytes_received, content.size() - have);
  EXPECT_EQ(read_all(r.path), content);
  const auto seen = hub.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].range, "bytes=" + std::to_string(have) + "-");
  EXPECT_EQ(seen[0].status, 206);
  EXPECT_EQ(seen[0].body_bytes, content.size() - have);  // only the rest was sent
}

TEST_F(PullTest, InterruptedDownloadKeepsPartAndNextPullResumes) {
  hub.cut_after = 100'000;
  const std::string err = error_of(options());
  EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  EXPECT_NE(err.find("again to resume"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(cached()));
  const fs::path part = cached().string() + ".part";
  ASSERT_TRUE(fs::exists(part));
  const size_t have = fs::file_size(part);
  EXPECT_GT(have, 0u);
  EXPECT_LT(have, content.size());

  const PullResult r = pull_model(options());
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(read_all(r.path), content);
  const auto seen = hub.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].range, "bytes=" + std::to_string(have) + "-");
  EXPECT_EQ(seen[1].body_bytes, content.size() - have);
}

TEST_F(PullTest, CachedFileIsNotDownloadedAgainUnlessForced) {
  pull_model(options());
  const PullResult again = pull_model(options());
  EXPECT_FALSE(again.downloaded);
  EXPECT_EQ(again.path, cached());
  EXPECT_EQ(hub.seen().size(), 1u);

  auto forced = options();
  forced.force = true;
  const PullResult r = pull_model(forced);
  EXPECT_TRUE(r.downloaded);
  EXPECT_EQ(hub.seen().size(), 2u);
  EXPECT_EQ(hub.seen()[1].range, "");
  EXPECT_EQ(read_all(r.path), content);
}

TEST_F(PullTest, NotFoundIsOneClearLine) {
  const std::string err = error_of(options("hf://owner/repo/missing.gguf"));
  EXPECT_NE(err.find("hf://owner/repo/missing.gguf not found (HTTP 404"), std::string::npos) << err;
  EXPECT_NE(err.find("Entry not found"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos);
  EXPECT_FALSE(fs::exists(cached("owner/repo/missing.gguf")));
  EXPECT_FALSE(fs::exists(cached("owner/repo/missing.gguf.part")));
}

TEST_F(PullTest, TokenIsSentAsBearerAndItsAbsenceExplained) {
  hub.required_token = "hf_secret";
  const std::string err = error_of(options());
  EXPECT_NE(err.find("HTTP 401"), std::string::npos) << err;
  EXPECT_NE(err.find("--token"), std::string::npos) << err;

  auto wrong = options();
  wrong.token = "hf_wrong";
  EXPECT_NE(error_of(wrong).find("token was rejected"), std::string::npos);

  auto o = options();
  o.token = "hf_secret";
  EXPECT_EQ(read_all(pull_model(o).path), content);
  EXPECT_EQ(hub.seen().back().auth, "Bearer hf_secret");

  ScopedEnv env("HF_TOKEN", "hf_secret");
  o.token.clear();
  o.force = true;
  EXPECT_TRUE(pull_model(o).downloaded);
}

TEST_F(PullTest, ServerIgnoringRangeRestartsFromZero) {
  hub.ignore_range = true;
  // The stale .part differs from the file, so any byte kept from it would show.
  write_all(cached().string() + ".part", std::string(5000, 'x'));
  const PullResult r = pull_model(options());
  EXPECT_FALSE(r.resumed);
  EXPECT_EQ(r.bytes_received, content.size());
  EXPECT_EQ(read_all(r.path), content);
  EXPECT_EQ(hub.seen()[0].range, "bytes=5000-");
  EXPECT_EQ(hub.seen()[0].status, 200);
}

TEST_F(PullTest, CompletePartIsFinishedOn416) {
  write_all(cached().string() + ".part", content);
  const PullResult r = pull_model(options());
  EXPECT_TRUE(r.downloaded);
  EXPECT_EQ(r.bytes_received, 0u);
  EXPECT_EQ(read_all(r.path), content);
  ASSERT_EQ(hub.seen().size(), 1u);
  EXPECT_EQ(hub.seen()[0].status, 416);
}

TEST_F(PullTest, PartLargerThanRemoteFileRestarts) {
  write_all(cached().string() + ".part", content + "extra bytes");
  const PullResult r = pull_model(options());
  EXPECT_EQ(read_all(r.path), content);
  const auto seen = hub.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].status, 416);
  EXPECT_EQ(seen[1].range, "");
}

TEST_F(PullTest, NonGgufContentIsRejected) {
  hub.files["/owner/repo/resolve/main/page.gguf"] = "<!DOCTYPE html><html>login</html>";
  const std::string err = error_of(options("hf://owner/repo/page.gguf"));
  EXPECT_NE(err.find("not a GGUF file"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(cached("owner/repo/page.gguf")));
  EXPECT_FALSE(fs::exists(cached("owner/repo/page.gguf.part")));

  // A resumed download is checked too, from the bytes already on disk.
  hub.files["/owner/repo/resolve/main/other.gguf"] = "NOPE" + content.substr(4);
  write_all(cached("owner/repo/other.gguf.part"), "NOPE" + content.substr(4, 1000));
  EXPECT_NE(error_of(options("hf://owner/repo/other.gguf")).find("not a GGUF file"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(cached("owner/repo/other.gguf")));
}

TEST_F(PullTest, FollowsRedirects) {
  hub.redirects["/owner/repo/resolve/main/big.gguf"] = "/cdn/blobs/abc123";
  hub.files["/cdn/blobs/abc123"] = content;
  const PullResult r = pull_model(options("hf://owner/repo/big.gguf"));
  EXPECT_EQ(read_all(r.path), content);
  const auto seen = hub.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].path, "/cdn/blobs/abc123");
}

TEST_F(PullTest, RevisionAndNestedPathAndEnvironmentEndpoint) {
  hub.files["/owner/repo/resolve/v1.0/sub%20dir/m.gguf"] = content;
  hub.files["/owner/repo/resolve/v1.0/sub dir/m.gguf"] = content;  // if the server decodes
  ScopedEnv env("KINDRED_HF_ENDPOINT", hub.endpoint().c_str());
  auto o = options("hf://owner/repo/sub dir/m.gguf@v1.0");
  o.endpoint.clear();
  const PullResult r = pull_model(o);
  EXPECT_EQ(r.path, cache / "models" / "owner" / "repo@v1.0" / "sub dir" / "m.gguf");
  EXPECT_EQ(read_all(r.path), content);
}

TEST_F(PullTest, ConcurrentPullOfTheSameFileIsRefused) {
  const fs::path part = cached().string() + ".part";
  fs::create_directories(part.parent_path());
  const int fd = ::open(part.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  EXPECT_NE(error_of(options()).find("another kindred pull"), std::string::npos);
  ::close(fd);
  EXPECT_EQ(read_all(pull_model(options()).path), content);
}

TEST_F(PullTest, PlainProgressLinesWhenNotATerminal) {
  const fs::path log_path = cache / "progress.log";
  fs::create_directories(cache);
  std::FILE* log = std::fopen(log_path.c_str(), "w");
  ASSERT_NE(log, nullptr);
  auto o = options();
  o.progress = Progress::Auto;  // a regular file is not a terminal
  o.log = log;
  pull_model(o);
  std::fclose(log);
  const std::string text = read_all(log_path);
  EXPECT_NE(text.find("kindred pull: model.gguf 100% 0.3/0.3 MB"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST_F(PullTest, CommandPrintsThePath) {
  CLI::App app;
  add_pull_command(app);
  ScopedEnv env("KINDRED_HF_ENDPOINT", hub.endpoint().c_str());
  const std::string cache_arg = cache.string();
  const char* argv[] = {"kindred", "pull", "hf://owner/repo/model.gguf", "--cache-dir",
                        cache_arg.c_str()};
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  app.parse(5, argv);
  const std::string out = ::testing::internal::GetCapturedStdout();
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, cached().string() + "\n");
  EXPECT_EQ(read_all(cached()), content);
}

}  // namespace
}  // namespace kindred::cli
