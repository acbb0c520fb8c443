// GBNF parsing, grammar matching and logit masking.
#include "sampling/grammar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace kindred {
namespace {

GrammarMatcher matcher_for(std::string_view gbnf) { return GrammarMatcher(Grammar::parse(gbnf)); }

// Decodes valid UTF-8 (test inputs only).
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3F);
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

// Index of the first code point the grammar rejects, or -1 if it accepts them all.
int first_rejected(GrammarMatcher& m, std::string_view text) {
  const auto cps = code_points(text);
  for (size_t i = 0; i < cps.size(); ++i) {
    if (!m.accept(cps[i])) return static_cast<int>(i);
  }
  return -1;
}

struct ErrorCase {
  const char* gbnf;
  const char* message;
  int line, column;
};

TEST(GrammarParse, ErrorsNameTheProblemAndPosition) {
  const ErrorCase cases[] = {
      {"root ::= foo", "undefined rule 'foo'", 1, 10},
      {"a ::= \"x\"", "missing rule 'root'", 0, 0},
      {"root ::= \"abc", "unterminated string", 1, 10},
      {"root ::= \"abc\nx ::= \"y\"", "unterminated string", 1, 10},
      {"root ::= [a-z", "unterminated character class", 1, 10},
      {"root ::= \"\\q\"", "bad escape '\\q'", 1, 11},
      {"root ::= \"\\x4\"", "bad escape: expected 2 hex digits", 1, 11},
      {"root ::= \"\\uD800\"", "not a Unicode scalar value", 1, 11},
      {"root ::= (\"a\"", "unclosed '('", 1, 10},
      {"root ::= \"a\"{3,1}", "maximum is below minimum", 1, 18},
      {"root ::= \"a\"{5000}", "repetition count above", 1, 14},
      {"root ::= x\nx ::= \"a\" )", "unexpected character ')'", 2, 11},
      {"root ::= \"a\"\nroot ::= \"b\"", "defined twice", 2, 1},
      {"root ::= \"a\"\nx = \"b\"", "unexpected character '='", 2, 3},
      {"root ::= \"a\"\n::= \"b\"", "unexpected character ':'", 2, 1},
      {"x = \"b\"", "expected '::='", 1, 3},
      {"root ::= *", "unexpected character '*'", 1, 10},
      {"# comment\nroot ::= [b-a]", "reversed", 2, 14},
      {"root ::= \"\\u00e9\xff\"", "invalid UTF-8", 1, 17},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.gbnf);
    try {
      Grammar::parse(c.gbnf);
      ADD_FAILURE() << "parsed";
    } catch (const GrammarError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
      EXPECT_EQ(e.line(), c.line) << e.what();
      EXPECT_EQ(e.column(), c.column) << e.what();
    }
  }
}

TEST(GrammarParse, RepetitionsCannotBlowUpMemory) {
  std::string gbnf = "root ::=";
  for (int i = 0; i < 300; ++i) gbnf += " \"a\"{0,1000}";
  try {
    Grammar::parse(gbnf);
    ADD_FAILURE() << "parsed";
  } catch (const GrammarError& e) {
    EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
    EXPECT_EQ(e.line(), 1);
  }
}

TEST(GrammarParse, CommentsAndMultiLineRules) {
  GrammarMatcher m = matcher_for(
      "# leading comment\n"
      "root ::= greeting   # trailing comment\n"
      "           name\n"
      "greeting ::= \"hi \"\n"
      "  | \"hello \"  # an alternative on its own line\n"
      "name::=[a-z]+");
  EXPECT_EQ(first_rejected(m, "hello bob"), -1);
  EXPECT_TRUE(m.can_end());
  GrammarMatcher m2 = matcher_for("root ::= \"hi \" [a-z]+\nunused ::= \"x\"");
  EXPECT_TRUE(m2.accepts_text("hi x"));
}

