// Which architectures Kindred runs, how each maps onto the shared decoder's flags, and loading
// their weights from GGUF with every shape checked against the configuration.
#include <algorithm>
#include <array>
#include <cmath>

#include "model/model.h"
#include "tensor/packed_matrix.h"
#include "tensor/quants.h"

namespace kindred {
namespace {

struct ArchTraits {
  std::string_view name;
  RopeLayout rope_layout = RopeLayout::Normal;
  bool qkv_bias = false;      // q/k/v biases are required
  bool qk_norm = false;       // per-head RMSNorm of q and k is required
  bool qk_norm_full = false;  // RMSNorm over the whole projected q and k is required
  bool moe = false;           // routed experts are required (else they are used when expert_count is set)
  bool shared_expert = false; // a sigmoid-gated shared expert is required
  bool probs_bias = false;    // exp_probs_b (selection bias) is required
  // Routing defaults, overridden by {arch}.expert_gating_func / expert_weights_norm when present.
  ExpertGating gating = ExpertGating::Softmax;
  bool weights_norm = false;
};

// Model differences are configuration: a new architecture is a row here.
constexpr std::array kArchs = {
    // Llama 2/3, Mistral, TinyLlama; Mixtral is llama with ffn_*_exps and renormalised top-2.
    ArchTraits{.name = "llama", .weights_norm = true},
    ArchTraits{.name = "mistral", .weights_norm = true},
    ArchTraits{.name = "qwen2", .rope_layout = RopeLayout::NeoX, .qkv_bias = true},
    ArchTraits{.name = "qwen3", .rope_layout = RopeLayout::NeoX, .qk_norm = true},
    ArchTraits{.name = "qwen2moe", .rope_layout = RopeLayout::NeoX, .qkv_bias = true, .moe = true,
               .shared_expert = true},
    ArchTraits{.name = "qwen3moe", .rope_layout = RopeLayout::NeoX, .qk_norm = true, .moe = true,
               .weights_norm = true},
    ArchTraits{.name = "olmoe", .rope_layout = RopeLayout::NeoX, .qk_norm_full = true, .moe = true},
    ArchTraits{.name = "minimax-m2", .rope_layout = RopeLayout::NeoX, .qk_norm_full = true, .moe = true,
               .probs_bias = true, .gating = ExpertGating::Sigmoid, .weights_norm = true},
};

const ArchTraits& arch_traits(const std::string& arch) {
  for (const auto& a : kArchs) {
    if (a.name == arch) return a;
  }
  std::string known;
  for (const auto& a : kArchs) known += (known.empty() ? "" : ", ") + std::string(a.name);
  throw ModelError("unsupported architecture '" + arch + "' (supported: " + known + ")");
}

int positive(const gguf::File& f, const std::string& key, int fallback = -1) {
  uint32_t v;
  try {
    v = fallback >= 0 ? f.get_u32_or(key, static_cast<uint32_t>(fallback)) : f.get_u32(key);
  } catch (const gguf::GgufError& e) {
    throw ModelError(e.what());
  }
  if (v == 0 || v > (1u << 24)) throw ModelError("metadata '" + key + "' is " + std::to_string(v) + ", out of range");
  return static_cast<int>(v);
}

// Reads the mixture-of-experts keys; expert_count absent (or 0) leaves a dense model.
void read_experts(const gguf::File& f, const std::string& p, const ArchTraits& traits, ModelConfig& c) {
  try {
    c.n_expert = static_cast<int>(std::min(f.get_u32_or(p + "expert_count", 0), 1u << 16));
    if (c.n_expert == 0) {
      if (traits.moe) throw ModelError(c.arch + " needs metadata '" + p + "expert_count'");
      return;
    }
    c.n_expert_used = positive(f, p + "expert_used_count");
    if (c.n_expert_used > c.n_expert) {
      throw ModelError("expert_used_count " + std::to_string(c.n_expert_used) + " exceeds expert_count " +
                       std::to_string(c.n_expert));
    }
    c.n_ff_exp = positive(f, p + "expert_feed_forward_length", c.n_ff);
    if (traits.shared_expert) c.n_ff_shexp = positive(f, p + "expert_shared_feed_forward_length", c.n_ff);
    const uint32_t gating = f.get_u32_or(p + "expert_gating_func", static_cast<uint32_t>(traits.gating));
    if (gating != 1 && gating != 2) {
      throw ModelError("unsupported expert_gating_func " + std::to_string(gating) + " (1 softmax, 2 sigmoid)");
    }
    c.expert_gating = static_cast<ExpertGating>(gating);
    c.expert_weights_norm = f.get_bool_or(p + "expert_weights_norm", traits.weights_norm);
    // 0 is how conversions say "no scaling".
    const float scale = f.get_f32_or(p + "expert_weights_scale", 1.0f);
    if (!std::isfinite(scale) || scale < 0.0f) throw ModelError("expert_weights_scale is out of range");
    c.expert_weights_scale = scale == 0.0f ? 1.0f : scale;
  } catch (const gguf::GgufError& e) {
    throw ModelError(e.what());
  }
}

std::string shape_string(const TensorView& t) {
  std::string s = "[";
  for (int d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

class WeightBinder {
 public:
  explicit WeightBinder(const gguf::File& f) : file_(f) {}

  // The tensor with this name and exactly this shape (innermost first), of a type Kindred computes.
  TensorView required(const std::string& name, std::initializer_list<int64_t> shape) const {
    const gguf::TensorInfo* info = file_.find_tensor(name);
    if (!info) throw ModelError("missing tensor '" + name + "'");
    return checked(file_.view(*info), shape);
  }

  TensorView optional(const std::string& name, std::initializer_list<int64_t> shape) const {
    const gguf::TensorInfo* info = file_.find_tensor(name);
    return info ? checked(file_.view(*info), shape) : TensorView{};
  }

 private:
  static TensorView checked(TensorView t, std::initializer_list<int64_t> shape) {
    std::array<int64_t, 4> want = {1, 1, 1, 1};
    size_t d = 0;
    for (int64_t n : shape) want[d++] = n;
    if (t.ne != want) {
      std::string expected = "[";
      d = 0;
      for (int64_t n : shape) expected += (d++ ? ", " : "") + std::to_string(n);
      throw ModelError("tensor '" + t.name + "' has shape " + shape_string(t) + ", expected " + expected + "]");
    }
    if (!dtype_info(t.type).computable) {
      throw ModelError("tensor '" + t.name + "' has type " + std::string(dtype_name(t.type)) +
                       ", which Kindred cannot compute with yet");
    }
    return t;
  }
  const gguf::File& file_;
};

}  // namespace

ModelConfig read_model_config(const gguf::File& f) {
  ModelConfig c;
  try {
    c.arch = f.get_string("general.architecture");
  } catch (const gguf::GgufError& e) {
    throw ModelError(e.what());
  }
  const ArchTraits& traits = arch_traits(c.arch);
  const std::string p = c.arch + ".";
  c.n_embd = positive(f, p + "embedding_length");
  c.n_layer = positive(f, p + "block_count");
  c.n_head = positive(f, p + "attention.head_count");
  c.n_head_kv = positive(f, p + "attention.head_count_kv", c.n_head);
  // MoE conversions may omit the dense width; the expert width stands in for it.
  const int ff_exp = static_cast<int>(std::min(f.get_u32_or(p + "expert_feed_forward_length", 0), 1u << 24));
  c.n_ff = positive(f, p + "feed_forward_length", ff_exp > 0 ? ff_exp : -1);
  c.n_ctx_train = positive(f, p + "context_length", 2048);
  if (c.n_head % c.n_head_kv != 0) {
    throw ModelError("attention.head_count " + std::to_string(c.n_head) + " is not a multiple of head_count_kv " +
                     std::to_string(c.n_head_kv));
  }
  c.head_dim = positive(f, p + "attention.key_length", c.n_embd / c.n_head);
  if (positive(f, p + "attention.value_length", c.head_dim) != c.head_dim) {
    throw ModelError("attention.value_length differs from key_length, which Kindred does not support");
  }
  c.rms_eps = f.get_f32_or(p + "attention.layer_norm_rms_epsilon", 1e-5f);
  if (!(c.rms_eps > 0.0f && c.rms_eps < 1.0f)) throw ModelError("attention.layer_norm_rms_epsilon is out of range");
  if (const auto* tokens = f.find("tokenizer.ggml.tokens")) c.n_vocab = static_cast<int>(tokens->as_array().size());
  c.n_vocab = positive(f, p + "vocab_size", c.n_vocab > 0 ? c.n_vocab : -1);

  RopeConfig& r = c.rope;
  r.layout = traits.rope_layout;
  r.n_dims = positive(f, p + "rope.dimension_count", c.head_dim);
  if (r.n_dims > c.head_dim || r.n_dims % 2 != 0) throw ModelError("rope.dimension_count must be even and at most the head size");
  r.freq_base = f.get_f32_or(p + "rope.freq_base", 10000.0f);
  if (!(r.freq_base > 1.0f) || !std::isfinite(r.freq_base)) throw ModelError("rope.freq_base is out of range");
  std::string scaling = f.get_string_or(p + "rope.scaling.type", "none");
  float factor = f.get_f32_or(p + "rope.scaling.factor", 0.0f);
  if (const float linear = f.get_f32_or(p + "rope.scale_linear", 0.0f); linear > 0.0f && scaling == "none") {
    scaling = "linear";  // the older key for linear scaling
    factor = linear;
  }
  if (scaling == "none") {
    r.scaling = RopeScaling::None;
  } else if (scaling == "linear" || scaling == "yarn") {
    if (!(factor >= 1.0f) || !std::isfinite(factor)) throw ModelError("rope.scaling.factor must be at least 1 for " + scaling);
    r.scaling = scaling == "linear" ? RopeScaling::Linear : RopeScaling::Yarn;
    r.freq_scale = 1.0f / factor;
  } else {
    throw ModelError("unsupported rope.scaling.type '" + scaling + "'");
  }
  r.n_ctx_orig = positive(f, p + "rope.scaling.original_context_length", c.n_ctx_train);
  if (r.scaling == RopeScaling::Yarn) {
    r.ext_factor = f.get_f32_or(p + "rope.scaling.yarn_ext_factor", 1.0f);
    r.attn_factor = f.get_f32_or(p + "rope.scaling.yarn_attn_factor", 1.0f);
    r.beta_fast = f.get_f32_or(p + "rope.scaling.yarn_beta_fast", 32.0f);
    r.beta_slow = f.get_f32_or(p + "rope.scaling.yarn_beta_slow", 1.0f);
  }
  c.qkv_bias = traits.qkv_bias;
  c.qk_norm = traits.qk_norm;
  c.qk_norm_full = traits.qk_norm_full;
  read_experts(f, p, traits, c);
  return c;
}

namespace {

// FNV-1a over the file's shape: cheap (no pass over the weights) yet different for any other
// conversion, quantization or architecture.
uint64_t file_fingerprint(const gguf::File& f) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  const uint64_t sizes[] = {f.file_size(), f.data_offset(), f.tensors().size(), f.metadata().size()};
  mix(sizes, sizeof sizes);
  for (const gguf::TensorInfo& t : f.tensors()) {
    mix(t.name.data(), t.name.size());
    const uint64_t shape[] = {static_cast<uint64_t>(t.type), static_cast<uint64_t>(t.ne[0]), static_cast<uint64_t>(t.ne[1]),
                              static_cast<uint64_t>(t.ne[2]), static_cast<uint64_t>(t.ne[3]), t.offset};
    mix(shape, sizeof shape);
  }
  if (!f.tensors().empty()) {
    const TensorView first = f.view(f.tensors().front());
    mix(first.data, std::min<size_t>(first.bytes(), 4096));
  }
  return h;
}

}  // namespace

std::unique_ptr<Model> Model::load(std::shared_ptr<const gguf::File> file, bool repack) {
  std::unique_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  m->config_ = read_model_config(*m->file_);
  const ModelConfig& c = m->config_;
  const ArchTraits& traits = arch_traits(c.arch);
  const WeightBinder bind(*m->file_);
  const int64_t q_dim = static_cast<int64_t>(c.n_head) * c.head_dim;
  const int64_t kv_dim = static_cast<int64_t>(c.n_head_kv) * c.head_dim;

  ModelWeights& w = m->weights_;
  w.token_embd = bind.required("token_embd.weight", {c.n_embd, c.n_vocab});
  w.output_norm = bind.required("output_norm.weight", {c.n_embd});
  w.output = bind.optional("output.weight", {c.n_embd, c.n_vocab});
  if (!w.output.data) w.output = w.token_embd;  // tied embeddings
  w.layers.resize(c.n_layer);
  for (int l = 0; l < c.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    LayerWeights& L = w.layers[l];
    L.attn_norm = bind.required(b + "attn_norm.weight", {c.n_embd});
    L.wq = bind.required(b + "attn_q.weight", {c.n_embd, q_dim});
    L.wk = bind.required(b + "attn_k.weight", {c.n_embd, kv_dim});
    L.wv = bind.required(b + "attn_v.weight", {c.n_embd, kv_dim});
    L.wo = bind.required(b + "attn_output.weight", {q_dim, c.n_embd});
    // Biases are required where the architecture defines them and honoured wherever present.
    auto bias = [&](const std::string& name, int64_t n) {
      return c.qkv_bias ? bind.required(b + name, {n}) : bind.optional(b + name, {n});
    };
    L.bq = bias("attn_q.bias", q_dim);
    L.bk = bias("attn_k.bias", kv_dim);
    L.bv = bias("attn_v.bias", kv_dim);
    if (c.qk_norm) {
      L.q_norm = bind.required(b + "attn_q_norm.weight", {c.head_dim});
      L.k_norm = bind.required(b + "attn_k_norm.weight", {c.head_dim});
    }
    if (c.qk_norm_full) {
      L.q_norm = bind.required(b + "attn_q_norm.weight", {q_dim});
      L.k_norm = bind.required(b + "attn_k_norm.weight", {kv_dim});
    }
    L.ffn_norm = bind.required(b + "ffn_norm.weight", {c.n_embd});
    if (c.n_expert == 0) {
      L.ffn_gate = bind.required(b + "ffn_gate.weight", {c.n_embd, c.n_ff});
      L.ffn_up = bind.required(b + "ffn_up.weight", {c.n_embd, c.n_ff});
      L.ffn_down = bind.required(b + "ffn_down.weight", {c.n_ff, c.n_embd});
      continue;
    }
    L.ffn_gate_inp = bind.required(b + "ffn_gate_inp.weight", {c.n_embd, c.n_expert});
    L.ffn_gate_exps = bind.required(b + "ffn_gate_exps.weight", {c.n_embd, c.n_ff_exp, c.n_expert});
    L.ffn_up_exps = bind.required(b + "ffn_up_exps.weight", {c.n_embd, c.n_ff_exp, c.n_expert});
    L.ffn_down_exps = bind.required(b + "ffn_down_exps.weight", {c.n_ff_exp, c.n_embd, c.n_expert});
    if (traits.probs_bias) L.exp_probs_b = bind.required(b + "exp_probs_b.bias", {c.n_expert});
    if (c.n_ff_shexp > 0) {
      L.ffn_gate_inp_shexp = bind.required(b + "ffn_gate_inp_shexp.weight", {c.n_embd});
      L.ffn_gate_shexp = bind.required(b + "ffn_gate_shexp.weight", {c.n_embd, c.n_ff_shexp});
      L.ffn_up_shexp = bind.required(b + "ffn_up_shexp.weight", {c.n_embd, c.n_ff_shexp});
      L.ffn_down_shexp = bind.required(b + "ffn_down_shexp.weight", {c.n_ff_shexp, c.n_embd});
    }
  }
  // The forward pass reads vectors (norms, biases) as floats; convert any stored otherwise.
  auto as_f32 = [&w](TensorView& t) {
    if (!t.data || t.type == DType::F32) return;
    std::vector<float>& values = w.converted_f32.emplace_back(static_cast<size_t>(t.elements()));
    dequantize_row(t.type, t.data, values.data(), t.elements());
    t.type = DType::F32;
    t.data = values.data();
  };
  as_f32(w.output_norm);
  for (LayerWeights& L : w.layers) {
    for (TensorView* t : {&L.attn_norm, &L.ffn_norm, &L.bq, &L.bk, &L.bv, &L.q_norm, &L.k_norm, &L.exp_probs_b}) {
      as_f32(*t);
    }
  }
  m->fingerprint_ = file_fingerprint(*m->file_);
  if (repack && PackedMatrix::worthwhile()) {
    std::vector<TensorView*> matrices = {&w.output};
    for (LayerWeights& L : w.layers) {
      for (TensorView* t : {&L.wq, &L.wk, &L.wv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down, &L.ffn_gate_inp,
                            &L.ffn_gate_exps, &L.ffn_up_exps, &L.ffn_down_exps, &L.ffn_gate_shexp, &L.ffn_up_shexp,
                            &L.ffn_down_shexp}) {
        matrices.push_back(t);
      }
    }
    std::erase_if(matrices, [](const TensorView* t) {
      return !t->data || !PackedMatrix::supports(t->type) || t->cols() % kPackBlock != 0;
    });
    auto arena_bytes = [](const TensorView& t) { return (PackedMatrix::storage_bytes(t) + 63) / 64 * 64; };
    size_t total = 0;
    for (const TensorView* t : matrices) total += arena_bytes(*t);
    w.packed_arena.resize(total);
    size_t offset = 0;
    for (TensorView* t : matrices) {
      t->packed = w.packed.emplace_back(std::make_unique<PackedMatrix>(*t, w.packed_arena.data() + offset)).get();
      offset += arena_bytes(*t);
      // One copy in memory: the file's pages for this matrix can go.
      m->file_->release_pages(t->data, t->bytes());
    }
  }
  if (const TensorView freqs = bind.optional("rope_freqs.weight", {c.rope.n_dims / 2}); freqs.data) {
    w.rope_freq_factors.resize(c.rope.n_dims / 2);
    dequantize_row(freqs.type, freqs.data, w.rope_freq_factors.data(), c.rope.n_dims / 2);
  }
  return m;
}

}  // namespace kindred
