// The text classifier: features and cues, training (learns, deterministic), the KCLS file
// (round trip, rejection of bad files) and the shipped weights reproducing their recorded scores.
#include "affect/text_classifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "affect/datasets.h"
#include "affect/shipped_classifiers.h"
#include "test_data.h"

namespace kindred::affect {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(TextFeatures, NegationMarksTheNextWordsUpToPunctuation) {
  const FeatureExtractor fx;
  const auto f = fx.describe("I am not happy at all. Good day");
  EXPECT_TRUE(has(f, "neg:happy"));
  EXPECT_TRUE(has(f, "neg:at"));
  EXPECT_TRUE(has(f, "neg:all"));
  EXPECT_FALSE(has(f, "neg:good"));  // the full stop ended the scope
  EXPECT_FALSE(has(f, "neg:am"));
  const auto g = fx.describe("I don't like it");
  EXPECT_TRUE(has(g, "neg:like"));
  const auto h = fx.describe("never ever sad again today");
  EXPECT_TRUE(has(h, "neg:again"));
  EXPECT_FALSE(has(h, "neg:today"));  // three words at most
}

TEST(TextFeatures, ContrastIntensifiersEmphasis) {
  const FeatureExtractor fx;
  const auto f = fx.describe("The food was great but the service was AWFUL!!! soooo slow and very rude");
  EXPECT_TRUE(has(f, "contrast:awful"));
  EXPECT_FALSE(has(f, "contrast:great"));
  EXPECT_TRUE(has(f, "caps:awful"));
  EXPECT_TRUE(has(f, "flag:<!3+>"));
  EXPECT_TRUE(has(f, "elong:soo"));
  EXPECT_TRUE(has(f, "w1:soo"));
  EXPECT_TRUE(has(f, "boost:rude"));
  EXPECT_TRUE(has(fx.describe("I'm kinda tired"), "damp:tired"));
  EXPECT_TRUE(has(fx.describe("it is sort of sad"), "damp:sad"));
  EXPECT_TRUE(has(fx.describe("why?"), "flag:<?1>"));
}

TEST(TextFeatures, WordAndCharacterNgrams) {
  const FeatureExtractor fx;
  const auto f = fx.describe("Thank you");
  EXPECT_TRUE(has(f, "w1:thank"));
  EXPECT_TRUE(has(f, "w2:thank you"));
  EXPECT_TRUE(has(f, "c:<th"));
  EXPECT_TRUE(has(f, "c:you>"));
  EXPECT_TRUE(has(f, "c:<you>"));
}

TEST(TextFeatures, CjkRunsBecomeCharacterNgrams) {
  const FeatureExtractor fx;
  const auto f = fx.describe("我很开心！");
  EXPECT_TRUE(has(f, "h:开"));
  EXPECT_TRUE(has(f, "h:开心"));
  EXPECT_TRUE(has(f, "h:很开心"));
  EXPECT_TRUE(has(f, "flag:<!1>"));  // fullwidth exclamation
  EXPECT_TRUE(has(fx.describe("我不喜欢"), "neg:喜欢"));
}

TEST(TextFeatures, EmojiAndEmoticonsBecomeWords) {
  const FeatureExtractor fx;
  const auto f = fx.describe("that was great 😂");
  EXPECT_TRUE(has(f, "emoji:face with tears of joy"));
  EXPECT_TRUE(has(f, "w1:joy"));
  const auto g = fx.describe("see you :)");
  EXPECT_TRUE(has(g, "emoticon::)"));
  EXPECT_TRUE(has(g, "w1:<smiley+>"));
  EXPECT_TRUE(has(fx.describe("ugh :-("), "w1:<smiley->"));
}

TEST(TextFeatures, VectorsAreNormalisedAndSortedAndSurviveBadInput) {
  const FeatureExtractor fx;
  for (std::string_view text : {"Hello there, friend!", "", "\xff\xfe broken \xc3", "!!!", "😀😀😀"}) {
    const auto x = fx.extract(text);
    ASSERT_EQ(x.index.size(), x.value.size());
    double norm = 0;
    for (float v : x.value) norm += double(v) * v;
    if (!x.index.empty()) {
      EXPECT_NEAR(norm, 1.0, 1e-5) << text;
    }
    EXPECT_TRUE(std::is_sorted(x.index.begin(), x.index.end()));
    for (uint32_t i : x.index) EXPECT_LT(i, 1u << fx.options().hash_bits);
  }
  EXPECT_THROW(FeatureExtractor({.hash_bits = 40}), std::invalid_argument);
}

std::vector<TrainExample> synthetic_multilabel() {
  // label 0 ⇔ "apple", label 1 ⇔ "banana", label 2 ⇔ neither; filler words vary.
  const char* filler[] = {"today", "we", "saw", "some", "nice", "things", "there", "again"};
  std::vector<TrainExample> out;
  for (int i = 0; i < 300; ++i) {
    TrainExample ex;
    const bool a = i % 2 == 0, b = i % 3 == 0;
    ex.text = std::string(filler[i % 8]) + " " + filler[(i / 8) % 8];
    if (a) ex.text += " apple";
    if (b) ex.text += " banana";
    if (a) ex.labels.push_back(0);
    if (b) ex.labels.push_back(1);
    if (!a && !b) ex.labels.push_back(2);
    out.push_back(ex);
  }
  return out;
}

TrainOptions small_options() {
  TrainOptions o;
  o.features.hash_bits = 14;
  o.epochs = 5;
  return o;
}

TEST(TextClassifier, LearnsSyntheticMultiLabel) {
  const auto data = synthetic_multilabel();
  auto c = train_text_classifier(data, {"a", "b", "none"}, small_options());
  c.set_thresholds(tune_thresholds(c, data));
  const auto p = c.predict("we saw apple and banana");
  EXPECT_GT(p[0], 0.5f);
  EXPECT_GT(p[1], 0.5f);
  EXPECT_LT(p[2], 0.5f);
  const auto r = evaluate_classifier(c, data);
  EXPECT_GT(r.macro_f1, 0.95);
  const auto d = c.decide(c.predict("nice things"));
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0], 2);
}

