// `kindred pull`: download a GGUF file from a Hugging Face repository into the local cache.
//
//   hf://OWNER/REPO/PATH/TO/FILE.gguf[@REVISION]
//     → GET {endpoint}/OWNER/REPO/resolve/{REVISION or main}/PATH/TO/FILE.gguf
//     → {cache}/models/OWNER/REPO/PATH/TO/FILE.gguf          (revision main)
//       {cache}/models/OWNER/REPO@REVISION/PATH/TO/FILE.gguf (any other revision; '/' → %2F)
//
// The endpoint is $KINDRED_HF_ENDPOINT, else $HF_ENDPOINT, else https://huggingface.co. The cache
// is $KINDRED_CACHE_DIR, else $XDG_CACHE_HOME/kindred, else ~/.cache/kindred. Bytes arrive in
// FILE.part (locked against a concurrent pull of the same file), which a later pull resumes with
// an HTTP Range request; the finished file must start with the GGUF magic and is then renamed into
// place, so a file under its final name is always complete.
#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace kindred::cli {

struct HfRef {
  std::string owner;
  std::string repo;
  std::string file;  // path inside the repository; may contain '/'
  std::string revision = "main";
};

// Parses and validates an hf:// reference; throws std::runtime_error naming what is wrong.
HfRef parse_hf_ref(std::string_view uri);

enum class Progress {
  Auto,   // a bar when stderr is a terminal, occasional plain lines otherwise
  Plain,  // occasional plain lines
  None,
};

struct PullOptions {
  std::string uri;                  // hf://OWNER/REPO/FILE.gguf[@REVISION]
  std::filesystem::path cache_dir;  // empty: default_cache_dir()
  std::string endpoint;             // empty: default_hf_endpoint()
  std::string token;                // empty: $HF_TOKEN (if set); sent as a bearer token
  bool force = false;               // download again even if the file is cached
  Progress progress = Progress::Auto;
  std::FILE* log = stderr;  // where progress lines go
};

struct PullResult {
  std::filesystem::path path;   // the complete file in the cache
  bool downloaded = false;      // false: it was already cached
  bool resumed = false;         // the download continued an earlier FILE.part
  uint64_t bytes_received = 0;  // body bytes written this time (all requests together)
};

// Downloads (or finds) the file. Throws std::runtime_error with a one-line message on any
// failure; an interrupted transfer keeps FILE.part so that the next pull resumes it.
PullResult pull_model(const PullOptions& opts);

std::filesystem::path default_cache_dir();
std::string default_hf_endpoint();

}  // namespace kindred::cli
