// Training the hidden-state probe: feature extraction, a dense multi-label logistic regression
// fitted with Adam (L2, deterministic mini-batches), per-label thresholds tuned on dev, layer
// choice by dev macro-F1, and run_probe_training for the CLI.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ostream>
#include <random>
#include <stdexcept>

#include "affect/datasets.h"
#include "affect/metrics.h"
#include "affect/probe.h"

namespace kindred::affect {
namespace {

// The first `limit` rows (all when 0): the 2B-class models read ~100 tokens/s on 2 cores.
std::vector<LabeledText> first_rows(std::vector<LabeledText> rows, size_t limit) {
  if (limit > 0 && rows.size() > limit) rows.resize(limit);
  return rows;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Head {
  std::vector<float> w;  // kNumLabels × E
  std::array<float, kNumLabels> b{};
};

// Standardises rows in place with the train statistics.
void standardise(std::vector<float>& x, size_t E, const std::vector<float>& mean, const std::vector<float>& inv_std) {
  for (size_t r = 0; r < x.size() / E; ++r) {
    float* row = x.data() + r * E;
    for (size_t i = 0; i < E; ++i) row[i] = (row[i] - mean[i]) * inv_std[i];
  }
}

void fit_standardisation(const std::vector<float>& x, size_t E, std::vector<float>& mean, std::vector<float>& inv_std) {
  const size_t n = x.size() / E;
  std::vector<double> s(E, 0.0), ss(E, 0.0);
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < E; ++i) {
      const double v = x[r * E + i];
      s[i] += v;
      ss[i] += v * v;
    }
  }
  mean.resize(E);
  inv_std.resize(E);
  for (size_t i = 0; i < E; ++i) {
    const double m = s[i] / n;
    const double var = std::max(0.0, ss[i] / n - m * m);
    mean[i] = static_cast<float>(m);
    // A constant feature is zero after centring whatever its scale; 1 keeps it finite.
    inv_std[i] = var > 1e-12 ? static_cast<float>(1.0 / std::sqrt(var)) : 1.0f;
  }
}

void head_probs(const Head& h, const float* x, size_t E, float* p) {
  for (int k = 0; k < kNumLabels; ++k) {
    const float* w = h.w.data() + static_cast<size_t>(k) * E;
    float z = h.b[k];
    for (size_t i = 0; i < E; ++i) z += w[i] * x[i];
    p[k] = 1.0f / (1.0f + std::exp(-z));
  }
}

// Mean binary cross-entropy over the labels plus l2/2 ||w||², minimised with Adam.
Head fit_head(const std::vector<float>& x, size_t E, std::span<const LabeledText> data, const ProbeOptions& o) {
  const size_t n = data.size();
  Head h;
  h.w.assign(static_cast<size_t>(kNumLabels) * E, 0.0f);
  std::vector<float> y(n * kNumLabels, 0.0f);
  for (size_t r = 0; r < n; ++r) {
    for (int k : data[r].labels) y[r * kNumLabels + k] = 1.0f;
  }
  std::vector<float> gw(h.w.size()), mw(h.w.size(), 0.0f), vw(h.w.size(), 0.0f);
  std::array<float, kNumLabels> gb{}, mb{}, vb{};
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(o.seed);
  const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  int step = 0;
  float p[kNumLabels];
  const auto batch = static_cast<size_t>(std::max(1, o.batch_size));
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);  // Fisher–Yates, portable
    for (size_t start = 0; start < n; start += batch) {
      const size_t end = std::min(n, start + batch);
      std::fill(gw.begin(), gw.end(), 0.0f);
      gb.fill(0.0f);
      for (size_t j = start; j < end; ++j) {
        const size_t r = order[j];
        const float* xr = x.data() + r * E;
        head_probs(h, xr, E, p);
        for (int k = 0; k < kNumLabels; ++k) {
          const float e = p[k] - y[r * kNumLabels + k];
          gb[k] += e;
          float* g = gw.data() + static_cast<size_t>(k) * E;
          for (size_t i = 0; i < E; ++i) g[i] += e * xr[i];
        }
      }
      ++step;
      const float inv_b = 1.0f / static_cast<float>(end - start);
      const float c1 = 1.0f - std::pow(beta1, static_cast<float>(step));
      const float c2 = 1.0f - std::pow(beta2, static_cast<float>(step));
      const float lr = o.learning_rate;
      for (size_t i = 0; i < h.w.size(); ++i) {
        const float g = gw[i] * inv_b + o.l2 * h.w[i];
        mw[i] = beta1 * mw[i] + (1 - beta1) * g;
        vw[i] = beta2 * vw[i] + (1 - beta2) * g * g;
        h.w[i] -= lr * (mw[i] / c1) / (std::sqrt(vw[i] / c2) + eps);
      }
      for (int k = 0; k < kNumLabels; ++k) {
        const float g = gb[k] * inv_b;
        mb[k] = beta1 * mb[k] + (1 - beta1) * g;
        vb[k] = beta2 * vb[k] + (1 - beta2) * g * g;
        h.b[k] -= lr * (mb[k] / c1) / (std::sqrt(vb[k] / c2) + eps);
      }
    }
  }
  return h;
}

