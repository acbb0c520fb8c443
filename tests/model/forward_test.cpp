// The engine's forward pass against the plain reference, for every architecture × weight type.
#include <gtest/gtest.h>

#include "engine/context.h"
#include "model/model.h"
#include "reference_forward.h"
#include "test_data.h"
#include "tensor/quants.h"
#include "tiny_model.h"

namespace kindred {
namespace {

// Tolerances on the relative L2 error of the logits, by what the engine rounds that the
// reference does not: F32 only sums in another order; F16/BF16 round activations to 11/8
// mantissa bits before the dot product; quantized weights meet activations quantized to
// 8 bits per block (Q8_0 / Q8_K), about 0.4% noise per element, compounded over 2 layers.
double tolerance(DType t) {
  switch (t) {
    case DType::F32: return 1e-4;
    case DType::F16: return 4e-3;
    case DType::BF16: return 3e-2;
    default: return 4e-2;
  }
}

struct Case {
  std::string arch;
  DType type;
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return info.param.arch + "_" + std::string(dtype_name(info.param.type));
}

class ForwardMatchesReference : public testing::TestWithParam<Case> {};

TEST_P(ForwardMatchesReference, AllPositions) {
  const Case c = GetParam();
  if (!has_quantizer(c.type)) GTEST_SKIP() << "no quantizer for " << dtype_name(c.type);
  test::TinyModelSpec spec{.arch = c.arch, .weight_type = c.type};
  auto file = std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec)));
  auto model = Model::load(file);
  const std::vector<int32_t> tokens = {1, 70, 300, 5, 260, 261, 99, 42, 7, 310};
  const auto expected = test::reference_logits(*file, tokens);

  Context ctx(*model, {.n_ctx = 64, .n_threads = 2, .kv_type = DType::F32});
  const auto logits = ctx.eval_all(tokens);
  const size_t V = static_cast<size_t>(model->config().n_vocab);
  double worst = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    std::vector<float> got(logits.begin() + t * V, logits.begin() + (t + 1) * V);
    worst = std::max(worst, test::relative_error(got, expected[t]));
  }
  EXPECT_LT(worst, tolerance(c.type)) << c.arch << " " << dtype_name(c.type);
  RecordProperty("worst_relative_error", std::to_string(worst));
  std::printf("[ forward ] %s %s worst relative error %.3g (tolerance %.g)\n", c.arch.c_str(),
              std::string(dtype_name(c.type)).c_str(), worst, tolerance(c.type));
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                    DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
      cases.push_back({arch, t});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EveryArchAndType, ForwardMatchesReference, testing::ValuesIn(all_cases()), case_name);

std::shared_ptr<const gguf::File> tiny(const test::TinyModelSpec& spec) {
  return std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec)));
}

// Decoding one token at a time through the KV cache gives the logits of one batched pass.
TEST(Forward, IncrementalDecodeEqualsBatch) {
  auto file = tiny({.arch = "qwen3"});
  auto model = Model::load(file);
  const std::vector<int32_t> tokens = {1, 10, 20, 30, 40, 50, 60};
  Context batch(*model, {.n_ctx = 32, .n_threads = 2});
  const auto all = batch.eval_all(tokens);
  const std::vector<float> all_copy(all.begin(), all.end());
  Context step(*model, {.n_ctx = 32, .n_threads = 1});
  const size_t V = static_cast<size_t>(model->config().n_vocab);
  for (size_t t = 0; t < tokens.size(); ++t) {
    const auto logits = step.eval(std::span<const int32_t>(&tokens[t], 1));
    std::vector<float> got(logits.begin(), logits.end());
    std::vector<float> want(all_copy.begin() + t * V, all_copy.begin() + (t + 1) * V);
    EXPECT_LT(test::relative_error(got, want), 1e-5) << "position " << t;
  }
}

// Prompt chunks (n_batch smaller than the prompt) give the same final logits.
TEST(Forward, ChunkedPrefillEqualsOnePass) {
  auto file = tiny({.arch = "llama"});
  auto model = Model::load(file);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back(3 + (i * 37) % 300);
  Context one(*model, {.n_ctx = 64, .n_threads = 2, .n_batch = 512});
  const auto a = one.eval(tokens);
  const std::vector<float> first(a.begin(), a.end());
  Context chunked(*model, {.n_ctx = 64, .n_threads = 2, .n_batch = 7});
  const auto b = chunked.eval(tokens);
  EXPECT_LT(test::relative_error(std::vector<float>(b.begin(), b.end()), first), 1e-5);
}

