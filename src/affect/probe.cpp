// ProbeModel prediction and its file, the TSV loader and the Appraiser (training: probe_train.cpp).
#include "affect/probe.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kindred::affect {
namespace {

constexpr char kMagic[8] = {'K', 'N', 'D', 'P', 'R', 'O', 'B', 'E'};
constexpr uint32_t kVersion = 1;

uint64_t fnv1a(const uint8_t* data, size_t n) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= data[i];
    h *= 1099511628211ull;
  }
  return h;
}

class ByteWriter {
 public:
  template <typename T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void put_floats(std::span<const float> v) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    bytes.insert(bytes.end(), p, p + v.size_bytes());
  }
  std::vector<uint8_t> bytes;
};

// Every read checks that the bytes are there first.
class ByteReader {
 public:
  ByteReader(const std::vector<uint8_t>& b, size_t end, std::string where) : b_(b), end_(end), where_(std::move(where)) {}
  template <typename T>
  T get(const char* field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  void get_floats(std::vector<float>& out, size_t n, const char* field) {
    if (n > (end_ - pos_) / sizeof(float)) throw std::runtime_error(where_ + " is truncated (reading " + field + ")");
    out.resize(n);
    std::memcpy(out.data(), b_.data() + pos_, n * sizeof(float));
    pos_ += n * sizeof(float);
  }
  size_t pos() const { return pos_; }

 private:
  void need(size_t n, const char* field) const {
    if (end_ - pos_ < n) throw std::runtime_error(where_ + " is truncated (reading " + field + ")");
  }
  const std::vector<uint8_t>& b_;
  size_t end_;
  size_t pos_ = 0;
  std::string where_;
};

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

}  // namespace


