// Corpus loaders and label mappings (see datasets.h for the formats and licences).
#include "affect/datasets.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kindred::affect {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read " + path.string());
  return s.str();
}

namespace {

[[noreturn]] void bad_row(const std::filesystem::path& path, int line, const std::string& why) {
  throw std::runtime_error(path.string() + ":" + std::to_string(line) + ": " + why);
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_int(std::string_view s, int& out) {
  s = trim(s);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

bool parse_double(std::string_view s, double& out) {
  const std::string str(trim(s));
  if (str.empty()) return false;
  char* end = nullptr;
  out = std::strtod(str.c_str(), &end);
  return end == str.c_str() + str.size();
}

constexpr std::array<std::string_view, 13> kCped = {"happy",      "grateful", "relaxed", "positive-other", "neutral",
                                                    "anger",      "disgust",  "fear",    "worried",        "sadness",
                                                    "depress",    "astonished", "negative-other"};
constexpr std::array<std::string_view, 13> kCpedTo = {"joy",      "gratitude",     "relief",  "approval",    "neutral",
                                                      "anger",    "disgust",       "fear",    "nervousness", "sadness",
                                                      "disappointment", "surprise", "annoyance"};
constexpr std::array<std::string_view, kDailyDialogClasses> kDd = {"none",      "anger",   "disgust", "fear",
                                                                   "happiness", "sadness", "surprise"};

}  // namespace

std::vector<CsvRecord> parse_csv(std::string_view text, const std::string& name) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> out;
  int line = 1;
  size_t i = 0;
  while (i < text.size()) {
    CsvRecord rec;
    rec.line = line;
    std::string field;
    bool end_record = false;
    while (!end_record) {
      field.clear();
      if (i < text.size() && text[i] == '"') {
        const int quote_line = line;
        ++i;
        while (true) {
          if (i >= text.size()) throw std::runtime_error(name + ":" + std::to_string(quote_line) + ": unterminated quoted field");
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        // Characters after the closing quote up to the separator are kept (lenient, as
        // spreadsheet exports sometimes write `"a"b`); a stray quote there is an error.
        while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"') throw std::runtime_error(name + ":" + std::to_string(line) + ": stray quote after a quoted field");
          field += text[i++];
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') field += text[i++];
      }
      rec.fields.push_back(field);
      if (i >= text.size()) {
        end_record = true;
      } else if (text[i] == ',') {
        ++i;
      } else {
        if (text[i] == '\r') ++i;
        if (i < text.size() && text[i] == '\n') ++i;
        ++line;
        end_record = true;
      }
    }
    if (!(rec.fields.size() == 1 && rec.fields[0].empty())) out.push_back(std::move(rec));  // blank line
  }
  return out;
}

std::vector<TrainExample> load_goemotions(const std::filesystem::path& tsv) {
  const std::string text = read_file(tsv);
  std::vector<TrainExample> out;
  int line_no = 0;
  for (std::string_view line : split_lines(text)) {
    ++line_no;
    if (line.empty()) continue;
    const size_t t1 = line.find('\t');
    const size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos) bad_row(tsv, line_no, "expected text TAB label ids TAB id");
    TrainExample ex;
    ex.text = std::string(line.substr(0, t1));
    std::string_view ids = line.substr(t1 + 1, t2 - t1 - 1);
    while (true) {
      const size_t comma = ids.find(',');
      int id = 0;
      if (!parse_int(ids.substr(0, comma), id) || id < 0 || id >= kNumLabels) {
        bad_row(tsv, line_no, "label id '" + std::string(ids.substr(0, comma)) + "' is not in 0..27");
      }
      if (std::find(ex.labels.begin(), ex.labels.end(), id) == ex.labels.end()) ex.labels.push_back(id);
      if (comma == std::string_view::npos) break;
      ids.remove_prefix(comma + 1);
    }
    out.push_back(std::move(ex));
  }
  if (out.empty()) throw std::runtime_error(tsv.string() + ": no examples");
  return out;
}

std::span<const std::string_view> cped_emotions() { return kCped; }

int cped_to_goemotions(std::string_view cped_emotion) {
  for (size_t i = 0; i < kCped.size(); ++i) {
    if (kCped[i] == cped_emotion) return label_index(kCpedTo[i]);
  }
  return -1;
}

std::vector<CpedExample> load_cped(const std::filesystem::path& csv) {
  const auto records = parse_csv(read_file(csv), csv.string());
  if (records.empty()) throw std::runtime_error(csv.string() + ": empty file");
  const auto& header = records[0].fields;
  auto column = [&](std::string_view name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw std::runtime_error(csv.string() + ":1: no column '" + std::string(name) + "'");
    return size_t(it - header.begin());
  };
  const size_t c_dialogue = column("Dialogue_ID"), c_emotion = column("Emotion"), c_text = column("Utterance");
  std::vector<CpedExample> out;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& f = records[r].fields;
    if (f.size() != header.size()) {
      bad_row(csv, records[r].line, std::to_string(f.size()) + " fields, header has " + std::to_string(header.size()));
    }
    const int label = cped_to_goemotions(f[c_emotion]);
    if (label < 0) bad_row(csv, records[r].line, "unknown CPED emotion '" + f[c_emotion] + "'");
    CpedExample ex;
    ex.example.text = f[c_text];
    ex.example.labels = {label};
    ex.dialogue_id = f[c_dialogue];
    ex.emotion = f[c_emotion];
    out.push_back(std::move(ex));
  }
  if (out.empty()) throw std::runtime_error(csv.string() + ": no examples");
  return out;
}

