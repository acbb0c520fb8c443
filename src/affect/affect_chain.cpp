// The Kalman filter behind affect_state.h: a 6-dimensional state, so the matrix algebra is a few
// fixed-size loops in double precision (the state is small; precision is free).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "affect/affect_state.h"

namespace kindred::affect {
namespace {

using Vec6 = SpeakerAffect::Vec6;
using Mat6 = SpeakerAffect::Mat6;

Mat6 mul(const Mat6& a, const Mat6& b) {
  Mat6 out{};
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < 6; ++k)
      for (int j = 0; j < 6; ++j) out[i * 6 + j] += a[i * 6 + k] * b[k * 6 + j];
  return out;
}

Mat6 transpose(const Mat6& a) {
  Mat6 out{};
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) out[j * 6 + i] = a[i * 6 + j];
  return out;
}

// a · b · aᵀ
Mat6 sandwich(const Mat6& a, const Mat6& b) { return mul(mul(a, b), transpose(a)); }

void symmetrize(Mat6& m) {
  for (int i = 0; i < 6; ++i)
    for (int j = i + 1; j < 6; ++j) m[i * 6 + j] = m[j * 6 + i] = 0.5 * (m[i * 6 + j] + m[j * 6 + i]);
}

// The transition matrix. `contagion` is γ when the other speaker's emotion enters, else 0.
Mat6 transition(const AffectParams& p, double contagion) {
  const double rho = p.emotion_persistence, alpha = 1.0 - p.mood_inertia, beta = p.baseline_pull;
  const double keep = 1.0 - contagion;
  Mat6 f{};
  for (int k = 0; k < 3; ++k) {
    f[k * 6 + k] = keep * rho;                              // e ← e
    f[k * 6 + 3 + k] = keep * (1.0 - rho);                  // e ← m
    f[(3 + k) * 6 + k] = (1.0 - beta) * alpha;              // m ← e
    f[(3 + k) * 6 + 3 + k] = (1.0 - beta) * (1.0 - alpha);  // m ← m
  }
  return f;
}

Mat6 process_noise(const AffectParams& p) {
  Mat6 q{};
  for (int k = 0; k < 3; ++k) {
    q[k * 6 + k] = p.emotion_noise;
    q[(3 + k) * 6 + 3 + k] = p.mood_noise;
  }
  return q;
}

// Σₖ Fᵏ Q Fᵏᵀ by doubling (P₂ₙ = Pₙ + Fⁿ Pₙ Fⁿᵀ, F²ⁿ = Fⁿ·Fⁿ): the fixed point of P = F P Fᵀ + Q.
// validate() keeps F's spectral radius below 1 (ρ < 1, β > 0), so the series converges.
Mat6 stationary_covariance(const AffectParams& p) {
  Mat6 f = transition(p, 0.0), cov = process_noise(p);
  for (int step = 0; step < 64; ++step) {
    cov = [&] {
      Mat6 next = sandwich(f, cov);
      for (int i = 0; i < 36; ++i) next[i] += cov[i];
      return next;
    }();
    f = mul(f, f);
    double largest = 0;
    for (double v : f) largest = std::max(largest, std::abs(v));
    if (largest < 1e-17) break;
  }
  symmetrize(cov);
  return cov;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void check_range(double v, double lo, double hi, bool lo_open, bool hi_open, const char* field) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (!ok) {
    throw std::invalid_argument(std::string("affect params: ") + field + " = " + num(v) + " is outside " +
                                (lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]"));
  }
}

// A PAD that must already be in the cube: appraisers and the chain only produce such points, so
// anything else is a bug upstream, not a value to clamp quietly. 1e-4 absorbs float rounding.
Pad checked_pad(const Pad& pad, const std::string& what) {
  for (int k = 0; k < 3; ++k) {
    if (!std::isfinite(pad[k]) || std::abs(pad[k]) > 1.0f + 1e-4f) {
      throw std::invalid_argument(what + "[" + std::to_string(k) + "] = " + num(pad[k]) +
                                  " is not a PAD value in [-1, 1]");
    }
  }
  return clamp(pad);
}

void clamp_mean(Vec6& x) {
  for (double& v : x) v = std::clamp(v, -1.0, 1.0);
}

// Inverse of a symmetric positive-definite 3×3 (the innovation covariance), by adjugate.
std::array<double, 9> inverse3(const std::array<double, 9>& s) {
  std::array<double, 9> inv{};
  const double det = s[0] * (s[4] * s[8] - s[5] * s[7]) - s[1] * (s[3] * s[8] - s[5] * s[6]) +
                     s[2] * (s[3] * s[7] - s[4] * s[6]);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      const int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
      inv[i * 3 + j] = (s[r0 * 3 + c0] * s[r1 * 3 + c1] - s[r0 * 3 + c1] * s[r1 * 3 + c0]) / det;
    }
  return inv;
}

}  // namespace

// --- AffectParams -------------------------------------------------------------------------------

