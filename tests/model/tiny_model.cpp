#include "tiny_model.h"

#include <cmath>
#include <cstdio>
#include <random>

#include "tensor/quants.h"

namespace kindred::test {
namespace {

class RandomWeights {
 public:
  explicit RandomWeights(uint64_t seed) : rng_(seed) {}

  std::vector<float> normal(size_t n, float stddev) {
    std::normal_distribution<float> dist(0.0f, stddev);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng_);
    return v;
  }

  std::vector<float> around_one(size_t n) {
    std::vector<float> v = normal(n, 0.1f);
    for (float& x : v) x += 1.0f;
    return v;
  }

 private:
  std::mt19937_64 rng_;
};

// A weight of n_mat stacked matrices of rows × cols (ne {cols, rows, n_mat}; n_mat 1 is 2-D).
void add_matrix(gguf::Writer& w, const std::string& name, DType type, int64_t cols, int64_t rows, RandomWeights& rnd,
                int64_t n_mat = 1) {
  const int64_t all_rows = rows * n_mat;
  std::vector<int64_t> ne = {cols, rows};
  if (n_mat > 1) ne.push_back(n_mat);
  // Scale like a trained network so activations stay O(1) through the layers.
  const std::vector<float> values =
      rnd.normal(static_cast<size_t>(cols * all_rows), 1.0f / std::sqrt(static_cast<float>(cols)));
  if (type == DType::F32) {
    w.add_tensor_f32(name, ne, values);
    return;
  }
  std::vector<uint8_t> data(row_bytes(type, cols) * static_cast<size_t>(all_rows));
  for (int64_t r = 0; r < all_rows; ++r) {
    quantize_row(type, values.data() + r * cols, data.data() + r * row_bytes(type, cols), cols);
  }
  w.add_tensor(name, type, ne, std::move(data));
}

}  // namespace

bool is_moe_arch(const std::string& arch) {
  return arch == "qwen2moe" || arch == "qwen3moe" || arch == "olmoe" || arch == "minimax-m2";
}