TEST(GrammarParse, LeftRecursionIsRejected) {
  const char* cases[] = {
      "root ::= root \"a\" | \"a\"",
      "root ::= a\na ::= b \"x\"\nb ::= \"y\" | a",
      "root ::= e root \"x\" | \"y\"\ne ::= \"\"",  // through a rule that matches nothing
      "root ::= (\"a\"? root) \"b\" | \"c\"",
  };
  for (const char* gbnf : cases) {
    SCOPED_TRACE(gbnf);
    try {
      Grammar::parse(gbnf);
      ADD_FAILURE() << "parsed";
    } catch (const GrammarError& e) {
      EXPECT_NE(std::string(e.what()).find("left recursion"), std::string::npos) << e.what();
      EXPECT_GT(e.line(), 0);
    }
  }
  // Recursion after a character is fine.
  GrammarMatcher m = matcher_for("root ::= \"(\" root \")\" | \"\"");
  EXPECT_EQ(first_rejected(m, "((()))"), -1);
  EXPECT_TRUE(m.can_end());
  EXPECT_FALSE(m.accept(')'));
}

constexpr const char* kJson = R"gbnf(
# JSON (RFC 8259), whitespace allowed around values.
root   ::= ws value ws
value  ::= object | array | string | number | ("true" | "false" | "null")
object ::= "{" ws ( member ( ws "," ws member )* )? ws "}"
member ::= string ws ":" ws value
array  ::= "[" ws ( value ( ws "," ws value )* )? ws "]"
string ::= "\"" ( [^"\\\x00-\x1f] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\""
number ::= "-"? ("0" | [1-9] [0-9]*) ("." [0-9]+)? ([eE] [-+]? [0-9]+)?
ws     ::= [ \t\n\r]*
)gbnf";

TEST(GrammarMatch, JsonAcceptsValidTexts) {
  auto g = Grammar::parse(kJson);
  const char* valid[] = {
      "{}", " [ ] ", "0", "-0.5e+10", "true", "\"h\u00e9llo \U0001F600\"",
      "{\"a\": [1, -2.5E3, true, null, \"x\\u00e9\\n\"]}",
      "{\"nested\": {\"b\": [[], {}, [[[\"deep\"]]]]}, \"c\" : false}\n",
  };
  for (const char* text : valid) {
    SCOPED_TRACE(text);
    GrammarMatcher m(g);
    EXPECT_EQ(first_rejected(m, text), -1);
    EXPECT_TRUE(m.can_end());
    EXPECT_TRUE(GrammarMatcher(g).accepts_text(text));
  }
}

TEST(GrammarMatch, JsonRejectsInvalidTextsAtTheRightCharacter) {
  auto g = Grammar::parse(kJson);
  struct Case {
    const char* text;
    int rejected_at;  // -1: every character accepted but the text is incomplete
  };
  const Case cases[] = {
      {"{,}", 1}, {"[1,]", 3}, {"01", 1}, {"{\"a\" 1}", 5}, {"\"bad \\q\"", 6},
      {"[1 2]", 3}, {"{\"a\":1}}", 7}, {"tru", -1}, {"\"open", -1}, {"{\"a\":", -1},
      {"\"ctl\x01\"", 4}, {"1.", -1}, {"1.e5", 2}, {"nul!", 3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    GrammarMatcher m(g);
    EXPECT_EQ(first_rejected(m, c.text), c.rejected_at);
    if (c.rejected_at < 0) {
      EXPECT_FALSE(m.can_end());
    }
    EXPECT_FALSE(GrammarMatcher(g).accepts_text(c.text) && c.rejected_at >= 0);
  }
}

TEST(GrammarMatch, RejectedCharacterLeavesStateUnchanged) {
  GrammarMatcher m = matcher_for(kJson);
  ASSERT_TRUE(m.accept_bytes("[1"));
  EXPECT_FALSE(m.accept('}'));
  EXPECT_FALSE(m.accept_bytes(", x"));  // ", " would pass, "x" does not: all or nothing
  EXPECT_TRUE(m.accept_bytes(", 2]"));
  EXPECT_TRUE(m.can_end());
}

TEST(GrammarMatch, RepetitionBounds) {
  auto count_ok = [](std::string_view gbnf, std::string_view text) {
    GrammarMatcher m = matcher_for(gbnf);
    return first_rejected(m, text) == -1 && m.can_end();
  };
  EXPECT_FALSE(count_ok("root ::= \"a\"{2,4}", "a"));
  EXPECT_TRUE(count_ok("root ::= \"a\"{2,4}", "aa"));
  EXPECT_TRUE(count_ok("root ::= \"a\"{2,4}", "aaaa"));
  EXPECT_FALSE(count_ok("root ::= \"a\"{2,4}", "aaaaa"));
  EXPECT_TRUE(count_ok("root ::= \"a\"{3}", "aaa"));
  EXPECT_FALSE(count_ok("root ::= \"a\"{3}", "aa"));
  EXPECT_FALSE(count_ok("root ::= \"a\"{3}", "aaaa"));
  EXPECT_FALSE(count_ok("root ::= \"a\"{2,}", "a"));
  EXPECT_TRUE(count_ok("root ::= \"a\"{2,}", std::string(500, 'a')));
  EXPECT_TRUE(count_ok("root ::= \"a\"{0}", ""));
  EXPECT_TRUE(count_ok("root ::= \"ab\"{2} \"c\"", "ababc"));  // the suffix covers the whole string
  EXPECT_FALSE(count_ok("root ::= \"ab\"{2} \"c\"", "abc"));
  EXPECT_TRUE(count_ok("root ::= [0-9]+ \"x\"?", "123"));
  EXPECT_TRUE(count_ok("root ::= [0-9]+ \"x\"?", "123x"));
  EXPECT_FALSE(count_ok("root ::= [0-9]+ \"x\"?", "x"));
  EXPECT_TRUE(count_ok("root ::= ( \"a\" | \"b\" ){ 1 , 3 }", "bab"));
  EXPECT_TRUE(count_ok("root ::= \"a\"*", ""));
  EXPECT_TRUE(count_ok("root ::= \"a\"{1000}", std::string(1000, 'a')));
}

TEST(GrammarMatch, NegatedClassesAndAnyCharacter) {
  auto g = Grammar::parse(R"(root ::= "\"" [^"\\]* "\"")");
  GrammarMatcher m(g);
  EXPECT_EQ(first_rejected(m, "\"ab c\xC3\xA9\""), -1);
  EXPECT_TRUE(m.can_end());
  GrammarMatcher m2(g);
  EXPECT_EQ(first_rejected(m2, "\"a\\b\""), 2);

  GrammarMatcher any = matcher_for("root ::= .{3}");
  EXPECT_EQ(first_rejected(any, "x\n\U0001F600"), -1);
  EXPECT_TRUE(any.can_end());
  EXPECT_FALSE(any.accept('y'));

  GrammarMatcher esc = matcher_for(R"(root ::= [\]\-\\a]+)");  // escapes inside a class
  EXPECT_EQ(first_rejected(esc, "]-\\a"), -1);
  EXPECT_FALSE(esc.accept('b'));
  GrammarMatcher range = matcher_for("root ::= [^a-y0-9]");
  EXPECT_FALSE(range.accepts_text("m"));
  EXPECT_FALSE(range.accepts_text("5"));
  EXPECT_TRUE(range.accepts_text("z"));
}

TEST(GrammarMatch, UnicodeAndPartialUtf8) {
  auto g = Grammar::parse("root ::= [\xCE\xB1-\xCF\x89]+ \"\xE2\x86\x92\" \"\\u00e9\" [\\U0001F600-\\U0001F64F]");
  GrammarMatcher m(g);
  EXPECT_EQ(first_rejected(m, "\xCE\xB1\xCE\xB2\xCE\xB3\xE2\x86\x92\xC3\xA9\xF0\x9F\x98\x80"), -1);  // αβγ→é😀
  EXPECT_TRUE(m.can_end());

  GrammarMatcher p(g);
  EXPECT_TRUE(p.accept_bytes("\xCE"));       // could become α..ο
  EXPECT_FALSE(p.can_end());
  EXPECT_FALSE(p.accept_bytes("\xE2"));      // U+2000..U+2FFF: not a Greek letter
  EXPECT_TRUE(p.accept_bytes("\xB1\xE2"));   // α, then the start of →
  EXPECT_TRUE(p.accept_bytes("\x86\x92\xC3"));
  EXPECT_FALSE(p.accept_bytes("\xA8"));      // è, not é
  EXPECT_TRUE(p.accept_bytes("\xA9\xF0\x9F"));
  EXPECT_FALSE(p.accept_bytes("\x9A"));      // U+1F680..: past the range's end U+1F64F
  EXPECT_TRUE(p.accept_bytes("\x98"));
  EXPECT_FALSE(p.can_end());                 // a character is still incomplete
  EXPECT_TRUE(p.accept_bytes("\x80"));
  EXPECT_TRUE(p.can_end());

  GrammarMatcher bad = matcher_for("root ::= .*");
  EXPECT_FALSE(bad.accepts_text("\xC0\x80"));  // overlong
  EXPECT_FALSE(bad.accepts_text("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(bad.accepts_text("\x80"));      // lone continuation byte
  EXPECT_FALSE(bad.accept(0xD800));
}

std::vector<size_t> allowed(const GrammarMatcher& m, const std::vector<std::string>& vocab, int32_t eos,
                            size_t n_logits = 0) {
  std::vector<float> logits(n_logits ? n_logits : vocab.size(), 0.5f);
  apply_grammar(m, vocab, logits, eos);
  std::vector<size_t> out;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] != -INFINITY) {
      EXPECT_EQ(logits[i], 0.5f);
      out.push_back(i);
    }
  }
  return out;
}

TEST(GrammarMask, ToyVocabularyLeavesExactlyTheExpectedTokens) {
  auto g = Grammar::parse("root ::= \"ye\" \"s\"? | \"no\" | \"\\u00e9t\\u00e9\"");  // ye, yes, no, été
  const std::vector<std::string> vocab = {
      "<eos>",      // 0
      "y",          // 1
      "ye",         // 2
      "yes",        // 3
      "n",          // 4
      "no",         // 5
      "nope",       // 6
      "\xC3",       // 7: first byte of é
      "\xC3\xA9",   // 8: é
      "\xC3\xA9t",  // 9: ét
      "x",          // 10
      "",           // 11: a control token
      "\xA9",       // 12: last byte of é
      "yess",       // 13
      "s",          // 14
      "\xA9t\xC3",  // 15: é's tail, t, and é's head
      "\xC3\xA8",   // 16: è
  };
  GrammarMatcher m(g);
  EXPECT_EQ(allowed(m, vocab, 0), (std::vector<size_t>{1, 2, 3, 4, 5, 7, 8, 9}));

  GrammarMatcher split = m;
  ASSERT_TRUE(split.accept_bytes(vocab[7]));
  EXPECT_EQ(allowed(split, vocab, 0), (std::vector<size_t>{12, 15}));
  ASSERT_TRUE(split.accept_bytes(vocab[15]));
  EXPECT_EQ(allowed(split, vocab, 0), (std::vector<size_t>{12}));
  ASSERT_TRUE(split.accept_bytes(vocab[12]));
  EXPECT_EQ(allowed(split, vocab, 0), (std::vector<size_t>{0}));  // only EOS

  GrammarMatcher ye = m;
  ASSERT_TRUE(ye.accept_bytes("ye"));
  EXPECT_EQ(allowed(ye, vocab, 0), (std::vector<size_t>{0, 14}));  // end here, or "s"
  ASSERT_TRUE(ye.accept_bytes("s"));
  EXPECT_EQ(allowed(ye, vocab, 0), (std::vector<size_t>{0}));

  // Logits without a piece are masked; a negative eos_id means no EOS token.
  EXPECT_EQ(allowed(ye, vocab, -1, vocab.size() + 2), (std::vector<size_t>{}));
  // A token already at -INFINITY stays there.
  std::vector<float> logits(vocab.size(), 1.0f);
  logits[2] = -INFINITY;
  apply_grammar(m, vocab, logits, 0);
  EXPECT_EQ(logits[2], -INFINITY);
  EXPECT_EQ(logits[3], 1.0f);
}

TEST(GrammarMask, EosOnlyAtAnAcceptingState) {
  auto g = Grammar::parse(kJson);
  const std::vector<std::string> vocab = {"</s>", "{", "\"a\"", ":", "1", "}", " ", "12", "]"};
  GrammarMatcher m(g);
  const char* steps[] = {"{", "\"a\"", ":", " ", "1", "12", "}", " "};
  for (const char* piece : steps) {
    std::vector<float> logits(vocab.size(), 0.0f);
    apply_grammar(m, vocab, logits, 0);
    EXPECT_EQ(logits[0] != -INFINITY, m.can_end()) << piece;
    const auto it = std::find(vocab.begin(), vocab.end(), std::string(piece));
    EXPECT_NE(logits[static_cast<size_t>(it - vocab.begin())], -INFINITY) << piece;
    ASSERT_TRUE(m.accept_bytes(piece)) << piece;
  }
  EXPECT_TRUE(m.can_end());
  EXPECT_EQ(allowed(m, vocab, 0), (std::vector<size_t>{0, 6}));
}

TEST(GrammarMask, MatchesCheckingEachPieceOnItsOwn) {
  // apply_grammar shares work between pieces; it must agree with accepts_text() piece by piece.
  auto g = Grammar::parse(kJson);
  std::mt19937 rng(3);
  const std::string alphabet = "abcxyz {}[]\":,019.-e\\\xC3\xA9\xE2\x86\x92";  // é, → split into bytes
  std::vector<std::string> vocab = {"<eos>"};
  for (int i = 0; i < 3000; ++i) {
    std::string piece;
    for (size_t n = 1 + rng() % 6; n > 0; --n) piece += alphabet[rng() % alphabet.size()];
    vocab.push_back(piece);
  }
  for (const char* prefix : {"", "{\"a", "[\"\xC3", "[1, -2", "{\"k\\", "{\"k\": [true, \"x\xE2\x86"}) {
    SCOPED_TRACE(prefix);
    GrammarMatcher m(g);
    ASSERT_TRUE(m.accept_bytes(prefix));
    std::vector<float> logits(vocab.size(), 0.0f);
    apply_grammar(m, vocab, logits, 0);
    size_t allowed_count = 0;
    for (size_t i = 1; i < vocab.size(); ++i) {
      EXPECT_EQ(logits[i] != -INFINITY, m.accepts_text(vocab[i])) << i;
      allowed_count += logits[i] != -INFINITY;
    }
    EXPECT_GT(allowed_count, 0u);
  }
}

TEST(GrammarLimits, PathologicalGrammarsStayWithinLimits) {
  const auto start = std::chrono::steady_clock::now();
  // Every character of this grammar nests deeper: the depth limit stops it.
  GrammarMatcher deep = matcher_for("root ::= \"a\" root \"b\" | \"\"");
  bool limited = false;
  for (int i = 0; i < 3000 && !limited; ++i) {
    const size_t before = deep.stack_count();
    try {
      ASSERT_TRUE(deep.accept('a'));
    } catch (const GrammarLimitError& e) {
      limited = true;
      EXPECT_NE(std::string(e.what()).find("depth limit"), std::string::npos) << e.what();
      EXPECT_EQ(deep.stack_count(), before);  // a refused step changes nothing
    }
  }
  EXPECT_TRUE(limited);
  EXPECT_TRUE(deep.accept('b'));  // the matcher still works after a refused step

  // Exponentially many ways to match nothing: the step limit stops it at construction.
  std::string nulls = "root ::=";
  for (int i = 0; i < 40; ++i) nulls += " n";
  nulls += " \"x\"\nn ::= \"\" | \"\"";
  EXPECT_THROW(matcher_for(nulls), GrammarLimitError);

  // Ambiguous splits: the number of live stacks stays capped, the matcher stays usable or
  // refuses with GrammarLimitError.
  GrammarMatcher amb = matcher_for("root ::= s\ns ::= \"a\" s s? | \"a\"");
  try {
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(amb.accept('a'));
      ASSERT_LE(amb.stack_count(), GrammarMatcher::kMaxStacks);
    }
  } catch (const GrammarLimitError&) {
  }
  EXPECT_LE(amb.stack_count(), GrammarMatcher::kMaxStacks);

  // Masking over such a matcher treats limit errors as "not allowed" instead of throwing.
  const std::vector<std::string> vocab = {"a", "aa", "b"};
  std::vector<float> logits(3, 0.0f);
  EXPECT_NO_THROW(apply_grammar(amb, vocab, logits, -1));
  EXPECT_EQ(logits[2], -INFINITY);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace kindred
