// BatchDecoder: contexts advanced together in one forward pass end exactly as Context::eval
// leaves them (logits, n_past, tokens), with a new request's prompt beside others' decode steps,
// per-context steering, refusals that change no context, and contexts on a shared thread pool.
#include "engine/batch_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "model/tiny_model.h"

namespace kindred {
namespace {

struct Case {
  std::string arch;
  DType type;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << " " << dtype_name(c.type); }

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return info.param.arch + "_" + std::string(dtype_name(info.param.type));
}

std::unique_ptr<Model> load(const Case& c, uint64_t seed = 42) {
  const test::TinyModelSpec spec{.arch = c.arch, .weight_type = c.type, .seed = seed};
  return Model::load(std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec))));
}

std::vector<int32_t> some_tokens(int n, int salt) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[i] = 3 + (i * 41 + salt * 17) % 310;
  return t;
}

// Largest |a - b| relative to the largest |b|.
double max_relative_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return diff / scale;
}

int32_t argmax(std::span<const float> v) { return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin()); }

double tolerance(DType t) { return t == DType::F32 ? 1e-4 : 1e-3; }

const ContextParams kParams{.n_ctx = 64, .n_threads = 1, .kv_type = DType::F32};

class BatchDecoderMatches : public testing::TestWithParam<Case> {};

TEST_P(BatchDecoderMatches, EachContextEvaluatedAlone) {
  const Case c = GetParam();
  const auto model = load(c);
  const auto V = static_cast<size_t>(model->config().n_vocab);
  ThreadPool pool(2);
  BatchDecoder decoder(*model, pool);
  ASSERT_EQ(decoder.n_vocab(), static_cast<int>(V));

  // Four chats already under way (different lengths), and one new request arriving later.
  constexpr int kSeqs = 5;
  std::vector<std::unique_ptr<Context>> batched, alone;
  for (int i = 0; i < kSeqs; ++i) {
    batched.push_back(std::make_unique<Context>(*model, ContextParams{.n_ctx = 64, .kv_type = DType::F32, .shared_pool = &pool}));
    alone.push_back(std::make_unique<Context>(*model, kParams));
  }
  const std::vector<int> prompt = {11, 3, 17, 6, 9};
  std::vector<std::vector<int32_t>> next(kSeqs);
  for (int i = 0; i < kSeqs; ++i) next[i] = some_tokens(prompt[i], i);

  // Step 0: the first four prefill their prompts together; later steps decode one token each,
  // and at step 2 the fifth joins with its whole prompt.
  for (int step = 0; step < 6; ++step) {
    std::vector<BatchItem> items;
    std::vector<int> which;
    for (int i = 0; i < kSeqs; ++i) {
      if (i == kSeqs - 1 && step < 2) continue;
      items.push_back({batched[i].get(), next[i]});
      which.push_back(i);
    }
    const std::span<const float> rows = decoder.eval(items);
    ASSERT_EQ(rows.size(), items.size() * V);
    for (size_t r = 0; r < which.size(); ++r) {
      const int i = which[r];
      const std::span<const float> got = rows.subspan(r * V, V);
      const std::span<const float> want = alone[i]->eval(next[i]);
      EXPECT_LT(max_relative_diff(got, want), tolerance(c.type)) << "context " << i << " step " << step;
      EXPECT_EQ(argmax(got), argmax(want)) << "context " << i << " step " << step;
      EXPECT_EQ(batched[i]->n_past(), alone[i]->n_past());
      EXPECT_TRUE(std::ranges::equal(batched[i]->tokens(), alone[i]->tokens()));
      next[i] = {argmax(want)};
    }
  }
  // A batched context goes on with Context::eval as if it had been evaluated alone all along.
  const auto a = batched[0]->eval(next[0]);
  const std::vector<float> from_batched(a.begin(), a.end());
  EXPECT_LT(max_relative_diff(from_batched, alone[0]->eval(next[0])), tolerance(c.type));
}