LabelProbs ProbeModel::predict(std::span<const float> features) const {
  if (features.size() != static_cast<size_t>(n_embd)) {
    throw std::runtime_error("probe: " + std::to_string(features.size()) + " features, expected " + std::to_string(n_embd));
  }
  std::vector<float> x(features.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = (features[i] - mean[i]) * inv_std[i];
  LabelProbs p{};
  for (int k = 0; k < kNumLabels; ++k) {
    const float* w = weights.data() + static_cast<size_t>(k) * n_embd;
    double z = bias[k];
    for (int i = 0; i < n_embd; ++i) z += static_cast<double>(w[i]) * x[i];
    p[k] = sigmoid(static_cast<float>(z));
  }
  return p;
}

std::vector<int> ProbeModel::decide(const LabelProbs& probs) const {
  std::vector<int> active;
  for (int k = 0; k < kNumLabels; ++k) {
    if (probs[k] >= thresholds[k]) active.push_back(k);
  }
  std::sort(active.begin(), active.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  if (active.empty()) {
    int best = 0;
    for (int k = 1; k < kNumLabels; ++k) {
      if (probs[k] / thresholds[k] > probs[best] / thresholds[best]) best = k;
    }
    active.push_back(best);
  }
  return active;
}

std::string ProbeModel::name() const { return layer == n_layer ? "probe:final" : "probe:L" + std::to_string(layer); }

std::filesystem::path ProbeModel::path_for(const std::filesystem::path& model_path, uint64_t fingerprint) {
  std::filesystem::path p = model_path;
  p += ".probe-" + hex16(fingerprint) + ".bin";
  return p;
}

void ProbeModel::save(const std::filesystem::path& path) const {
  const auto E = static_cast<size_t>(n_embd);
  if (mean.size() != E || inv_std.size() != E || weights.size() != E * kNumLabels) {
    throw std::runtime_error("probe: arrays do not match n_embd " + std::to_string(n_embd) + "; not saving");
  }
  ByteWriter w;
  w.put(kMagic);
  w.put(kVersion);
  w.put(fingerprint);
  w.put(static_cast<int32_t>(n_layer));
  w.put(static_cast<int32_t>(n_embd));
  w.put(static_cast<int32_t>(layer));
  w.put(static_cast<int32_t>(max_tokens));
  w.put(static_cast<int32_t>(kNumLabels));
  w.put(dev_macro_f1);
  w.put_floats(mean);
  w.put_floats(inv_std);
  w.put_floats(weights);
  w.put_floats(bias);
  w.put_floats(thresholds);
  w.put(fnv1a(w.bytes.data(), w.bytes.size()));

  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(w.bytes.data()), static_cast<std::streamsize>(w.bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

ProbeModel ProbeModel::load(const std::filesystem::path& path, const Model& model) {
  const std::string where = "probe file " + path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + where);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw std::runtime_error(where + " is not a Kindred probe (bad magic)");
  }
  if (bytes.size() < sizeof(kMagic) + sizeof(uint32_t) + sizeof(uint64_t)) throw std::runtime_error(where + " is truncated");
  const size_t body = bytes.size() - sizeof(uint64_t);
  ByteReader r(bytes, body, where);
  r.get<std::array<char, 8>>("magic");
  const auto version = r.get<uint32_t>("version");
  if (version != kVersion) {
    throw std::runtime_error(where + " has version " + std::to_string(version) + "; this build reads " + std::to_string(kVersion));
  }
  uint64_t stored_sum;
  std::memcpy(&stored_sum, bytes.data() + body, sizeof stored_sum);
  if (stored_sum != fnv1a(bytes.data(), body)) throw std::runtime_error(where + " is corrupt (checksum mismatch)");

  ProbeModel p;
  p.fingerprint = r.get<uint64_t>("fingerprint");
  p.n_layer = r.get<int32_t>("n_layer");
  p.n_embd = r.get<int32_t>("n_embd");
  p.layer = r.get<int32_t>("layer");
  p.max_tokens = r.get<int32_t>("max_tokens");
  const auto n_labels = r.get<int32_t>("n_labels");
  p.dev_macro_f1 = r.get<double>("dev_macro_f1");
  if (p.fingerprint != model.fingerprint()) {
    throw std::runtime_error(where + " was trained for another model (fingerprint " + hex16(p.fingerprint) +
                             ", this model's is " + hex16(model.fingerprint()) + "); train a probe for this model");
  }
  const ModelConfig& c = model.config();
  if (p.n_embd != c.n_embd || p.n_layer != c.n_layer || p.layer < 0 || p.layer > p.n_layer || n_labels != kNumLabels ||
      p.max_tokens <= 0) {
    throw std::runtime_error(where + " has sizes that do not fit the model (n_embd " + std::to_string(p.n_embd) +
                             ", n_layer " + std::to_string(p.n_layer) + ", layer " + std::to_string(p.layer) +
                             ", labels " + std::to_string(n_labels) + ")");
  }
  const auto E = static_cast<size_t>(p.n_embd);
  r.get_floats(p.mean, E, "mean");
  r.get_floats(p.inv_std, E, "inv_std");
  r.get_floats(p.weights, E * kNumLabels, "weights");
  std::vector<float> tmp;
  r.get_floats(tmp, kNumLabels, "bias");
  std::copy(tmp.begin(), tmp.end(), p.bias.begin());
  r.get_floats(tmp, kNumLabels, "thresholds");
  std::copy(tmp.begin(), tmp.end(), p.thresholds.begin());
  if (r.pos() != body) throw std::runtime_error(where + " has " + std::to_string(body - r.pos()) + " unexpected trailing bytes");
  for (float t : p.thresholds) {
    if (!(t > 0.0f && t <= 1.0f)) throw std::runtime_error(where + " has a threshold outside (0, 1]");
  }
  return p;
}

ProbeAppraiser::ProbeAppraiser(Context& ctx, const Tokenizer& tokenizer, ProbeModel probe)
    : ctx_(ctx), tokenizer_(tokenizer), probe_(std::move(probe)) {
  if (ctx_.model().fingerprint() != probe_.fingerprint) {
    throw std::runtime_error("probe appraiser: the probe was trained for another model");
  }
  if (ctx_.n_ctx() < probe_.max_tokens) {
    throw std::runtime_error("probe appraiser: the context holds " + std::to_string(ctx_.n_ctx()) +
                             " tokens; the probe reads up to " + std::to_string(probe_.max_tokens));
  }
}

Appraisal ProbeAppraiser::appraise(std::string_view text) {
  const int layer = probe_.layer;
  const std::vector<std::vector<float>> f =
      extract_probe_features(ctx_, tokenizer_, std::vector<LabeledText>{{std::string(text), {}}},
                             std::span<const int>(&layer, 1), probe_.max_tokens);
  Appraisal a;
  a.labels = probe_.predict(f[0]);
  a.active = probe_.decide(a.labels);
  a.pad = pad_of(a.labels);
  const float top = *std::max_element(a.labels.begin(), a.labels.end());
  a.confidence = std::clamp(top * static_cast<float>(std::min(1.0, probe_.dev_macro_f1 / 0.5)), 0.0f, 1.0f);
  return a;
}

}  // namespace kindred::affect