TEST(TextClassifier, LearnsSyntheticMultiClassWithOutOfScope) {
  std::vector<TrainExample> data;
  const char* words[] = {"weather", "music", "food"};
  for (int i = 0; i < 150; ++i) data.push_back({std::string("tell me about the ") + words[i % 3] + " please", {i % 3}});
  TrainOptions o = small_options();
  o.mode = ClassifierMode::MultiClass;
  auto c = train_text_classifier(data, {"weather", "music", "food"}, o);
  const auto p = c.predict("what about music");
  EXPECT_EQ(std::max_element(p.begin(), p.end()) - p.begin(), 1);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0f, 1e-5f);
  auto dev = data;
  dev.push_back({"xyzzy qwerty", {}});
  const auto thr = tune_thresholds(c, dev);
  ASSERT_EQ(thr.size(), 1u);
  c.set_thresholds(thr);
  EXPECT_EQ(c.decide(c.predict("tell me about the food please")), std::vector<int>{2});
  EXPECT_THROW(train_text_classifier({{"x", {0, 1}}}, {"a", "b"}, o), std::invalid_argument);
}

TEST(TextClassifier, TrainingIsDeterministicAndIndependentOfThreads) {
  const auto data = synthetic_multilabel();
  TrainOptions o = small_options();
  const auto a = train_text_classifier(data, {"a", "b", "none"}, o).to_bytes();
  o.threads = 1;
  const auto b = train_text_classifier(data, {"a", "b", "none"}, o).to_bytes();
  EXPECT_EQ(a, b);
  o.seed = 2;
  EXPECT_NE(a, train_text_classifier(data, {"a", "b", "none"}, o).to_bytes());
}

TEST(TextClassifier, RejectsBadTrainingInput) {
  EXPECT_THROW(train_text_classifier({}, {"a"}, small_options()), std::invalid_argument);
  EXPECT_THROW(train_text_classifier({{"x", {3}}}, {"a"}, small_options()), std::invalid_argument);
}

