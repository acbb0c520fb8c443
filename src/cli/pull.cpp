// `kindred pull`: Hugging Face download into the cache with resume (HTTP Range), progress and
// GGUF verification. One libcurl easy handle per request; the body goes straight to FILE.part.
#include "cli/pull.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace kindred::cli {
namespace fs = std::filesystem;
namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};

[[noreturn]] void fail(const std::string& msg) { throw std::runtime_error(msg); }

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool ends_with_gguf(std::string_view s) {
  if (s.size() < 5) return false;
  std::string tail(s.substr(s.size() - 5));
  std::transform(tail.begin(), tail.end(), tail.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return tail == ".gguf";
}

// Hugging Face user, organisation and repository names.
void check_name(std::string_view what, std::string_view name, std::string_view uri) {
  const bool ok = !name.empty() && name != "." && name != ".." &&
                  std::all_of(name.begin(), name.end(), [](unsigned char c) {
                    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
                  });
  if (!ok)
    fail("invalid " + std::string(what) + " '" + std::string(name) + "' in " + std::string(uri));
}

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// RFC 3986 unreserved characters stay; everything else (including '/') is %XX.
std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string encode_path(std::string_view path) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    out += percent_encode(path.substr(start, slash - start));
    if (slash == std::string_view::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

std::string megabytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(bytes) / 1e6);
  return buf;
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

uint64_t file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    fail(std::string("cannot stat download file: ") + std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

void truncate_to(int fd, uint64_t size, const fs::path& path) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0 ||
      ::lseek(fd, static_cast<off_t>(size), SEEK_SET) < 0) {
    fail("cannot truncate " + path.string() + ": " + std::strerror(errno));
  }
}

// A bar (terminal) or a line per 10% / 10 s (logs), on the given stream.
class ProgressReporter {
 public:
  ProgressReporter(Progress mode, std::FILE* out, std::string label)
      : style_(out == nullptr || mode == Progress::None            ? Style::None
               : mode == Progress::Auto && ::isatty(::fileno(out)) ? Style::Bar
                                                                   : Style::Lines),
        out_(out),
        label_(std::move(label)) {}
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // `done` and `total` count the whole file, resumed bytes included; total 0 = unknown.
  void start(uint64_t already) {
    start_time_ = last_time_ = Clock::now();
    start_bytes_ = already;
    last_decile_ = -2;
    printed_ = false;
  }
  void update(uint64_t done, uint64_t total) {
    if (style_ == Style::None || (printed_ && done == last_done_)) return;
    if (total > 0 && done > total) total = 0;  // a server that misreported the size
    const auto now = Clock::now();
    const double since_last = std::chrono::duration<double>(now - last_time_).count();
    if (style_ == Style::Bar) {
      if (since_last < 0.1 && done != total) return;
    } else {
      // Known size: a line per 10%; unknown size: a line every 10 s.
      const int decile = total > 0 ? static_cast<int>(done * 10 / total) : -1;
      if (total > 0 ? decile == last_decile_ : since_last < 10.0) return;
      last_decile_ = decile;
    }
    last_time_ = now;
    last_done_ = done;
    printed_ = true;
    std::string line = label_;
    if (style_ == Style::Bar && total > 0) {
      const size_t filled = static_cast<size_t>(done * 20 / total);
      line += " [" + std::string(filled, '#') + std::string(20 - filled, '.') + "]";
    }
    if (total > 0) {
      line += " " + std::to_string(done * 100 / total) + "% " + megabytes(done) + "/" +
              megabytes(total) + " MB";
    } else {
      line += " " + megabytes(done) + " MB";
    }
    const double secs = std::chrono::duration<double>(now - start_time_).count();
    if (secs > 0 && done >= start_bytes_) {
      line += " " + megabytes(static_cast<uint64_t>(double(done - start_bytes_) / secs)) + " MB/s";
    }
    if (style_ == Style::Bar) {
      std::fprintf(out_, "\r%-70s", line.c_str());
    } else {
      std::fprintf(out_, "kindred pull: %s\n", line.c_str());
    }
    std::fflush(out_);
  }
  void finish() {
    if (style_ == Style::Bar && printed_) std::fputc('\n', out_);
    printed_ = false;
  }
  ~ProgressReporter() { finish(); }

