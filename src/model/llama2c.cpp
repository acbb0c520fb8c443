// llama2.c checkpoint + tokenizer.bin → GGUF ("llama" architecture). Format notes in llama2c.h.
// Weights are copied byte for byte: llama2.c stores each matrix as (rows = outputs, cols =
// inputs), which is GGUF's ne = {cols, rows}, and its RoPE rotates interleaved pairs like
// llama.cpp's normal (non-NeoX) llama layout, so Q and K need no permutation.
#include "model/llama2c.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gguf/gguf.h"

namespace kindred::model {
namespace {

static_assert(std::endian::native == std::endian::little,
              "llama2.c files are read as host-order (little-endian) int32/fp32");

constexpr size_t kHeaderBytes = 7 * sizeof(int32_t);

// Token ids and types fixed by llama2.c's SentencePiece vocabularies and by llama.cpp.
constexpr uint32_t kUnkId = 0, kBosId = 1, kEosId = 2;
constexpr int32_t kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3, kTypeByte = 6;

// Upper bounds far above any llama2.c model; with them no size product below can overflow
// uint64 (the largest, n_layers·hidden_dim·dim, stays under 2^50).
constexpr int32_t kMaxDim = 1 << 16;
constexpr int32_t kMaxHidden = 1 << 20;
constexpr int32_t kMaxLayers = 1 << 12;
constexpr int32_t kMaxVocab = 1 << 24;
constexpr int32_t kMaxSeqLen = 1 << 24;

[[noreturn]] void fail(const std::string& msg) {
  throw std::runtime_error("llama2.c conversion: " + msg);
}

int32_t read_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

float read_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// `limit` names the bound in the message ("dim", or empty for a fixed sanity limit).
void check_range(const char* field, int64_t value, int64_t max, const char* limit = "") {
  if (value <= 0) fail(std::string(field) + " must be positive, got " + std::to_string(value));
  if (value > max) {
    fail(std::string(field) + " = " + std::to_string(value) + " exceeds " +
         (*limit ? std::string(limit) + " = " : std::string("the limit of ")) +
         std::to_string(max));
  }
}

// Number of fp32 values before the optional RoPE tables, in file order.
uint64_t base_weight_floats(const Llama2cConfig& c) {
  const uint64_t dim = c.dim, hidden = c.hidden_dim, layers = c.n_layers;
  const uint64_t q_dim = uint64_t(c.n_heads) * c.head_size();
  const uint64_t kv_dim = uint64_t(c.n_kv_heads) * c.head_size();
  return uint64_t(c.vocab_size) * dim  // token_embedding_table
         + layers * dim                // rms_att_weight
         + layers * q_dim * dim        // wq
         + 2 * layers * kv_dim * dim   // wk, wv
         + layers * dim * q_dim        // wo
         + layers * dim                // rms_ffn_weight
         + 3 * layers * hidden * dim   // w1, w2, w3
         + dim;                        // rms_final_weight
}

// Hands out consecutive fp32 arrays of the checkpoint; sizes were checked up front.
class WeightCursor {
 public:
  explicit WeightCursor(std::span<const uint8_t> data) : data_(data), pos_(kHeaderBytes) {}
  std::span<const uint8_t> take(uint64_t floats) {
    const uint64_t bytes = floats * sizeof(float);
    if (bytes > data_.size() - pos_) fail("internal error: weight cursor ran past the end");
    auto out = data_.subspan(pos_, bytes);
    pos_ += bytes;
    return out;
  }
  void skip(uint64_t floats) { take(floats); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_;
};

std::vector<uint8_t> to_vector(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

// Mirrors llama.cpp's classification of llama2.c tokens, so token types match its output.
int32_t token_type(uint32_t id, const std::string& text) {
  if (id == kUnkId) return kTypeUnknown;
  if (id == kBosId || id == kEosId) return kTypeControl;
  if (text.empty()) return kTypeControl;
  // llama.cpp tests byte tokens with this exact sscanf pattern (it accepts "<0x" followed by
  // one or two hex digits, whatever comes after); using the same test keeps types identical.
  unsigned char byte_val = 0;
  if (std::sscanf(text.c_str(), "<0x%02hhX>", &byte_val) == 1) return kTypeByte;
  return kTypeNormal;
}

// SentencePiece spells the word boundary as U+2581 "▁"; llama2.c's export turned it into ' '.
std::string escape_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == ' ') {
      out += "\xE2\x96\x81";
    } else {
      out += c;
    }
  }
  return out;
}

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
};

