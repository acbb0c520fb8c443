// The linear text classifier: prediction, AdaGrad training, threshold tuning and the KCLS file.
//
// KCLS file (little-endian):
//   "KCLS" | u32 version (1) | u8 mode
//   i32 hash_bits, word_ngrams, char_min, char_max | u8 cjk_chars, cues
//   u32 n_labels | n_labels × (u32 length, UTF-8 name)
//   row bitmap: ceil(2^hash_bits / 8) bytes, bit r set when row r has any non-zero weight
//   per present row: u16 fp16 scale, n_labels × i8 (weight = q × scale)
//   f32 bias[n_labels] | u32 n_thresholds, f32 thresholds[n]
//   u32 metadata length, metadata bytes (JSON text)
//   u64 checksum: FNV-1a 64 of every byte before it
// Weights are stored per row in int8 with an fp16 scale: a 2^18 × 28 model is ~8 MB instead of
// 29 MB, and the trainer returns weights already rounded this way, so a model evaluated right
// after training scores exactly what its saved file scores.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include "affect/text_classifier.h"

namespace kindred::affect {
namespace {

constexpr char kMagic[4] = {'K', 'C', 'L', 'S'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxLabels = 4096;
constexpr uint32_t kMaxName = 1024;
constexpr uint32_t kMaxMetadata = 16u << 20;

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

// fp16 for the non-negative row scales (round to nearest; subnormals kept).
uint16_t to_half(float f) {
  if (!(f > 0)) return 0;
  if (f >= 65504.0f) return 0x7BFF;
  int e = 0;
  const float m = std::frexp(f, &e);  // f = m · 2^e, m in [0.5, 1)
  int exp = e + 14;
  if (exp >= 1) {
    long frac = std::lround((2.0f * m - 1.0f) * 1024.0f);
    if (frac == 1024) {
      frac = 0;
      ++exp;
    }
    if (exp > 30) return 0x7BFF;
    return uint16_t((exp << 10) | int(frac));
  }
  const long frac = std::lround(std::ldexp(f, 24));
  return uint16_t(std::min(frac, 1024L));
}

float from_half(uint16_t h) {
  const int exp = (h >> 10) & 31, frac = h & 1023;
  if (exp == 0) return std::ldexp(float(frac), -24);
  return std::ldexp(float(1024 + frac), exp - 25);
}

// Rounds one row in place to the stored precision; returns the fp16 scale (0: an all-zero row).
uint16_t quantize_row(float* row, int n, int8_t* q) {
  float maxabs = 0;
  for (int k = 0; k < n; ++k) maxabs = std::max(maxabs, std::fabs(row[k]));
  const uint16_t h = to_half(maxabs / 127.0f);
  const float s = from_half(h);
  if (s == 0) {
    std::fill(row, row + n, 0.0f);
    std::fill(q, q + n, int8_t(0));
    return 0;
  }
  for (int k = 0; k < n; ++k) {
    const long v = std::clamp(std::lround(row[k] / s), -127L, 127L);
    q[k] = int8_t(v);
    row[k] = float(v) * s;
  }
  return h;
}

class Writer {
 public:
  std::vector<uint8_t> bytes;
  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void put_bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
  }
  void put_string(const std::string& s) {
    put(uint32_t(s.size()));
    put_bytes(s.data(), s.size());
  }
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  template <class T>
  T get(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  const uint8_t* take(size_t n, const char* what) {
    if (n > b_.size() - pos_) {
      throw std::runtime_error(std::string("classifier file is truncated (reading ") + what + " at byte " +
                               std::to_string(pos_) + ")");
    }
    const uint8_t* p = b_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::string get_string(uint32_t max, const char* what) {
    const uint32_t n = get<uint32_t>(what);
    if (n > max) throw std::runtime_error(std::string("classifier file: ") + what + " length " + std::to_string(n) + " exceeds " + std::to_string(max));
    const uint8_t* p = take(n, what);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  size_t pos() const { return pos_; }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

// Deterministic shuffling that does not depend on the standard library's distributions.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return size_t(next() % n); }
};

float sigmoid(float z) { return z >= 0 ? 1.0f / (1.0f + std::exp(-z)) : std::exp(z) / (1.0f + std::exp(z)); }

void softmax_in_place(std::vector<float>& z) {
  const float mx = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (float& v : z) {
    v = std::exp(v - mx);
    sum += v;
  }
  for (float& v : z) v = float(v / sum);
}

}  // namespace

std::vector<uint8_t> TextClassifier::to_bytes() const {
  const int K = n_labels();
  const auto& fo = features_.options();
  const size_t rows = size_t(1) << fo.hash_bits;
  if (K == 0 || weights_.size() != rows * size_t(K) || bias_.size() != size_t(K)) {
    throw std::logic_error("cannot serialise an untrained or inconsistent classifier");
  }
  Writer w;
  w.put_bytes(kMagic, 4);
  w.put(kVersion);
  w.put(uint8_t(mode_));
  w.put(int32_t(fo.hash_bits));
  w.put(int32_t(fo.word_ngrams));
  w.put(int32_t(fo.char_min));
  w.put(int32_t(fo.char_max));
  w.put(uint8_t(fo.cjk_chars));
  w.put(uint8_t(fo.cues));
  w.put(uint32_t(K));
  for (const auto& n : label_names_) w.put_string(n);
  std::vector<uint8_t> bitmap((rows + 7) / 8, 0);
  Writer body;
  std::vector<float> row(static_cast<size_t>(K));
  std::vector<int8_t> q(static_cast<size_t>(K));
  for (size_t r = 0; r < rows; ++r) {
    std::copy_n(weights_.begin() + std::ptrdiff_t(r * size_t(K)), K, row.begin());
    const uint16_t h = quantize_row(row.data(), K, q.data());
    if (h == 0) continue;
    bitmap[r / 8] |= uint8_t(1u << (r % 8));
    body.put(h);
    body.put_bytes(q.data(), q.size());
  }
  w.put_bytes(bitmap.data(), bitmap.size());
  w.put_bytes(body.bytes.data(), body.bytes.size());
  w.put_bytes(bias_.data(), bias_.size() * sizeof(float));
  w.put(uint32_t(thresholds_.size()));
  w.put_bytes(thresholds_.data(), thresholds_.size() * sizeof(float));
  w.put_string(metadata_);
  w.put(fnv1a(w.bytes.data(), w.bytes.size()));
  return std::move(w.bytes);
}

TextClassifier TextClassifier::from_bytes(std::span<const uint8_t> bytes) {
  if (bytes.size() < 4 || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    throw std::runtime_error("not a Kindred classifier file (no KCLS magic)");
  }
  if (bytes.size() < 12) throw std::runtime_error("classifier file is truncated (" + std::to_string(bytes.size()) + " bytes)");
  {
    uint64_t stored;
    std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
    if (stored != fnv1a(bytes.data(), bytes.size() - 8)) {
      throw std::runtime_error("classifier file checksum mismatch (corrupted or truncated)");
    }
  }
  Reader r(bytes.first(bytes.size() - 8));
  r.take(4, "magic");
  const auto version = r.get<uint32_t>("version");
  if (version != kVersion) {
    throw std::runtime_error("classifier file version " + std::to_string(version) + " is not supported (expected " +
                             std::to_string(kVersion) + ")");
  }
  TextClassifier c;
  const auto mode = r.get<uint8_t>("mode");
  if (mode > 1) throw std::runtime_error("classifier file has unknown mode " + std::to_string(mode));
  c.mode_ = ClassifierMode(mode);
  FeatureOptions fo;
  fo.hash_bits = r.get<int32_t>("hash_bits");
  fo.word_ngrams = r.get<int32_t>("word_ngrams");
  fo.char_min = r.get<int32_t>("char_min");
  fo.char_max = r.get<int32_t>("char_max");
  fo.cjk_chars = r.get<uint8_t>("cjk_chars") != 0;
  fo.cues = r.get<uint8_t>("cues") != 0;
  try {
    c.features_ = FeatureExtractor(fo);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("classifier file has invalid feature options: ") + e.what());
  }
  const auto K = r.get<uint32_t>("label count");
  if (K == 0 || K > kMaxLabels) throw std::runtime_error("classifier file has " + std::to_string(K) + " labels (1.." + std::to_string(kMaxLabels) + " allowed)");
  for (uint32_t k = 0; k < K; ++k) c.label_names_.push_back(r.get_string(kMaxName, "label name"));
  const size_t rows = size_t(1) << fo.hash_bits;
  // A crafted header must not make us allocate without bound: 2^28 weights (1 GiB) is far above
  // any real model (the shipped ones hold 2^18 × 28).
  if (rows * K > (size_t(1) << 28)) {
    throw std::runtime_error("classifier file declares " + std::to_string(rows) + " × " + std::to_string(K) +
                             " weights, more than the 2^28 supported");
  }
  const uint8_t* bitmap = r.take((rows + 7) / 8, "row bitmap");
  c.weights_.assign(rows * K, 0.0f);
  for (size_t row = 0; row < rows; ++row) {
    if (!(bitmap[row / 8] & (1u << (row % 8)))) continue;
    const auto h = r.get<uint16_t>("row scale");
    if (((h >> 10) & 31) == 31 || h == 0) throw std::runtime_error("classifier file has an invalid scale for row " + std::to_string(row));
    const float s = from_half(h);
    const auto* q = reinterpret_cast<const int8_t*>(r.take(K, "weights"));
    float* dst = c.weights_.data() + row * K;
    for (uint32_t k = 0; k < K; ++k) dst[k] = float(q[k]) * s;
  }
  c.bias_.resize(K);
  std::memcpy(c.bias_.data(), r.take(K * sizeof(float), "bias"), K * sizeof(float));
  const auto n_thr = r.get<uint32_t>("threshold count");
  const uint32_t want = c.mode_ == ClassifierMode::MultiLabel ? K : 1;
  if (n_thr != want) {
    throw std::runtime_error("classifier file has " + std::to_string(n_thr) + " thresholds, expected " + std::to_string(want));
  }
  std::vector<float> thr(n_thr);
  std::memcpy(thr.data(), r.take(n_thr * sizeof(float), "thresholds"), n_thr * sizeof(float));
  for (float b : c.bias_) {
    if (!std::isfinite(b)) throw std::runtime_error("classifier file has a non-finite bias");
  }
  for (float t : thr) {
    if (!(t >= 0 && t <= 1)) throw std::runtime_error("classifier file has a threshold outside [0, 1]");
  }
  c.thresholds_ = std::move(thr);
  c.metadata_ = r.get_string(kMaxMetadata, "metadata");
  if (r.pos() != bytes.size() - 8) {
    throw std::runtime_error("classifier file has " + std::to_string(bytes.size() - 8 - r.pos()) + " unexpected trailing bytes");
  }
  return c;
}

TextClassifier TextClassifier::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open classifier file " + path.string());
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("cannot read classifier file " + path.string());
  try {
    return from_bytes(bytes);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

void TextClassifier::save(const std::filesystem::path& path) const {
  const auto bytes = to_bytes();
  // Written beside the target and renamed over it: a reader never sees half a file.
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write classifier file " + tmp.string());
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw std::runtime_error("failed writing classifier file " + tmp.string());
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw std::runtime_error("cannot rename classifier file into place at " + path.string() + ": " + ec.message());
  }
}

std::vector<float> TextClassifier::predict(std::string_view text) const { return predict(features_.extract(text)); }

std::vector<float> TextClassifier::predict(const SparseFeatures& x) const {
  const size_t K = label_names_.size();
  if (K == 0) throw std::logic_error("predict on an empty classifier");
  if (x.index.size() != x.value.size()) throw std::invalid_argument("sparse features: index and value sizes differ");
  std::vector<float> z(bias_);
  const size_t rows = weights_.size() / K;
  for (size_t j = 0; j < x.index.size(); ++j) {
    if (x.index[j] >= rows) {
      throw std::invalid_argument("feature row " + std::to_string(x.index[j]) + " is outside the model's " + std::to_string(rows) + " rows");
    }
    const float* w = weights_.data() + size_t(x.index[j]) * K;
    const float v = x.value[j];
    for (size_t k = 0; k < K; ++k) z[k] += v * w[k];
  }
  if (mode_ == ClassifierMode::MultiClass) {
    softmax_in_place(z);
  } else {
    for (float& v : z) v = sigmoid(v);
  }
  return z;
}

void TextClassifier::set_thresholds(std::vector<float> thresholds) {
  const size_t want = mode_ == ClassifierMode::MultiLabel ? label_names_.size() : 1;
  if (thresholds.size() != want) {
    throw std::invalid_argument("expected " + std::to_string(want) + " thresholds, got " + std::to_string(thresholds.size()));
  }
  for (float t : thresholds) {
    if (!(t >= 0 && t <= 1)) throw std::invalid_argument("threshold " + std::to_string(t) + " is outside [0, 1]");
  }
  thresholds_ = std::move(thresholds);
}

std::vector<int> TextClassifier::decide(std::span<const float> probs) const {
  if (probs.size() != label_names_.size()) {
    throw std::invalid_argument("decide: " + std::to_string(probs.size()) + " probabilities for " +
                                std::to_string(label_names_.size()) + " labels");
  }
  std::vector<int> out;
  if (probs.empty()) return out;
  const int top = int(std::max_element(probs.begin(), probs.end()) - probs.begin());
  if (mode_ == ClassifierMode::MultiClass) {
    const float t = thresholds_.empty() ? 0.0f : thresholds_[0];
    if (probs[size_t(top)] >= t) out.push_back(top);
    return out;
  }
  for (size_t k = 0; k < probs.size(); ++k) {
    const float t = k < thresholds_.size() ? thresholds_[k] : 0.5f;
    if (probs[k] >= t) out.push_back(int(k));
  }
  std::stable_sort(out.begin(), out.end(), [&](int a, int b) { return probs[size_t(a)] > probs[size_t(b)]; });
  if (out.empty()) out.push_back(top);
  return out;
}

TextClassifier train_text_classifier(const std::vector<TrainExample>& train, std::vector<std::string> label_names,
                                     const TrainOptions& options) {
  if (train.empty()) throw std::invalid_argument("no training examples");
  if (label_names.empty()) throw std::invalid_argument("no labels");
  if (options.epochs < 1) throw std::invalid_argument("epochs must be at least 1");
  if (!(options.learning_rate > 0)) throw std::invalid_argument("learning rate must be positive");
  if (!(options.l2 >= 0)) throw std::invalid_argument("l2 must be non-negative");
  const int K = int(label_names.size());
  const bool multiclass = options.mode == ClassifierMode::MultiClass;
  for (size_t i = 0; i < train.size(); ++i) {
    for (int l : train[i].labels) {
      if (l < 0 || l >= K) {
        throw std::invalid_argument("training example " + std::to_string(i) + " has label " + std::to_string(l) +
                                    " outside [0, " + std::to_string(K) + ")");
      }
    }
    if (multiclass && train[i].labels.size() != 1) {
      throw std::invalid_argument("multi-class training example " + std::to_string(i) + " must have exactly one label");
    }
  }

  TextClassifier c;
  c.mode_ = options.mode;
  c.features_ = FeatureExtractor(options.features);
  c.label_names_ = std::move(label_names);
  const size_t rows = size_t(1) << options.features.hash_bits;
  const size_t Ks = size_t(K);

  std::vector<SparseFeatures> X;
  X.reserve(train.size());
  for (const auto& ex : train) X.push_back(c.features_.extract(ex.text));

  // Positive weights (multi-label): the loss of a positive counts sqrt(neg/pos) times, capped.
  std::vector<float> pos_weight(Ks, 1.0f);
  std::vector<double> prior(Ks, 0.0);
  for (const auto& ex : train) {
    for (int l : ex.labels) prior[size_t(l)] += 1;
  }
  if (!multiclass) {
    for (size_t k = 0; k < Ks; ++k) {
      const double pos = prior[k], neg = double(train.size()) - pos;
      if (pos > 0) pos_weight[k] = float(std::clamp(std::sqrt(neg / pos), 1.0, double(std::max(1.0f, options.max_positive_weight))));
    }
  }
  // Biases start at the log-odds of the label frequencies so early updates go to the weights.
  c.bias_.assign(Ks, 0.0f);
  for (size_t k = 0; k < Ks; ++k) {
    const double p = std::clamp((prior[k] + 0.5) / (double(train.size()) + 1.0), 1e-4, 1 - 1e-4);
    c.bias_[k] = multiclass ? float(std::log(p)) : float(std::log(p / (1 - p)));
  }

  // AdaGrad: per-weight step lr / sqrt(sum of squared gradients). Sequential SGD in a seeded
  // order, single-threaded: the model depends on the seed and data only (options.threads is
  // accepted for the interface; ~1 s per GoEmotions epoch does not need more).
  std::vector<float>& W = c.weights_;
  W.assign(rows * Ks, 0.0f);
  std::vector<float> G(rows * Ks, 0.0f), Gb(Ks, 0.0f);
  // Averaging by the usual trick: U accumulates t·Δw, and the average is w - U/t.
  std::vector<float> U(options.average ? rows * Ks : 0, 0.0f), Ub(options.average ? Ks : 0, 0.0f);
  const float lr = options.learning_rate, l2 = options.l2, eps = 1e-8f;
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), size_t(0));
  SplitMix64 rng{options.seed};
  std::vector<float> z(Ks), g(Ks);
  double t = 1;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (size_t idx : order) {
      const SparseFeatures& x = X[idx];
      const auto& labels = train[idx].labels;
      std::copy(c.bias_.begin(), c.bias_.end(), z.begin());
      for (size_t j = 0; j < x.index.size(); ++j) {
        const float* w = W.data() + size_t(x.index[j]) * Ks;
        for (size_t k = 0; k < Ks; ++k) z[k] += x.value[j] * w[k];
      }
      if (multiclass) {
        softmax_in_place(z);
        for (size_t k = 0; k < Ks; ++k) g[k] = z[k];
        g[size_t(labels[0])] -= 1.0f;
      } else {
        for (size_t k = 0; k < Ks; ++k) g[k] = sigmoid(z[k]);
        for (int l : labels) g[size_t(l)] = (g[size_t(l)] - 1.0f) * pos_weight[size_t(l)];
      }
      for (size_t j = 0; j < x.index.size(); ++j) {
        const size_t base = size_t(x.index[j]) * Ks;
        const float v = x.value[j];
        for (size_t k = 0; k < Ks; ++k) {
          float& w = W[base + k];
          const float grad = g[k] * v + l2 * w;
          float& acc = G[base + k];
          acc += grad * grad;
          const float step = lr * grad / (std::sqrt(acc) + eps);
          w -= step;
          if (options.average) U[base + k] -= float(t) * step;
        }
      }
      for (size_t k = 0; k < Ks; ++k) {
        Gb[k] += g[k] * g[k];
        const float step = lr * g[k] / (std::sqrt(Gb[k]) + eps);
        c.bias_[k] -= step;
        if (options.average) Ub[k] -= float(t) * step;
      }
      t += 1;
    }
  }
  if (options.average) {
    const float inv = float(1.0 / t);
    for (size_t i = 0; i < W.size(); ++i) W[i] -= U[i] * inv;
    for (size_t k = 0; k < Ks; ++k) c.bias_[k] -= Ub[k] * inv;
  }
  // Round to the stored precision now (see the file comment).
  std::vector<int8_t> q(Ks);
  for (size_t r = 0; r < rows; ++r) quantize_row(W.data() + r * Ks, K, q.data());
  c.thresholds_.assign(multiclass ? 1 : Ks, multiclass ? 0.0f : 0.5f);
  return c;
}