INSTANTIATE_TEST_SUITE_P(Archs, BatchDecoderMatches,
                         testing::Values(Case{"llama", DType::F32}, Case{"qwen3moe", DType::F32},
                                         Case{"llama", DType::Q8_0}),
                         case_name);

TEST(BatchDecoder, ContextsOfDifferentCacheTypesShareABatch) {
  const auto model = load({"qwen3", DType::F32});
  ThreadPool pool(2);
  BatchDecoder decoder(*model, pool);
  const DType types[] = {DType::F16, DType::Q8_0, DType::F32};
  std::vector<std::unique_ptr<Context>> batched, alone;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<BatchItem> items;
  for (int i = 0; i < 3; ++i) {
    const ContextParams p{.n_ctx = 64, .kv_type = types[i], .shared_pool = &pool};
    batched.push_back(std::make_unique<Context>(*model, p));
    alone.push_back(std::make_unique<Context>(*model, p));
    prompts.push_back(some_tokens(20 - 6 * i, i));
  }
  for (int i = 0; i < 3; ++i) items.push_back({batched[i].get(), prompts[i]});
  const auto rows = decoder.eval(items);
  const auto V = static_cast<size_t>(decoder.n_vocab());
  for (int i = 0; i < 3; ++i) {
    EXPECT_LT(max_relative_diff(rows.subspan(i * V, V), alone[i]->eval(prompts[i])), 1e-4) << dtype_name(types[i]);
  }
}

TEST(BatchDecoder, SteeringOfOneContextChangesOnlyItsRow) {
  const auto model = load({"qwen3", DType::F32});
  const ModelConfig& cfg = model->config();
  const auto V = static_cast<size_t>(cfg.n_vocab);
  ThreadPool pool(2);
  auto steer = std::make_shared<SteeringVectors>();
  steer->layers.resize(static_cast<size_t>(cfg.n_layer));
  steer->layers[1].assign(static_cast<size_t>(cfg.n_embd), -0.4f);

  auto run = [&](bool steered) {
    std::vector<std::unique_ptr<Context>> ctxs;
    for (int i = 0; i < 3; ++i) ctxs.push_back(std::make_unique<Context>(*model, kParams));
    if (steered) ctxs[2]->set_steering(steer);
    const auto a = some_tokens(4, 1), b = some_tokens(6, 2), d = some_tokens(2, 3);
    BatchDecoder decoder(*model, pool);
    const BatchItem items[] = {{ctxs[0].get(), a}, {ctxs[1].get(), b}, {ctxs[2].get(), d}};
    const auto rows = decoder.eval(items);
    return std::vector<float>(rows.begin(), rows.end());
  };
  const auto plain = run(false), steered = run(true);
  auto row = [&](const std::vector<float>& l, size_t i) { return std::span<const float>(l.data() + i * V, V); };
  EXPECT_EQ(max_relative_diff(row(steered, 0), row(plain, 0)), 0.0);
  EXPECT_EQ(max_relative_diff(row(steered, 1), row(plain, 1)), 0.0);
  EXPECT_GT(max_relative_diff(row(steered, 2), row(plain, 2)), 1e-3);

  Context alone(*model, kParams);
  alone.set_steering(steer);
  EXPECT_LT(max_relative_diff(row(steered, 2), alone.eval(some_tokens(2, 3))), 1e-4);
}

std::vector<std::byte> cache_bytes(const KvCache& cache) {
  std::vector<std::byte> out;
  for (int l = 0; l < cache.n_layer(); ++l) {
    for (auto rows : {cache.key_rows(l, cache.n_ctx()), cache.value_rows(l, cache.n_ctx())}) {
      out.insert(out.end(), rows.begin(), rows.end());
    }
  }
  return out;
}

