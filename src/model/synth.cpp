// Random-weight GGUF models. Names and keys follow llama.cpp's src/llama-arch.cpp and the
// per-architecture loaders in src/models/*.cpp (build 34af94cd9); the file is streamed: header,
// metadata and tensor infos first (every offset is known from the shapes), then each tensor is
// generated, quantized on the pool and written one slab of rows at a time.
#include "model/synth.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "gguf/gguf.h"
#include "tensor/quants.h"
#include "tensor/thread_pool.h"

namespace kindred {
namespace {

constexpr uint64_t kAlignment = 32;  // GGUF's default general.alignment

struct ArchLayout {
  std::string_view name;
  bool moe;             // always has experts
  bool qkv_bias;        // qwen2, qwen2moe
  bool head_qk_norm;    // per-head q/k norm of head_dim (qwen3, qwen3moe)
  bool full_qk_norm;    // q/k norm over the whole projection (olmoe, minimax-m2)
  bool shared_expert;   // qwen2moe
  bool probs_bias;      // exp_probs_b (minimax-m2)
  uint32_t gating;      // expert_gating_func: 1 softmax, 2 sigmoid (llama.cpp's enum values)
  bool weights_norm;    // expert_weights_norm: renormalise the selected experts' weights
};

constexpr ArchLayout kLayouts[] = {
    {"llama", false, false, false, false, false, false, 1, true},  // Mixtral when experts > 0
    {"qwen2", false, true, false, false, false, false, 1, false},
    {"qwen3", false, false, true, false, false, false, 1, false},
    {"qwen2moe", true, true, false, false, true, false, 1, false},
    {"qwen3moe", true, false, true, false, false, false, 1, true},
    {"olmoe", true, false, false, true, false, false, 1, false},
    {"minimax-m2", true, false, false, true, false, true, 2, true},
};

const ArchLayout& layout(const std::string& arch) {
  for (const auto& l : kLayouts) {
    if (l.name == arch) return l;
  }
  std::string known;
  for (const auto& l : kLayouts) known += (known.empty() ? "" : ", ") + std::string(l.name);
  throw std::invalid_argument("synth: unknown architecture '" + arch + "' (known: " + known + ")");
}

// ---- fast deterministic random numbers ----
// A 2 B-parameter model needs billions of normals; std::normal_distribution would dominate the
// run time. A sum of four uniforms (Irwin-Hall) has the right mean and variance and a bell
// shape, which is all random weights need.
uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void random_row(uint64_t seed, float mean, float stddev, float* out, int64_t n) {
  uint64_t s = seed;
  // Each 16-bit lane is uniform on [0, 65535]; the sum of 4 has mean 131070 and variance
  // 4 × (65536² − 1) / 12.
  constexpr float kMean = 2.0f * 65535.0f;
  const float scale = stddev / std::sqrt(4.0f * (65536.0f * 65536.0f - 1.0f) / 12.0f);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = splitmix64(s);
    const float sum = static_cast<float>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48));
    out[i] = mean + (sum - kMean) * scale;
  }
}

// ---- GGUF serialisation (the same format gguf::Writer produces, without holding tensors) ----
class Sink {
 public:
  explicit Sink(std::FILE* f) : f_(f) {}
  void bytes(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f_) != n) throw std::runtime_error("synth: write failed (disk full?)");
    written_ += n;
  }
  template <typename T>
  void pod(T v) { bytes(&v, sizeof v); }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad_to(uint64_t alignment) {
    static const char zeros[64] = {};
    while (written_ % alignment) bytes(zeros, std::min<uint64_t>(alignment - written_ % alignment, sizeof zeros));
  }
  uint64_t written() const { return written_; }

 private:
  std::FILE* f_;
  uint64_t written_ = 0;
};