 private:
  using Clock = std::chrono::steady_clock;
  enum class Style { None, Bar, Lines };
  Style style_;
  std::FILE* out_;
  std::string label_;
  Clock::time_point start_time_{}, last_time_{};
  uint64_t start_bytes_ = 0;
  uint64_t last_done_ = 0;
  int last_decile_ = -2;
  bool printed_ = false;
};

// State of one HTTP request: the response headers of the last hop and where its body goes.
struct Request {
  int fd = -1;
  uint64_t offset = 0;  // bytes of FILE.part we asked the server to skip
  ProgressReporter* progress = nullptr;

  // Headers of the current response; reset on each status line (redirects, 1xx).
  long status = 0;
  std::string content_range;
  int64_t content_length = -1;
  std::string error_message;  // Hugging Face's X-Error-Message

  bool decided = false;    // first body byte seen and the write position chosen
  uint64_t base = 0;       // file position of the first body byte
  uint64_t written = 0;    // body bytes written to the file
  std::string error_body;  // start of an error response's body, for the message
  std::string head;        // the first bytes of the file, for the early magic check
  bool bad_magic = false;
  bool wrong_range = false;  // a 206 that does not start where we asked
  std::string io_error;
};

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto& r = *static_cast<Request*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    const size_t sp = line.find(' ');
    r.status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    r.content_range.clear();
    r.content_length = -1;
    r.error_message.clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string key = line.substr(0, colon);
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string value = trim(line.substr(colon + 1));
  if (key == "content-range") r.content_range = value;
  if (key == "content-length") r.content_length = std::strtoll(value.c_str(), nullptr, 10);
  if (key == "x-error-message") r.error_message = value;
  return size * n;
}

// "bytes START-END/TOTAL" or "bytes */TOTAL"; -1 for a part that is absent or unparsable.
struct ContentRange {
  int64_t start = -1, total = -1;
};
ContentRange parse_content_range(const std::string& v) {
  ContentRange cr;
  if (v.rfind("bytes ", 0) != 0) return cr;
  const char* p = v.c_str() + 6;
  if (std::isdigit(static_cast<unsigned char>(*p))) cr.start = std::strtoll(p, nullptr, 10);
  if (const char* slash = std::strchr(p, '/');
      slash && std::isdigit(static_cast<unsigned char>(slash[1]))) {
    cr.total = std::strtoll(slash + 1, nullptr, 10);
  }
  return cr;
}

// Chooses where the body goes once the final response's status is known.
void decide(Request& r) {
  if (r.decided) return;
  r.decided = true;
  if (r.status == 206) {
    const ContentRange cr = parse_content_range(r.content_range);
    if (cr.start != static_cast<int64_t>(r.offset)) {
      r.wrong_range = true;
      return;
    }
    r.base = r.offset;
  } else {
    r.base = 0;  // a 200 is the whole file: the server ignored our Range (or we sent none)
  }
  if (::ftruncate(r.fd, static_cast<off_t>(r.base)) != 0 ||
      ::lseek(r.fd, static_cast<off_t>(r.base), SEEK_SET) < 0) {
    r.io_error = std::strerror(errno);
  }
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto& r = *static_cast<Request*>(user);
  const size_t len = size * n;
  if (r.status != 200 && r.status != 206) {
    if (r.error_body.size() < 512) r.error_body.append(data, std::min<size_t>(len, 512));
    return len;
  }
  decide(r);
  if (r.wrong_range || !r.io_error.empty()) return 0;  // aborts the transfer
  if (r.base == 0 && r.written < sizeof kMagic) {
    const size_t want = sizeof kMagic - r.head.size();
    r.head.append(data, std::min(len, want));
    if (r.head.size() == sizeof kMagic && std::memcmp(r.head.data(), kMagic, sizeof kMagic) != 0) {
      r.bad_magic = true;
      return 0;
    }
  }
  for (size_t done = 0; done < len;) {
    const ssize_t w = ::write(r.fd, data + done, len - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      r.io_error = std::strerror(errno);
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  r.written += len;
  return len;
}

int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto& r = *static_cast<Request*>(user);
  if (r.progress && (r.status == 200 || r.status == 206) && r.decided && !r.wrong_range) {
    const uint64_t total = dltotal > 0 ? r.base + static_cast<uint64_t>(dltotal) : 0;
    r.progress->update(r.base + static_cast<uint64_t>(dlnow), total);
  }
  return 0;
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fail("cannot initialise libcurl");
  });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// Performs one GET into r; returns libcurl's result and its message.