TEST(BatchDecoder, RefusesABadItemBeforeChangingAnyContext) {
  const auto model = load({"llama", DType::F32});
  const auto other_model = load({"llama", DType::F32}, 7);
  ThreadPool pool(1);
  BatchDecoder decoder(*model, pool);
  Context a(*model, {.n_ctx = 16, .kv_type = DType::F32, .shared_pool = &pool});
  Context b(*model, {.n_ctx = 16, .kv_type = DType::F32, .shared_pool = &pool});
  Context foreign(*other_model, {.n_ctx = 16, .kv_type = DType::F32, .shared_pool = &pool});
  a.eval(some_tokens(14, 1));
  b.eval(some_tokens(3, 2));
  const auto a_bytes = cache_bytes(a.cache()), b_bytes = cache_bytes(b.cache());
  const auto one = some_tokens(1, 3), three = some_tokens(3, 4), bad_id = std::vector<int32_t>{4, 99999};

  struct Bad {
    std::vector<BatchItem> items;
    std::string fragment;
  };
  const std::vector<Bad> cases = {
      {{{&b, one}, {&a, three}}, "batch item 1: context full: 3 tokens after 14 do not fit a context of 16"},
      {{{&a, one}, {&b, bad_id}}, "sequence 1 of the batch: token id 99999 is outside the vocabulary"},
      {{{&a, one}, {&b, one}, {&a, one}}, "batch items 0 and 2 are the same context"},
      {{{&a, one}, {&foreign, one}}, "batch item 1: its context belongs to another model"},
      {{{&a, one}, {nullptr, one}}, "batch item 1: no context"},
      {{{&a, one}, {&b, {}}}, "batch item 1: no tokens"},
      {{}, "the batch has no items"},
  };
  for (const Bad& bad : cases) {
    try {
      decoder.eval(bad.items);
      ADD_FAILURE() << "expected ModelError: " << bad.fragment;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(bad.fragment), std::string::npos) << e.what();
    }
    EXPECT_EQ(a.n_past(), 14);
    EXPECT_EQ(b.n_past(), 3);
    EXPECT_EQ(a.tokens().size(), 14u);
    EXPECT_TRUE(cache_bytes(a.cache()) == a_bytes) << bad.fragment;
    EXPECT_TRUE(cache_bytes(b.cache()) == b_bytes) << bad.fragment;
  }
  EXPECT_EQ(foreign.n_past(), 0);
  // Both fit exactly: a reaches its last position.
  const BatchItem fits[] = {{&a, std::span(three).first(2)}, {&b, three}};
  decoder.eval(fits);
  EXPECT_EQ(a.n_past(), 16);
  EXPECT_EQ(b.n_past(), 6);
}

TEST(SharedPool, ContextsRunOnItAndMatchContextsWithTheirOwn) {
  const auto model = load({"qwen3", DType::Q8_0});
  ThreadPool shared(2);
  Context x(*model, {.n_ctx = 64, .kv_type = DType::F32, .shared_pool = &shared});
  Context y(*model, {.n_ctx = 64, .n_threads = 2, .kv_type = DType::F32, .shared_pool = &shared});
  Context own(*model, {.n_ctx = 64, .n_threads = 2, .kv_type = DType::F32});
  EXPECT_EQ(&x.pool(), &shared);
  EXPECT_EQ(&y.pool(), &shared);
  EXPECT_NE(&own.pool(), &shared);
  EXPECT_EQ(own.pool().size(), 2);
  const auto t = some_tokens(20, 9);
  const auto lx = x.eval(t);
  const std::vector<float> from_shared(lx.begin(), lx.end());
  EXPECT_LT(max_relative_diff(from_shared, own.eval(t)), 1e-5);
  const auto ly = y.eval_sequence(t);
  EXPECT_LT(max_relative_diff(ly, from_shared), 1e-5);
  EXPECT_EQ(x.embed(t).size(), static_cast<size_t>(model->config().n_embd));
  // A thread count that contradicts the shared pool is a mistake, not a hint.
  EXPECT_THROW(Context(*model, {.n_ctx = 64, .n_threads = 3, .shared_pool = &shared}), ModelError);
}

}  // namespace
}  // namespace kindred
