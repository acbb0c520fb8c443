// AffectSnapshot ⇄ JSON (the format is documented in affect_state.h). Numbers are written as the
// exact doubles (nlohmann prints the shortest text that reads back to the same double), so a
// stored trajectory resumes bit for bit. Reading names the offending field in every error.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "affect/affect_state.h"

namespace kindred::affect {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& field, const std::string& problem) {
  throw std::invalid_argument("affect snapshot: " + field + " " + problem);
}

const json& member(const json& object, const char* key, const std::string& where) {
  if (!object.contains(key)) fail(where + "." + key, "is missing");
  return object.at(key);
}

void require_object(const json& j, const std::string& field) {
  if (!j.is_object()) fail(field, "must be an object, got " + std::string(j.type_name()));
}

double number(const json& j, const std::string& field) {
  if (!j.is_number()) fail(field, "must be a number, got " + std::string(j.type_name()));
  const double v = j.get<double>();
  if (!std::isfinite(v)) fail(field, "must be finite");
  return v;
}

json pad_json(const Pad& pad) { return json::array({pad.p, pad.a, pad.d}); }

// Three numbers; `field` names the array.
std::array<double, 3> triple(const json& j, const std::string& field) {
  if (!j.is_array() || j.size() != 3) fail(field, "must be an array of 3 numbers");
  std::array<double, 3> out{};
  for (int k = 0; k < 3; ++k) out[k] = number(j[k], field + "[" + std::to_string(k) + "]");
  return out;
}

json appraisal_json(const Appraisal& a) {
  json labels = json::object();
  for (int i = 0; i < kNumLabels; ++i) {
    if (a.labels[i] != 0) labels[label_name(i)] = a.labels[i];
  }
  json active = json::array();
  for (int label : a.active) active.push_back(label_name(label));
  return {{"labels", labels}, {"active", active}, {"pad", pad_json(a.pad)}, {"confidence", a.confidence}};
}

Appraisal appraisal_of(const json& j, const std::string& where) {
  require_object(j, where);
  Appraisal a;
  const std::string labels_field = where + ".labels";
  const json& labels = member(j, "labels", where);
  require_object(labels, labels_field);
  for (const auto& [name, value] : labels.items()) {
    const int label = label_index(name);
    if (label < 0) fail(labels_field + "." + name, "is not an emotion label");
    const double p = number(value, labels_field + "." + name);
    if (p < 0 || p > 1) fail(labels_field + "." + name, "must be a probability in [0, 1]");
    a.labels[label] = float(p);
  }
  const json& active = member(j, "active", where);
  if (!active.is_array()) fail(where + ".active", "must be an array of label names");
  for (size_t i = 0; i < active.size(); ++i) {
    const std::string field = where + ".active[" + std::to_string(i) + "]";
    if (!active[i].is_string()) fail(field, "must be a label name");
    const int label = label_index(active[i].get<std::string>());
    if (label < 0) fail(field, "= \"" + active[i].get<std::string>() + "\" is not an emotion label");
    a.active.push_back(label);
  }
  const auto pad = triple(member(j, "pad", where), where + ".pad");
  a.pad = {float(pad[0]), float(pad[1]), float(pad[2])};
  a.confidence = float(number(member(j, "confidence", where), where + ".confidence"));
  return a;  // ranges of pad and confidence are checked by SpeakerAffect::set_state on restore
}

json speaker_json(const SpeakerSnapshot& s) {
  json cov = json::array();
  for (int i = 0; i < 6; ++i) {
    json row = json::array();
    for (int j = 0; j < 6; ++j) row.push_back(s.covariance[i * 6 + j]);
    cov.push_back(row);
  }
  json out = {
      {"emotion", json::array({s.mean[0], s.mean[1], s.mean[2]})},
      {"mood", json::array({s.mean[3], s.mean[4], s.mean[5]})},
      {"emotion_variance", json::array({s.covariance[0], s.covariance[7], s.covariance[14]})},
      {"mood_variance", json::array({s.covariance[21], s.covariance[28], s.covariance[35]})},
      {"covariance", cov},
  };
  if (s.last_appraisal) out["last_appraisal"] = appraisal_json(*s.last_appraisal);
  return out;
}