std::pair<CURLcode, std::string> perform(const std::string& url, const std::string& token,
                                         Request& r) {
  init_curl_once();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) fail("cannot create a libcurl handle");
  std::unique_ptr<curl_slist, CurlDeleter> headers;
  const auto add_header = [&](const std::string& h) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    if (!next) fail("out of memory building HTTP headers");
    headers.release();
    headers.reset(next);
  };
  // libcurl drops a custom Authorization header when a redirect leaves the host, so the token
  // never reaches the CDN that Hugging Face redirects large files to.
  if (!token.empty()) add_header("Authorization: Bearer " + token);
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "kindred/0.1");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // Give up on a stalled connection (under 1 KB/s for a minute); the .part stays for a resume.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &r);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  const std::string range = std::to_string(r.offset) + "-";
  if (r.offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  const CURLcode rc = curl_easy_perform(c);
  long code = 0;
  if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code != 0) r.status = code;
  return {rc, errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc))};
}

std::string http_error(const Request& r, const std::string& uri, const std::string& url,
                       bool have_token) {
  std::string detail = r.error_message;
  if (detail.empty()) {
    detail = trim(r.error_body.substr(0, r.error_body.find('\n')));
    if (!detail.empty() && detail[0] == '<') detail.clear();  // an HTML page says nothing useful
    if (detail.size() > 200) detail = detail.substr(0, 200) + "...";
  }
  std::string msg;
  if (r.status == 404) {
    msg = uri + " not found (HTTP 404 from " + url + ")";
  } else if (r.status == 401 || r.status == 403) {
    msg = "access to " + uri + " denied (HTTP " + std::to_string(r.status) + " from " + url +
          "): " +
          (have_token ? "the token was rejected or lacks access to this repository"
                      : "the repository may be private or gated; pass --token or set HF_TOKEN");
  } else {
    msg = "HTTP " + std::to_string(r.status) + " from " + url;
  }
  if (!detail.empty()) msg += " (" + detail + ")";
  return msg;
}

// On failure, removes a FILE.part that holds nothing (left by a 404, 401, ...): it would only
// clutter the cache. A part with bytes stays for the next pull to resume.
class DropEmptyPartOnError {
 public:
  DropEmptyPartOnError(const fs::path& part, int fd)
      : part_(part), fd_(fd), exceptions_(std::uncaught_exceptions()) {}
  DropEmptyPartOnError(const DropEmptyPartOnError&) = delete;
  DropEmptyPartOnError& operator=(const DropEmptyPartOnError&) = delete;
  ~DropEmptyPartOnError() {
    struct stat st {};
    if (std::uncaught_exceptions() > exceptions_ && ::fstat(fd_, &st) == 0 && st.st_size == 0) {
      std::error_code ec;
      fs::remove(part_, ec);
    }
  }

 private:
  const fs::path& part_;
  int fd_;
  int exceptions_;
};

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the rename itself already happened
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