TEST(TextClassifier, SaveLoadRoundTripGivesIdenticalPredictions) {
  const auto data = synthetic_multilabel();
  auto c = train_text_classifier(data, {"a", "b", "none"}, small_options());
  c.set_thresholds({0.3f, 0.4f, 0.5f});
  c.set_metadata(R"({"note":"test"})");
  const auto path = test::temp_dir() / "m.kcls";
  c.save(path);
  const auto d = TextClassifier::load(path);
  EXPECT_EQ(d.label_names(), c.label_names());
  EXPECT_EQ(d.thresholds(), c.thresholds());
  EXPECT_EQ(d.metadata(), c.metadata());
  EXPECT_EQ(d.features().options().hash_bits, 14);
  for (const auto& ex : data) EXPECT_EQ(c.predict(ex.text), d.predict(ex.text));
  EXPECT_EQ(d.to_bytes(), c.to_bytes());
}

TEST(TextClassifier, RejectsMalformedFilesWithAMessage) {
  auto c = train_text_classifier(synthetic_multilabel(), {"a", "b", "none"}, small_options());
  const auto good = c.to_bytes();
  auto message = [](std::vector<uint8_t> bytes) -> std::string {
    try {
      TextClassifier::from_bytes(bytes);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_NE(message({'N', 'O', 'P', 'E', 0, 0, 0, 0, 0, 0, 0, 0, 0}).find("magic"), std::string::npos);
  for (size_t cut : {size_t(3), size_t(10), size_t(40), good.size() / 2, good.size() - 1}) {
    const std::string m = message(std::vector<uint8_t>(good.begin(), good.begin() + std::ptrdiff_t(cut)));
    EXPECT_NE(m, "accepted") << "cut at " << cut;
  }
  auto flipped = good;
  flipped[good.size() / 2] ^= 0x40;
  EXPECT_NE(message(flipped).find("checksum"), std::string::npos);
  // A wrong version with a valid checksum (FNV-1a recomputed here).
  auto versioned = good;
  versioned[4] = 9;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i + 8 < versioned.size(); ++i) h = (h ^ versioned[i]) * 0x100000001b3ULL;
  for (size_t b = 0; b < 8; ++b) versioned[versioned.size() - 8 + b] = uint8_t(h >> (8 * b));
  EXPECT_NE(message(versioned).find("version 9"), std::string::npos);
  try {
    TextClassifier::load(test::temp_dir() / "missing.kcls");
    FAIL() << "loaded a missing file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.kcls"), std::string::npos);
  }
  EXPECT_THROW(c.set_thresholds({0.5f}), std::invalid_argument);
  EXPECT_THROW(c.set_thresholds({0.5f, 2.0f, 0.5f}), std::invalid_argument);
}

// The shipped weights reproduce the scores their metadata reports.
void expect_reproduces(const TextClassifier& c, const std::vector<TrainExample>& test, const char* key) {
  const auto meta = nlohmann::json::parse(c.metadata());
  ASSERT_TRUE(meta.contains(key)) << c.metadata();
  const auto r = evaluate_classifier(c, test);
  const double got = std::string(key) == "test_macro_f1" ? r.macro_f1 : macro_f1_present(r);
  EXPECT_NEAR(got, meta[key].get<double>(), 1e-4);
  EXPECT_EQ(meta["test_examples"].get<size_t>(), test.size());
}

TEST(ShippedClassifiers, EnglishReproducesGoEmotionsTestMacroF1) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const auto& c = shipped_emotion_classifier(Language::English);
  const auto test = load_goemotions(data / "emotion/goemotions/test.tsv");
  expect_reproduces(c, test, "test_macro_f1");
  EXPECT_GE(evaluate_classifier(c, test).macro_f1, 0.43);
}

TEST(ShippedClassifiers, ChineseReproducesCpedTestMacroF1) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  const auto& c = shipped_emotion_classifier(Language::Chinese);
  std::vector<TrainExample> test;
  for (auto& ex : load_cped(data / "dialogue/cped/test_split.csv")) test.push_back(std::move(ex.example));
  expect_reproduces(c, test, "test_macro_f1_present");
}

TEST(ShippedClassifiers, FilesAreSmall) {
  const auto dir = std::filesystem::path(KINDRED_SOURCE_DIR) / "models/affect";
  EXPECT_LE(std::filesystem::file_size(dir / "goemotions-en.kcls") + std::filesystem::file_size(dir / "cped-zh.kcls"),
            12u * 1024 * 1024);
}

}  // namespace
}  // namespace kindred::affect