std::vector<float> tune_thresholds(const TextClassifier& classifier, const std::vector<TrainExample>& dev) {
  const int K = classifier.n_labels();
  if (K == 0) throw std::invalid_argument("tune_thresholds: empty classifier");
  std::vector<std::vector<float>> probs;
  probs.reserve(dev.size());
  for (const auto& ex : dev) probs.push_back(classifier.predict(ex.text));
  if (classifier.mode() == ClassifierMode::MultiClass) {
    const bool any_oos = std::any_of(dev.begin(), dev.end(), [](const TrainExample& e) { return e.labels.empty(); });
    if (!any_oos) return {0.0f};
    float best_t = 0;
    long best = -1;
    for (int step = 0; step <= 100; ++step) {
      const float thr = float(step) / 100.0f;
      long correct = 0;
      for (size_t i = 0; i < dev.size(); ++i) {
        const auto& p = probs[i];
        const int top = int(std::max_element(p.begin(), p.end()) - p.begin());
        const bool in_scope = p[size_t(top)] >= thr;
        correct += dev[i].labels.empty() ? !in_scope : (in_scope && dev[i].labels[0] == top);
      }
      if (correct > best) {
        best = correct;
        best_t = thr;
      }
    }
    return {best_t};
  }
  std::vector<float> out(size_t(K), 0.5f);
  for (int k = 0; k < K; ++k) {
    double best_f1 = -1;
    for (int step = 5; step <= 95; ++step) {
      const float thr = float(step) / 100.0f;
      long tp = 0, pred = 0, support = 0;
      for (size_t i = 0; i < dev.size(); ++i) {
        const bool truth = std::find(dev[i].labels.begin(), dev[i].labels.end(), k) != dev[i].labels.end();
        const bool p = probs[i][size_t(k)] >= thr;
        tp += truth && p;
        pred += p;
        support += truth;
      }
      const double f1 = pred + support > 0 ? 2.0 * double(tp) / double(pred + support) : 0.0;
      if (f1 > best_f1 + 1e-12) {
        best_f1 = f1;
        out[size_t(k)] = thr;
      }
    }
  }
  return out;
}

}  // namespace kindred::affect
