// Labelled intent data: the BANKING77 and CLINC150 loaders, inventories as data, and
// the stratified held-out split used to tune thresholds and hyper-parameters.
#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

#include "affect/datasets.h"
#include "affect/intent.h"

namespace kindred::affect {
namespace {


// Utterances in the public sets carry stray newlines and spaces around them (BANKING77 has
// "\nHow do I unblock my PIN?"); they say nothing about the intent.
std::string trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

std::vector<LabeledUtterance> load_banking77_csv(const std::filesystem::path& path) {
  const std::string source = path.string();
  const std::vector<CsvRecord> rows = parse_csv(read_file(path), source);
  if (rows.empty() || rows[0].fields != std::vector<std::string>{"text", "category"}) {
    throw std::runtime_error(source + ":1: expected the BANKING77 header \"text,category\"");
  }
  std::vector<LabeledUtterance> out;
  out.reserve(rows.size() - 1);
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    const std::string where = source + ":" + std::to_string(rows[r].line);
    if (f.size() != 2) throw std::runtime_error(where + ": expected 2 fields, got " + std::to_string(f.size()));
    LabeledUtterance u{trim(f[0]), trim(f[1])};
    if (u.text.empty()) throw std::runtime_error(where + ": empty text");
    if (u.intent.empty()) throw std::runtime_error(where + ": empty category");
    out.push_back(std::move(u));
  }
  if (out.empty()) throw std::runtime_error(source + ": no rows");
  return out;
}

namespace {

std::vector<std::string> intents_in_order(const std::vector<LabeledUtterance>& data) {
  std::vector<std::string> names;
  std::map<std::string, int> seen;
  for (const auto& u : data) {
    if (!u.intent.empty() && seen.emplace(u.intent, int(names.size())).second) names.push_back(u.intent);
  }
  return names;
}

void check_labels_known(const std::vector<LabeledUtterance>& data, const std::vector<std::string>& intents,
                        const std::string& what) {
  for (size_t i = 0; i < data.size(); ++i) {
    if (!data[i].intent.empty() && std::find(intents.begin(), intents.end(), data[i].intent) == intents.end()) {
      throw std::runtime_error(what + ": example " + std::to_string(i) + " has intent \"" + data[i].intent +
                               "\", which the training split never uses");
    }
  }
}

}  // namespace

IntentDataset load_banking77(const std::filesystem::path& dir_or_file) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::is_directory(dir_or_file) ? dir_or_file : dir_or_file.parent_path();
  IntentDataset ds;
  ds.train = load_banking77_csv(dir / "train.csv");
  ds.test = load_banking77_csv(dir / "test.csv");
  ds.intents = intents_in_order(ds.train);
  check_labels_known(ds.test, ds.intents, (dir / "test.csv").string());
  return ds;
}

IntentDataset load_clinc150(const std::filesystem::path& path) {
  const std::string source = path.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(source + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) throw std::runtime_error(source + ": expected a JSON object with train/val/test lists");
  const auto read_split = [&](const char* key, bool oos, std::vector<LabeledUtterance>& out) {
    if (!j.contains(key)) throw std::runtime_error(source + ": missing \"" + key + "\"");
    const auto& list = j[key];
    if (!list.is_array()) throw std::runtime_error(source + ": \"" + key + "\" is not a list");
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& item = list[i];
      const std::string where = source + ": " + key + "[" + std::to_string(i) + "]";
      if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_string()) {
        throw std::runtime_error(where + ": expected [utterance, intent] strings");
      }
      LabeledUtterance u{trim(item[0].get<std::string>()), oos ? "" : item[1].get<std::string>()};
      if (u.text.empty()) throw std::runtime_error(where + ": empty utterance");
      if (!oos && (u.intent.empty() || u.intent == "oos")) {
        throw std::runtime_error(where + ": in-scope split with intent \"" + u.intent + "\"");
      }
      out.push_back(std::move(u));
    }
  };
  IntentDataset ds;
  read_split("train", false, ds.train);
  read_split("val", false, ds.dev);
  read_split("test", false, ds.test);
  read_split("oos_val", true, ds.dev);
  read_split("oos_test", true, ds.test);
  ds.intents = intents_in_order(ds.train);
  check_labels_known(ds.dev, ds.intents, source + " val");
  check_labels_known(ds.test, ds.intents, source + " test");
  return ds;
}

