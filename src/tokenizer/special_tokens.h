// Finding special-token text in the input before any model sees it, the way Hugging Face
// matches "added tokens": leftmost match first, the longest token at that position. Control
// and unknown tokens count only when parse_special is set; user-defined tokens always do.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.h"

namespace kindred::tok {

// A piece of the input: either plain text for the model, or a special token's id.
struct Fragment {
  int32_t token = -1;     // >= 0: this fragment is that token
  std::string_view text;  // the plain text when token < 0
};

class SpecialTokenMatcher {
 public:
  SpecialTokenMatcher(const Vocab& vocab, const VocabSettings& settings);

  std::vector<Fragment> split(std::string_view text, bool parse_special) const;

 private:
  struct Match {
    int32_t token = -1;
    size_t length = 0;
  };
  // The longest eligible special token starting at text[pos].
  Match longest_at(std::string_view text, size_t pos, bool parse_special) const;

  const Vocab& vocab_;
  const VocabSettings& settings_;
  // A byte trie over the special tokens' texts; node 0 is the root.
  std::vector<int32_t> node_token_;               // token ending at each node, or -1
  std::unordered_map<uint64_t, uint32_t> edges_;  // (node << 8 | byte) -> child
  std::array<bool, 256> starts_token_{};          // cheap rejection of most positions
};

}  // namespace kindred::tok