std::vector<VadExample> load_emobank(const std::filesystem::path& csv) {
  const auto records = parse_csv(read_file(csv), csv.string());
  if (records.empty()) throw std::runtime_error(csv.string() + ": empty file");
  const std::vector<std::string> want = {"id", "split", "V", "A", "D", "text"};
  if (records[0].fields != want) throw std::runtime_error(csv.string() + ":1: expected the header id,split,V,A,D,text");
  std::vector<VadExample> out;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& f = records[r].fields;
    if (f.size() != 6) bad_row(csv, records[r].line, std::to_string(f.size()) + " fields, expected 6");
    VadExample ex;
    ex.id = f[0];
    ex.split = f[1];
    ex.text = f[5];
    for (int d = 0; d < 3; ++d) {
      double v = 0;
      if (!parse_double(f[size_t(2 + d)], v) || v < 1 || v > 5) {
        bad_row(csv, records[r].line, std::string(1, "VAD"[d]) + " value '" +
                                          f[size_t(2 + d)] + "' is not a number in 1..5");
      }
      ex.vad[d] = float((v - 3.0) / 2.0);
    }
    out.push_back(std::move(ex));
  }
  if (out.empty()) throw std::runtime_error(csv.string() + ": no examples");
  return out;
}

std::span<const std::string_view> dailydialog_classes() { return kDd; }

int goemotions_to_dailydialog(int label) {
  static const std::array<int, kNumLabels> map = [] {
    // ekman_mapping.json: anger {anger, annoyance, disapproval}, disgust {disgust}, fear {fear,
    // nervousness}, joy {the twelve positive labels}, sadness {sadness, disappointment,
    // embarrassment, grief, remorse}, surprise {surprise, realization, confusion, curiosity}.
    const std::array<std::pair<std::string_view, int>, 27> groups = {{
        {"anger", 1},        {"annoyance", 1},  {"disapproval", 1},    {"disgust", 2},   {"fear", 3},
        {"nervousness", 3},  {"joy", 4},        {"amusement", 4},      {"approval", 4},  {"excitement", 4},
        {"gratitude", 4},    {"love", 4},       {"optimism", 4},       {"relief", 4},    {"pride", 4},
        {"admiration", 4},   {"desire", 4},     {"caring", 4},         {"sadness", 5},   {"disappointment", 5},
        {"embarrassment", 5}, {"grief", 5},     {"remorse", 5},        {"surprise", 6},  {"realization", 6},
        {"confusion", 6},    {"curiosity", 6},
    }};
    std::array<int, kNumLabels> m{};
    m.fill(0);
    for (const auto& [name, cls] : groups) m[size_t(label_index(name))] = cls;
    return m;
  }();
  if (label < 0 || label >= kNumLabels) throw std::out_of_range("emotion label " + std::to_string(label) + " is not in [0, 28)");
  return map[size_t(label)];
}