AffectParams AffectParams::from(const Personality& personality, const AffectProfile& profile) {
  AffectParams p;
  p.baseline = baseline_mood(personality);
  // Agreeable people report more empathic concern (Graziano, Habashi, Sheese & Tobin 2007, JPSP
  // 93(4)); neurotic people's affect varies more from moment to moment (Eid & Diener 1999, JPSP
  // 76(4)). The ±50 % scales are set here, not published.
  p.empathy = 0.3f * (1.0f + 0.5f * personality.agreeableness);
  p.emotion_noise = 0.04f * (1.0f + 0.5f * personality.neuroticism);
  if (profile.emotion_persistence) p.emotion_persistence = *profile.emotion_persistence;
  if (profile.mood_inertia) p.mood_inertia = *profile.mood_inertia;
  if (profile.empathy) p.empathy = *profile.empathy;
  if (profile.expressiveness) p.expressiveness = *profile.expressiveness;
  p.validate();
  return p;
}

void AffectParams::validate() const {
  // ρ = 1 or β = 0 would give the dynamics an eigenvalue of 1: no stationary spread, and an
  // emotion or mood that never settles.
  check_range(emotion_persistence, 0, 1, false, true, "emotion_persistence");
  check_range(mood_inertia, 0, 1, false, false, "mood_inertia");
  check_range(baseline_pull, 0, 1, true, false, "baseline_pull");
  check_range(empathy, 0, 1, false, false, "empathy");
  check_range(expressiveness, 0, 1, false, false, "expressiveness");
  check_range(emotion_noise, 0, 1, true, false, "emotion_noise");
  check_range(mood_noise, 0, 1, true, false, "mood_noise");
  check_range(observation_noise, 0, 1, true, false, "observation_noise");
  for (int k = 0; k < 3; ++k) {
    static constexpr const char* kNames[] = {"baseline.p", "baseline.a", "baseline.d"};
    check_range(baseline[k], -1, 1, false, false, kNames[k]);
  }
}

// --- SpeakerAffect ------------------------------------------------------------------------------

SpeakerAffect::SpeakerAffect(const AffectParams& params) : params_(params) {
  params_.validate();
  for (int k = 0; k < 3; ++k) x_[k] = x_[3 + k] = params_.baseline[k];
  cov_ = stationary_covariance(params_);
}

Pad SpeakerAffect::emotion() const { return {float(x_[0]), float(x_[1]), float(x_[2])}; }
Pad SpeakerAffect::mood() const { return {float(x_[3]), float(x_[4]), float(x_[5])}; }
Pad SpeakerAffect::emotion_variance() const { return {float(cov_[0]), float(cov_[7]), float(cov_[14])}; }
Pad SpeakerAffect::mood_variance() const { return {float(cov_[21]), float(cov_[28]), float(cov_[35])}; }

void SpeakerAffect::predict(const Pad* other_emotion) {
  Pad other;
  double gamma = 0;
  if (other_emotion) {
    other = checked_pad(*other_emotion, "predict: other speaker's emotion");
    gamma = params_.empathy;
  }
  const Mat6 f = transition(params_, gamma);
  Vec6 next{};
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) next[i] += f[i * 6 + j] * x_[j];
  for (int k = 0; k < 3; ++k) {
    next[k] += gamma * other[k];                           // control input: contagion
    next[3 + k] += params_.baseline_pull * params_.baseline[k];  // control input: baseline pull
  }
  clamp_mean(next);  // a no-op up to rounding: both rows are convex combinations
  x_ = next;
  cov_ = sandwich(f, cov_);
  const Mat6 q = process_noise(params_);
  for (int i = 0; i < 36; ++i) cov_[i] += q[i];
  symmetrize(cov_);
}

void SpeakerAffect::observe(const Appraisal& appraisal) {
  const float c = appraisal.confidence;
  if (!std::isfinite(c) || c < 0 || c > 1) {
    throw std::invalid_argument("observe: appraisal confidence = " + num(c) + " is outside [0, 1]");
  }
  const Pad y = checked_pad(appraisal.pad, "observe: appraisal pad");
  last_ = appraisal;
  if (c == 0) return;  // no evidence: R is infinite
  const double r = params_.observation_noise / c;

  // S = H P Hᵀ + R: the emotion block plus R.
  std::array<double, 9> s{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) s[i * 3 + j] = cov_[i * 6 + j] + (i == j ? r : 0.0);
  const auto s_inv = inverse3(s);
  // K = P Hᵀ S⁻¹ (6×3): P's first three columns times S⁻¹.
  std::array<double, 18> gain{};
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) gain[i * 3 + j] += cov_[i * 6 + k] * s_inv[k * 3 + j];

  std::array<double, 3> innovation{};
  for (int k = 0; k < 3; ++k) innovation[k] = y[k] - x_[k];
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < 3; ++k) x_[i] += gain[i * 3 + k] * innovation[k];
  clamp_mean(x_);

  // Joseph form, P = (I − KH) P (I − KH)ᵀ + K R Kᵀ: stays symmetric positive semi-definite under
  // rounding, which the short form (I − KH) P does not guarantee.
  Mat6 a{};
  for (int i = 0; i < 6; ++i) {
    a[i * 6 + i] = 1.0;
    for (int k = 0; k < 3; ++k) a[i * 6 + k] -= gain[i * 3 + k];
  }
  Mat6 next = sandwich(a, cov_);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j)
      for (int k = 0; k < 3; ++k) next[i * 6 + j] += gain[i * 3 + k] * r * gain[j * 3 + k];
  symmetrize(next);
  cov_ = next;
}

