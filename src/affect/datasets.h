// Loaders for the emotion corpora the classifier is trained and evaluated on, and the label
// mappings between them. Every loader throws std::runtime_error naming the file and line of the
// first malformed row (never skips one silently).
//
//   GoEmotions TSV (Demszky et al. 2020, Apache-2.0): text TAB comma-separated label ids TAB id.
//   CPED CSV (Chen et al. 2022, Apache-2.0): 18 columns, RFC 4180 quoting; we read Dialogue_ID,
//     Emotion and Utterance. Its 13 emotions map onto the 28 GoEmotions labels one to one, so
//     CPED's own 13-way scores can be read off the 28-label ones:
//       happy→joy, grateful→gratitude, relaxed→relief (pleasant, calm), positive-other→approval,
//       neutral→neutral, anger→anger, disgust→disgust, fear→fear, worried→nervousness,
//       sadness→sadness, depress (沮丧, dejected)→disappointment, astonished→surprise,
//       negative-other→annoyance (the most common mild negative label in GoEmotions).
//   EmoBank CSV (Buechel & Hahn 2017, CC BY-SA 4.0, evaluation only): id,split,V,A,D,text with
//     V/A/D on 1..5, mapped to [-1, 1] as (x - 3) / 2.
//   DailyDialog (Li et al. 2017, CC BY-NC-SA 4.0, evaluation only), the extracted text files:
//     dialogues_X.txt (utterances separated by "__eou__") and dialogues_emotion_X.txt beside it
//     (one integer per utterance: 0 none, 1 anger, 2 disgust, 3 fear, 4 happiness, 5 sadness,
//     6 surprise).
#pragma once
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "affect/emotion.h"
#include "affect/metrics.h"
#include "affect/text_classifier.h"

namespace kindred::affect {

// The whole file as bytes; throws std::runtime_error naming it when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// GoEmotions: labels are the 28 label ids (0..27).
std::vector<TrainExample> load_goemotions(const std::filesystem::path& tsv);

struct CpedExample {
  TrainExample example;     // labels: the one mapped GoEmotions label
  std::string dialogue_id;  // e.g. "27_000" (for splitting by dialogue)
  std::string emotion;      // CPED's own label, e.g. "depress"
};
std::vector<CpedExample> load_cped(const std::filesystem::path& csv);
// CPED emotion name → GoEmotions label index; -1 for a name CPED does not use.
int cped_to_goemotions(std::string_view cped_emotion);
// The 13 CPED emotions in the order above.
std::span<const std::string_view> cped_emotions();

struct VadExample {
  std::string id, split, text;
  Pad vad;  // valence, arousal, dominance in [-1, 1]
};
std::vector<VadExample> load_emobank(const std::filesystem::path& csv);

struct DailyDialogExample {
  std::string text;
  int emotion = 0;   // 0 none … 6 surprise
  int dialogue = 0;  // 0-based dialogue index in the file
};
// `dialogues` is dialogues_X.txt; the emotion file is found beside it (dialogues_emotion_X.txt).
std::vector<DailyDialogExample> load_dailydialog(const std::filesystem::path& dialogues);
inline constexpr int kDailyDialogClasses = 7;
std::span<const std::string_view> dailydialog_classes();  // "none", "anger", … "surprise"
// A GoEmotions label → DailyDialog class through the Ekman grouping of GoEmotions
// (ekman_mapping.json from the GoEmotions release): neutral → 0 (none).
int goemotions_to_dailydialog(int label);

// Runs the classifier over `data` and scores decide() against the labels (multi-label report
// over the classifier's labels). `probs`, when given, receives each example's probabilities.
ClassificationReport evaluate_classifier(const TextClassifier& classifier, std::span<const TrainExample> data,
                                         std::vector<std::vector<float>>* probs = nullptr);
// Mean F1 over the labels that have support (CPED uses 13 of the 28 labels).
double macro_f1_present(const ClassificationReport& report);

// RFC 4180 CSV: records with quoted fields ("" escapes a quote, newlines allowed inside quotes);
// a UTF-8 byte-order mark is skipped. Each record comes with the line it starts on. Throws on an
// unterminated quote, naming `name` and the line.
struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;
};
std::vector<CsvRecord> parse_csv(std::string_view text, const std::string& name);

}  // namespace kindred::affect