// Written for Kindred: everyday requests a general assistant gets and a shop, support desk or
// character does not handle. Deliberately free of shopping, money, greetings and small talk, which
// many inventories do cover.
const std::vector<std::string>& background_utterances() {
  static const std::vector<std::string> kSentences = {
      "what's the weather going to be like tomorrow", "will it snow this weekend", "how hot is it outside",
      "is it going to rain in the afternoon", "what is the capital of australia", "who wrote pride and prejudice",
      "how far is the moon from the earth", "when did the second world war end", "how many bones are in the human body",
      "what is the tallest mountain in the world", "who painted the mona lisa", "what's the population of brazil",
      "play some relaxing piano music", "skip to the next song", "turn the volume up", "who sings this song",
      "recommend a good horror movie", "what time does the game start tonight", "who won the basketball match",
      "what's the score of the football game", "set an alarm for six thirty", "remind me to call my mother at noon",
      "add milk to my grocery list", "what time is it in tokyo", "start a timer for ten minutes",
      "how do i make pancakes", "give me a recipe for lasagna", "how long should i boil an egg",
      "what's 17 times 23", "solve x squared minus four equals zero", "convert 10 miles to kilometers",
      "what is the square root of 144", "translate good night into german", "how do you spell necessary",
      "what does the word ubiquitous mean", "write a haiku about autumn", "tell me a fun fact about octopuses",
      "how do i fix a python syntax error", "what is a neural network", "how do i reset my wifi router",
      "what are the symptoms of the flu", "how many calories are in an apple", "suggest a workout for my legs",
      "how much sleep does an adult need", "book me a flight to paris", "what's the best time to visit iceland",
      "how do i get to the train station", "find a sushi restaurant near me", "what's in the news today",
      "who is the president of france", "explain how photosynthesis works", "why is the sky blue",
      "how do airplanes stay in the air", "what's the speed of light", "turn off the living room lights",
      "set the thermostat to 21 degrees", "call a taxi to the airport", "read me my new emails",
      "schedule a meeting with the team on monday", "what's on my calendar tomorrow"};
  return kSentences;
}

IntentDataset inventory_dataset(const IntentInventory& inventory) {
  IntentDataset ds;
  ds.intents = inventory.names();
  for (const Intent& intent : inventory.intents) {
    for (const auto& e : intent.examples) ds.test.push_back({e, intent.name});
  }
  for (const auto& e : inventory.out_of_scope_examples) ds.test.push_back({e, ""});
  return ds;
}

std::pair<std::vector<LabeledUtterance>, std::vector<LabeledUtterance>> split_holdout(
    const std::vector<LabeledUtterance>& data, double fraction, uint64_t seed) {
  if (!(fraction >= 0 && fraction < 1)) throw std::invalid_argument("held-out fraction must be in [0, 1)");
  std::map<std::string, std::vector<size_t>> by_intent;  // "" groups the out-of-scope ones
  for (size_t i = 0; i < data.size(); ++i) by_intent[data[i].intent].push_back(i);
  std::mt19937_64 rng(seed);
  std::vector<char> held(data.size(), 0);
  for (auto& [name, idx] : by_intent) {
    std::shuffle(idx.begin(), idx.end(), rng);
    size_t k = size_t(double(idx.size()) * fraction + 0.5);
    if (fraction > 0 && idx.size() >= 2) k = std::clamp<size_t>(k, 1, idx.size() - 1);
    if (idx.size() < 2) k = 0;
    for (size_t j = 0; j < k; ++j) held[idx[j]] = 1;
  }
  std::pair<std::vector<LabeledUtterance>, std::vector<LabeledUtterance>> out;
  for (size_t i = 0; i < data.size(); ++i) (held[i] ? out.second : out.first).push_back(data[i]);
  return out;
}

}  // namespace kindred::affect
