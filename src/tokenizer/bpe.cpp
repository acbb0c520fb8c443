#include "tokenizer/bpe.h"

#include <queue>
#include <stdexcept>

#include "gguf/gguf.h"
#include "tokenizer/unicode.h"

namespace kindred::tok {

namespace {
constexpr std::string_view kMergesKey = "tokenizer.ggml.merges";

[[noreturn]] void fail_merge(size_t index, const std::string& merge, const std::string& why) {
  throw std::runtime_error("tokenizer: " + std::string(kMergesKey) + "[" + std::to_string(index) + "] '" +
                           merge + "': " + why);
}
}  // namespace

BytePairModel::BytePairModel(const gguf::File& file, const Vocab& vocab, const PreTokenizerRecipe& recipe,
                             int32_t unknown_token)
    : vocab_(vocab), recipe_(recipe), unknown_token_(unknown_token) {
  for (size_t b = 0; b < 256; ++b) {
    byte_spellings_[b] = utf8_of(byte_to_char(static_cast<uint8_t>(b)));
    // Only a normal token stands for a byte: some vocabs (DeepSeek) lack the bytes that never
    // occur in UTF-8 and add user-defined tokens spelled like their stand-ins ("õ"), which
    // mean that text, not the byte. Like HF and llama.cpp, such a byte then becomes <unk> or
    // is dropped.
    const int32_t id = vocab.find(byte_spellings_[b]);
    byte_tokens_[b] = id >= 0 && vocab.type(id) == TokenType::Normal ? id : -1;
  }
  if (!file.has(kMergesKey)) {
    throw std::runtime_error("tokenizer: missing metadata key '" + std::string(kMergesKey) +
                             "' (required by tokenizer.ggml.model = gpt2)");
  }
  const std::vector<std::string> merges = file.get_string_array(kMergesKey);
  merges_.reserve(merges.size());
  std::string joined;
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& merge = merges[i];
    // The separator is the first space after the first character (a part may be " " itself).
    const size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string::npos;
    if (space == std::string::npos) fail_merge(i, merge, "expected two tokens separated by a space");
    const std::string_view left(merge.data(), space);
    const std::string_view right(merge.data() + space + 1, merge.size() - space - 1);
    const int32_t left_id = vocab.find(left);
    const int32_t right_id = vocab.find(right);
    if (left_id < 0) fail_merge(i, merge, std::string("'").append(left).append("' is not a token"));
    if (right_id < 0) fail_merge(i, merge, std::string("'").append(right).append("' is not a token"));
    joined.assign(left);
    joined.append(right);
    const int32_t result = vocab.find(joined);
    if (result < 0)
      fail_merge(i, merge, std::string("the merged token '").append(joined).append("' is not a token"));
    merges_.insert(left_id, right_id, Merge{static_cast<uint32_t>(i), result});
  }
}

void BytePairModel::encode(std::string_view text, bool, WordCache& cache, std::vector<int32_t>& out) const {
  std::string normalized;
  if (recipe_.nfc) {
    normalized = nfc(text);
    text = normalized;
  }
  for (const auto& [begin, end] : pre_tokenize(recipe_, text)) {
    const std::string_view word = text.substr(begin, end - begin);
    if (word.size() < 2) {
      encode_word(word, out);
    } else if (!cache.replay(word, out)) {
      const size_t offset = out.size();
      encode_word(word, out);
      cache.remember(word, out, offset);
    }
  }
}

void BytePairModel::emit_byte(uint8_t byte, std::vector<int32_t>& out) const {
  const int32_t id = byte_tokens_[byte];
  if (id >= 0) {
    out.push_back(id);
  } else if (unknown_token_ >= 0) {
    out.push_back(unknown_token_);
  }  // else: a vocab without this byte and without <unk> drops it, as llama.cpp does
}

void BytePairModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (word.size() == 1) {
    emit_byte(static_cast<uint8_t>(word[0]), out);
    return;
  }
  if (recipe_.ignore_merges) {
    std::string spelled;
    spelled.reserve(word.size() * 2);
    for (unsigned char b : word) spelled += byte_spellings_[b];
    const int32_t id = vocab_.find(spelled);
    if (id >= 0 && vocab_.type(id) != TokenType::Control) {
      out.push_back(id);
      return;
    }
  }

  // Symbols form a linked list over the word's bytes; a symbol is identified by the index of
  // its first byte, which keeps "leftmost" comparable as merges go on.
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  const auto n = static_cast<int32_t>(word.size());
  std::vector<Symbol> symbols(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    symbols[static_cast<size_t>(i)] = {byte_tokens_[static_cast<uint8_t>(word[static_cast<size_t>(i)])],
                                       i - 1, i + 1 < n ? i + 1 : -1};
  }

  struct Candidate {
    uint32_t rank;
    int32_t left;
    int32_t left_id;
    int32_t right_id;
    int32_t result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto consider = [&](int32_t left) {
    if (left < 0) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    if (l.next < 0 || l.id < 0) return;
    const Symbol& r = symbols[static_cast<size_t>(l.next)];
    if (r.id < 0) return;
    if (const Merge* m = merges_.find(l.id, r.id)) queue.push({m->rank, left, l.id, r.id, m->result});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<size_t>(c.left)];
    // Stale if either side has changed since the candidate was queued.
    if (left.id != c.left_id || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    if (right.id != c.right_id) continue;
    left.id = c.result;
    right.id = -2;  // removed
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = c.left;
    consider(left.prev);
    consider(c.left);
  }

  for (int32_t i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    const int32_t id = symbols[static_cast<size_t>(i)].id;
    if (id >= 0) {
      out.push_back(id);
    } else {
      emit_byte(static_cast<uint8_t>(word[static_cast<size_t>(i)]), out);
    }
  }
}

}  // namespace kindred::tok
