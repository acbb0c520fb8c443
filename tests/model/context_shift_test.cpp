// Context shift (drop a span of old positions, re-rotate the keys after it) gives the logits of
// evaluating the shortened sequence from scratch, for both RoPE layouts, partial rotary dimensions
// and YaRN, whose magnitude scale is already in the stored keys and must not be applied twice.
#include <gtest/gtest.h>

#include "engine/context.h"
#include "model/model.h"
#include "model/rope.h"
#include "reference_forward.h"
#include "tiny_model.h"

namespace kindred {
namespace {

// Relative L2 error against the recompute. F32: the shifted keys differ from recomputed ones only
// by the float rounding of R(theta(p)) R(theta(-d)) vs R(theta(p - d)), ~1e-6. F16 and Q8_0 round
// the rotated keys once more when they are written back, so the F16/Q8_0 cache tolerances of
// attention_test apply (3e-3, 3e-2).
double shift_tolerance(DType t) {
  switch (t) {
    case DType::F32: return 2e-5;
    case DType::F16: return 3e-3;
    default: return 3e-2;
  }
}

// The tiny model with rope.dimension_count set (partial rotary embedding), via a rewrite of its GGUF.
std::vector<uint8_t> with_rope_dims(const std::vector<uint8_t>& bytes, int n_dims) {
  const gguf::File good = gguf::File::from_bytes(bytes);
  gguf::Writer w;
  for (const auto& [k, v] : good.metadata()) w.set(k, v);
  w.set(good.get_string("general.architecture") + ".rope.dimension_count", gguf::Value::u32(n_dims));
  for (const auto& t : good.tensors()) {
    const auto* p = static_cast<const uint8_t*>(good.view(t).data);
    w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                 std::vector<uint8_t>(p, p + t.bytes));
  }
  return w.to_bytes();
}

struct Variant {
  std::string name;
  std::vector<uint8_t> gguf;
};

// One layer: its keys and values depend on nothing but the token and its position, so a shift is
// exactly a recompute. With more layers, the moved tokens' deeper keys and values were computed
// while attending to the dropped tokens, so a shift approximates a recompute by design (as in
// llama.cpp); KeysOfEveryLayerAreRotatedLikeARecompute covers the rotation of every layer.
std::vector<Variant> variants() {
  return {
      {"llama_normal_gqa",
       test::make_tiny_model({.arch = "llama", .n_layer = 1, .n_head = 8, .n_head_kv = 2, .head_dim = 32})},
      {"qwen2_neox", test::make_tiny_model({.arch = "qwen2", .n_layer = 1})},
      {"llama_partial_rotary", with_rope_dims(test::make_tiny_model({.arch = "llama", .n_layer = 1}), 32)},
      {"qwen3_neox_partial_rotary", with_rope_dims(test::make_tiny_model({.arch = "qwen3", .n_layer = 1}), 48)},
      {"qwen3_yarn", test::make_tiny_model({.arch = "qwen3", .n_layer = 1, .rope_scaling = "yarn",
                                            .rope_factor = 4.0f, .rope_orig_ctx = 32})},
      {"llama_linear",
       test::make_tiny_model({.arch = "llama", .n_layer = 1, .rope_scaling = "linear", .rope_factor = 2.0f})},
  };
}

std::vector<int32_t> some_tokens(int n, int seed) {
  std::vector<int32_t> tokens;
  for (int i = 0; i < n; ++i) tokens.push_back(3 + (i * 53 + seed * 17) % 310);
  return tokens;
}

TEST(ContextShift, EqualsRecomputingTheShiftedSequence) {
  for (const Variant& variant : variants()) {
    auto model = Model::load(std::make_shared<const gguf::File>(gguf::File::from_bytes(variant.gguf)));
    const auto prompt = some_tokens(60, 1), more = some_tokens(5, 2), again = some_tokens(7, 3);
    for (DType type : {DType::F32, DType::F16, DType::Q8_0}) {
      const ContextParams params{.n_ctx = 64, .n_threads = 2, .n_batch = 24, .kv_type = type};
      // Endless chat: fill, shift, continue, shift again, continue.
      Context ctx(*model, params);
      ctx.eval(prompt);
      ctx.shift(4, 20);
      ASSERT_EQ(ctx.n_past(), 40);
      ctx.eval(more);
      ctx.shift(4, 9);
      ASSERT_EQ(ctx.n_past(), 36);
      const auto got = ctx.eval(again);
      const std::vector<float> shifted(got.begin(), got.end());

      std::vector<int32_t> sequence(prompt.begin(), prompt.begin() + 4);
      sequence.insert(sequence.end(), prompt.begin() + 24, prompt.end());
      sequence.insert(sequence.end(), more.begin(), more.end());
      sequence.erase(sequence.begin() + 4, sequence.begin() + 13);
      sequence.insert(sequence.end(), again.begin(), again.end());
      Context fresh(*model, params);
      const auto want = fresh.eval(sequence);
      const double err = test::relative_error(shifted, std::vector<float>(want.begin(), want.end()));
      EXPECT_LT(err, shift_tolerance(type)) << variant.name << " cache " << dtype_name(type);
      std::printf("[ shift ] %s cache %s relative error %.3g (tolerance %.g)\n", variant.name.c_str(),
                  std::string(dtype_name(type)).c_str(), err, shift_tolerance(type));
    }
  }
}

// The shifted F32 sequence also matches the plain reference forward (not only the engine itself).
TEST(ContextShift, MatchesReferenceForward) {
  const auto bytes = test::make_tiny_model({.arch = "qwen3", .n_layer = 1, .rope_scaling = "yarn",
                                            .rope_factor = 4.0f, .rope_orig_ctx = 32});
  auto file = std::make_shared<const gguf::File>(gguf::File::from_bytes(bytes));
  auto model = Model::load(file);
  const auto prompt = some_tokens(30, 4);
  Context ctx(*model, {.n_ctx = 32, .n_threads = 2, .kv_type = DType::F32});
  ctx.eval(prompt);
  ctx.shift(2, 10);
  const std::vector<int32_t> next = {7, 8, 9};
  const auto got = ctx.eval(next);
  std::vector<int32_t> sequence(prompt.begin(), prompt.begin() + 2);
  sequence.insert(sequence.end(), prompt.begin() + 12, prompt.end());
  sequence.insert(sequence.end(), next.begin(), next.end());
  const auto expected = test::reference_logits(*file, sequence);
  EXPECT_LT(test::relative_error(std::vector<float>(got.begin(), got.end()), expected.back()), 1e-4);
}

// Every layer's cache rows move and rotate: layer 0 of a two-layer model equals a recompute
// exactly (its inputs are the embeddings); the deeper layer is compared by rotating the original
// rows by hand, i.e. moved key = R(-d) applied to the unshifted key at p + d.
TEST(ContextShift, KeysOfEveryLayerAreRotatedLikeARecompute) {
  auto model = Model::load(std::make_shared<const gguf::File>(
      gguf::File::from_bytes(test::make_tiny_model({.arch = "qwen2", .rope_scaling = "yarn", .rope_factor = 4.0f,
                                                   .rope_orig_ctx = 32}))));
  const ModelConfig& c = model->config();
  const auto prompt = some_tokens(40, 6);
  constexpr int kKeep = 3, kDiscard = 11;
  Context ctx(*model, {.n_ctx = 48, .n_threads = 2, .kv_type = DType::F32});
  ctx.eval(prompt);
  Context before(*model, {.n_ctx = 48, .n_threads = 2, .kv_type = DType::F32});
  before.eval(prompt);
  ctx.shift(kKeep, kDiscard);
  std::vector<int32_t> sequence(prompt.begin(), prompt.begin() + kKeep);
  sequence.insert(sequence.end(), prompt.begin() + kKeep + kDiscard, prompt.end());
  Context fresh(*model, {.n_ctx = 48, .n_threads = 2, .kv_type = DType::F32});
  fresh.eval(sequence);

  std::vector<float> got(c.head_dim), want(c.head_dim), old(c.head_dim);
  double worst0 = 0, worst1 = 0;
  for (int p = 0; p < ctx.n_past(); ++p) {
    const int src = p < kKeep ? p : p + kDiscard;
    for (int h = 0; h < c.n_head_kv; ++h) {
      ctx.cache().read_key(0, p, h, got.data());
      fresh.cache().read_key(0, p, h, want.data());
      worst0 = std::max(worst0, test::relative_error(got, want));
      ctx.cache().read_value(0, p, h, got.data());
      fresh.cache().read_value(0, p, h, want.data());
      EXPECT_EQ(got, want) << "layer 0 value, position " << p;
      // Layer 1: rotating back by +d gives the unshifted key.
      ctx.cache().read_key(1, p, h, got.data());
      before.cache().read_key(1, src, h, old.data());
      if (p >= kKeep) {
        RopeAngles forward;
        rope_delta_angles(c.rope, kDiscard, model->weights().rope_freq_factors, forward);
        apply_rope(c.rope, forward, got.data(), 1, c.head_dim);
      }
      worst1 = std::max(worst1, test::relative_error(got, old));
    }
  }
  EXPECT_LT(worst0, 1e-5);  // float rounding of the composed rotation
  EXPECT_LT(worst1, 1e-5);
}

std::string shift_error(Context& ctx, int n_keep, int n_discard) {
  try {
    ctx.shift(n_keep, n_discard);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

TEST(ContextShift, RejectsBadArgumentsWithAClearError) {
  auto model = Model::load(std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model({}))));
  Context ctx(*model, {.n_ctx = 32, .n_threads = 1});
  ctx.eval(some_tokens(10, 0));
  for (auto [keep, discard] : {std::pair{-1, 2}, {0, 0}, {2, -3}, {4, 7}, {11, 1}, {0, 11}}) {
    const std::string msg = shift_error(ctx, keep, discard);
    EXPECT_NE(msg.find("cannot shift the context: keeping " + std::to_string(keep) + " and discarding " +
                       std::to_string(discard)),
              std::string::npos)
        << keep << "/" << discard << ": '" << msg << "'";
    EXPECT_NE(msg.find("<= 10"), std::string::npos) << msg;
  }
  EXPECT_EQ(ctx.n_past(), 10);  // a rejected shift changes nothing
  ctx.shift(0, 10);             // dropping everything is allowed
  EXPECT_EQ(ctx.n_past(), 0);
}

}  // namespace
}  // namespace kindred
