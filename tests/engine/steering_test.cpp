// Per-sequence activation steering and per-layer pooled hidden states: a vector added at layer l
// shifts exactly that layer's residual (and nothing before it), the logits follow the output head
// by hand, a zero vector changes nothing, and two contexts on one model steer independently.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>

#include "engine/context.h"
#include "model/kv_cache.h"
#include "model/tiny_model.h"

namespace kindred {
namespace {

std::unique_ptr<Model> tiny_f32(int n_layer = 3) {
  test::TinyModelSpec spec;
  spec.arch = "qwen3";
  spec.weight_type = DType::F32;
  spec.n_layer = n_layer;
  return Model::load(std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec))));
}

const ContextParams kParams{.n_ctx = 64, .n_threads = 1, .kv_type = DType::F32};

std::vector<int32_t> tokens() { return {1, 40, 290, 7, 133, 260, 12}; }

std::vector<float> random_vector(int n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = d(rng);
  return v;
}

std::shared_ptr<SteeringVectors> at_layer(const Model& m, int layer, std::vector<float> v) {
  auto s = std::make_shared<SteeringVectors>();
  s->layers.resize(static_cast<size_t>(m.config().n_layer));
  s->layers[static_cast<size_t>(layer)] = std::move(v);
  return s;
}

// output_head(rms_norm(h) * output_norm) from the F32 weights, in double.
std::vector<float> head_by_hand(const Model& m, const std::vector<float>& h) {
  const ModelConfig& c = m.config();
  const auto* norm_w = static_cast<const float*>(m.weights().output_norm.data);
  const auto* out_w = static_cast<const float*>(m.weights().output.data);
  double ss = 0;
  for (float f : h) ss += static_cast<double>(f) * f;
  const double scale = 1.0 / std::sqrt(ss / c.n_embd + c.rms_eps);
  std::vector<double> y(h.size());
  for (size_t i = 0; i < h.size(); ++i) y[i] = h[i] * scale * norm_w[i];
  std::vector<float> logits(static_cast<size_t>(c.n_vocab));
  for (int r = 0; r < c.n_vocab; ++r) {
    double acc = 0;
    for (int i = 0; i < c.n_embd; ++i) acc += y[i] * out_w[static_cast<size_t>(r) * c.n_embd + i];
    logits[r] = static_cast<float>(acc);
  }
  return logits;
}

void expect_near(std::span<const float> a, std::span<const float> b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * (1 + std::fabs(b[i]))) << i;
}

TEST(Steering, ShiftsExactlyTheSteeredLayerAndNothingBefore) {
  const auto model = tiny_f32(3);
  const int E = model->config().n_embd;
  Context ctx(*model, kParams);
  const LayerStates plain = ctx.pooled_layer_states(tokens());
  ASSERT_EQ(plain.layers.size(), 3u);
  ASSERT_EQ(plain.final_norm.size(), static_cast<size_t>(E));
  const std::vector<float> v = random_vector(E, 7, 0.5f);
  ctx.set_steering(at_layer(*model, 1, v));
  const LayerStates steered = ctx.pooled_layer_states(tokens());
  EXPECT_EQ(steered.layers[0], plain.layers[0]);  // bit-identical before the steered layer
  for (int i = 0; i < E; ++i) {
    const float diff = steered.layers[1][i] - plain.layers[1][i];
    ASSERT_NEAR(diff, v[i], 1e-5f * (1 + std::fabs(plain.layers[1][i]))) << i;
  }
  EXPECT_NE(steered.layers[2], plain.layers[2]);  // later layers see the steered stream
  EXPECT_EQ(ctx.n_past(), 0);                     // the cache is emptied afterwards
}

TEST(Steering, PooledStatesLeaveOutTheFirstTokenAndRefuseBadInput) {
  const auto model = tiny_f32(2);
  Context ctx(*model, kParams);
  // A one-token text: its own states; embed() of it is the same final state, normalised.
  const LayerStates one = ctx.pooled_layer_states(std::vector<int32_t>{40});
  EXPECT_EQ(one.n_pooled, 1);
  const std::vector<float> e = ctx.embed(std::vector<int32_t>{40});
  double norm = 0;
  for (float f : one.final_norm) norm += static_cast<double>(f) * f;
  for (size_t i = 0; i < e.size(); ++i) ASSERT_NEAR(e[i], one.final_norm[i] / std::sqrt(norm), 1e-6) << i;
  // Longer texts leave out position 0: {BOS, a, b} pools a and b only.
  const LayerStates s2 = ctx.pooled_layer_states(std::vector<int32_t>{1, 50});       // a
  const LayerStates s3 = ctx.pooled_layer_states(std::vector<int32_t>{1, 50, 77});   // (a + b) / 2
  EXPECT_EQ(s2.n_pooled, 1);
  EXPECT_EQ(s3.n_pooled, 2);
  // With a small batch the same text is pooled the same way across forward calls.
  Context chunked(*model, {.n_ctx = 64, .n_threads = 1, .n_batch = 1, .kv_type = DType::F32});
  const LayerStates c3 = chunked.pooled_layer_states(std::vector<int32_t>{1, 50, 77});
  EXPECT_EQ(c3.n_pooled, 2);
  for (int l = 0; l < 2; ++l) {
    for (size_t i = 0; i < s3.layers[l].size(); ++i) ASSERT_NEAR(c3.layers[l][i], s3.layers[l][i], 1e-4f * (1 + std::fabs(s3.layers[l][i])));
  }
  for (float n : s3.token_norm) EXPECT_GT(n, 0.0f);
  EXPECT_THROW(ctx.pooled_layer_states(std::vector<int32_t>{}), ModelError);
  EXPECT_THROW(ctx.pooled_layer_states(std::vector<int32_t>(65, 5)), ModelError);
}