void write_value_body(Sink& s, const gguf::Value& v) {
  using VT = gguf::ValueType;
  switch (v.type()) {
    case VT::UINT8: s.pod<uint8_t>(static_cast<uint8_t>(v.as_u64())); break;
    case VT::INT8: s.pod<int8_t>(static_cast<int8_t>(v.as_i64())); break;
    case VT::UINT16: s.pod<uint16_t>(static_cast<uint16_t>(v.as_u64())); break;
    case VT::INT16: s.pod<int16_t>(static_cast<int16_t>(v.as_i64())); break;
    case VT::UINT32: s.pod<uint32_t>(v.as_u32()); break;
    case VT::INT32: s.pod<int32_t>(v.as_i32()); break;
    case VT::FLOAT32: s.pod<float>(v.as_f32()); break;
    case VT::BOOL: s.pod<uint8_t>(v.as_bool() ? 1 : 0); break;
    case VT::STRING: s.str(v.as_string()); break;
    case VT::UINT64: s.pod<uint64_t>(v.as_u64()); break;
    case VT::INT64: s.pod<int64_t>(v.as_i64()); break;
    case VT::FLOAT64: s.pod<double>(v.as_f64()); break;
    case VT::ARRAY:
      s.pod<uint32_t>(static_cast<uint32_t>(v.array_type()));
      s.pod<uint64_t>(v.as_array().size());
      for (const auto& item : v.as_array()) write_value_body(s, item);
      break;
  }
}

using Metadata = std::vector<std::pair<std::string, gguf::Value>>;

// GPT-2's byte-to-symbol table: printable Latin-1 bytes stand for themselves, the others are
// shifted to U+0100 and up, so every byte has a visible one-character token.
std::vector<std::string> byte_level_symbols() {
  std::vector<std::string> sym(256);
  int shifted = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const unsigned cp = printable ? static_cast<unsigned>(b) : 256u + static_cast<unsigned>(shifted++);
    std::string u;
    if (cp < 0x80) {
      u += static_cast<char>(cp);
    } else {
      u += static_cast<char>(0xC0 | (cp >> 6));
      u += static_cast<char>(0x80 | (cp & 0x3F));
    }
    sym[b] = u;
  }
  return sym;
}

void add_gpt2_vocab(Metadata& md, int n_vocab) {
  std::vector<std::string> tokens = byte_level_symbols();
  std::vector<int32_t> types(256, 1);
  std::vector<std::string> merges;
  // Merges of letter pairs, then "Ġ" + letter (a space before a word), each adding its token,
  // as a trained BPE vocabulary would; room is left for <|endoftext|> at the end.
  const std::string space = tokens[' '];
  auto merge = [&](const std::string& a, const std::string& b) {
    if (static_cast<int>(tokens.size()) + 1 >= n_vocab) return;
    merges.push_back(a + " " + b);
    tokens.push_back(a + b);
    types.push_back(1);
  };
  for (char c = 'a'; c <= 'z'; ++c) merge(space, std::string(1, c));
  for (char a = 'a'; a <= 'z'; ++a) {
    for (char b = 'a'; b <= 'z'; ++b) merge(std::string(1, a), std::string(1, b));
  }
  // Filler tokens up to the requested size: unreachable by merges, harmless to both engines.
  for (int i = 0; static_cast<int>(tokens.size()) + 1 < n_vocab; ++i) {
    tokens.push_back("<filler_" + std::to_string(i) + ">");
    types.push_back(1);
  }
  tokens.emplace_back("<|endoftext|>");
  types.push_back(3);  // control
  const uint32_t eos = static_cast<uint32_t>(tokens.size() - 1);
  md.emplace_back("tokenizer.ggml.model", gguf::Value::string("gpt2"));
  md.emplace_back("tokenizer.ggml.pre", gguf::Value::string("gpt-2"));
  md.emplace_back("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  md.emplace_back("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  md.emplace_back("tokenizer.ggml.merges", gguf::Value::string_array(merges));
  md.emplace_back("tokenizer.ggml.bos_token_id", gguf::Value::u32(eos));
  md.emplace_back("tokenizer.ggml.eos_token_id", gguf::Value::u32(eos));
  md.emplace_back("tokenizer.ggml.add_bos_token", gguf::Value::boolean(false));
}

void add_spm_vocab(Metadata& md, int n_vocab) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.emplace_back(buf);
    types.push_back(6);  // byte
  }
  const std::string space = "\xE2\x96\x81";  // ▁
  for (char c = 'a'; c <= 'z' && static_cast<int>(tokens.size()) < n_vocab; ++c) {
    tokens.push_back(std::string(1, c));
    types.push_back(1);
  }
  for (int i = 0; static_cast<int>(tokens.size()) < n_vocab; ++i) {
    tokens.push_back(space + "w" + std::to_string(i));
    types.push_back(1);
  }
  std::vector<float> scores(tokens.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i);
  md.emplace_back("tokenizer.ggml.model", gguf::Value::string("llama"));
  md.emplace_back("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  md.emplace_back("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  md.emplace_back("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  md.emplace_back("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  md.emplace_back("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  md.emplace_back("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));
}

