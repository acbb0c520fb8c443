// Saving and restoring a sequence: its tokens and the keys and values of every layer, so a long
// chat resumes at the cost of reading a file instead of re-running its prompt.
//
// File layout (little-endian):
//   "KINDKV\0\1"  magic with format version 1
//   u64 model fingerprint, u32 cache type, u32 n_layer, u32 n_head_kv, u32 head_dim, u32 n_tokens
//   i32 tokens[n_tokens]
//   per layer: keys of positions [0, n_tokens), then values (raw rows in the cache type)
//   u64 checksum of everything above
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "engine/context.h"

namespace kindred {
namespace {

constexpr char kMagic[8] = {'K', 'I', 'N', 'D', 'K', 'V', '\0', '\1'};

// Word-at-a-time multiply-xor hash: fast enough for gigabytes of cache, and any torn or
// corrupted write changes it.
class Checksum {
 public:
  // The same bytes give the same value however they are split across calls.
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (; n > 0 && fill_ != 0; --n) push_byte(*p++);
    for (; n >= 8; n -= 8, p += 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      mix(w);
    }
    for (; n > 0; --n) push_byte(*p++);
  }
  uint64_t value() const {
    const uint64_t h = (h_ ^ pending_ ^ fill_) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 31);
  }

 private:
  void mix(uint64_t w) {
    h_ = (h_ ^ w) * 0x9E3779B97F4A7C15ull;
    h_ ^= h_ >> 29;
  }
  void push_byte(unsigned char b) {
    pending_ |= static_cast<uint64_t>(b) << (8 * fill_);
    if (++fill_ == 8) {
      mix(pending_);
      pending_ = 0;
      fill_ = 0;
    }
  }
  uint64_t h_ = 0x243F6A8885A308D3ull;
  uint64_t pending_ = 0;
  unsigned fill_ = 0;
};

struct Header {
  uint64_t fingerprint;
  uint32_t type, n_layer, n_head_kv, head_dim, n_tokens;
};

}  // namespace

void Context::save_state(const std::filesystem::path& path) const {
  const Header h{model_.fingerprint(), static_cast<uint32_t>(cache_.type()), static_cast<uint32_t>(cache_.n_layer()),
                 static_cast<uint32_t>(cache_.n_head_kv()), static_cast<uint32_t>(cache_.head_dim()),
                 static_cast<uint32_t>(n_past_)};
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError("cannot write " + tmp.string());
    Checksum sum;
    auto put = [&](const void* p, size_t n) {
      out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
      sum.add(p, n);
    };
    put(kMagic, sizeof kMagic);
    put(&h, sizeof h);
    put(tokens_.data(), tokens_.size() * sizeof(int32_t));
    for (int l = 0; l < cache_.n_layer(); ++l) {
      const auto k = cache_.key_rows(l, n_past_);
      const auto v = cache_.value_rows(l, n_past_);
      put(k.data(), k.size());
      put(v.data(), v.size());
    }
    const uint64_t checksum = sum.value();
    out.write(reinterpret_cast<const char*>(&checksum), sizeof checksum);
    out.flush();
    if (!out) throw ModelError("writing " + tmp.string() + " failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw ModelError("cannot move the state file into place at " + path.string());
  }
}

void Context::load_state(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("cannot open state file " + path.string());
  const std::string name = path.filename().string();
  Checksum sum;
  auto get = [&](void* p, size_t n) {
    in.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    if (static_cast<size_t>(in.gcount()) != n) throw ModelError(name + ": truncated state file");
    sum.add(p, n);
  };
  char magic[sizeof kMagic];
  Header h{};
  get(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, 6) != 0) throw ModelError(name + " is not a Kindred state file");
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) throw ModelError(name + ": unsupported state file version");
  get(&h, sizeof h);
  if (h.fingerprint != model_.fingerprint()) throw ModelError(name + " was saved with a different model");
  if (h.type != static_cast<uint32_t>(cache_.type()) || h.n_layer != static_cast<uint32_t>(cache_.n_layer()) ||
      h.n_head_kv != static_cast<uint32_t>(cache_.n_head_kv()) || h.head_dim != static_cast<uint32_t>(cache_.head_dim())) {
    throw ModelError(name + " holds a KV cache of another type or shape than this context's");
  }
  if (h.n_tokens > static_cast<uint32_t>(cache_.n_ctx())) {
    throw ModelError(name + " holds " + std::to_string(h.n_tokens) + " positions; this context has only " +
                     std::to_string(cache_.n_ctx()));
  }
  // From here the cache is being overwritten: forget the old sequence first, so an error leaves
  // an empty context, never a mix.
  truncate(0);
  std::vector<int32_t> tokens(h.n_tokens);
  get(tokens.data(), tokens.size() * sizeof(int32_t));
  const int n_vocab = model_.config().n_vocab;
  for (int32_t t : tokens) {
    if (t < 0 || t >= n_vocab) throw ModelError(name + ": token id " + std::to_string(t) + " is outside the vocabulary");
  }
  const int n = static_cast<int>(h.n_tokens);
  for (int l = 0; l < cache_.n_layer(); ++l) {
    const auto k = cache_.key_rows(l, n);
    const auto v = cache_.value_rows(l, n);
    get(k.data(), k.size());
    get(v.data(), v.size());
  }
  const uint64_t expected = sum.value();
  uint64_t stored = 0;
  in.read(reinterpret_cast<char*>(&stored), sizeof stored);
  if (in.gcount() != sizeof stored) throw ModelError(name + ": truncated state file");
  if (stored != expected) throw ModelError(name + ": checksum mismatch (the file is corrupted)");
  tokens_ = std::move(tokens);
  n_past_ = n;
}

}  // namespace kindred
