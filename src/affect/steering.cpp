#include "affect/steering.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "gguf/gguf.h"

namespace kindred::affect {
namespace {

constexpr const char* kArch = "kindred-steering";
constexpr uint32_t kVersion = 1;

std::string key(std::string_view name) { return std::string("kindred.steer.") + std::string(name); }

std::vector<int32_t> encode_text(const Tokenizer& tokenizer, const std::string& text, int n_ctx) {
  std::vector<int32_t> ids = tokenizer.encode(text, true, false);
  if (ids.empty()) throw std::runtime_error("steering prompt \"" + text + "\" has no tokens");
  if (ids.size() > static_cast<size_t>(n_ctx)) {
    throw std::runtime_error("steering prompt \"" + text + "\" has " + std::to_string(ids.size()) +
                             " tokens, more than the context of " + std::to_string(n_ctx));
  }
  return ids;
}

}  // namespace

SteeringPairs parse_steering_pairs(std::string_view text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(std::string("steering pairs: not valid JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("labels") || !doc["labels"].is_object()) {
    throw std::runtime_error("steering pairs: expected an object with a \"labels\" object");
  }
  SteeringPairs pairs;
  for (const auto& [name, list] : doc["labels"].items()) {
    const int label = label_index(name);
    if (label < 0) throw std::runtime_error("steering pairs: \"" + name + "\" is not a GoEmotions label");
    if (!list.is_array()) throw std::runtime_error("steering pairs: \"" + name + "\" must be an array of pairs");
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& p = list[i];
      if (!p.is_object() || !p.contains("emotional") || !p.contains("neutral") || !p["emotional"].is_string() ||
          !p["neutral"].is_string()) {
        throw std::runtime_error("steering pairs: \"" + name + "\"[" + std::to_string(i) +
                                 "] needs string fields \"emotional\" and \"neutral\"");
      }
      pairs[static_cast<size_t>(label)].push_back({p["emotional"].get<std::string>(), p["neutral"].get<std::string>()});
    }
  }
  return pairs;
}

const SteeringPairs& default_steering_pairs() {
  static const SteeringPairs pairs = parse_steering_pairs(embedded_steering_pairs_json());
  return pairs;
}

SteeringLibrary SteeringLibrary::build(Context& ctx, const Tokenizer& tokenizer, const SteeringPairs& pairs,
                                       const SteeringBuildOptions& options) {
  if (ctx.steering()) throw std::runtime_error("steer-build: the context is steered; clear_steering() first");
  const ModelConfig& c = ctx.model().config();
  SteeringLibrary lib;
  lib.n_layer_ = c.n_layer;
  lib.n_embd_ = c.n_embd;
  lib.fingerprint_ = ctx.model().fingerprint();
  const auto E = static_cast<size_t>(c.n_embd);
  int total = 0;
  for (const auto& list : pairs) total += static_cast<int>(list.size());
  if (total == 0) throw std::runtime_error("steering pairs: no pairs to build from");

  std::vector<double> norm_sum(static_cast<size_t>(c.n_layer), 0.0);
  int norm_count = 0;
  int done = 0;
  for (int label = 0; label < kNumLabels; ++label) {
    const auto& list = pairs[static_cast<size_t>(label)];
    if (list.empty()) continue;
    std::vector<double> sum(static_cast<size_t>(c.n_layer) * E, 0.0);
    for (const SteeringPair& pair : list) {
      const LayerStates pos = ctx.pooled_layer_states(encode_text(tokenizer, pair.emotional, ctx.n_ctx()));
      const LayerStates neg = ctx.pooled_layer_states(encode_text(tokenizer, pair.neutral, ctx.n_ctx()));
      for (int l = 0; l < c.n_layer; ++l) {
        double* s = sum.data() + static_cast<size_t>(l) * E;
        for (size_t i = 0; i < E; ++i) s[i] += static_cast<double>(pos.layers[l][i]) - neg.layers[l][i];
        norm_sum[l] += pos.token_norm[l] + neg.token_norm[l];
      }
      norm_count += 2;
      if (options.progress) options.progress(++done, total);
    }
    std::vector<float>& v = lib.vectors_[static_cast<size_t>(label)];
    v.resize(sum.size());
    for (size_t i = 0; i < sum.size(); ++i) v[i] = static_cast<float>(sum[i] / static_cast<double>(list.size()));
    lib.pair_counts_[static_cast<size_t>(label)] = static_cast<int>(list.size());
  }
  lib.residual_norm_.resize(static_cast<size_t>(c.n_layer));
  for (int l = 0; l < c.n_layer; ++l) lib.residual_norm_[l] = static_cast<float>(norm_sum[l] / norm_count);
  // The middle half of the stack: early layers still encode tokens, the last ones the next word.
  lib.suggested_first_ = c.n_layer / 4;
  lib.suggested_last_ = std::max(lib.suggested_first_, (3 * c.n_layer) / 4 - 1);
  return lib;
}

bool SteeringLibrary::has(int label) const {
  if (label < 0 || label >= kNumLabels) throw std::out_of_range("steering: label " + std::to_string(label));
  return !vectors_[static_cast<size_t>(label)].empty();
}

int SteeringLibrary::pair_count(int label) const {
  has(label);  // range check
  return pair_counts_[static_cast<size_t>(label)];
}

std::span<const float> SteeringLibrary::vector(int label, int layer) const {
  if (!has(label)) throw std::runtime_error("steering: the library has no vector for \"" + label_name(label) + "\"");
  if (layer < 0 || layer >= n_layer_) {
    throw std::out_of_range("steering: layer " + std::to_string(layer) + " outside [0, " + std::to_string(n_layer_) + ")");
  }
  return std::span<const float>(vectors_[static_cast<size_t>(label)])
      .subspan(static_cast<size_t>(layer) * n_embd_, static_cast<size_t>(n_embd_));
}

std::shared_ptr<SteeringVectors> SteeringLibrary::blend(const LabelProbs& mixture, float intensity, float strength,
                                                        int layer_from, int layer_to) const {
  if (layer_from < 0 || layer_to >= n_layer_ || layer_from > layer_to) {
    throw std::runtime_error("steering: layer range [" + std::to_string(layer_from) + ", " + std::to_string(layer_to) +
                             "] is not inside [0, " + std::to_string(n_layer_ - 1) + "]");
  }
  for (int k = 0; k < kNumLabels; ++k) {
    if (k != kNeutral && mixture[k] != 0.0f && !has(k)) {
      throw std::runtime_error("steering: the mixture weighs \"" + label_name(k) +
                               "\" but the library has no vector for it (built without pairs for it)");
    }
  }
  auto out = std::make_shared<SteeringVectors>();
  out->layers.resize(static_cast<size_t>(n_layer_));
  const auto E = static_cast<size_t>(n_embd_);
  const float base = intensity * strength * kStrengthFraction / static_cast<float>(layer_to - layer_from + 1);
  for (int l = layer_from; l <= layer_to; ++l) {
    std::vector<float>& v = out->layers[static_cast<size_t>(l)];
    v.assign(E, 0.0f);
    for (int k = 0; k < kNumLabels; ++k) {
      if (k == kNeutral || mixture[k] == 0.0f) continue;
      const std::span<const float> d = vector(k, l);
      double norm = 0;
      for (float f : d) norm += static_cast<double>(f) * f;
      if (norm == 0) continue;  // the prompts did not differ at this layer: no direction to push
      const auto scale = static_cast<float>(base * residual_norm_[l] * mixture[k] / std::sqrt(norm));
      for (size_t i = 0; i < E; ++i) v[i] += scale * d[i];
    }
  }
  return out;
}

std::filesystem::path SteeringLibrary::default_path(const std::filesystem::path& model_path) {
  std::filesystem::path p = model_path;
  if (p.extension() == ".gguf") p.replace_extension();
  p += ".steer.gguf";
  return p;
}

void SteeringLibrary::save(const std::filesystem::path& path) const {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::string(kArch));
  w.set(key("version"), gguf::Value::u32(kVersion));
  w.set(key("model_fingerprint"), gguf::Value::u64(fingerprint_));
  w.set(key("n_embd"), gguf::Value::u32(static_cast<uint32_t>(n_embd_)));
  w.set(key("n_layer"), gguf::Value::u32(static_cast<uint32_t>(n_layer_)));
  std::vector<std::string> names;
  std::vector<int32_t> counts;
  for (int k = 0; k < kNumLabels; ++k) {
    if (!has(k)) continue;
    names.push_back(label_name(k));
    counts.push_back(pair_counts_[static_cast<size_t>(k)]);
  }
  w.set(key("labels"), gguf::Value::string_array(names));
  w.set(key("pair_counts"), gguf::Value::i32_array(counts));
  w.set(key("layer_range"), gguf::Value::i32_array({suggested_first_, suggested_last_}));
  w.set(key("residual_norm"), gguf::Value::f32_array(residual_norm_));
  // Per label and layer, the raw vector's norm (row-major labels × layers), for inspection.
  std::vector<float> vector_norms;
  for (int k = 0; k < kNumLabels; ++k) {
    if (!has(k)) continue;
    for (int l = 0; l < n_layer_; ++l) {
      double n = 0;
      for (float f : vector(k, l)) n += static_cast<double>(f) * f;
      vector_norms.push_back(static_cast<float>(std::sqrt(n)));
    }
  }
  w.set(key("vector_norm"), gguf::Value::f32_array(vector_norms));
  for (int k = 0; k < kNumLabels; ++k) {
    if (!has(k)) continue;
    w.add_tensor_f32("steer." + label_name(k), {n_embd_, n_layer_}, vectors_[static_cast<size_t>(k)]);
  }
  w.write(path);
}