Metadata synth_metadata(const SynthSpec& s) {
  const ArchLayout& L = layout(s.arch);
  const std::string p = s.arch + ".";
  Metadata md;
  auto u32 = [&](const std::string& key, int v) { md.emplace_back(p + key, gguf::Value::u32(static_cast<uint32_t>(v))); };
  md.emplace_back("general.architecture", gguf::Value::string(s.arch));
  md.emplace_back("general.name", gguf::Value::string("synth-" + s.arch));
  u32("context_length", s.n_ctx);
  u32("embedding_length", s.n_embd);
  u32("block_count", s.n_layer);
  u32("feed_forward_length", s.n_ff);
  u32("attention.head_count", s.n_head);
  u32("attention.head_count_kv", s.n_head_kv);
  u32("attention.key_length", s.head_dim);
  u32("attention.value_length", s.head_dim);
  md.emplace_back(p + "attention.layer_norm_rms_epsilon", gguf::Value::f32(1e-6f));
  md.emplace_back(p + "rope.freq_base", gguf::Value::f32(s.rope_base));
  u32("rope.dimension_count", s.rope_dims);
  u32("vocab_size", s.n_vocab);
  if (s.n_expert > 0) {
    u32("expert_count", s.n_expert);
    u32("expert_used_count", s.n_expert_used);
    u32("expert_feed_forward_length", s.n_ff_exp);
    if (L.shared_expert) u32("expert_shared_feed_forward_length", s.n_ff_shexp);
    md.emplace_back(p + "expert_weights_norm", gguf::Value::boolean(L.weights_norm));
    u32("expert_gating_func", static_cast<int>(L.gating));
  }
  if (s.vocab == "gpt2") {
    add_gpt2_vocab(md, s.n_vocab);
  } else {
    add_spm_vocab(md, s.n_vocab);
  }
  return md;
}

int parse_int(std::string_view key, const std::string& value) {
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(value, &used);
  } catch (const std::logic_error&) {
    used = 0;
  }
  if (used != value.size() || v < 0 || v > (1L << 24)) {
    throw std::invalid_argument("synth: --shape " + std::string(key) + "=" + value + " is not a count");
  }
  return static_cast<int>(v);
}

}  // namespace

const std::vector<std::string>& synth_architectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& l : kLayouts) v.emplace_back(l.name);
    return v;
  }();
  return names;
}

