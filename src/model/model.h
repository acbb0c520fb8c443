// The model vocabulary in four parts: configuration (hyper-parameters and architecture flags),
// weights (views into the GGUF file), the KV cache, and the Model that runs a forward pass.
// Every architecture (llama, qwen2, qwen3, their mixture-of-experts kin, ...) is the same decoder
// with different flags;
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
// How router logits become expert scores; the values are GGUF's {arch}.expert_gating_func.
enum class ExpertGating { Softmax = 1, Sigmoid = 2 };

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
  bool qk_norm_full = false;  // olmoe, minimax-m2: RMSNorm over the whole projected q and k instead
  // Mixture of experts. n_expert == 0 is a dense FFN, run as one expert of width n_ff and weight 1.
  int n_expert = 0;
  int n_expert_used = 0;     // experts each token is routed to (top-k)
  int n_ff_exp = 0;          // hidden width of each routed expert
  int n_ff_shexp = 0;        // hidden width of the always-on shared expert; 0 when there is none
  ExpertGating expert_gating = ExpertGating::Softmax;
  bool expert_weights_norm = false;   // renormalise the top-k weights to sum to 1
  float expert_weights_scale = 1.0f;  // multiplies the (normalised) weights
};

struct LayerWeights {
  TensorView attn_norm;              // (n_embd)
  TensorView wq, wk, wv, wo;         // (n_embd → n_head*head_dim), (→ n_head_kv*head_dim) ×2, (n_head*head_dim → n_embd)
  TensorView bq, bk, bv;             // biases, when qkv_bias
  TensorView q_norm, k_norm;         // (head_dim), when qk_norm
  TensorView ffn_norm;               // (n_embd)
  TensorView ffn_gate, ffn_up;       // (n_embd → n_ff)
  TensorView ffn_down;               // (n_ff → n_embd)
  // Mixture of experts (ne innermost first): expert e of a 3-D tensor is rows [e*n_ff_exp, (e+1)*n_ff_exp).
  TensorView ffn_gate_inp;                 // router (n_embd → n_expert)
  TensorView ffn_gate_exps, ffn_up_exps;   // {n_embd, n_ff_exp, n_expert}
  TensorView ffn_down_exps;                // {n_ff_exp, n_embd, n_expert}
  TensorView exp_probs_b;                  // (n_expert) selection-only score bias, minimax-m2
  TensorView ffn_gate_shexp, ffn_up_shexp; // shared expert (n_embd → n_ff_shexp)
  TensorView ffn_down_shexp;               // (n_ff_shexp → n_embd)
  TensorView ffn_gate_inp_shexp;           // (n_embd → 1): shared expert output scaled by sigmoid(this · x)
};

struct ModelWeights {
  TensorView token_embd;             // (n_vocab rows of n_embd)
  std::vector<LayerWeights> layers;
  TensorView output_norm;            // (n_embd)
  TensorView output;                 // (n_embd → n_vocab); token_embd when embeddings are tied
  std::vector<float> rope_freq_factors;  // per rotated pair, from rope_freqs.weight (Llama 3.1); empty if none
  // Norm weights and biases stored in another type are converted to float at load; views point here.
  std::vector<std::vector<float>> converted_f32;
  // Matrices copied into the SIMD kernels' layout at load (TensorView::packed points here),
  // all in one arena.
  std::vector<std::unique_ptr<PackedMatrix>> packed;
  AlignedBytes packed_arena;
};

// Precomputed cos/sin for one position: n_dims/2 pairs.
struct RopeAngles {
  std::vector<float> cos, sin;
};

// Routing state of one feed-forward call: per token the chosen experts and their weights, then
// the same assignments grouped by expert (CSR: expert e owns slots [offsets[e], offsets[e+1])).
struct MoeScratch {
  std::vector<float> logits;        // n_tokens × n_expert router outputs
  std::vector<float> scores;        // n_expert scores of one token (routing scratch)
  std::vector<int> order;           // n_expert candidate order of one token (routing scratch)
  std::vector<int> ids;             // n_tokens × n_used chosen experts
  std::vector<float> weights;       // n_tokens × n_used their weights
  std::vector<int> offsets;         // n_expert + 1
  std::vector<int> slot_token;      // grouped: which token each slot belongs to
  std::vector<float> slot_weight;   // grouped: that token's weight for the expert
  std::vector<float> xe, ye;        // inputs / outputs gathered by slot (expert-major)
  std::vector<TensorView> views;    // per-expert views of the stacked weights (reused: no allocation per token)
  std::vector<MatmulJob> jobs;
  std::vector<float> shexp_gate;    // n_tokens shared-expert gate logits
};