TEST(Steering, LastLayerLogitsMatchTheOutputHeadByHand) {
  const auto model = tiny_f32(2);
  const ModelConfig& c = model->config();
  const int E = c.n_embd;
  const std::vector<int32_t> toks = tokens();
  // Residuals of every token after the last layer, unsteered, straight from the forward pass.
  KvCache cache(c, 64, DType::F32);
  Activations act;
  ThreadPool pool(1);
  std::vector<float> logits(toks.size() * c.n_vocab);
  model->forward(toks, 0, cache, act, pool, logits, true);
  const std::vector<float> h(act.x.begin(), act.x.begin() + static_cast<std::ptrdiff_t>(toks.size()) * E);

  const std::vector<float> v = random_vector(E, 11, 0.3f);
  Context ctx(*model, kParams);
  ctx.set_steering(at_layer(*model, c.n_layer - 1, v));
  const std::span<const float> steered = ctx.eval_all(toks);
  for (size_t t = 0; t < toks.size(); ++t) {
    std::vector<float> ht(h.begin() + static_cast<std::ptrdiff_t>(t * E), h.begin() + static_cast<std::ptrdiff_t>((t + 1) * E));
    for (int i = 0; i < E; ++i) ht[i] += v[i];
    expect_near(steered.subspan(t * c.n_vocab, c.n_vocab), head_by_hand(*model, ht), 1e-4f);
  }
  // The same through the Context API for one token: pooled states of one token are its residual.
  Context single(*model, kParams);
  std::vector<float> h0 = single.pooled_layer_states(std::vector<int32_t>{40}).layers.back();
  single.set_steering(at_layer(*model, c.n_layer - 1, v));
  for (int i = 0; i < E; ++i) h0[i] += v[i];
  const std::vector<float> by_hand = head_by_hand(*model, h0);
  expect_near(single.eval(std::vector<int32_t>{40}), by_hand, 1e-4f);
}

TEST(Steering, ZeroVectorGivesBitIdenticalLogits) {
  const auto model = tiny_f32(3);
  Context plain(*model, kParams), zero(*model, kParams);
  auto s = std::make_shared<SteeringVectors>();
  for (int l = 0; l < 3; ++l) s->layers.emplace_back(static_cast<size_t>(model->config().n_embd), 0.0f);
  zero.set_steering(s);
  const std::span<const float> a = plain.eval_all(tokens());
  const std::vector<float> expected(a.begin(), a.end());
  const std::span<const float> b = zero.eval_all(tokens());
  EXPECT_EQ(std::vector<float>(b.begin(), b.end()), expected);
}

TEST(Steering, IsPerSequence) {
  const auto model = tiny_f32(3);
  const auto steer = at_layer(*model, 1, random_vector(model->config().n_embd, 3, 1.0f));
  Context reference_plain(*model, kParams), reference_steered(*model, kParams);
  reference_steered.set_steering(steer);
  const auto rp = reference_plain.eval(tokens());
  const std::vector<float> want_plain(rp.begin(), rp.end());
  const auto rs = reference_steered.eval(tokens());
  const std::vector<float> want_steered(rs.begin(), rs.end());
  ASSERT_NE(want_plain, want_steered);

  // Interleaved token by token on the same model: each context keeps its own steering.
  Context a(*model, kParams), b(*model, kParams);
  a.set_steering(steer);
  const std::vector<int32_t> t = tokens();
  std::vector<float> last_a, last_b;
  for (size_t i = 0; i < t.size(); ++i) {
    const auto la = a.eval(std::span<const int32_t>(t).subspan(i, 1));
    last_a.assign(la.begin(), la.end());
    const auto lb = b.eval(std::span<const int32_t>(t).subspan(i, 1));
    last_b.assign(lb.begin(), lb.end());
  }
  expect_near(last_a, want_steered, 1e-4f);
  expect_near(last_b, want_plain, 1e-4f);
  Context b2(*model, kParams);
  b2.set_steering(steer);
  b2.clear_steering();
  EXPECT_EQ(b2.steering(), nullptr);
}

TEST(Steering, RejectsVectorsOfTheWrongShape) {
  const auto model = tiny_f32(3);
  Context ctx(*model, kParams);
  auto few = std::make_shared<SteeringVectors>();
  few->layers.resize(2);
  try {
    ctx.set_steering(few);
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("2 layers"), std::string::npos) << e.what();
  }
  try {
    ctx.set_steering(at_layer(*model, 2, std::vector<float>(10, 1.0f)));
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 2 has 10 values"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ctx.steering(), nullptr);  // a refused vector leaves the old steering in place
}

}  // namespace
}  // namespace kindred