void apply_synth_shape(SynthSpec& s, std::string_view shape) {
  size_t start = 0;
  while (start < shape.size()) {
    size_t end = shape.find(',', start);
    if (end == std::string_view::npos) end = shape.size();
    const std::string item(shape.substr(start, end - start));
    start = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("synth: --shape expects key=value, got '" + item + "'");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "rope_base") {
      try {
        s.rope_base = std::stof(value);
      } catch (const std::logic_error&) {
        throw std::invalid_argument("synth: --shape rope_base=" + value + " is not a number");
      }
      continue;
    }
    const int v = parse_int(key, value);
    if (key == "vocab") s.n_vocab = v;
    else if (key == "embd") s.n_embd = v;
    else if (key == "layers") s.n_layer = v;
    else if (key == "heads") s.n_head = v;
    else if (key == "kv_heads") s.n_head_kv = v;
    else if (key == "head_dim") s.head_dim = v;
    else if (key == "ff") s.n_ff = v;
    else if (key == "ctx") s.n_ctx = v;
    else if (key == "experts") s.n_expert = v;
    else if (key == "experts_used") s.n_expert_used = v;
    else if (key == "ff_exp") s.n_ff_exp = v;
    else if (key == "ff_shexp") s.n_ff_shexp = v;
    else if (key == "rope_dims") s.rope_dims = v;
    else if (key == "tied") s.tied = v != 0;
    else throw std::invalid_argument("synth: unknown --shape key '" + key + "'");
  }
}

SynthSpec resolve_synth_spec(SynthSpec s) {
  const ArchLayout& L = layout(s.arch);
  auto fail = [](const std::string& why) { throw std::invalid_argument("synth: " + why); };
  if (s.vocab != "gpt2" && s.vocab != "spm") fail("--vocab must be gpt2 or spm, got '" + s.vocab + "'");
  if (s.n_vocab < (s.vocab == "gpt2" ? 258 : 260)) fail("vocab must have at least 260 tokens");
  if (s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.n_ctx <= 0) fail("embd, layers, heads, kv_heads and ctx must be positive");
  if (s.n_head % s.n_head_kv != 0) fail("heads must be a multiple of kv_heads");
  if (s.head_dim == 0) s.head_dim = s.n_embd / s.n_head;
  if (s.head_dim <= 0 || s.head_dim % 2 != 0) fail("head_dim must be positive and even");
  if (L.moe && s.n_expert == 0) s.n_expert = 8;
  if (s.n_expert == 1) fail("experts must be 0 (dense) or at least 2");
  if (s.n_expert > 0 && s.arch != "llama" && !L.moe) fail(s.arch + " has no experts; use its MoE variant");
  if (s.n_expert > 0) {
    if (s.n_expert_used == 0) s.n_expert_used = std::min(2, s.n_expert);
    if (s.n_expert_used > s.n_expert) fail("experts_used exceeds experts");
    if (s.n_ff_exp == 0) s.n_ff_exp = s.n_ff > 0 ? s.n_ff : 2 * s.n_embd;
    if (s.n_ff_shexp == 0) s.n_ff_shexp = s.n_ff_exp;
    // Mixtral, OLMoE and MiniMax-M2 size their experts with feed_forward_length.
    if (s.n_ff == 0 || s.arch == "llama" || s.arch == "olmoe" || s.arch == "minimax-m2") s.n_ff = s.n_ff_exp;
  } else {
    s.n_expert_used = 0;
    if (s.n_ff == 0) s.n_ff = 4 * s.n_embd;
  }
  // llama.cpp's qwen2moe and olmoe size attention with n_embd; olmoe's k norm spans n_embd too.
  if ((s.arch == "qwen2moe" || s.arch == "olmoe") && s.head_dim * s.n_head != s.n_embd) fail(s.arch + " needs head_dim × heads = embd");
  if (s.arch == "olmoe" && s.n_head_kv != s.n_head) fail("olmoe needs kv_heads = heads");
  if (s.rope_dims == 0) s.rope_dims = s.arch == "minimax-m2" ? s.head_dim / 2 : s.head_dim;
  if (s.rope_dims > s.head_dim || s.rope_dims % 2 != 0) fail("rope_dims must be even and at most head_dim");
  for (DType t : {s.type, s.output_type}) {
    if (t != DType::F32 && !has_quantizer(t)) fail("no quantizer for type " + std::string(dtype_name(t)));
  }
  for (const SynthTensor& t : synth_tensors(s)) {
    if (t.ne[0] % dtype_info(t.type).block_size != 0) {
      fail("tensor " + t.name + " has rows of " + std::to_string(t.ne[0]) + ", not a multiple of " +
           std::string(dtype_name(t.type)) + "'s block of " + std::to_string(dtype_info(t.type).block_size));
    }
  }
  return s;
}