void SpeakerAffect::set_state(const Vec6& mean, const Mat6& covariance, std::optional<Appraisal> last,
                              const std::string& where) {
  for (int i = 0; i < 6; ++i) {
    if (!std::isfinite(mean[i]) || mean[i] < -1 || mean[i] > 1) {
      throw std::invalid_argument(where + (i < 3 ? ".emotion[" : ".mood[") + std::to_string(i % 3) +
                                  "] = " + num(mean[i]) + " is not a PAD value in [-1, 1]");
    }
  }
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) {
      const double v = covariance[i * 6 + j], t = covariance[j * 6 + i];
      const std::string at = where + ".covariance[" + std::to_string(i) + "][" + std::to_string(j) + "]";
      if (!std::isfinite(v)) throw std::invalid_argument(at + " is not finite");
      if (i == j && v < 0) throw std::invalid_argument(at + " = " + num(v) + " is a negative variance");
      if (v != t) throw std::invalid_argument(at + " differs from its transpose: the covariance must be symmetric");
    }
  }
  if (last) {
    const float c = last->confidence;
    if (!std::isfinite(c) || c < 0 || c > 1) {
      throw std::invalid_argument(where + ".last_appraisal.confidence = " + num(c) + " is outside [0, 1]");
    }
    checked_pad(last->pad, where + ".last_appraisal.pad");
  }
  x_ = mean;
  cov_ = covariance;
  last_ = std::move(last);
}

// --- AffectChain --------------------------------------------------------------------------------

AffectChain::AffectChain(const AffectParams& character, const AffectParams& user) : character_(character), user_(user) {}

void AffectChain::on_user_turn(const Appraisal& user_message) {
  const Pad character_emotion = character_.emotion();
  user_.predict(&character_emotion);
  user_.observe(user_message);
  const Pad user_emotion = user_.emotion();
  character_.predict(&user_emotion);
}

void AffectChain::on_character_turn(const Appraisal& character_reply) { character_.observe(character_reply); }

AffectSnapshot AffectChain::snapshot(int turn) const {
  if (turn < 0) throw std::invalid_argument("AffectChain::snapshot: turn = " + std::to_string(turn) + " is negative");
  AffectSnapshot s;
  s.turn = turn;
  s.character = {character_.mean(), character_.covariance(), character_.last_appraisal()};
  s.user = {user_.mean(), user_.covariance(), user_.last_appraisal()};
  return s;
}

void AffectChain::restore(const AffectSnapshot& snapshot) {
  // Validate both before changing either, so a bad snapshot leaves the chain as it was.
  SpeakerAffect character = character_, user = user_;
  character.set_state(snapshot.character.mean, snapshot.character.covariance, snapshot.character.last_appraisal,
                      "snapshot.character");
  user.set_state(snapshot.user.mean, snapshot.user.covariance, snapshot.user.last_appraisal, "snapshot.user");
  character_ = std::move(character);
  user_ = std::move(user);
}

// --- Label mixture and intensity ----------------------------------------------------------------

LabelProbs emotion_mixture(const Pad& emotion, float sharpness) {
  if (!std::isfinite(sharpness) || sharpness <= 0) {
    throw std::invalid_argument("emotion_mixture: sharpness = " + num(sharpness) + " must be > 0");
  }
  checked_pad(emotion, "emotion_mixture: emotion");
  std::array<double, kNumLabels> logits{};
  double best = -1e300;
  for (int i = 0; i < kNumLabels; ++i) {
    const Pad& a = label_anchor(i);
    const double dp = emotion.p - a.p, da = emotion.a - a.a, dd = emotion.d - a.d;
    logits[i] = -double(sharpness) * std::sqrt(dp * dp + da * da + dd * dd);
    best = std::max(best, logits[i]);
  }
  double sum = 0;
  for (double& l : logits) sum += (l = std::exp(l - best));  // shifted: no underflow of every term
  LabelProbs out{};
  for (int i = 0; i < kNumLabels; ++i) out[i] = float(logits[i] / sum);
  return out;
}

float intensity(const Pad& emotion) {
  return std::min(1.0f, std::sqrt(emotion.p * emotion.p + emotion.a * emotion.a + emotion.d * emotion.d));
}

float intensity(const SpeakerAffect& speaker) { return intensity(speaker.emotion()); }

}  // namespace kindred::affect