// Activation steering: layers[l] is empty (that layer is left alone) or n_embd floats added to
// every token's residual stream right after layer l's feed-forward add. Held by one sequence's
// Activations, so two Contexts on one Model may steer differently at once.
struct SteeringVectors {
  std::vector<std::vector<float>> layers;  // n_layer entries
};

// Throws ModelError naming the layer and the sizes unless `s` fits a model of `config`.
void validate_steering(const SteeringVectors& s, const ModelConfig& config);

class KvCache;

// Activation buffers for a batch of tokens, reused between calls (grown, never shrunk).
struct Activations {
  int capacity = 0;
  std::vector<float> x, xb, q, k, v, attn_out, gate, up, ffn_out, scores, logits;
  std::vector<RopeAngles> rope;  // per token of the batch
  std::vector<const KvCache*> slice_caches;  // forward_batch's check for a cache used twice
  std::vector<float> attn_scratch;  // per-thread attention tiles (attention.cpp); independent of n_ctx
  std::vector<int64_t> attn_first_task, attn_first_token;  // attention.cpp: where each sequence's tasks and rows start
  MatmulScratch matmul;
  MoeScratch moe;
  // When set, forward adds every token's final normalised hidden state into `pooled` (n_embd):
  // mean pooling for embeddings.
  bool pool_hidden = false;
  std::vector<float> pooled;
  // Per-sequence steering (not owned; the Context keeps it alive). Null costs nothing.
  const SteeringVectors* steering = nullptr;
  // When set, forward adds the residual after each layer of every token at position >= pool_from
  // into layer_sums (n_layer rows of n_embd, then one row of final normalised states), its L2 norm
  // per layer into layer_norm_sums (n_layer), and counts those tokens in pool_count.
  bool pool_layers = false;
  int pool_from = 0;
  std::vector<float> layer_sums;
  std::vector<double> layer_norm_sums;
  int pool_count = 0;
};

// One sequence's share of a batched forward pass: its new tokens at positions
// [pos, pos + tokens.size()), stored in its own cache, steered by its own vectors (null: none).
struct SequenceSlice {
  std::span<const int32_t> tokens;
  int pos = 0;
  KvCache* cache = nullptr;
  const SteeringVectors* steering = nullptr;
};

class Model {
 public:
  // Reads configuration and weights; throws ModelError naming the missing or inconsistent part.
  // With repack (and a CPU whose kernels gain from it) Q8_0/Q4_0 matrices are copied into the
  // packed layout and the file's pages for them are released, so memory stays at one copy.
  static std::unique_ptr<Model> load(std::shared_ptr<const gguf::File> file, bool repack = true);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const gguf::File& file() const { return *file_; }
  // Identifies the model's file: a hash of its metadata layout, tensor names, types, shapes and
  // offsets and the first bytes of its tensor data (not a hash of all weights), used to refuse
  // state saved with another model.
  uint64_t fingerprint() const { return fingerprint_; }

  // Runs tokens at positions [pos, pos + tokens.size()), storing their keys and values in cache.
  // logits receives n_vocab floats per token when all_logits, else for the last token only.
  // act.steering steers the tokens; act's pooling options pool them.
  void forward(std::span<const int32_t> tokens, int pos, KvCache& cache, Activations& act,
               ThreadPool& pool, std::span<float> logits, bool all_logits = false) const;

  // Runs the tokens of many independent sequences in one pass (continuous batching): every
  // matrix product sees all their tokens at once, while RoPE, the cache, attention and steering
  // stay per sequence. logits receives seqs.size() rows of n_vocab, row i after the last token of
  // seqs[i]. Everything is checked before any work (ModelError naming the slice): non-empty
  // tokens in the vocabulary, a cache that is set, used by no other slice and fits the positions,
  // valid steering. Steering comes only from the slices and pooling is single-sequence, so
  // act.steering must be null and act's pooling off.
  void forward_batch(std::span<const SequenceSlice> seqs, Activations& act, ThreadPool& pool,
                     std::span<float> logits) const;

 private:
  // The one forward pass behind forward and forward_batch; arguments already validated. Computes
  // logits for every token when all_logits, else for the last token of each slice.
  void run_forward(std::span<const SequenceSlice> seqs, Activations& act, ThreadPool& pool,
                   std::span<float> logits, bool all_logits) const;

  Model() = default;
  std::shared_ptr<const gguf::File> file_;
  ModelConfig config_;
  ModelWeights weights_;
  uint64_t fingerprint_ = 0;
};

// Reads the configuration alone (used by load and by `kindred info`).
ModelConfig read_model_config(const gguf::File& file);

}  // namespace kindred
