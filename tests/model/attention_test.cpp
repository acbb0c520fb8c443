// Tiled online-softmax attention against exact references: the plain reference forward for every
// KV cache type, a 32K-token prompt against an exact double-precision last-position reference, and
// a 131072-position context that allocates exactly the predicted KV bytes.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "engine/context.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "reference_forward.h"
#include "tensor/quants.h"
#include "tiny_model.h"

namespace kindred {
namespace {

// Relative L2 error of the logits, by what the cache rounds. F32 stores keys and values exactly,
// so only the summation order differs from the double reference. F16 rounds each stored value to
// 11 significant bits (relative error <= 2^-12), which reaches the logits through two layers at a
// few 1e-4. Q8_0 rounds to 1/254 of each 32-value block's largest magnitude, ~0.4% per value, like
// the Q8_0 activations of the forward tests.
double cache_tolerance(DType t) {
  switch (t) {
    case DType::F32: return 1e-4;
    case DType::F16: return 3e-3;
    default: return 3e-2;
  }
}

std::shared_ptr<const gguf::File> tiny(const test::TinyModelSpec& spec) {
  return std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec)));
}

std::vector<int32_t> some_tokens(int n, int seed = 0) {
  std::vector<int32_t> tokens;
  for (int i = 0; i < n; ++i) tokens.push_back(3 + static_cast<int>((static_cast<int64_t>(i) * 37 + seed * 11 + i / 7) % 300));
  return tokens;
}

// 150 tokens span three key tiles (the last partial) and ten query blocks, prefilled in chunks of
// 50 so later chunks attend over earlier ones; GQA and MHA layouts, both RoPE layouts.
TEST(TiledAttention, MatchesReferenceForEveryCacheType) {
  for (const test::TinyModelSpec& spec :
       {test::TinyModelSpec{.arch = "llama", .n_head = 8, .n_head_kv = 2, .head_dim = 32},
        test::TinyModelSpec{.arch = "qwen2", .n_head_kv = 4}, test::TinyModelSpec{.arch = "qwen3"}}) {
    auto file = tiny(spec);
    auto model = Model::load(file);
    const auto tokens = some_tokens(150);
    const auto expected = test::reference_logits(*file, tokens);
    const size_t V = static_cast<size_t>(model->config().n_vocab);
    for (DType type : {DType::F32, DType::F16, DType::Q8_0}) {
      Context ctx(*model, {.n_ctx = 160, .n_threads = 2, .n_batch = 50, .kv_type = type});
      const auto logits = ctx.eval_all(tokens);
      double worst = 0;
      for (size_t t = 0; t < tokens.size(); ++t) {
        std::vector<float> got(logits.begin() + t * V, logits.begin() + (t + 1) * V);
        worst = std::max(worst, test::relative_error(got, expected[t]));
      }
      EXPECT_LT(worst, cache_tolerance(type)) << spec.arch << " cache " << dtype_name(type);
      std::printf("[ attention ] %s cache %s worst relative error %.3g (tolerance %.g)\n", spec.arch.c_str(),
                  std::string(dtype_name(type)).c_str(), worst, cache_tolerance(type));
    }
  }
}

// One token at a time (the decode path, one query row per head) equals the batched pass.
TEST(TiledAttention, DecodeEqualsBatchWithF16Cache) {
  auto model = Model::load(tiny({.arch = "llama", .n_head = 8, .n_head_kv = 2, .head_dim = 32}));
  const auto tokens = some_tokens(70);
  Context batch(*model, {.n_ctx = 80, .n_threads = 2, .kv_type = DType::F16});
  const auto all = batch.eval_all(tokens);
  const std::vector<float> all_copy(all.begin(), all.end());
  Context step(*model, {.n_ctx = 80, .n_threads = 2, .kv_type = DType::F16});
  const size_t V = static_cast<size_t>(model->config().n_vocab);
  for (size_t t = 0; t < tokens.size(); ++t) {
    const auto logits = step.eval(std::span<const int32_t>(&tokens[t], 1));
    std::vector<float> want(all_copy.begin() + t * V, all_copy.begin() + (t + 1) * V);
    // Both store the same rounded keys; only float summation order differs.
    EXPECT_LT(test::relative_error(std::vector<float>(logits.begin(), logits.end()), want), 1e-5) << "position " << t;
  }
}