std::vector<uint8_t> make_tiny_model(const TinyModelSpec& s) {
  gguf::Writer w;
  RandomWeights rnd(s.seed);
  const std::string p = s.arch + ".";
  w.set("general.architecture", gguf::Value::string(s.arch));
  w.set("general.name", gguf::Value::string("tiny-random-" + s.arch));
  w.set(p + "context_length", gguf::Value::u32(s.n_ctx));
  w.set(p + "embedding_length", gguf::Value::u32(s.n_embd));
  w.set(p + "block_count", gguf::Value::u32(s.n_layer));
  w.set(p + "feed_forward_length", gguf::Value::u32(s.n_ff));
  w.set(p + "attention.head_count", gguf::Value::u32(s.n_head));
  w.set(p + "attention.head_count_kv", gguf::Value::u32(s.n_head_kv));
  w.set(p + "attention.key_length", gguf::Value::u32(s.head_dim));
  w.set(p + "attention.value_length", gguf::Value::u32(s.head_dim));
  w.set(p + "attention.layer_norm_rms_epsilon", gguf::Value::f32(1e-6f));
  w.set(p + "rope.freq_base", gguf::Value::f32(10000.0f));
  const int n_expert = s.n_expert > 0 ? s.n_expert : (is_moe_arch(s.arch) ? 4 : 0);
  const bool mixtral = s.arch == "llama" || s.arch == "mistral";
  const int n_ff_exp = mixtral ? s.n_ff : s.n_ff_exp;
  if (n_expert > 0) {
    w.set(p + "expert_count", gguf::Value::u32(n_expert));
    w.set(p + "expert_used_count", gguf::Value::u32(s.n_expert_used));
    if (!mixtral) w.set(p + "expert_feed_forward_length", gguf::Value::u32(n_ff_exp));
    if (s.arch == "qwen2moe") w.set(p + "expert_shared_feed_forward_length", gguf::Value::u32(s.n_ff_shexp));
    if (s.arch == "minimax-m2") w.set(p + "expert_gating_func", gguf::Value::u32(2));
    if (s.expert_weights_scale != 0.0f) w.set(p + "expert_weights_scale", gguf::Value::f32(s.expert_weights_scale));
  }
  if (s.rope_dims > 0) w.set(p + "rope.dimension_count", gguf::Value::u32(s.rope_dims));
  if (s.rope_scaling != "none") {
    w.set(p + "rope.scaling.type", gguf::Value::string(s.rope_scaling));
    w.set(p + "rope.scaling.factor", gguf::Value::f32(s.rope_factor));
    if (s.rope_orig_ctx > 0) w.set(p + "rope.scaling.original_context_length", gguf::Value::u32(s.rope_orig_ctx));
  }

  // SentencePiece-style vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then words.
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.emplace_back(buf);
    types.push_back(6);
  }
  static const char* kWords[] = {"\xE2\x96\x81", "e", "t", "a", "o", "n", "\xE2\x96\x81t", "he", "\xE2\x96\x81the", "in"};
  for (int i = 0; static_cast<int>(tokens.size()) < s.n_vocab; ++i) {
    std::string word = i < 10 ? kWords[i] : "w";
    if (i >= 10) word += std::to_string(i);
    tokens.push_back(word);
    types.push_back(1);
  }
  std::vector<float> scores(tokens.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i);
  w.set("tokenizer.ggml.model", gguf::Value::string("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));

  const int64_t q_dim = static_cast<int64_t>(s.n_head) * s.head_dim;
  const int64_t kv_dim = static_cast<int64_t>(s.n_head_kv) * s.head_dim;
  add_matrix(w, "token_embd.weight", s.weight_type, s.n_embd, s.n_vocab, rnd);
  w.add_tensor_f32("output_norm.weight", {s.n_embd}, rnd.around_one(s.n_embd));
  if (!s.tied_embeddings) add_matrix(w, "output.weight", s.weight_type, s.n_embd, s.n_vocab, rnd);
  for (int l = 0; l < s.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    w.add_tensor_f32(b + "attn_norm.weight", {s.n_embd}, rnd.around_one(s.n_embd));
    add_matrix(w, b + "attn_q.weight", s.weight_type, s.n_embd, q_dim, rnd);
    add_matrix(w, b + "attn_k.weight", s.weight_type, s.n_embd, kv_dim, rnd);
    add_matrix(w, b + "attn_v.weight", s.weight_type, s.n_embd, kv_dim, rnd);
    add_matrix(w, b + "attn_output.weight", s.weight_type, q_dim, s.n_embd, rnd);
    if (s.arch == "qwen2" || s.arch == "qwen2moe") {
      w.add_tensor_f32(b + "attn_q.bias", {q_dim}, rnd.normal(q_dim, 0.2f));
      w.add_tensor_f32(b + "attn_k.bias", {kv_dim}, rnd.normal(kv_dim, 0.2f));
      w.add_tensor_f32(b + "attn_v.bias", {kv_dim}, rnd.normal(kv_dim, 0.2f));
    }
    if (s.arch == "qwen3" || s.arch == "qwen3moe") {
      w.add_tensor_f32(b + "attn_q_norm.weight", {s.head_dim}, rnd.around_one(s.head_dim));
      w.add_tensor_f32(b + "attn_k_norm.weight", {s.head_dim}, rnd.around_one(s.head_dim));
    }
    if (s.arch == "olmoe" || s.arch == "minimax-m2") {  // one norm over all heads
      w.add_tensor_f32(b + "attn_q_norm.weight", {q_dim}, rnd.around_one(q_dim));
      w.add_tensor_f32(b + "attn_k_norm.weight", {kv_dim}, rnd.around_one(kv_dim));
    }
    w.add_tensor_f32(b + "ffn_norm.weight", {s.n_embd}, rnd.around_one(s.n_embd));
    if (n_expert == 0) {
      add_matrix(w, b + "ffn_gate.weight", s.weight_type, s.n_embd, s.n_ff, rnd);
      add_matrix(w, b + "ffn_up.weight", s.weight_type, s.n_embd, s.n_ff, rnd);
      add_matrix(w, b + "ffn_down.weight", s.weight_type, s.n_ff, s.n_embd, rnd);
      continue;
    }
    add_matrix(w, b + "ffn_gate_inp.weight", DType::F32, s.n_embd, n_expert, rnd);
    add_matrix(w, b + "ffn_gate_exps.weight", s.weight_type, s.n_embd, n_ff_exp, rnd, n_expert);
    add_matrix(w, b + "ffn_up_exps.weight", s.weight_type, s.n_embd, n_ff_exp, rnd, n_expert);
    add_matrix(w, b + "ffn_down_exps.weight", s.weight_type, n_ff_exp, s.n_embd, rnd, n_expert);
    if (s.arch == "minimax-m2") w.add_tensor_f32(b + "exp_probs_b.bias", {n_expert}, rnd.normal(n_expert, 0.1f));
    if (s.arch == "qwen2moe") {
      w.add_tensor_f32(b + "ffn_gate_inp_shexp.weight", {s.n_embd}, rnd.normal(s.n_embd, 0.1f));
      add_matrix(w, b + "ffn_gate_shexp.weight", s.weight_type, s.n_embd, s.n_ff_shexp, rnd);
      add_matrix(w, b + "ffn_up_shexp.weight", s.weight_type, s.n_embd, s.n_ff_shexp, rnd);
      add_matrix(w, b + "ffn_down_shexp.weight", s.weight_type, s.n_ff_shexp, s.n_embd, rnd);
    }
  }
  return w.to_bytes();
}

}  // namespace kindred::test
