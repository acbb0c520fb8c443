// Corpus loaders: formats, label mappings, and malformed rows reported with file and line.
#include "affect/datasets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "test_data.h"

namespace kindred::affect {
namespace {

std::filesystem::path write(const std::string& name, const std::string& text) {
  const auto p = test::temp_dir() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Csv, HandlesQuotingAndReportsUnterminatedQuotes) {
  const auto r = parse_csv("\xEF\xBB\xBF" "a,b\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",z\n\n", "t.csv");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].fields, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r[1].fields, (std::vector<std::string>{"x, y", "say \"hi\""}));
  EXPECT_EQ(r[2].fields, (std::vector<std::string>{"multi\nline", "z"}));
  EXPECT_EQ(r[2].line, 3);
  EXPECT_NE(error_of([] { parse_csv("a\n\"open,b\n", "t.csv"); }).find("t.csv:2"), std::string::npos);
}

TEST(GoEmotions, LoadsAndRejectsBadRows) {
  const auto p = write("go.tsv", "I love it\t18\tabc\nmeh\t27,3\tdef\n");
  const auto d = load_goemotions(p);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].labels, (std::vector<int>{27, 3}));
  const auto bad = write("bad.tsv", "fine\t1\tx\nno tabs here\n");
  EXPECT_NE(error_of([&] { load_goemotions(bad); }).find("bad.tsv:2"), std::string::npos);
  const auto range = write("range.tsv", "x\t28\ty\n");
  EXPECT_NE(error_of([&] { load_goemotions(range); }).find("range.tsv:1"), std::string::npos);
}

TEST(Cped, MapsItsThirteenEmotionsOntoDistinctLabels) {
  std::set<int> mapped;
  for (auto e : cped_emotions()) {
    const int l = cped_to_goemotions(e);
    ASSERT_GE(l, 0) << e;
    mapped.insert(l);
  }
  EXPECT_EQ(mapped.size(), 13u);
  EXPECT_EQ(cped_to_goemotions("happy"), label_index("joy"));
  EXPECT_EQ(cped_to_goemotions("nope"), -1);
  const std::string header = "TV_ID,Dialogue_ID,Utterance_ID,Speaker,Emotion,Utterance\n";
  const auto p = write("c.csv", header + "1,1_000,1_000_000,A,happy,\"好,开心\"\n1,1_000,1_000_001,B,worried,怎么办\n");
  const auto d = load_cped(p);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].example.text, "好,开心");
  EXPECT_EQ(d[1].example.labels, std::vector<int>{label_index("nervousness")});
  EXPECT_EQ(d[1].dialogue_id, "1_000");
  const auto bad = write("cb.csv", header + "1,1_000,1_000_000,A,elated,x\n");
  EXPECT_NE(error_of([&] { load_cped(bad); }).find("cb.csv:2"), std::string::npos);
  const auto short_row = write("cs.csv", header + "1,1_000,A\n");
  EXPECT_NE(error_of([&] { load_cped(short_row); }).find("cs.csv:2"), std::string::npos);
}

TEST(EmoBank, MapsVadToUnitRange) {
  const auto p = write("e.csv", "id,split,V,A,D,text\na,test,5.0,1.0,3.0,\"Hi, there\"\n");
  const auto d = load_emobank(p);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FLOAT_EQ(d[0].vad.p, 1.0f);
  EXPECT_FLOAT_EQ(d[0].vad.a, -1.0f);
  EXPECT_FLOAT_EQ(d[0].vad.d, 0.0f);
  EXPECT_EQ(d[0].text, "Hi, there");
  const auto bad = write("eb.csv", "id,split,V,A,D,text\na,test,x,1,1,t\n");
  EXPECT_NE(error_of([&] { load_emobank(bad); }).find("eb.csv:2"), std::string::npos);
}

TEST(DailyDialog, SplitsUtterancesAndChecksCounts) {
  const auto dir = test::temp_dir() / "dd";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "dialogues_x.txt") << "Hi there ! __eou__ I'm so happy . __eou__\nBye . __eou__\n";
  std::ofstream(dir / "dialogues_emotion_x.txt") << "0 4 \n0 \n";
  const auto d = load_dailydialog(dir / "dialogues_x.txt");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[1].text, "I'm so happy .");
  EXPECT_EQ(d[1].emotion, 4);
  EXPECT_EQ(d[2].dialogue, 1);
  std::ofstream(dir / "dialogues_y.txt") << "A __eou__ B __eou__\n";
  std::ofstream(dir / "dialogues_emotion_y.txt") << "0\n";
  EXPECT_NE(error_of([&] { load_dailydialog(dir / "dialogues_y.txt"); }).find("dialogues_emotion_y.txt:1"), std::string::npos);
  EXPECT_EQ(goemotions_to_dailydialog(label_index("joy")), 4);
  EXPECT_EQ(goemotions_to_dailydialog(label_index("annoyance")), 1);
  EXPECT_EQ(goemotions_to_dailydialog(kNeutral), 0);
}

TEST(SharedData, RealCorporaLoad) {
  KINDRED_REQUIRE_SHARED_DATA(data);
  EXPECT_EQ(load_goemotions(data / "emotion/goemotions/train.tsv").size(), 43410u);
  EXPECT_EQ(load_goemotions(data / "emotion/goemotions/dev.tsv").size(), 5426u);
  EXPECT_EQ(load_cped(data / "dialogue/cped/valid_split.csv").size(), 11137u);
  const auto eb = load_emobank(data / "emotion/emobank/emobank.csv");
  EXPECT_EQ(eb.size(), 10062u);
}

}  // namespace
}  // namespace kindred::affect