std::vector<SynthTensor> synth_tensors(const SynthSpec& s) {
  const ArchLayout& L = layout(s.arch);
  std::vector<SynthTensor> out;
  auto matrix = [&](std::string name, DType type, std::vector<int64_t> ne) {
    const float stddev = 1.0f / std::sqrt(static_cast<float>(ne[0]));  // fan_in: activations stay O(1)
    out.push_back({std::move(name), type, std::move(ne), stddev, 0.0f});
  };
  auto norm = [&](std::string name, int64_t n) { out.push_back({std::move(name), DType::F32, {n}, 0.1f, 1.0f}); };
  auto vec = [&](std::string name, int64_t n, float stddev) { out.push_back({std::move(name), DType::F32, {n}, stddev, 0.0f}); };
  const int64_t q_dim = static_cast<int64_t>(s.n_head) * s.head_dim;
  const int64_t kv_dim = static_cast<int64_t>(s.n_head_kv) * s.head_dim;
  matrix("token_embd.weight", s.tied ? s.output_type : s.type, {s.n_embd, s.n_vocab});
  norm("output_norm.weight", s.n_embd);
  if (!s.tied) matrix("output.weight", s.output_type, {s.n_embd, s.n_vocab});
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    norm(b + "attn_norm.weight", s.n_embd);
    matrix(b + "attn_q.weight", s.type, {s.n_embd, q_dim});
    matrix(b + "attn_k.weight", s.type, {s.n_embd, kv_dim});
    matrix(b + "attn_v.weight", s.type, {s.n_embd, kv_dim});
    matrix(b + "attn_output.weight", s.type, {q_dim, s.n_embd});
    if (L.qkv_bias) {
      vec(b + "attn_q.bias", q_dim, 0.02f);
      vec(b + "attn_k.bias", kv_dim, 0.02f);
      vec(b + "attn_v.bias", kv_dim, 0.02f);
    }
    if (L.head_qk_norm) {
      norm(b + "attn_q_norm.weight", s.head_dim);
      norm(b + "attn_k_norm.weight", s.head_dim);
    }
    if (L.full_qk_norm) {
      norm(b + "attn_q_norm.weight", q_dim);
      norm(b + "attn_k_norm.weight", kv_dim);
    }
    norm(b + "ffn_norm.weight", s.n_embd);
    if (s.n_expert == 0) {
      matrix(b + "ffn_gate.weight", s.type, {s.n_embd, s.n_ff});
      matrix(b + "ffn_up.weight", s.type, {s.n_embd, s.n_ff});
      matrix(b + "ffn_down.weight", s.type, {s.n_ff, s.n_embd});
      continue;
    }
    // The router stays F32, as llama-quantize leaves ffn_gate_inp.
    matrix(b + "ffn_gate_inp.weight", DType::F32, {s.n_embd, s.n_expert});
    matrix(b + "ffn_gate_exps.weight", s.type, {s.n_embd, s.n_ff_exp, s.n_expert});
    matrix(b + "ffn_up_exps.weight", s.type, {s.n_embd, s.n_ff_exp, s.n_expert});
    matrix(b + "ffn_down_exps.weight", s.type, {s.n_ff_exp, s.n_embd, s.n_expert});
    if (L.shared_expert) {
      vec(b + "ffn_gate_inp_shexp.weight", s.n_embd, 1.0f / std::sqrt(static_cast<float>(s.n_embd)));
      matrix(b + "ffn_gate_shexp.weight", s.type, {s.n_embd, s.n_ff_shexp});
      matrix(b + "ffn_up_shexp.weight", s.type, {s.n_embd, s.n_ff_shexp});
      matrix(b + "ffn_down_shexp.weight", s.type, {s.n_ff_shexp, s.n_embd});
    }
    if (L.probs_bias) vec(b + "exp_probs_b.bias", s.n_expert, 0.1f);
  }
  return out;
}