std::vector<DailyDialogExample> load_dailydialog(const std::filesystem::path& dialogues) {
  const std::string fname = dialogues.filename().string();
  if (fname.rfind("dialogues_", 0) != 0) {
    throw std::runtime_error(dialogues.string() + ": expected a DailyDialog dialogues_X.txt file");
  }
  const auto emotions = dialogues.parent_path() / ("dialogues_emotion_" + fname.substr(10));
  const std::string dtext = read_file(dialogues), etext = read_file(emotions);
  const auto dlines = split_lines(dtext), elines = split_lines(etext);
  auto nonblank = [](const std::vector<std::string_view>& v) {
    return size_t(std::count_if(v.begin(), v.end(), [](std::string_view s) { return !trim(s).empty(); }));
  };
  if (nonblank(dlines) != nonblank(elines)) {
    throw std::runtime_error(dialogues.string() + " has " + std::to_string(nonblank(dlines)) + " dialogues but " +
                             emotions.string() + " has " + std::to_string(nonblank(elines)));
  }
  std::vector<DailyDialogExample> out;
  size_t e = 0;
  int dialogue = 0;
  for (size_t d = 0; d < dlines.size(); ++d) {
    if (trim(dlines[d]).empty()) continue;
    while (e < elines.size() && trim(elines[e]).empty()) ++e;
    std::vector<std::string> utts;
    std::string_view rest = dlines[d];
    while (true) {
      const size_t pos = rest.find("__eou__");
      std::string_view u = trim(rest.substr(0, pos));
      if (pos == std::string_view::npos) {
        if (!u.empty()) bad_row(dialogues, int(d + 1), "text after the last __eou__");
        break;
      }
      utts.emplace_back(u);
      rest.remove_prefix(pos + 7);
    }
    std::vector<int> labels;
    std::string_view el = trim(elines[e]);
    while (!el.empty()) {
      const size_t sp = el.find(' ');
      int v = 0;
      if (!parse_int(el.substr(0, sp), v) || v < 0 || v >= kDailyDialogClasses) {
        bad_row(emotions, int(e + 1), "emotion '" + std::string(el.substr(0, sp)) + "' is not in 0..6");
      }
      labels.push_back(v);
      if (sp == std::string_view::npos) break;
      el = trim(el.substr(sp + 1));
    }
    if (labels.size() != utts.size()) {
      bad_row(emotions, int(e + 1), std::to_string(labels.size()) + " emotions for " + std::to_string(utts.size()) +
                                        " utterances on line " + std::to_string(d + 1) + " of " + dialogues.string());
    }
    for (size_t u = 0; u < utts.size(); ++u) out.push_back({std::move(utts[u]), labels[u], dialogue});
    ++dialogue;
    ++e;
  }
  if (out.empty()) throw std::runtime_error(dialogues.string() + ": no utterances");
  return out;
}

ClassificationReport evaluate_classifier(const TextClassifier& classifier, std::span<const TrainExample> data,
                                         std::vector<std::vector<float>>* probs) {
  std::vector<std::vector<int>> truth, predicted;
  truth.reserve(data.size());
  predicted.reserve(data.size());
  if (probs) probs->clear();
  for (const auto& ex : data) {
    auto p = classifier.predict(ex.text);
    predicted.push_back(classifier.decide(p));
    truth.push_back(ex.labels);
    if (probs) probs->push_back(std::move(p));
  }
  return evaluate_multilabel(truth, predicted, classifier.n_labels());
}

double macro_f1_present(const ClassificationReport& report) {
  double sum = 0;
  int n = 0;
  for (const auto& s : report.labels) {
    if (s.support > 0) {
      sum += s.f1;
      ++n;
    }
  }
  return n ? sum / n : 0.0;
}

}  // namespace kindred::affect
