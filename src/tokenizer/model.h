// The interface the three tokenizer algorithms (SentencePiece, byte-level BPE, WordPiece)
// share: turn one run of plain text into ids. Special-token text has been taken out before.
#pragma once
#include <cstdint>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kindred::tok {

// Ids of the words already encoded during one Tokenizer::encode call (long inputs repeat words
// a lot, and merging is dominated by cache misses in the big merge tables). It lives only for
// the call, so a Tokenizer stays immutable and shareable between threads.
class WordCache {
 public:
  // Appends the cached ids of word to out; false when word is not cached.
  bool replay(std::string_view word, std::vector<int32_t>& out) const {
    const auto it = words_.find(word);
    if (it == words_.end()) return false;
    const auto [offset, count] = it->second;
    for (uint32_t i = 0; i < count; ++i) {
      const int32_t id = out[offset + i];  // copy first: push_back may reallocate
      out.push_back(id);
    }
    return true;
  }
  // Remembers that out[offset, out.size()) are word's ids.
  void remember(std::string_view word, const std::vector<int32_t>& out, size_t offset) {
    if (words_.size() >= kMaxWords || out.size() > UINT32_MAX) return;
    words_.emplace(std::string(word),
                   std::pair{static_cast<uint32_t>(offset), static_cast<uint32_t>(out.size() - offset)});
  }

 private:
  static constexpr size_t kMaxWords = 1 << 16;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, Hash, std::equal_to<>> words_;
};

class TokenModel {
 public:
  virtual ~TokenModel() = default;
  // Appends the ids of text to out. follows_special: the run starts the input or comes right
  // after a special token (where SentencePiece puts its space prefix). cache belongs to the
  // current encode call and refers to positions in out.
  virtual void encode(std::string_view text, bool follows_special, WordCache& cache,
                      std::vector<int32_t>& out) const = 0;
};

}  // namespace kindred::tok