uint64_t write_synth_model(const SynthSpec& spec, const std::filesystem::path& path, ThreadPool& pool) {
  const SynthSpec s = resolve_synth_spec(spec);
  const Metadata md = synth_metadata(s);
  const std::vector<SynthTensor> tensors = synth_tensors(s);

  const std::filesystem::path tmp = path.string() + ".tmp";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) throw std::runtime_error("synth: cannot write " + tmp.string());
  Sink out(f.get());
  out.bytes("GGUF", 4);
  out.pod<uint32_t>(3);
  out.pod<uint64_t>(tensors.size());
  out.pod<uint64_t>(md.size());
  for (const auto& [key, value] : md) {
    out.str(key);
    out.pod<uint32_t>(static_cast<uint32_t>(value.type()));
    write_value_body(out, value);
  }
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const SynthTensor& t : tensors) {
    int64_t rows = 1;
    for (size_t d = 1; d < t.ne.size(); ++d) rows *= t.ne[d];
    sizes.push_back(row_bytes(t.type, t.ne[0]) * static_cast<uint64_t>(rows));
    out.str(t.name);
    out.pod<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t n : t.ne) out.pod<uint64_t>(static_cast<uint64_t>(n));
    out.pod<uint32_t>(static_cast<uint32_t>(t.type));
    out.pod<uint64_t>(offset);
    offset += (sizes.back() + kAlignment - 1) / kAlignment * kAlignment;
  }
  out.pad_to(kAlignment);

  const int n_threads = pool.size();
  std::vector<uint8_t> slab;
  std::vector<std::vector<float>> row_buf(static_cast<size_t>(n_threads));
  for (size_t ti = 0; ti < tensors.size(); ++ti) {
    const SynthTensor& t = tensors[ti];
    const int64_t cols = t.ne[0];
    const int64_t rows = static_cast<int64_t>(sizes[ti] / row_bytes(t.type, cols));
    const size_t rb = row_bytes(t.type, cols);
    // About 8 MiB of output per slab: big enough to keep the pool busy, small enough for memory.
    const int64_t slab_rows = std::clamp<int64_t>(static_cast<int64_t>((8u << 20) / rb), 1, rows);
    slab.resize(rb * static_cast<size_t>(slab_rows));
    for (auto& b : row_buf) b.resize(static_cast<size_t>(cols));
    for (int64_t r0 = 0; r0 < rows; r0 += slab_rows) {
      const int64_t n = std::min(slab_rows, rows - r0);
      pool.parallel_for(n, [&](int64_t i, int thread) {
        float* values = row_buf[static_cast<size_t>(thread)].data();
        // Seeded per (model seed, tensor, row): the file does not depend on the thread count.
        uint64_t seed = s.seed * 0x2545F4914F6CDD1Dull ^ (static_cast<uint64_t>(ti) << 40) ^ static_cast<uint64_t>(r0 + i);
        random_row(splitmix64(seed), t.mean, t.stddev, values, cols);
        uint8_t* dst = slab.data() + static_cast<size_t>(i) * rb;
        if (t.type == DType::F32) {
          std::memcpy(dst, values, rb);
        } else {
          quantize_row(t.type, values, dst, cols);
        }
      });
      out.bytes(slab.data(), rb * static_cast<size_t>(n));
    }
    out.pad_to(kAlignment);
  }
  if (std::fflush(f.get()) != 0) throw std::runtime_error("synth: write failed (disk full?)");
  f.reset();
  std::filesystem::rename(tmp, path);
  return out.written();
}

}  // namespace kindred
