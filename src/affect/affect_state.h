// The affect chain: the latent emotional state of each speaker in a session (personality → mood
// → emotion), tracked turn by turn by a Kalman filter over a linear-Gaussian state-space model.
// docs/AFFECT_CHAIN.md gives the equations, the defaults and why.
//
// State of one speaker: x = [emotion PAD (3), mood PAD (3)], covariance P (6×6). Per turn:
//   predict  e' = (1−γ)(ρ e + (1−ρ) m) + γ o        o: the other speaker's emotion (γ = 0 without one)
//            m' = (1−β)((1−α) m + α e) + β b        α = 1 − mood_inertia, b: the baseline mood
//            P' = F P Fᵀ + Q,  Q = diag(q_e ×3, q_m ×3)
//   observe  y = e + v,  v ~ N(0, R),  R = (r / confidence) I   (an appraisal's PAD; confidence 0
//            skips the update)
// Both prediction rows are convex combinations of points in [-1, 1]³, so a prediction stays in
// the cube; a Kalman update can overshoot (the mood moves through the emotion–mood covariance),
// so means are clamped into [-1, 1] after each update. The covariance is left as computed (a
// truncation approximation; the clamp is rarely active and only at the cube's faces).
//
// The chain drives two speakers: on a user turn the user's state predicts (contagion from the
// character's last emotion) and observes the appraisal of the user's message, then the
// character's state predicts (contagion from the user's emotion): that prediction is what the
// directive renders for the reply. On a character turn the appraisal of the reply it actually
// wrote is observed. Not thread-safe; one chain per session.
#pragma once
#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "affect/emotion.h"
#include "affect/personality.h"

namespace kindred::affect {

// One speaker's dynamics. Defaults and the personality links are explained in
// docs/AFFECT_CHAIN.md; validate() throws std::invalid_argument naming the field at fault.
struct AffectParams {
  float emotion_persistence = 0.6f;  // ρ in [0, 1): share of the emotion kept per turn (the rest moves to mood)
  float mood_inertia = 0.9f;         // in [0, 1]: the mood moves 1 − inertia of the way to the emotion per turn
  float baseline_pull = 0.05f;       // β in (0, 1]: share of the way back to the baseline mood per turn
  float empathy = 0.3f;              // γ in [0, 1]: contagion gain from the other speaker's emotion
  float expressiveness = 0.5f;       // in [0, 1]: how openly the emotion shows (directive and steering; not the filter)
  float emotion_noise = 0.04f;       // q_e > 0: per-turn process variance of each emotion axis
  float mood_noise = 0.002f;         // q_m > 0: per-turn process variance of each mood axis
  float observation_noise = 0.03f;   // r > 0: appraisal variance per axis at confidence 1
  Pad baseline;                      // b: the mood the speaker returns to (baseline_mood of the personality)

  // Baseline from the personality; settings the profile gives override the defaults; empathy
  // defaults to 0.3·(1 + 0.5·agreeableness) and emotion_noise to 0.04·(1 + 0.5·neuroticism).
  static AffectParams from(const Personality& personality, const AffectProfile& profile = {});
  void validate() const;
};

// One speaker's filtered state.
class SpeakerAffect {
 public:
  using Vec6 = std::array<double, 6>;   // emotion p, a, d, mood p, a, d
  using Mat6 = std::array<double, 36>;  // row-major

  // Starts at the baseline (emotion = mood = b) with the model's stationary covariance: the
  // spread the dynamics settle to without evidence. Validates the params.
  explicit SpeakerAffect(const AffectParams& params);

  const AffectParams& params() const { return params_; }
  Pad emotion() const;
  Pad mood() const;
  Pad emotion_variance() const;
  Pad mood_variance() const;
  const Vec6& mean() const { return x_; }
  const Mat6& covariance() const { return cov_; }
  const std::optional<Appraisal>& last_appraisal() const { return last_; }

