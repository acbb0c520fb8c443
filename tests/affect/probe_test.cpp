// The hidden-state probe on a tiny random model: it learns labels decided by one word, its file
// round-trips exactly and is refused for another model or when damaged, and it appraises.
#include "affect/probe.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "affect/metrics.h"
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
  Tiny t;
  t.file = std::make_shared<const gguf::File>(gguf::File::from_bytes(test::make_tiny_model(spec)));
  t.model = Model::load(t.file);
  t.tokenizer = Tokenizer::from_gguf(*t.file);
  return t;
}

const ContextParams kParams{.n_ctx = 32, .n_threads = 1, .kv_type = DType::F32};

// Label decided by one key word among random filler words.
struct KeyWord {
  const char* word;
  int label;
};
const KeyWord kKeys[] = {{"w70", 17 /* joy */}, {"w80", 2 /* anger */}, {"w90", 25 /* sadness */}, {"w100", 14 /* fear */}};

std::vector<LabeledText> synthetic(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<LabeledText> out;
  for (int i = 0; i < n; ++i) {
    const KeyWord& key = kKeys[i % 4];
    const int n_filler = 3 + static_cast<int>(rng() % 3);
    const int at = static_cast<int>(rng() % (n_filler + 1));
    std::string text;
    for (int j = 0; j <= n_filler; ++j) {
      if (!text.empty()) text += ' ';
      text += j == at ? std::string(key.word) : "w" + std::to_string(20 + rng() % 40);
    }
    out.push_back({text, {key.label}});
  }
  return out;
}

ProbeOptions quick_options() {
  ProbeOptions o;
  o.max_tokens = 32;
  o.epochs = 150;
  return o;
}

// Mean F1 over the four labels the synthetic set uses (the other 24 have no support).
double used_labels_f1(const ProbeModel& probe, Context& ctx, const Tokenizer& tok, const std::vector<LabeledText>& data) {
  const int layer = probe.layer;
  const auto x = extract_probe_features(ctx, tok, data, std::span<const int>(&layer, 1), probe.max_tokens);
  std::vector<std::vector<int>> truth, predicted;
  for (size_t r = 0; r < data.size(); ++r) {
    truth.push_back(data[r].labels);
    predicted.push_back(probe.decide(probe.predict(std::span<const float>(x[0]).subspan(r * probe.n_embd, probe.n_embd))));
  }
  const ClassificationReport rep = evaluate_multilabel(truth, predicted, kNumLabels);
  double f1 = 0;
  for (const KeyWord& k : kKeys) f1 += rep.labels[k.label].f1;
  return f1 / 4;
}

TEST(Probe, LearnsALabelDecidedByAWord) {
  const Tiny t = tiny();
  Context ctx(*t.model, kParams);
  const auto train = synthetic(160, 1), dev = synthetic(60, 2), test = synthetic(60, 3);
  ProbeTrainReport report;
  const ProbeModel probe = train_probe(ctx, *t.tokenizer, train, dev, quick_options(), &report);
  ASSERT_EQ(report.candidates.size(), 2u);  // layer 1 (the last) and the final normalised state
  EXPECT_EQ(report.candidates[0].layer, 1);
  EXPECT_EQ(report.candidates[1].layer, 2);
  EXPECT_EQ(report.chosen_layer, probe.layer);
  EXPECT_EQ(report.n_train, 160);
  // Chance for four balanced classes is 0.25.
  EXPECT_GT(used_labels_f1(probe, ctx, *t.tokenizer, test), 0.8);
  // Deterministic: the same data and seed give the same head.
  Context ctx2(*t.model, kParams);
  const ProbeModel again = train_probe(ctx2, *t.tokenizer, train, dev, quick_options());
  EXPECT_EQ(again.weights, probe.weights);
  EXPECT_EQ(again.thresholds, probe.thresholds);
}

TEST(Probe, FileRoundTripsAndIsRefusedForAnotherModelOrDamage) {
  const Tiny t = tiny();
  Context ctx(*t.model, kParams);
  ProbeOptions o = quick_options();
  o.epochs = 5;
  const ProbeModel probe = train_probe(ctx, *t.tokenizer, synthetic(40, 4), synthetic(20, 5), o);
  const auto path = ProbeModel::path_for(test::temp_dir() / "tiny.gguf", t.model->fingerprint());
  EXPECT_TRUE(path.filename().string().starts_with("tiny.gguf.probe-"));
  EXPECT_EQ(path.filename().string().size(), std::string("tiny.gguf.probe-").size() + 16 + 4);
  probe.save(path);
  const ProbeModel back = ProbeModel::load(path, *t.model);
  EXPECT_EQ(back.layer, probe.layer);
  EXPECT_EQ(back.thresholds, probe.thresholds);
  EXPECT_EQ(back.dev_macro_f1, probe.dev_macro_f1);

  ProbeAppraiser a(ctx, *t.tokenizer, probe), b(ctx, *t.tokenizer, back);
  for (const char* text : {"w20 w70 w33", "w80 w41", "w55 w56 w90 w21"}) {
    const Appraisal x = a.appraise(text), y = b.appraise(text);
    EXPECT_EQ(x.labels, y.labels) << text;  // bit-identical probabilities
    EXPECT_EQ(x.active, y.active);
    EXPECT_FALSE(x.active.empty());
    EXPECT_EQ(x.pad, pad_of(x.labels));
    EXPECT_GE(x.confidence, 0.0f);
    EXPECT_LE(x.confidence, 1.0f);
  }
  EXPECT_EQ(a.name(), probe.name());

  const Tiny other = tiny(43);
  try {
    ProbeModel::load(path, *other.model);
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }

  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto write = [&](const std::vector<char>& b) {
    const auto p = test::temp_dir() / "damaged.bin";
    std::ofstream(p, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
    return p;
  };
  const auto expect_refused = [&](const std::vector<char>& b, const std::string& why) {
    try {
      ProbeModel::load(write(b), *t.model);
      FAIL() << "expected a refusal: " << why;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  std::vector<char> flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  expect_refused(flipped, "checksum");
  expect_refused(std::vector<char>(bytes.begin(), bytes.begin() + 30), "checksum");
  std::vector<char> magic = bytes;
  magic[0] = 'X';
  expect_refused(magic, "magic");
  expect_refused({}, "magic");
}

}  // namespace
}  // namespace kindred::affect
