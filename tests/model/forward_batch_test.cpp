// Model::forward_batch: the tokens of several sequences (different lengths, positions, caches
// and steering) in one pass give each sequence the logits and cache rows of running it alone, and
// a bad slice is refused before any cache is written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "model/kv_cache.h"
#include "model/model.h"
#include "tiny_model.h"

namespace kindred {
namespace {

struct Case {
  std::string arch;
  DType type;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << " " << dtype_name(c.type); }

std::string case_name(const testing::TestParamInfo<Case>& info) {
  std::string name = info.param.arch + "_" + std::string(dtype_name(info.param.type));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

std::unique_ptr<Model> load(const Case& c) {
  const test::TinyModelSpec spec{.arch = c.arch, .weight_type = c.type};
  return Model::load(std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec))));
}

std::vector<int32_t> some_tokens(int n, int salt) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[i] = 3 + (i * 53 + salt * 29) % 310;
  return t;
}

// Largest |a - b| relative to the largest |b| (logits of a tiny model are O(1)).
double max_relative_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return diff / scale;
}

size_t argmax(std::span<const float> v) { return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin()); }

// Batched and single passes differ only in the order the matrix kernels sum (and, for quantized
// weights, nothing else: activations are quantized per row either way).
double tolerance(DType t) { return t == DType::F32 ? 1e-4 : 1e-3; }

// One sequence run twice: through forward_batch and alone through forward, each with its own cache.
struct Pair {
  KvCache batched, alone;
  int n_past = 0;
  std::vector<float> alone_logits;
};

class ForwardBatch : public testing::TestWithParam<Case> {};