SteeringLibrary SteeringLibrary::load(const std::filesystem::path& path, const Model& model) {
  const std::string where = "steering file " + path.string();
  try {
    const gguf::File f = gguf::File::open(path);
    if (f.get_string_or("general.architecture", "") != kArch) throw std::runtime_error(where + " is not a steering library");
    if (f.get_u32(key("version")) != kVersion) {
      throw std::runtime_error(where + " has version " + std::to_string(f.get_u32(key("version"))) + ", expected " +
                               std::to_string(kVersion));
    }
    SteeringLibrary lib;
    lib.fingerprint_ = f.get(key("model_fingerprint")).as_u64();
    lib.n_embd_ = static_cast<int>(f.get_u32(key("n_embd")));
    lib.n_layer_ = static_cast<int>(f.get_u32(key("n_layer")));
    if (lib.fingerprint_ != model.fingerprint()) {
      throw std::runtime_error(where + " was built for another model (fingerprint " + std::to_string(lib.fingerprint_) +
                               ", this model's is " + std::to_string(model.fingerprint()) + "); rebuild it with steer-build");
    }
    const ModelConfig& c = model.config();
    if (lib.n_embd_ != c.n_embd || lib.n_layer_ != c.n_layer) {
      throw std::runtime_error(where + " has " + std::to_string(lib.n_layer_) + " layers × " + std::to_string(lib.n_embd_) +
                               " but the model has " + std::to_string(c.n_layer) + " × " + std::to_string(c.n_embd));
    }
    const std::vector<std::string> names = f.get_string_array(key("labels"));
    const std::vector<int32_t> counts = f.get_i32_array(key("pair_counts"));
    if (counts.size() != names.size()) throw std::runtime_error(where + ": pair_counts and labels differ in length");
    const std::vector<int32_t> range = f.get_i32_array(key("layer_range"));
    if (range.size() != 2 || range[0] < 0 || range[1] < range[0] || range[1] >= lib.n_layer_) {
      throw std::runtime_error(where + ": layer_range is not a range of layers");
    }
    lib.suggested_first_ = range[0];
    lib.suggested_last_ = range[1];
    lib.residual_norm_ = f.get_f32_array(key("residual_norm"));
    if (lib.residual_norm_.size() != static_cast<size_t>(lib.n_layer_)) {
      throw std::runtime_error(where + ": residual_norm has " + std::to_string(lib.residual_norm_.size()) +
                               " values for " + std::to_string(lib.n_layer_) + " layers");
    }
    for (size_t i = 0; i < names.size(); ++i) {
      const int k = label_index(names[i]);
      if (k < 0) throw std::runtime_error(where + ": \"" + names[i] + "\" is not a GoEmotions label");
      const gguf::TensorInfo* t = f.find_tensor("steer." + names[i]);
      if (!t) throw std::runtime_error(where + " lacks tensor steer." + names[i]);
      if (t->type != DType::F32 || t->n_dims != 2 || t->ne[0] != lib.n_embd_ || t->ne[1] != lib.n_layer_) {
        throw std::runtime_error(where + ": tensor steer." + names[i] + " is not F32 " + std::to_string(lib.n_embd_) + " × " +
                                 std::to_string(lib.n_layer_));
      }
      const auto* data = static_cast<const float*>(f.view(*t).data);
      lib.vectors_[static_cast<size_t>(k)].assign(data, data + static_cast<size_t>(lib.n_embd_) * lib.n_layer_);
      lib.pair_counts_[static_cast<size_t>(k)] = counts[i];
    }
    return lib;
  } catch (const gguf::GgufError& e) {
    throw std::runtime_error(where + ": " + e.what());
  }
}

}  // namespace kindred::affect
