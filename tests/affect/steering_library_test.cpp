// The steering library on a tiny random model: vectors are the mean pooled-residual differences,
// the side file round-trips and refuses other models, and blend is linear and scaled as documented.
#include "affect/steering.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/tiny_model.h"
#include "test_data.h"

namespace kindred::affect {
namespace {

struct Tiny {
  std::shared_ptr<const gguf::File> file;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

Tiny tiny(uint64_t seed = 42) {
  test::TinyModelSpec spec;
  spec.arch = "qwen3";
  spec.seed = seed;
  spec.n_layer = 3;
  Tiny t;
  t.file = std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec)));
  t.model = Model::load(t.file);
  t.tokenizer = Tokenizer::from_gguf(*t.file);
  return t;
}

const ContextParams kParams{.n_ctx = 64, .n_threads = 1, .kv_type = DType::F32};

SteeringPairs few_pairs() {
  SteeringPairs p;
  p[label_index("joy")] = {{"w20 w31 w44 w70", "w20 w31 w44"}, {"w50 w70 w22", "w50 w61 w22"}};
  p[label_index("anger")] = {{"w80 w33 w35", "w34 w33 w35"}};
  return p;
}

TEST(SteeringLibrary, VectorIsTheMeanDifferenceOfPooledResiduals) {
  const Tiny t = tiny();
  Context ctx(*t.model, kParams);
  const SteeringLibrary lib = SteeringLibrary::build(ctx, *t.tokenizer, few_pairs());
  EXPECT_TRUE(lib.has(label_index("joy")));
  EXPECT_FALSE(lib.has(label_index("fear")));
  EXPECT_EQ(lib.pair_count(label_index("joy")), 2);

  Context ref(*t.model, kParams);
  const auto pooled = [&](const std::string& text) { return ref.pooled_layer_states(t.tokenizer->encode(text, true, false)); };
  const SteeringPairs pairs = few_pairs();
  const auto& joy = pairs[label_index("joy")];
  const LayerStates a0 = pooled(joy[0].emotional), b0 = pooled(joy[0].neutral);
  const LayerStates a1 = pooled(joy[1].emotional), b1 = pooled(joy[1].neutral);
  for (int l = 0; l < 3; ++l) {
    const std::span<const float> v = lib.vector(label_index("joy"), l);
    ASSERT_EQ(v.size(), static_cast<size_t>(t.model->config().n_embd));
    for (size_t i = 0; i < v.size(); ++i) {
      const float want = ((a0.layers[l][i] - b0.layers[l][i]) + (a1.layers[l][i] - b1.layers[l][i])) / 2.0f;
      ASSERT_NEAR(v[i], want, 1e-5f * (1 + std::fabs(want))) << "layer " << l << " dim " << i;
    }
  }
  // Residual norms are typical token norms: positive, as many as layers.
  ASSERT_EQ(lib.residual_norm().size(), 3u);
  for (float n : lib.residual_norm()) EXPECT_GT(n, 0.0f);
  EXPECT_THROW(lib.vector(label_index("fear"), 0), std::runtime_error);
  // Building from a steered context would bake the steering into the vectors: refused.
  LabelProbs one{};
  one[label_index("joy")] = 1.0f;
  ctx.set_steering(lib.blend(one, 1.0f, 1.0f));
  EXPECT_THROW(SteeringLibrary::build(ctx, *t.tokenizer, few_pairs()), std::runtime_error);
}

TEST(SteeringLibrary, SaveLoadRoundTripAndRefusals) {
  const Tiny t = tiny();
  Context ctx(*t.model, kParams);
  const SteeringLibrary lib = SteeringLibrary::build(ctx, *t.tokenizer, few_pairs());
  const auto path = test::temp_dir() / "tiny.steer.gguf";
  lib.save(path);
  const SteeringLibrary back = SteeringLibrary::load(path, *t.model);
  EXPECT_EQ(back.fingerprint(), t.model->fingerprint());
  EXPECT_EQ(back.residual_norm(), lib.residual_norm());
  EXPECT_EQ(back.suggested_first(), lib.suggested_first());
  EXPECT_EQ(back.suggested_last(), lib.suggested_last());
  for (int k = 0; k < kNumLabels; ++k) {
    ASSERT_EQ(back.has(k), lib.has(k)) << k;
    if (!lib.has(k)) continue;
    EXPECT_EQ(back.pair_count(k), lib.pair_count(k));
    for (int l = 0; l < 3; ++l) {
      const auto a = lib.vector(k, l), b = back.vector(k, l);
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end()));
    }
  }
  const Tiny other = tiny(43);
  try {
    SteeringLibrary::load(path, *other.model);
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
  // Another GGUF is not a steering library.
  const auto model_path = test::temp_dir() / "not-steering.gguf";
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::string("llama"));
  w.write(model_path);
  EXPECT_THROW(SteeringLibrary::load(model_path, *t.model), std::runtime_error);
  EXPECT_EQ(SteeringLibrary::default_path("/m/Qwen3.gguf"), std::filesystem::path("/m/Qwen3.steer.gguf"));
}