// Per label, the threshold in {0.01, …, 0.99} with the best dev F1 (the lowest of ties); labels
// with no dev example keep 0.5, having nothing to tune on.
std::array<float, kNumLabels> tune_thresholds(const std::vector<float>& probs, std::span<const LabeledText> dev) {
  std::array<float, kNumLabels> t;
  t.fill(0.5f);
  const size_t n = dev.size();
  std::vector<uint8_t> truth(n * kNumLabels, 0);
  for (size_t r = 0; r < n; ++r) {
    for (int k : dev[r].labels) truth[r * kNumLabels + k] = 1;
  }
  for (int k = 0; k < kNumLabels; ++k) {
    int support = 0;
    for (size_t r = 0; r < n; ++r) support += truth[r * kNumLabels + k];
    if (support == 0) continue;
    double best = -1;
    for (int step = 1; step <= 99; ++step) {
      const float th = static_cast<float>(step) / 100.0f;
      int tp = 0, fp = 0;
      for (size_t r = 0; r < n; ++r) {
        if (probs[r * kNumLabels + k] >= th) (truth[r * kNumLabels + k] ? tp : fp) += 1;
      }
      const double f1 = 2.0 * tp / (2.0 * tp + fp + (support - tp));
      if (f1 > best) {
        best = f1;
        t[k] = th;
      }
    }
  }
  return t;
}

double macro_f1_of(const ProbeModel& m, const std::vector<float>& probs, std::span<const LabeledText> data) {
  std::vector<std::vector<int>> truth, predicted;
  for (size_t r = 0; r < data.size(); ++r) {
    LabelProbs p;
    std::copy_n(probs.begin() + static_cast<std::ptrdiff_t>(r * kNumLabels), kNumLabels, p.begin());
    truth.push_back(data[r].labels);
    predicted.push_back(m.decide(p));
  }
  return evaluate_multilabel(truth, predicted, kNumLabels).macro_f1;
}

std::vector<float> all_probs(const ProbeModel& m, const std::vector<float>& raw, size_t E) {
  const size_t n = raw.size() / E;
  std::vector<float> out(n * kNumLabels);
  for (size_t r = 0; r < n; ++r) {
    const LabelProbs p = m.predict(std::span<const float>(raw).subspan(r * E, E));
    std::copy(p.begin(), p.end(), out.begin() + static_cast<std::ptrdiff_t>(r * kNumLabels));
  }
  return out;
}

std::vector<int> default_candidates(int n_layer, int stride) {
  if (stride <= 0) throw std::runtime_error("probe: layer_stride must be positive");
  std::vector<int> layers;
  for (int l = n_layer - 1; l >= 0; l -= stride) layers.push_back(l);
  std::reverse(layers.begin(), layers.end());
  layers.push_back(n_layer);  // the final normalised state
  return layers;
}

}  // namespace

std::vector<std::vector<float>> extract_probe_features(Context& ctx, const Tokenizer& tokenizer,
                                                       std::span<const LabeledText> texts, std::span<const int> layers,
                                                       int max_tokens, int* truncated) {
  if (ctx.steering()) throw std::runtime_error("probe: the context is steered; the probe reads unsteered states");
  const ModelConfig& c = ctx.model().config();
  const auto E = static_cast<size_t>(c.n_embd);
  if (max_tokens <= 0 || max_tokens > ctx.n_ctx()) {
    throw std::runtime_error("probe: max_tokens " + std::to_string(max_tokens) + " must be in [1, n_ctx = " +
                             std::to_string(ctx.n_ctx()) + "]");
  }
  for (int l : layers) {
    if (l < 0 || l > c.n_layer) throw std::runtime_error("probe: layer " + std::to_string(l) + " outside [0, n_layer]");
  }
  std::vector<std::vector<float>> out(layers.size());
  for (auto& f : out) f.reserve(texts.size() * E);
  for (const LabeledText& t : texts) {
    std::vector<int32_t> ids = tokenizer.encode(t.text, true, false);
    if (ids.empty()) throw std::runtime_error("probe: text \"" + t.text + "\" has no tokens");
    if (ids.size() > static_cast<size_t>(max_tokens)) {
      ids.resize(static_cast<size_t>(max_tokens));  // documented: read up to max_tokens
      if (truncated) ++*truncated;
    }
    const LayerStates s = ctx.pooled_layer_states(ids);
    for (size_t j = 0; j < layers.size(); ++j) {
      const std::vector<float>& v = layers[j] == c.n_layer ? s.final_norm : s.layers[static_cast<size_t>(layers[j])];
      out[j].insert(out[j].end(), v.begin(), v.end());
    }
  }
  return out;
}