Vocab parse_tokenizer(std::span<const uint8_t> bin, int32_t vocab_size) {
  if (bin.size() < sizeof(int32_t)) {
    fail("tokenizer.bin is " + std::to_string(bin.size()) +
         " bytes, too short for max_token_length");
  }
  if (const int32_t max_len = read_i32(bin.data()); max_len < 0) {
    fail("tokenizer.bin max_token_length is negative (" + std::to_string(max_len) + ")");
  }
  Vocab v;
  v.tokens.reserve(static_cast<size_t>(vocab_size));
  v.scores.reserve(static_cast<size_t>(vocab_size));
  v.types.reserve(static_cast<size_t>(vocab_size));
  size_t pos = sizeof(int32_t);
  for (uint32_t id = 0; id < static_cast<uint32_t>(vocab_size); ++id) {
    const std::string which = "tokenizer.bin token " + std::to_string(id);
    if (bin.size() - pos < 8) {
      fail(which + ": file ends before its score and length (the checkpoint's vocab_size is " +
           std::to_string(vocab_size) + ")");
    }
    const float score = read_f32(bin.data() + pos);
    const int32_t len = read_i32(bin.data() + pos + 4);
    pos += 8;
    if (len < 0) fail(which + ": negative length " + std::to_string(len));
    if (static_cast<uint64_t>(len) > bin.size() - pos) {
      fail(which + ": length " + std::to_string(len) + " runs past the end of the file (" +
           std::to_string(bin.size() - pos) + " bytes left)");
    }
    std::string text(reinterpret_cast<const char*>(bin.data() + pos), static_cast<size_t>(len));
    pos += static_cast<size_t>(len);

    const int32_t type = token_type(id, text);
    // llama2.c's export decorates the special tokens ("\n<s>\n"); GGUF uses the bare names.
    if (id == kUnkId) text = "<unk>";
    if (id == kBosId) text = "<s>";
    if (id == kEosId) text = "</s>";
    v.tokens.push_back(escape_whitespace(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  }
  // llama.cpp ignores extra bytes; here they almost always mean the tokenizer belongs to a
  // model with a larger vocabulary, which would silently produce a wrong model.
  if (pos != bin.size()) {
    fail("tokenizer.bin has " + std::to_string(bin.size() - pos) + " bytes after token " +
         std::to_string(vocab_size - 1) + "; it does not match the checkpoint's vocab_size " +
         std::to_string(vocab_size));
  }
  return v;
}

gguf::Writer build_gguf(std::span<const uint8_t> checkpoint, std::span<const uint8_t> tokenizer,
                        const Llama2cOptions& opts) {
  const Llama2cConfig c = parse_llama2c_header(checkpoint);
  Vocab vocab = parse_tokenizer(tokenizer, c.vocab_size);

  const auto u32 = [](int32_t v) { return gguf::Value::u32(static_cast<uint32_t>(v)); };
  gguf::Writer w;
  // Keys in llama.cpp's order, so that the two files compare byte for byte.
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(vocab.tokens));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(vocab.scores));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(vocab.types));
  w.set("tokenizer.ggml.model", gguf::Value::string("llama"));
  w.set("general.architecture", gguf::Value::string("llama"));
  w.set("general.name", gguf::Value::string(opts.name));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(kUnkId));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(kBosId));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(kEosId));
  // "No such token", spelled (and misspelled: "seperator") as llama.cpp writes it.
  w.set("tokenizer.ggml.seperator_token_id", gguf::Value::u32(0xFFFFFFFFu));
  w.set("tokenizer.ggml.padding_token_id", gguf::Value::u32(0xFFFFFFFFu));
  // llama.cpp's converter writes its training default of 128 here whatever the checkpoint says;
  // the checkpoint's seq_len is the context the model was actually trained for, so we use it.
  w.set("llama.context_length",
        opts.context_length != 0 ? gguf::Value::u32(opts.context_length) : u32(c.seq_len));
  w.set("llama.embedding_length", u32(c.dim));
  w.set("llama.feed_forward_length", u32(c.hidden_dim));
  w.set("llama.attention.head_count", u32(c.n_heads));
  w.set("llama.attention.head_count_kv", u32(c.n_kv_heads));
  w.set("llama.block_count", u32(c.n_layers));
  // llama.cpp writes min(64, head_size); llama2.c rotates the whole head, so head_size is the
  // right value (the two agree for every head_size up to 64, i.e. all published llama2.c models).
  w.set("llama.rope.dimension_count", u32(c.head_size()));
  w.set("llama.attention.layer_norm_rms_epsilon", gguf::Value::f32(1e-5f));

  // Walk the checkpoint in file order.
  const int64_t dim = c.dim, hidden = c.hidden_dim, vocab_n = c.vocab_size;
  const int64_t q_dim = int64_t(c.n_heads) * c.head_size();
  const int64_t kv_dim = int64_t(c.n_kv_heads) * c.head_size();
  const auto L = static_cast<size_t>(c.n_layers);
  WeightCursor cur(checkpoint);
  const auto embedding = cur.take(uint64_t(vocab_n) * dim);
  const auto per_layer = [&](uint64_t floats) {
    std::vector<std::span<const uint8_t>> out;
    out.reserve(L);
    for (size_t l = 0; l < L; ++l) out.push_back(cur.take(floats));
    return out;
  };
  const auto rms_att = per_layer(dim);
  const auto wq = per_layer(uint64_t(q_dim) * dim);
  const auto wk = per_layer(uint64_t(kv_dim) * dim);
  const auto wv = per_layer(uint64_t(kv_dim) * dim);
  const auto wo = per_layer(uint64_t(dim) * q_dim);
  const auto rms_ffn = per_layer(dim);
  const auto w1 = per_layer(uint64_t(hidden) * dim);
  const auto w2 = per_layer(uint64_t(dim) * hidden);
  const auto w3 = per_layer(uint64_t(hidden) * dim);
  const auto rms_final = cur.take(dim);
  if (c.has_freq_cis) cur.skip(uint64_t(c.seq_len) * c.head_size());  // real and imag halves
  const auto classifier = c.shared_classifier ? embedding : cur.take(uint64_t(vocab_n) * dim);

  // Tensors in llama.cpp's order. output.weight is written even when shared (as a copy of the
  // embedding), as llama.cpp's converter does.
  w.add_tensor("token_embd.weight", DType::F32, {dim, vocab_n}, to_vector(embedding));
  w.add_tensor("output_norm.weight", DType::F32, {dim}, to_vector(rms_final));
  w.add_tensor("output.weight", DType::F32, {dim, vocab_n}, to_vector(classifier));
  for (size_t l = 0; l < L; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    w.add_tensor(p + "attn_q.weight", DType::F32, {dim, q_dim}, to_vector(wq[l]));
    w.add_tensor(p + "attn_k.weight", DType::F32, {dim, kv_dim}, to_vector(wk[l]));
    w.add_tensor(p + "attn_v.weight", DType::F32, {dim, kv_dim}, to_vector(wv[l]));
    w.add_tensor(p + "attn_output.weight", DType::F32, {q_dim, dim}, to_vector(wo[l]));
    w.add_tensor(p + "attn_norm.weight", DType::F32, {dim}, to_vector(rms_att[l]));
    w.add_tensor(p + "ffn_gate.weight", DType::F32, {dim, hidden}, to_vector(w1[l]));
    w.add_tensor(p + "ffn_down.weight", DType::F32, {hidden, dim}, to_vector(w2[l]));
    w.add_tensor(p + "ffn_up.weight", DType::F32, {dim, hidden}, to_vector(w3[l]));
    w.add_tensor(p + "ffn_norm.weight", DType::F32, {dim}, to_vector(rms_ffn[l]));
  }
  return w;
}