TEST_P(ForwardBatch, MatchesEachSequenceAloneOverPrefillAndDecodeSteps) {
  const Case c = GetParam();
  const auto model = load(c);
  const ModelConfig& cfg = model->config();
  const auto V = static_cast<size_t>(cfg.n_vocab);
  ThreadPool pool(2);
  Activations batch_act, single_act;

  // Five sequences, some already holding a prefix (evaluated alone into both caches).
  const std::vector<int> prefix = {0, 9, 0, 23, 4};
  const std::vector<int> first_step = {7, 1, 12, 3, 1};  // a prompt prefill beside single-token decodes
  std::vector<std::unique_ptr<Pair>> seqs;
  std::vector<float> scratch(V * 32);
  for (size_t i = 0; i < prefix.size(); ++i) {
    seqs.push_back(std::make_unique<Pair>(Pair{KvCache(cfg, 64, DType::F32), KvCache(cfg, 64, DType::F32)}));
    if (prefix[i] == 0) continue;
    const auto p = some_tokens(prefix[i], static_cast<int>(i));
    model->forward(p, 0, seqs[i]->batched, single_act, pool, scratch);
    model->forward(p, 0, seqs[i]->alone, single_act, pool, scratch);
    seqs[i]->n_past = prefix[i];
  }

  std::vector<std::vector<int32_t>> step_tokens(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) step_tokens[i] = some_tokens(first_step[i], static_cast<int>(i) + 100);
  std::vector<float> batch_logits(seqs.size() * V);
  double worst = 0;
  for (int step = 0; step < 4; ++step) {
    std::vector<SequenceSlice> slices;
    for (size_t i = 0; i < seqs.size(); ++i) {
      slices.push_back({.tokens = step_tokens[i], .pos = seqs[i]->n_past, .cache = &seqs[i]->batched});
      seqs[i]->alone_logits.resize(V);
      model->forward(step_tokens[i], seqs[i]->n_past, seqs[i]->alone, single_act, pool, seqs[i]->alone_logits);
    }
    model->forward_batch(slices, batch_act, pool, batch_logits);
    for (size_t i = 0; i < seqs.size(); ++i) {
      const std::span<const float> row(batch_logits.data() + i * V, V);
      const double d = max_relative_diff(row, seqs[i]->alone_logits);
      worst = std::max(worst, d);
      EXPECT_LT(d, tolerance(c.type)) << "sequence " << i << " step " << step;
      EXPECT_EQ(argmax(row), argmax(seqs[i]->alone_logits)) << "sequence " << i << " step " << step;
      // The same keys and values went into each sequence's own cache, at its own positions.
      const int n_new = static_cast<int>(step_tokens[i].size());
      std::vector<float> kb(cfg.head_dim), ka(cfg.head_dim);
      for (int pos = seqs[i]->n_past; pos < seqs[i]->n_past + n_new; ++pos) {
        seqs[i]->batched.read_key(cfg.n_layer - 1, pos, 0, kb.data());
        seqs[i]->alone.read_key(cfg.n_layer - 1, pos, 0, ka.data());
        EXPECT_LT(max_relative_diff(kb, ka), tolerance(c.type)) << "sequence " << i << " position " << pos;
      }
      seqs[i]->n_past += n_new;
      // Greedy decoding from here on: one token per sequence per step.
      step_tokens[i] = {static_cast<int32_t>(argmax(seqs[i]->alone_logits))};
    }
  }
  std::printf("[ forward_batch ] %s %s worst relative difference %.3g\n", c.arch.c_str(),
              std::string(dtype_name(c.type)).c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(Archs, ForwardBatch,
                         testing::Values(Case{"llama", DType::F32}, Case{"qwen3moe", DType::F32},
                                         Case{"llama", DType::Q8_0}, Case{"qwen2", DType::F32}),
                         case_name);

TEST(ForwardBatchSteering, SteersOnlyItsOwnSlice) {
  const auto model = load({"qwen3", DType::F32});
  const ModelConfig& cfg = model->config();
  const auto V = static_cast<size_t>(cfg.n_vocab);
  ThreadPool pool(2);
  SteeringVectors steer;
  steer.layers.resize(static_cast<size_t>(cfg.n_layer));
  steer.layers[0].assign(static_cast<size_t>(cfg.n_embd), 0.5f);

  auto run = [&](const SteeringVectors* middle) {
    std::vector<KvCache> caches;
    for (int i = 0; i < 3; ++i) caches.emplace_back(cfg, 32, DType::F32);
    const auto a = some_tokens(5, 1), b = some_tokens(3, 2), d = some_tokens(4, 3);
    const SequenceSlice slices[] = {{.tokens = a, .cache = &caches[0]},
                                    {.tokens = b, .cache = &caches[1], .steering = middle},
                                    {.tokens = d, .cache = &caches[2]}};
    Activations act;
    std::vector<float> logits(3 * V);
    model->forward_batch(slices, act, pool, logits);
    return logits;
  };
  const auto plain = run(nullptr), steered = run(&steer);
  auto row = [&](const std::vector<float>& l, size_t i) { return std::span<const float>(l.data() + i * V, V); };
  EXPECT_EQ(max_relative_diff(row(steered, 0), row(plain, 0)), 0.0);
  EXPECT_EQ(max_relative_diff(row(steered, 2), row(plain, 2)), 0.0);
  EXPECT_GT(max_relative_diff(row(steered, 1), row(plain, 1)), 1e-3);

  // The steered row is what forward gives that sequence alone with act.steering.
  KvCache cache(cfg, 32, DType::F32);
  Activations act;
  act.steering = &steer;
  std::vector<float> alone(V);
  model->forward(some_tokens(3, 2), 0, cache, act, pool, alone);
  EXPECT_LT(max_relative_diff(row(steered, 1), alone), 1e-4);
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

TEST(ForwardBatchValidation, RefusesABadSliceBeforeWritingAnyCache) {
  const auto model = load({"llama", DType::F32});
  const ModelConfig& cfg = model->config();
  const auto V = static_cast<size_t>(cfg.n_vocab);
  ThreadPool pool(1);
  KvCache a(cfg, 16, DType::F32), b(cfg, 16, DType::F32);
  const std::vector<float> a_before = [&] {
    std::vector<float> v(V);
    Activations act;
    model->forward(some_tokens(10, 5), 0, a, act, pool, v);
    return v;
  }();
  const std::vector<std::byte> a_bytes = cache_bytes(a), b_bytes = cache_bytes(b);
  const auto good = some_tokens(2, 1), empty = std::vector<int32_t>{}, bad_id = std::vector<int32_t>{5, 320};
  SteeringVectors short_steering;
  short_steering.layers.resize(1);

  struct Bad {
    std::vector<SequenceSlice> slices;
    std::string fragment;
  };
  const std::vector<Bad> cases = {
      {{{.tokens = good, .pos = 10, .cache = &a}, {.tokens = empty, .cache = &b}}, "sequence 1 of the batch: forward called with no tokens"},
      {{{.tokens = good, .pos = 10, .cache = &a}, {.tokens = bad_id, .cache = &b}}, "sequence 1 of the batch: token id 320"},
      {{{.tokens = good, .pos = 15, .cache = &a}, {.tokens = good, .cache = &b}}, "sequence 0 of the batch: context full"},
      {{{.tokens = good, .pos = 10, .cache = &a}, {.tokens = good}}, "sequence 1 of the batch: no KV cache"},
      {{{.tokens = good, .pos = 10, .cache = &a}, {.tokens = good, .cache = &b}, {.tokens = good, .pos = 12, .cache = &a}},
       "sequences 0 and 2 of the batch share one KV cache"},
      {{{.tokens = good, .pos = 10, .cache = &a}, {.tokens = good, .cache = &b, .steering = &short_steering}},
       "sequence 1 of the batch: steering vectors cover 1 layers"},
      {{}, "no sequences"},
  };
  for (const Bad& bad : cases) {
    Activations act;
    std::vector<float> logits(3 * V);
    try {
      model->forward_batch(bad.slices, act, pool, logits);
      ADD_FAILURE() << "expected ModelError: " << bad.fragment;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(bad.fragment), std::string::npos) << e.what();
    }
    EXPECT_TRUE(cache_bytes(a) == a_bytes) << bad.fragment;
    EXPECT_TRUE(cache_bytes(b) == b_bytes) << bad.fragment;
  }

  // Steering and pooling on the shared activations would apply to every slice: refused.
  const SequenceSlice one[] = {{.tokens = good, .pos = 10, .cache = &a}};
  std::vector<float> logits(V);
  Activations steered;
  SteeringVectors steer;
  steer.layers.resize(static_cast<size_t>(cfg.n_layer));
  steered.steering = &steer;
  EXPECT_THROW(model->forward_batch(one, steered, pool, logits), ModelError);
  Activations pooled;
  pooled.pool_hidden = true;
  EXPECT_THROW(model->forward_batch(one, pooled, pool, logits), ModelError);
  Activations act;
  std::vector<float> small(V - 1);
  EXPECT_THROW(model->forward_batch(one, act, pool, small), ModelError);
  EXPECT_TRUE(cache_bytes(a) == a_bytes);

  // The untouched cache still continues exactly as before.
  model->forward_batch(one, act, pool, logits);
  KvCache fresh(cfg, 16, DType::F32);
  std::vector<float> expected(V);
  auto all = some_tokens(10, 5);
  all.insert(all.end(), good.begin(), good.end());
  model->forward(all, 0, fresh, act, pool, expected);
  EXPECT_LT(max_relative_diff(logits, expected), 1e-4);
  EXPECT_GT(max_relative_diff(a_before, expected), 1e-3);  // a different position really was computed
}

}  // namespace
}  // namespace kindred