ProbeModel train_probe(Context& ctx, const Tokenizer& tokenizer, std::span<const LabeledText> train,
                       std::span<const LabeledText> dev, const ProbeOptions& options, ProbeTrainReport* report) {
  if (train.empty() || dev.empty()) throw std::runtime_error("probe: training needs non-empty train and dev sets");
  if (options.epochs <= 0) throw std::runtime_error("probe: epochs must be positive");
  const ModelConfig& c = ctx.model().config();
  const auto E = static_cast<size_t>(c.n_embd);
  const std::vector<int> layers =
      options.candidate_layers.empty() ? default_candidates(c.n_layer, options.layer_stride) : options.candidate_layers;
  const auto log = [&](const std::string& s) {
    if (options.log) options.log(s);
  };

  ProbeTrainReport rep;
  rep.n_train = static_cast<int>(train.size());
  rep.n_dev = static_cast<int>(dev.size());
  auto t0 = Clock::now();
  log("extracting " + std::to_string(train.size() + dev.size()) + " texts at " + std::to_string(layers.size()) + " layers");
  const auto train_x = extract_probe_features(ctx, tokenizer, train, layers, options.max_tokens, &rep.truncated_texts);
  const auto dev_x = extract_probe_features(ctx, tokenizer, dev, layers, options.max_tokens, &rep.truncated_texts);
  rep.extract_seconds = seconds_since(t0);

  t0 = Clock::now();
  ProbeModel best;
  best.dev_macro_f1 = -1;
  for (size_t j = 0; j < layers.size(); ++j) {
    ProbeModel m;
    m.fingerprint = ctx.model().fingerprint();
    m.layer = layers[j];
    m.n_layer = c.n_layer;
    m.n_embd = c.n_embd;
    m.max_tokens = options.max_tokens;
    fit_standardisation(train_x[j], E, m.mean, m.inv_std);
    std::vector<float> x = train_x[j];
    standardise(x, E, m.mean, m.inv_std);
    Head h = fit_head(x, E, train, options);
    m.weights = std::move(h.w);
    m.bias = h.b;
    const std::vector<float> probs = all_probs(m, dev_x[j], E);
    m.thresholds = tune_thresholds(probs, dev);
    m.dev_macro_f1 = macro_f1_of(m, probs, dev);
    rep.candidates.push_back({m.layer, m.dev_macro_f1});
    log(m.name() + ": dev macro-F1 " + std::to_string(m.dev_macro_f1));
    if (m.dev_macro_f1 > best.dev_macro_f1) best = std::move(m);  // ties keep the shallower (cheaper) layer
  }
  rep.train_seconds = seconds_since(t0);
  rep.chosen_layer = best.layer;
  if (report) *report = std::move(rep);
  return best;
}

double probe_macro_f1(const ProbeModel& probe, Context& ctx, const Tokenizer& tokenizer,
                      std::span<const LabeledText> texts) {
  const int layer = probe.layer;
  const auto x = extract_probe_features(ctx, tokenizer, texts, std::span<const int>(&layer, 1), probe.max_tokens);
  return macro_f1_of(probe, all_probs(probe, x[0], static_cast<size_t>(probe.n_embd)), texts);
}

nlohmann::ordered_json run_probe_training(const ProbeTrainRequest& req) {
  const auto progress = [&](const std::string& s) {
    if (req.progress) *req.progress << s << std::endl;
  };
  auto file = std::make_shared<const gguf::File>(gguf::File::open(req.model_path));
  const std::unique_ptr<Model> model = Model::load(file);
  const std::unique_ptr<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  const std::vector<LabeledText> train = first_rows(load_goemotions(req.data_dir / "train.tsv"), req.train_limit);
  const std::vector<LabeledText> dev = first_rows(load_goemotions(req.data_dir / "dev.tsv"), req.dev_limit);
  Context ctx(*model, {.n_ctx = req.options.max_tokens, .n_threads = req.n_threads});
  ProbeOptions options = req.options;
  if (!options.log) options.log = progress;
  ProbeTrainReport report;
  const ProbeModel probe = train_probe(ctx, *tokenizer, train, dev, options, &report);
  const std::filesystem::path out = req.output.empty() ? ProbeModel::path_for(req.model_path, model->fingerprint()) : req.output;
  probe.save(out);

  nlohmann::ordered_json j;
  j["model"] = req.model_path.string();
  j["probe"] = out.string();
  j["n_train"] = report.n_train;
  j["n_dev"] = report.n_dev;
  j["truncated_texts"] = report.truncated_texts;
  nlohmann::ordered_json cands = nlohmann::ordered_json::array();
  for (const auto& cand : report.candidates) {
    cands.push_back({{"layer", cand.layer == model->config().n_layer ? nlohmann::ordered_json("final") : nlohmann::ordered_json(cand.layer)},
                     {"dev_macro_f1", cand.dev_macro_f1}});
  }
  j["candidates"] = cands;
  j["chosen"] = probe.name();
  j["dev_macro_f1"] = probe.dev_macro_f1;
  j["extract_seconds"] = report.extract_seconds;
  j["train_seconds"] = report.train_seconds;
  if (req.evaluate_test) {
    const std::vector<LabeledText> test = first_rows(load_goemotions(req.data_dir / "test.tsv"), req.test_limit);
    const auto t0 = Clock::now();
    j["n_test"] = test.size();
    j["test_macro_f1"] = probe_macro_f1(probe, ctx, *tokenizer, test);
    j["test_seconds"] = seconds_since(t0);
  }
  return j;
}

}  // namespace kindred::affect