TEST(KvCache, BytesFollowTheFormulaAndBadTypesAreRejected) {
  auto model = Model::load(tiny({.arch = "llama", .n_head = 8, .n_head_kv = 2, .head_dim = 32}));
  const ModelConfig& c = model->config();
  const size_t elements = static_cast<size_t>(c.n_layer) * 100 * 2 * c.n_head_kv * c.head_dim;
  EXPECT_EQ(KvCache::bytes_for(c, 100, DType::F32), elements * 4);
  EXPECT_EQ(KvCache::bytes_for(c, 100, DType::F16), elements * 2);
  EXPECT_EQ(KvCache::bytes_for(c, 100, DType::Q8_0), elements / 32 * 34);
  for (DType t : {DType::F32, DType::F16, DType::Q8_0}) EXPECT_EQ(KvCache(c, 100, t).bytes(), KvCache::bytes_for(c, 100, t));
  try {
    KvCache(c, 100, DType::Q4_K);
    FAIL() << "q4_K cache accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("KV cache type q4_K is not supported"), std::string::npos) << e.what();
  }
  ModelConfig odd = c;
  odd.head_dim = 48;
  EXPECT_THROW(KvCache::bytes_for(odd, 100, DType::Q8_0), ModelError);
  EXPECT_THROW(KvCache(c, 0, DType::F16), ModelError);
}

// An exact last-position reference for a one-layer llama model: every key and value computed in
// double from the embeddings (one layer, so they need no attention), attention only for the last
// query. O(T) work, so a 32K-token prompt checks in well under a second.
std::vector<double> matvec(const TensorView& w, const std::vector<double>& x) {
  std::vector<double> y(static_cast<size_t>(w.rows()));
  std::vector<float> row(static_cast<size_t>(w.cols()));
  for (int64_t r = 0; r < w.rows(); ++r) {
    dequantize_row(w.type, w.row(r), row.data(), w.cols());
    double s = 0;
    for (size_t i = 0; i < row.size(); ++i) s += row[i] * x[i];
    y[r] = s;
  }
  return y;
}

std::vector<float> floats(const TensorView& t) {
  std::vector<float> v(static_cast<size_t>(t.cols()));
  dequantize_row(t.type, t.row(0), v.data(), t.cols());
  return v;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<float>& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w[i];
  return y;
}

// Llama's normal layout, no scaling: pairs (2i, 2i+1) rotate by pos * base^(-2i/n).
void rotate(double* head, int hd, double base, int64_t pos) {
  for (int i = 0; i < hd / 2; ++i) {
    const double theta = static_cast<double>(pos) * std::pow(base, -2.0 * i / hd);
    const double x0 = head[2 * i], x1 = head[2 * i + 1];
    head[2 * i] = x0 * std::cos(theta) - x1 * std::sin(theta);
    head[2 * i + 1] = x0 * std::sin(theta) + x1 * std::cos(theta);
  }
}

std::vector<float> last_position_reference(const Model& model, const std::vector<int32_t>& tokens) {
  const ModelConfig& c = model.config();
  const gguf::File& f = model.file();
  const int hd = c.head_dim, group = c.n_head / c.n_head_kv;
  const auto attn_norm = floats(f.tensor("blk.0.attn_norm.weight"));
  const TensorView embd = f.tensor("token_embd.weight");
  auto embed = [&](int32_t id) {
    std::vector<float> row(static_cast<size_t>(c.n_embd));
    dequantize_row(embd.type, embd.row(id), row.data(), c.n_embd);
    return std::vector<double>(row.begin(), row.end());
  };
  const size_t T = tokens.size();
  const size_t kv = static_cast<size_t>(c.n_head_kv) * hd;
  std::vector<double> keys(T * kv), values(T * kv);
  for (size_t t = 0; t < T; ++t) {
    const auto h = rmsnorm(embed(tokens[t]), attn_norm, c.rms_eps);
    auto k = matvec(f.tensor("blk.0.attn_k.weight"), h);
    const auto v = matvec(f.tensor("blk.0.attn_v.weight"), h);
    for (int kh = 0; kh < c.n_head_kv; ++kh) rotate(k.data() + kh * hd, hd, c.rope.freq_base, static_cast<int64_t>(t));
    std::copy(k.begin(), k.end(), keys.begin() + t * kv);
    std::copy(v.begin(), v.end(), values.begin() + t * kv);
  }
  auto x = embed(tokens.back());
  auto q = matvec(f.tensor("blk.0.attn_q.weight"), rmsnorm(x, attn_norm, c.rms_eps));
  std::vector<double> attn(q.size(), 0.0), w(T);
  for (int h = 0; h < c.n_head; ++h) {
    rotate(q.data() + h * hd, hd, c.rope.freq_base, static_cast<int64_t>(T - 1));
    const size_t ko = static_cast<size_t>(h / group) * hd;
    double mx = -1e300, sum = 0;
    for (size_t j = 0; j < T; ++j) {
      double s = 0;
      for (int i = 0; i < hd; ++i) s += q[h * hd + i] * keys[j * kv + ko + i];
      mx = std::max(mx, w[j] = s / std::sqrt(static_cast<double>(hd)));
    }
    for (size_t j = 0; j < T; ++j) sum += (w[j] = std::exp(w[j] - mx));
    for (size_t j = 0; j < T; ++j) {
      for (int i = 0; i < hd; ++i) attn[h * hd + i] += w[j] / sum * values[j * kv + ko + i];
    }
  }
  const auto o = matvec(f.tensor("blk.0.attn_output.weight"), attn);
  for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
  const auto hn = rmsnorm(x, floats(f.tensor("blk.0.ffn_norm.weight")), c.rms_eps);
  auto g = matvec(f.tensor("blk.0.ffn_gate.weight"), hn);
  const auto u = matvec(f.tensor("blk.0.ffn_up.weight"), hn);
  for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
  const auto d = matvec(f.tensor("blk.0.ffn_down.weight"), g);
  for (size_t i = 0; i < x.size(); ++i) x[i] += d[i];
  const auto logits = matvec(f.find_tensor("output.weight") ? f.tensor("output.weight") : embd,
                             rmsnorm(x, floats(f.tensor("output_norm.weight")), c.rms_eps));
  return std::vector<float>(logits.begin(), logits.end());
}