HfRef parse_hf_ref(std::string_view uri) {
  constexpr std::string_view kScheme = "hf://";
  if (uri.substr(0, kScheme.size()) != kScheme) {
    fail("expected hf://OWNER/REPO/FILE.gguf, got '" + std::string(uri) + "'");
  }
  std::string_view rest = uri.substr(kScheme.size());
  HfRef ref;
  const size_t s1 = rest.find('/');
  const size_t s2 = s1 == std::string_view::npos ? s1 : rest.find('/', s1 + 1);
  if (s2 == std::string_view::npos) {
    fail("expected hf://OWNER/REPO/FILE.gguf, got '" + std::string(uri) + "'");
  }
  ref.owner = rest.substr(0, s1);
  ref.repo = rest.substr(s1 + 1, s2 - s1 - 1);
  std::string_view file = rest.substr(s2 + 1);
  // A revision follows the file name's ".gguf"; an '@' inside the name is part of it.
  for (size_t at = file.rfind('@'); at != std::string_view::npos && at > 0;
       at = file.rfind('@', at - 1)) {
    if (ends_with_gguf(file.substr(0, at))) {
      ref.revision = file.substr(at + 1);
      file = file.substr(0, at);
      break;
    }
  }
  ref.file = file;
  check_name("owner", ref.owner, uri);
  check_name("repository", ref.repo, uri);
  if (ref.revision.empty() || has_control_char(ref.revision) || ref.revision.size() > 256) {
    fail("invalid revision in " + std::string(uri));
  }
  if (ref.file.empty() || has_control_char(ref.file) || ref.file.find('\\') != std::string::npos) {
    fail("invalid file path in " + std::string(uri));
  }
  for (size_t start = 0;;) {
    const size_t slash = ref.file.find('/', start);
    const std::string seg = ref.file.substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == "..") fail("invalid file path in " + std::string(uri));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (!ends_with_gguf(ref.file)) {
    fail("only .gguf files can be pulled, got '" + ref.file + "'");
  }
  return ref;
}

fs::path default_cache_dir() {
  if (auto dir = env_or_empty("KINDRED_CACHE_DIR"); !dir.empty()) return dir;
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  if (auto xdg = env_or_empty("XDG_CACHE_HOME"); !xdg.empty() && fs::path(xdg).is_absolute()) {
    return fs::path(xdg) / "kindred";
  }
  if (auto home = env_or_empty("HOME"); !home.empty()) return fs::path(home) / ".cache" / "kindred";
  fail("cannot choose a cache directory: set KINDRED_CACHE_DIR or HOME, or pass --cache-dir");
}

std::string default_hf_endpoint() {
  std::string e = env_or_empty("KINDRED_HF_ENDPOINT");
  if (e.empty()) e = env_or_empty("HF_ENDPOINT");
  if (e.empty()) e = "https://huggingface.co";
  return e;
}