  // One turn of dynamics; `other_emotion` null means no contagion this turn. It is treated as a
  // known control input (its own uncertainty is not propagated). Throws std::invalid_argument
  // when it is not finite or outside [-1, 1].
  void predict(const Pad* other_emotion);
  // Observes an appraisal of what this speaker said (its PAD, noise r / confidence). The appraisal
  // is remembered as last_appraisal() even at confidence 0, which leaves the state unchanged.
  // Throws std::invalid_argument when the confidence is outside [0, 1] or the PAD outside [-1, 1].
  void observe(const Appraisal& appraisal);

  // Replaces the state (a resumed session). Throws std::invalid_argument naming the bad part
  // (`where` prefixes the message, e.g. "snapshot.user").
  void set_state(const Vec6& mean, const Mat6& covariance, std::optional<Appraisal> last,
                 const std::string& where = "state");

 private:
  AffectParams params_;
  Vec6 x_{};
  Mat6 cov_{};
  std::optional<Appraisal> last_;
};

// A persisted speaker state: the exact filter state plus the last appraisal.
struct SpeakerSnapshot {
  SpeakerAffect::Vec6 mean{};
  SpeakerAffect::Mat6 covariance{};
  std::optional<Appraisal> last_appraisal;

  Pad emotion() const;
  Pad mood() const;
  Pad emotion_variance() const;
  Pad mood_variance() const;
};

// Both speakers after a turn. JSON (values are the exact doubles/floats, so a round trip is exact):
//   {"version":1,"turn":3,
//    "character":{"emotion":[p,a,d],"mood":[p,a,d],"emotion_variance":[…],"mood_variance":[…],
//                 "covariance":[[6 numbers] ×6],
//                 "last_appraisal":{"labels":{"joy":0.71,…},"active":["joy"],"pad":[p,a,d],"confidence":0.8}},
//    "user":{…}}
// Labels with probability 0 are left out of "labels"; "last_appraisal" is absent before the first
// appraisal; the variances are derived from the covariance and must agree with it on reading.
struct AffectSnapshot {
  int turn = 0;
  SpeakerSnapshot character, user;

  nlohmann::json to_json() const;
  // Throws std::invalid_argument naming the field (e.g. "snapshot.user.covariance[2][4]").
  static AffectSnapshot from_json(const nlohmann::json& json);
};
bool operator==(const SpeakerSnapshot& a, const SpeakerSnapshot& b);  // exact, appraisals included
bool operator==(const AffectSnapshot& a, const AffectSnapshot& b);

class AffectChain {
 public:
  AffectChain(const AffectParams& character, const AffectParams& user);

  SpeakerAffect& character() { return character_; }
  SpeakerAffect& user() { return user_; }
  const SpeakerAffect& character() const { return character_; }
  const SpeakerAffect& user() const { return user_; }

  // User predicts (contagion from the character) and observes; the character then predicts
  // (contagion from the user): its state is the one to render for the coming reply.
  void on_user_turn(const Appraisal& user_message);
  // The character observes what its reply actually expressed.
  void on_character_turn(const Appraisal& character_reply);

  AffectSnapshot snapshot(int turn) const;
  // Resumes from a snapshot (params stay those the chain was built with).
  void restore(const AffectSnapshot& snapshot);

 private:
  SpeakerAffect character_, user_;
};

// The emotion as a label mixture for fusion and steering: softmax over the 28 labels of
// −sharpness · ‖emotion − anchor‖ (Euclidean, in PAD). Neutral's anchor is the origin, so a calm
// state reads as neutral. Sums to 1. Throws std::invalid_argument unless sharpness > 0.
inline constexpr float kDefaultSharpness = 10.0f;
LabelProbs emotion_mixture(const Pad& emotion, float sharpness = kDefaultSharpness);

// How strong an emotion is: its distance from the origin (neutral), capped at 1. Label anchors
// lie at 0.3–1.05 from the origin, so a full-blown anchor emotion reads as roughly 0.5–1.
float intensity(const Pad& emotion);
float intensity(const SpeakerAffect& speaker);

}  // namespace kindred::affect