// A 32768-token prompt: the online softmax over 512 key tiles keeps float accuracy (its running
// sums are rescaled, never summed from one n_ctx-long buffer). Tolerance: the F32 cache's 1e-4 of
// the short tests, doubled for 32K-term float sums (error grows like sqrt(n) * 2^-24, ~1e-5).
TEST(TiledAttention, LongPromptMatchesExactReference) {
  const test::TinyModelSpec spec{.arch = "llama", .n_vocab = 320, .n_embd = 64, .n_layer = 1, .n_head = 2,
                                 .n_head_kv = 1, .head_dim = 32, .n_ff = 128, .n_ctx = 32768};
  auto model = Model::load(tiny(spec));
  const auto tokens = some_tokens(32768, 5);
  const auto expected = last_position_reference(*model, tokens);
  Context ctx(*model, {.n_ctx = 32768, .n_threads = 2, .kv_type = DType::F32});
  const auto start = std::chrono::steady_clock::now();
  const auto logits = ctx.eval(tokens);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double err = test::relative_error(std::vector<float>(logits.begin(), logits.end()), expected);
  EXPECT_LT(err, 2e-4);
  std::printf("[ attention ] 32768-token prompt: relative error %.3g, prefill %.2f s\n", err, seconds);
}

// 131072 positions with YaRN (4 × a 32768 training context): the cache is exactly the formula's
// size, and tokens at the very end of the context run (all offsets are size_t; positions before
// them hold the zero-initialised cache, which is still a valid attention input).
TEST(TiledAttention, Context131072AllocatesPredictedBytesAndRuns) {
  const test::TinyModelSpec spec{.arch = "qwen3", .n_vocab = 320, .n_embd = 64, .n_layer = 2, .n_head = 2,
                                 .n_head_kv = 1, .head_dim = 32, .n_ff = 128, .n_ctx = 131072,
                                 .rope_scaling = "yarn", .rope_factor = 4.0f, .rope_orig_ctx = 32768};
  auto file = tiny(spec);
  auto model = Model::load(file);
  const ModelConfig& c = model->config();
  constexpr int kCtx = 131072;
  // 2 layers × 131072 × 2 × 1 head × 32 × 2 bytes = 32 MiB.
  EXPECT_EQ(KvCache::bytes_for(c, kCtx, DType::F16), size_t{2} * kCtx * 2 * 1 * 32 * 2);
  Context ctx(*model, {.n_ctx = kCtx, .n_threads = 2});
  EXPECT_EQ(ctx.cache().bytes(), KvCache::bytes_for(c, kCtx, ctx.cache().type()));
  const auto tokens = some_tokens(6);
  const auto logits = ctx.eval(tokens);
  const auto expected = test::reference_logits(*file, tokens);
  EXPECT_LT(test::relative_error(std::vector<float>(logits.begin(), logits.end()), expected.back()),
            cache_tolerance(ctx.cache().type()));

  KvCache cache(c, kCtx, DType::F16);
  EXPECT_EQ(cache.bytes(), KvCache::bytes_for(c, kCtx, DType::F16));
  Activations act;
  ThreadPool pool(2);
  std::vector<float> out(static_cast<size_t>(c.n_vocab) * 4);
  model->forward(std::span<const int32_t>(tokens).first(4), kCtx - 4, cache, act, pool, out, true);
  for (float v : out) ASSERT_TRUE(std::isfinite(v));
  EXPECT_THROW(model->forward(std::span<const int32_t>(tokens).first(1), kCtx, cache, act, pool, out), ModelError);
}

}  // namespace
}  // namespace kindred