PullResult pull_model(const PullOptions& opts) {
  const HfRef ref = parse_hf_ref(opts.uri);
  std::string endpoint = opts.endpoint.empty() ? default_hf_endpoint() : opts.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string url = endpoint + "/" + ref.owner + "/" + ref.repo + "/resolve/" +
                          percent_encode(ref.revision) + "/" + encode_path(ref.file);
  const std::string token = opts.token.empty() ? env_or_empty("HF_TOKEN") : opts.token;

  const fs::path cache = opts.cache_dir.empty() ? default_cache_dir() : opts.cache_dir;
  const std::string repo_dir =
      ref.revision == "main" ? ref.repo : ref.repo + "@" + percent_encode(ref.revision);
  const fs::path final_path = cache / "models" / ref.owner / repo_dir / ref.file;
  const fs::path part = fs::path(final_path.string() + ".part");

  PullResult result;
  result.path = final_path;
  if (!opts.force && fs::exists(final_path)) return result;

  std::error_code ec;
  fs::create_directories(final_path.parent_path(), ec);
  if (ec) fail("cannot create " + final_path.parent_path().string() + ": " + ec.message());
  Fd fd(::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail("cannot open " + part.string() + ": " + std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    fail("another kindred pull is downloading " + opts.uri + " (" + part.string() + " is locked)");
  }
  // Another pull may have finished while we were opening the lock file.
  if (!opts.force && fs::exists(final_path)) {
    if (file_size(fd.get()) == 0) fs::remove(part, ec);
    return result;
  }
  const DropEmptyPartOnError drop_empty(part, fd.get());
  if (opts.force) truncate_to(fd.get(), 0, part);

  ProgressReporter progress(opts.progress, opts.log, ref.file);
  // At most one restart from zero: after a 416 for a .part that does not match the remote file,
  // or a 206 that starts elsewhere than asked.
  for (int attempt = 0;; ++attempt) {
    Request r;
    r.fd = fd.get();
    r.offset = file_size(fd.get());
    r.progress = &progress;
    progress.start(r.offset);
    const auto [rc, curl_msg] = perform(url, token, r);
    result.bytes_received += r.written;
    const bool body_status = r.status == 200 || r.status == 206;
    if (rc == CURLE_OK && body_status) {
      decide(r);  // no-op unless the body was empty and never reached on_body
      if (!r.wrong_range) progress.update(r.base + r.written, r.base + r.written);  // the 100%
    }
    progress.finish();

    if (r.bad_magic) {
      fs::remove(part, ec);
      fail(url + " is not a GGUF file (it starts with bytes other than \"GGUF\")");
    }
    if (!r.io_error.empty()) fail("cannot write " + part.string() + ": " + r.io_error);
    if (r.status == 416 && r.offset > 0) {
      // Nothing left to send: either the .part is already complete or it does not match.
      if (parse_content_range(r.content_range).total == static_cast<int64_t>(r.offset)) {
        result.resumed = true;
        break;
      }
      if (attempt > 0) fail("HTTP 416 (range not satisfiable) from " + url);
      truncate_to(fd.get(), 0, part);
      continue;
    }
    if (r.wrong_range) {
      if (attempt > 0) fail(url + " answered a Range request with the wrong bytes");
      truncate_to(fd.get(), 0, part);
      continue;
    }
    if (r.status >= 400) fail(http_error(r, opts.uri, url, !token.empty()));
    if (rc != CURLE_OK && body_status && r.decided) {
      fail("download of " + url + " interrupted after " + megabytes(r.base + r.written) + " MB (" +
           curl_msg + "); run the command again to resume");
    }
    if (rc != CURLE_OK) fail("cannot download " + url + ": " + curl_msg);
    if (!body_status) fail("unexpected HTTP " + std::to_string(r.status) + " from " + url);
    result.resumed = r.status == 206;
    const uint64_t have = file_size(fd.get());
    const ContentRange cr = parse_content_range(r.content_range);
    const int64_t expected = r.status == 206         ? cr.total
                             : r.content_length >= 0 ? r.content_length
                                                     : -1;
    if (expected >= 0 && have != static_cast<uint64_t>(expected)) {
      fail("download of " + url + " incomplete: " + std::to_string(have) + " of " +
           std::to_string(expected) + " bytes; run the command again to resume");
    }
    break;
  }

  // The early check only sees bytes of this transfer; a resumed file is checked here.
  char head[sizeof kMagic] = {};
  const ssize_t got = ::pread(fd.get(), head, sizeof head, 0);
  if (got != static_cast<ssize_t>(sizeof head) || std::memcmp(head, kMagic, sizeof head) != 0) {
    fs::remove(part, ec);
    fail(url + " is not a GGUF file (it does not start with \"GGUF\")");
  }
  if (::fsync(fd.get()) != 0) fail("cannot flush " + part.string() + ": " + std::strerror(errno));
  fs::rename(part, final_path, ec);
  if (ec)
    fail("cannot rename " + part.string() + " to " + final_path.string() + ": " + ec.message());
  fsync_dir(final_path.parent_path());
  result.downloaded = true;
  return result;
}

}  // namespace kindred::cli