SpeakerSnapshot speaker_of(const json& j, const std::string& where) {
  require_object(j, where);
  SpeakerSnapshot s;
  const auto emotion = triple(member(j, "emotion", where), where + ".emotion");
  const auto mood = triple(member(j, "mood", where), where + ".mood");
  for (int k = 0; k < 3; ++k) {
    s.mean[k] = emotion[k];
    s.mean[3 + k] = mood[k];
  }
  const json& cov = member(j, "covariance", where);
  if (!cov.is_array() || cov.size() != 6) fail(where + ".covariance", "must be a 6×6 array of numbers");
  for (int i = 0; i < 6; ++i) {
    const std::string row_field = where + ".covariance[" + std::to_string(i) + "]";
    if (!cov[i].is_array() || cov[i].size() != 6) fail(row_field, "must be an array of 6 numbers");
    for (int c = 0; c < 6; ++c) s.covariance[i * 6 + c] = number(cov[i][c], row_field + "[" + std::to_string(c) + "]");
  }
  // The variances are a convenience for readers of the stored trajectory; a disagreement means
  // the record was edited or corrupted, and guessing which side is right would hide that.
  const auto ev = triple(member(j, "emotion_variance", where), where + ".emotion_variance");
  const auto mv = triple(member(j, "mood_variance", where), where + ".mood_variance");
  for (int k = 0; k < 3; ++k) {
    if (ev[k] != s.covariance[k * 7]) fail(where + ".emotion_variance", "disagrees with the covariance diagonal");
    if (mv[k] != s.covariance[(3 + k) * 7]) fail(where + ".mood_variance", "disagrees with the covariance diagonal");
  }
  if (j.contains("last_appraisal")) s.last_appraisal = appraisal_of(j.at("last_appraisal"), where + ".last_appraisal");
  return s;
}

bool same(const Appraisal& a, const Appraisal& b) {
  return a.labels == b.labels && a.active == b.active && a.pad == b.pad && a.confidence == b.confidence;
}

}  // namespace

Pad SpeakerSnapshot::emotion() const { return {float(mean[0]), float(mean[1]), float(mean[2])}; }
Pad SpeakerSnapshot::mood() const { return {float(mean[3]), float(mean[4]), float(mean[5])}; }
Pad SpeakerSnapshot::emotion_variance() const {
  return {float(covariance[0]), float(covariance[7]), float(covariance[14])};
}
Pad SpeakerSnapshot::mood_variance() const {
  return {float(covariance[21]), float(covariance[28]), float(covariance[35])};
}

nlohmann::json AffectSnapshot::to_json() const {
  return {{"version", 1}, {"turn", turn}, {"character", speaker_json(character)}, {"user", speaker_json(user)}};
}

AffectSnapshot AffectSnapshot::from_json(const nlohmann::json& j) {
  require_object(j, "snapshot");
  const json& version = member(j, "version", "snapshot");
  if (!version.is_number_integer() || version.get<long long>() != 1) {
    fail("snapshot.version", "= " + version.dump() + " is not a supported version (1)");
  }
  AffectSnapshot s;
  const json& turn = member(j, "turn", "snapshot");
  if (!turn.is_number_integer() || turn.get<long long>() < 0 || turn.get<long long>() > std::numeric_limits<int>::max()) {
    fail("snapshot.turn", "must be a non-negative integer, got " + turn.dump());
  }
  s.turn = int(turn.get<long long>());
  s.character = speaker_of(member(j, "character", "snapshot"), "snapshot.character");
  s.user = speaker_of(member(j, "user", "snapshot"), "snapshot.user");
  return s;
}

bool operator==(const SpeakerSnapshot& a, const SpeakerSnapshot& b) {
  if (a.mean != b.mean || a.covariance != b.covariance) return false;
  if (a.last_appraisal.has_value() != b.last_appraisal.has_value()) return false;
  return !a.last_appraisal || same(*a.last_appraisal, *b.last_appraisal);
}

bool operator==(const AffectSnapshot& a, const AffectSnapshot& b) {
  return a.turn == b.turn && a.character == b.character && a.user == b.user;
}

}  // namespace kindred::affect
