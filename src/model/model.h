// The model vocabulary in four parts: configuration (hyper-parameters and architecture flags),
// weights (views into the GGUF file), the KV cache, and the Model that runs a forward pass.
// Every dense architecture (llama, qwen2, qwen3, ...) is the same decoder with different flags;
// see architecture.cpp for the table and forward.cpp for the one forward pass.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "tensor/matmul.h"
#include "tensor/tensor.h"
#include "tensor/thread_pool.h"

namespace kindred {

class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class RopeLayout { Normal, NeoX };  // Normal rotates (x0,x1),(x2,x3)…; NeoX rotates (x_i, x_{i+n/2})
enum class RopeScaling { None, Linear, Yarn };

struct RopeConfig {
  RopeLayout layout = RopeLayout::Normal;
  int n_dims = 0;              // leading dimensions of each head that rotate
  float freq_base = 10000.0f;
  RopeScaling scaling = RopeScaling::None;
  float freq_scale = 1.0f;     // 1 / scaling factor
  int n_ctx_orig = 0;          // context the model was trained with (YaRN)
  float ext_factor = 0.0f;     // YaRN extrapolation mix (1 when YaRN is on)
  float attn_factor = 1.0f;    // YaRN magnitude scale
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
};

struct ModelConfig {
  std::string arch;        // general.architecture
  int n_vocab = 0;
  int n_embd = 0;          // residual stream width
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;       // < n_head means grouped-query attention
  int head_dim = 0;        // key/value width per head
  int n_ff = 0;            // SwiGLU hidden width
  int n_ctx_train = 0;
  float rms_eps = 1e-5f;
  RopeConfig rope;
  bool qkv_bias = false;   // qwen2
  bool qk_norm = false;    // qwen3: RMSNorm on each head of q and k before RoPE
};

struct LayerWeights {
  TensorView attn_norm;              // (n_embd)
  TensorView wq, wk, wv, wo;         // (n_embd → n_head*head_dim), (→ n_head_kv*head_dim) ×2, (n_head*head_dim → n_embd)
  TensorView bq, bk, bv;             // biases, when qkv_bias
  TensorView q_norm, k_norm;         // (head_dim), when qk_norm
  TensorView ffn_norm;               // (n_embd)
  TensorView ffn_gate, ffn_up;       // (n_embd → n_ff)
  TensorView ffn_down;               // (n_ff → n_embd)
};

struct ModelWeights {
  TensorView token_embd;             // (n_vocab rows of n_embd)
  std::vector<LayerWeights> layers;
  TensorView output_norm;            // (n_embd)
  TensorView output;                 // (n_embd → n_vocab); token_embd when embeddings are tied
  std::vector<float> rope_freq_factors;  // per rotated pair, from rope_freqs.weight (Llama 3.1); empty if none
  // Norm weights and biases stored in another type are converted to float at load; views point here.
  std::vector<std::vector<float>> converted_f32;
};

// Precomputed cos/sin for one position: n_dims/2 pairs.
struct RopeAngles {
  std::vector<float> cos, sin;
};

// Activation buffers for a batch of tokens, reused between calls (grown, never shrunk).
struct Activations {
  int capacity = 0;
  std::vector<float> x, xb, q, k, v, attn_out, gate, up, ffn_out, scores, logits;
  std::vector<RopeAngles> rope;  // per token of the batch
  MatmulScratch matmul;
};

class KvCache;

class Model {
 public:
  // Reads configuration and weights; throws ModelError naming the missing or inconsistent part.
  static std::unique_ptr<Model> load(std::shared_ptr<const gguf::File> file);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const gguf::File& file() const { return *file_; }

  // Runs tokens at positions [pos, pos + tokens.size()), storing their keys and values in cache.
  // logits receives n_vocab floats per token when all_logits, else for the last token only.
  void forward(std::span<const int32_t> tokens, int pos, KvCache& cache, Activations& act,
               ThreadPool& pool, std::span<float> logits, bool all_logits = false) const;

 private:
  Model() = default;
  std::shared_ptr<const gguf::File> file_;
  ModelConfig config_;
  ModelWeights weights_;
};

// Reads the configuration alone (used by load and by `kindred info`).
ModelConfig read_model_config(const gguf::File& file);

}  // namespace kindred