TEST(SteeringLibrary, BlendIsLinearScaledAndConfinedToTheRange) {
  const Tiny t = tiny();
  Context ctx(*t.model, kParams);
  const SteeringLibrary lib = SteeringLibrary::build(ctx, *t.tokenizer, few_pairs());
  const int joy = label_index("joy"), anger = label_index("anger");
  LabelProbs a{}, b{}, sum{};
  a[joy] = 0.7f;
  a[kNeutral] = 0.3f;  // neutral pulls nothing
  b[anger] = 0.4f;
  b[joy] = 0.1f;
  for (int k = 0; k < kNumLabels; ++k) sum[k] = a[k] + b[k];
  const auto va = lib.blend(a, 0.8f, 1.5f, 1, 2), vb = lib.blend(b, 0.8f, 1.5f, 1, 2), vs = lib.blend(sum, 0.8f, 1.5f, 1, 2);
  ASSERT_EQ(vs->layers.size(), 3u);
  EXPECT_TRUE(vs->layers[0].empty());  // outside the range
  for (int l = 1; l <= 2; ++l) {
    for (size_t i = 0; i < vs->layers[l].size(); ++i) {
      ASSERT_NEAR(vs->layers[l][i], va->layers[l][i] + vb->layers[l][i], 1e-6f) << l << " " << i;
    }
  }
  // One-hot, intensity 1, strength 1 over one layer: norm = kStrengthFraction × residual norm.
  LabelProbs one{};
  one[joy] = 1.0f;
  const auto v1 = lib.blend(one, 1.0f, 1.0f, 2, 2);
  double n = 0;
  for (float f : v1->layers[2]) n += static_cast<double>(f) * f;
  EXPECT_NEAR(std::sqrt(n), SteeringLibrary::kStrengthFraction * lib.residual_norm()[2], 1e-4 * lib.residual_norm()[2]);
  // Spread over two layers, each gets half.
  const auto v2 = lib.blend(one, 1.0f, 1.0f, 1, 2);
  double n2 = 0;
  for (float f : v2->layers[2]) n2 += static_cast<double>(f) * f;
  EXPECT_NEAR(std::sqrt(n2), std::sqrt(n) / 2, 1e-4 * std::sqrt(n));
  // The vectors fit a Context.
  Context steered(*t.model, kParams);
  EXPECT_NO_THROW(steered.set_steering(vs));

  LabelProbs fear{};
  fear[label_index("fear")] = 0.2f;
  EXPECT_THROW(lib.blend(fear, 1.0f, 1.0f, 0, 2), std::runtime_error);  // no vector for fear
  EXPECT_THROW(lib.blend(one, 1.0f, 1.0f, 2, 3), std::runtime_error);   // past the last layer
  EXPECT_THROW(lib.blend(one, 1.0f, 1.0f, 2, 1), std::runtime_error);   // empty range
}

TEST(SteeringPairsData, EmbeddedSetCoversEveryLabelButNeutral) {
  const SteeringPairs& p = default_steering_pairs();
  for (int k = 0; k < kNumLabels; ++k) {
    if (k == kNeutral) continue;
    EXPECT_GE(p[k].size(), 6u) << label_name(k);
    for (const auto& pair : p[k]) {
      EXPECT_FALSE(pair.emotional.empty());
      EXPECT_FALSE(pair.neutral.empty());
      EXPECT_NE(pair.emotional, pair.neutral);
    }
  }
  EXPECT_THROW(parse_steering_pairs(R"({"labels": {"glee": []}})"), std::runtime_error);
  EXPECT_THROW(parse_steering_pairs(R"({"labels": {"joy": [{"emotional": "a"}]}})"), std::runtime_error);
  EXPECT_THROW(parse_steering_pairs("not json"), std::runtime_error);
}

}  // namespace
}  // namespace kindred::affect
