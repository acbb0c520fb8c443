// Sequences that reuse their cache: eval_sequence against evaluating from scratch, and state
// files (round trip, and every way a bad file is refused without leaving a half-loaded cache).
#include "engine/context.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "model/tiny_model.h"

namespace kindred {
namespace {

std::unique_ptr<Model> tiny(uint64_t seed = 42, DType type = DType::Q8_0) {
  test::TinyModelSpec spec;
  spec.arch = "qwen3";
  spec.weight_type = type;
  spec.seed = seed;
  return Model::load(std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec))));
}

std::vector<int32_t> sequence(int n, int salt) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[i] = 3 + (i * 37 + salt * 11) % 300;
  return t;
}

void expect_same_logits(std::span<const float> a, std::span<const float> b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4f * (1 + std::fabs(b[i]))) << i;
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("kindred-" + std::to_string(::getpid()) + "-" + name);
}

TEST(EvalSequence, ComputesOnlyAfterTheCommonPrefixAndMatchesFromScratch) {
  const auto model = tiny();
  const ContextParams params{.n_ctx = 128, .n_threads = 2, .kv_type = DType::F32};
  Context ctx(*model, params);
  const std::vector<int32_t> first = sequence(60, 1);
  ctx.eval_sequence(first);
  EXPECT_EQ(ctx.last_reused(), 0);
  // The next turn: the same 45 tokens, then something new (an edit at position 45).
  std::vector<int32_t> second(first.begin(), first.begin() + 45);
  for (int32_t t : sequence(20, 7)) second.push_back(t);
  const std::span<const float> logits = ctx.eval_sequence(second);
  const std::vector<float> reused(logits.begin(), logits.end());
  EXPECT_EQ(ctx.last_reused(), 45);
  EXPECT_EQ(ctx.n_past(), 65);
  Context fresh(*model, params);
  expect_same_logits(reused, fresh.eval_sequence(second));
  EXPECT_EQ(fresh.last_reused(), 0);
  // Asking for the same sequence again recomputes only its last token, for the logits.
  ctx.eval_sequence(second);
  EXPECT_EQ(ctx.last_reused(), 64);
  EXPECT_TRUE(std::equal(ctx.tokens().begin(), ctx.tokens().end(), second.begin(), second.end()));
}

TEST(EvalSequence, TokensFollowTruncateAndShift) {
  const auto model = tiny();
  Context ctx(*model, {.n_ctx = 64, .n_threads = 1});
  const std::vector<int32_t> s = sequence(40, 2);
  ctx.eval(s);
  ctx.truncate(30);
  EXPECT_EQ(ctx.tokens().size(), 30u);
  ctx.shift(4, 10);
  ASSERT_EQ(ctx.tokens().size(), 20u);
  EXPECT_EQ(ctx.tokens()[3], s[3]);
  EXPECT_EQ(ctx.tokens()[4], s[14]);
}

TEST(ContextState, RoundTripResumesWithoutRecomputing) {
  const auto model = tiny();
  for (DType kv : {DType::F16, DType::Q8_0}) {
    const ContextParams params{.n_ctx = 128, .n_threads = 2, .kv_type = kv};
    Context ctx(*model, params);
    const std::vector<int32_t> s = sequence(90, 3);
    ctx.eval(s);
    const auto path = temp_file("state.kv");
    ctx.save_state(path);
    Context resumed(*model, params);
    resumed.load_state(path);
    EXPECT_EQ(resumed.n_past(), 90);
    EXPECT_TRUE(std::equal(resumed.tokens().begin(), resumed.tokens().end(), s.begin(), s.end()));
    const std::vector<int32_t> next = {17, 99};
    const std::span<const float> logits = ctx.eval(next);
    const std::vector<float> want(logits.begin(), logits.end());
    expect_same_logits(resumed.eval(next), want);
    std::filesystem::remove(path);
  }
}

TEST(ContextState, BadFilesAreRefusedAndLeaveAnEmptyContext) {
  const auto model = tiny();
  const ContextParams params{.n_ctx = 128, .n_threads = 1};
  Context ctx(*model, params);
  ctx.eval(sequence(50, 4));
  const auto path = temp_file("bad.kv");
  ctx.save_state(path);
  std::vector<char> bytes(std::filesystem::file_size(path));
  std::ifstream(path, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  auto write = [&](const std::vector<char>& b) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(b.data(), static_cast<std::streamsize>(b.size()));
  };
  auto expect_error = [&](const std::string& fragment) {
    Context target(*model, params);
    target.eval(sequence(5, 9));
    try {
      target.load_state(path);
      ADD_FAILURE() << "loaded a bad state file (expected '" << fragment << "')";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
    EXPECT_TRUE(target.n_past() == 0 || target.n_past() == 5) << "half-loaded";
  };
  write({'n', 'o', 'p', 'e', 0, 0, 0, 0, 0, 0, 0, 0});
  expect_error("not a Kindred state file");
  write(std::vector<char>(bytes.begin(), bytes.end() - 100));
  expect_error("truncated");
  std::vector<char> flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  write(flipped);
  expect_error("checksum");
  write(bytes);
  {
    const auto other = tiny(43);
    Context target(*other, params);
    EXPECT_THROW(target.load_state(path), ModelError);
  }
  {
    Context small(*model, {.n_ctx = 32, .n_threads = 1});
    EXPECT_THROW(small.load_state(path), ModelError);
  }
  {
    Context q8(*model, {.n_ctx = 128, .n_threads = 1, .kv_type = DType::Q8_0});
    EXPECT_THROW(q8.load_state(path), ModelError);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace kindred