std::vector<uint8_t> read_file(const std::filesystem::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(std::string("cannot open ") + what + " " + path.string());
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(std::string("cannot determine the size of ") + what + " " + path.string());
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    fail(std::string("cannot read ") + what + " " + path.string());
  }
  return bytes;
}

}  // namespace

Llama2cConfig parse_llama2c_header(std::span<const uint8_t> checkpoint) {
  if (checkpoint.size() < kHeaderBytes) {
    fail("checkpoint is " + std::to_string(checkpoint.size()) +
         " bytes, too short for its 28-byte header");
  }
  const uint8_t* h = checkpoint.data();
  Llama2cConfig c;
  c.dim = read_i32(h + 0);
  c.hidden_dim = read_i32(h + 4);
  c.n_layers = read_i32(h + 8);
  c.n_heads = read_i32(h + 12);
  c.n_kv_heads = read_i32(h + 16);
  const int32_t raw_vocab = read_i32(h + 20);
  c.seq_len = read_i32(h + 24);

  check_range("dim", c.dim, kMaxDim);
  check_range("hidden_dim", c.hidden_dim, kMaxHidden);
  check_range("n_layers", c.n_layers, kMaxLayers);
  check_range("n_heads", c.n_heads, c.dim, "dim");
  check_range("n_kv_heads", c.n_kv_heads, c.n_heads, "n_heads");
  // A negative vocab_size is llama2.c's flag for an unshared classifier.
  c.shared_classifier = raw_vocab > 0;
  check_range("vocab_size (absolute value)", raw_vocab < 0 ? -int64_t{raw_vocab} : raw_vocab,
              kMaxVocab);
  c.vocab_size = raw_vocab < 0 ? -raw_vocab : raw_vocab;
  check_range("seq_len", c.seq_len, kMaxSeqLen);
  if (c.dim % c.n_heads != 0) {
    fail("dim " + std::to_string(c.dim) + " is not a multiple of n_heads " +
         std::to_string(c.n_heads));
  }
  if (c.head_size() % 2 != 0) {
    fail("head_size " + std::to_string(c.head_size()) + " (dim / n_heads) must be even for RoPE");
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    fail("n_heads " + std::to_string(c.n_heads) + " is not a multiple of n_kv_heads " +
         std::to_string(c.n_kv_heads));
  }

  // The file must hold exactly the weights, with or without the RoPE tables.
  const uint64_t classifier = c.shared_classifier ? 0 : uint64_t(c.vocab_size) * uint64_t(c.dim);
  const uint64_t freq = uint64_t(c.seq_len) * uint64_t(c.head_size());  // 2 × seq_len·hs/2
  const uint64_t without = kHeaderBytes + (base_weight_floats(c) + classifier) * sizeof(float);
  const uint64_t with = without + freq * sizeof(float);
  if (checkpoint.size() == with) {
    c.has_freq_cis = true;
  } else if (checkpoint.size() == without) {
    c.has_freq_cis = false;
  } else {
    fail("checkpoint size " + std::to_string(checkpoint.size()) + " bytes does not match its " +
         "header (dim=" + std::to_string(c.dim) + " hidden_dim=" + std::to_string(c.hidden_dim) +
         " n_layers=" + std::to_string(c.n_layers) + " n_heads=" + std::to_string(c.n_heads) +
         " n_kv_heads=" + std::to_string(c.n_kv_heads) + " vocab_size=" +
         std::to_string(raw_vocab) + " seq_len=" + std::to_string(c.seq_len) + "), which needs " +
         std::to_string(with) + " bytes (" + std::to_string(without) + " without the RoPE tables)" +
         (checkpoint.size() < without ? ": the file is truncated" : ""));
  }
  return c;
}

std::vector<uint8_t> convert_llama2c_to_gguf(std::span<const uint8_t> checkpoint,
                                             std::span<const uint8_t> tokenizer_bin,
                                             const Llama2cOptions& opts) {
  return build_gguf(checkpoint, tokenizer_bin, opts).to_bytes();
}

void convert_llama2c_to_gguf(const std::filesystem::path& checkpoint,
                             const std::filesystem::path& tokenizer_bin,
                             const std::filesystem::path& out, const Llama2cOptions& opts) {
  const std::vector<uint8_t> ckpt = read_file(checkpoint, "checkpoint");
  const std::vector<uint8_t> tok = read_file(tokenizer_bin, "tokenizer");
  build_gguf(ckpt, tok, opts).write(out);
}

}  // namespace kindred::model