TEST(Forward, GqaTiedEmbeddingsAndRopeScaling) {
  for (const test::TinyModelSpec& spec :
       {test::TinyModelSpec{.arch = "llama", .n_head = 8, .n_head_kv = 1, .head_dim = 32, .tied_embeddings = true},
        test::TinyModelSpec{.arch = "llama", .rope_scaling = "linear", .rope_factor = 4.0f},
        test::TinyModelSpec{.arch = "qwen3", .rope_scaling = "yarn", .rope_factor = 4.0f, .rope_orig_ctx = 64},
        test::TinyModelSpec{.arch = "qwen2", .n_head_kv = 4, .rope_scaling = "yarn", .rope_factor = 8.0f,
                            .rope_orig_ctx = 32}}) {
    auto file = tiny(spec);
    auto model = Model::load(file);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 24; ++i) tokens.push_back(5 + (i * 53) % 310);
    const auto expected = test::reference_logits(*file, tokens);
    Context ctx(*model, {.n_ctx = 64, .n_threads = 2, .kv_type = DType::F32});
    const auto logits = ctx.eval(tokens);
    EXPECT_LT(test::relative_error(std::vector<float>(logits.begin(), logits.end()), expected.back()), 1e-4)
        << spec.arch << " scaling " << spec.rope_scaling << " kv heads " << spec.n_head_kv;
  }
}

// A GGUF written by other tools (F16 matrices, the full Llama 2 vocabulary, random weights).
TEST(Forward, ThirdPartyTinyRandomLlamaMatchesReference) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  auto file = std::make_shared<const gguf::File>(
      gguf::File::open(data / "models/llama-2-tiny-random/llama-2-tiny-random.gguf"));
  auto model = Model::load(file);
  const std::vector<int32_t> tokens = {1, 450, 4996, 17354, 1701, 432, 17204, 975, 278, 17366, 11203};
  const auto expected = test::reference_logits(*file, tokens);
  Context ctx(*model, {.n_ctx = 32, .n_threads = 2, .kv_type = DType::F32});
  const auto logits = ctx.eval_all(tokens);
  const size_t V = static_cast<size_t>(model->config().n_vocab);
  for (size_t t = 0; t < tokens.size(); ++t) {
    std::vector<float> got(logits.begin() + t * V, logits.begin() + (t + 1) * V);
    EXPECT_LT(test::relative_error(got, expected[t]), tolerance(DType::F16)) << "position " << t;
  }
}

std::string load_error(gguf::Writer w) {
  try {
    Model::load(std::make_shared<const gguf::File>(gguf::File::from_bytes(w.to_bytes())));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(ModelLoad, RejectsBrokenModelsWithAClearMessage) {
  const auto bytes = test::make_tiny_model({.arch = "qwen2"});
  const gguf::File good = gguf::File::from_bytes(bytes);
  // Rebuild the file with one change at a time.
  auto rebuild = [&](const std::string& skip_tensor, const std::string& reshape, const std::string& arch) {
    gguf::Writer w;
    for (const auto& [k, v] : good.metadata()) w.set(k, v);
    if (!arch.empty()) w.set("general.architecture", gguf::Value::string(arch));
    for (const auto& t : good.tensors()) {
      if (t.name == skip_tensor) continue;
      const auto* p = static_cast<const uint8_t*>(good.view(t).data);
      std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
      if (t.name == reshape) std::swap(ne[0], ne[1]);
      w.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(p, p + t.bytes));
    }
    return w;
  };
  EXPECT_NE(load_error(rebuild("blk.1.ffn_up.weight", "", "")).find("missing tensor 'blk.1.ffn_up.weight'"), std::string::npos);
  EXPECT_NE(load_error(rebuild("blk.0.attn_k.bias", "", "")).find("blk.0.attn_k.bias"), std::string::npos);
  EXPECT_NE(load_error(rebuild("", "blk.0.ffn_down.weight", "")).find("has shape [256, 512], expected [512, 256]"),
            std::string::npos)
      << load_error(rebuild("", "blk.0.ffn_down.weight", ""));
  EXPECT_NE(load_error(rebuild("", "", "gpt5")).find("unsupported architecture 'gpt5'"), std::string::npos);
}

TEST(ModelLoad, RejectsTokensOutsideTheVocabularyAndFullContext) {
  auto model = Model::load(tiny({}));
  Context ctx(*model, {.n_ctx = 4, .n_threads = 1});
  const std::vector<int32_t> bad = {1, 100000};
  EXPECT_THROW(ctx.eval(bad), ModelError);
  const std::vector<int32_t> five = {1, 2, 3, 4, 5};
  EXPECT_THROW(ctx.eval(five), ModelError);
}

}  // namespace
}  // namespace kindred
