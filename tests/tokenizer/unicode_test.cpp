// UTF-8 and normalisation helpers behind the tokenizers.
#include "tokenizer/unicode.h"

#include <gtest/gtest.h>

namespace kindred::tok {
namespace {

TEST(Unicode, NfcComposesAndOrdersMarks) {
  EXPECT_EQ(nfc("cafe\xCC\x81"), "caf\xC3\xA9");                           // e + U+0301 -> é
  EXPECT_EQ(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> U+AC01
  EXPECT_EQ(nfc("\xE2\x84\xAB"), "\xC3\x85");                              // U+212B -> Å
  EXPECT_EQ(nfc("\xE2\x84\xA6"), "\xCE\xA9");                              // U+2126 -> Ω
  // U+0352 (class 230) before U+0337 (class 1) is reordered.
  EXPECT_EQ(nfc("a\xCD\x92\xCC\xB7"), "a\xCC\xB7\xCD\x92");
  EXPECT_EQ(nfc("plain ascii"), "plain ascii");
  EXPECT_EQ(nfc("\xE4\xB8\x96\xE7\x95\x8C"), "\xE4\xB8\x96\xE7\x95\x8C");  // already NFC
  EXPECT_EQ(nfc("e\xFF\xCC\x81"), "e\xFF\xCC\x81");  // a malformed byte separates the mark
}

TEST(Unicode, NfdDecomposes) {
  EXPECT_EQ(nfd("caf\xC3\xA9"), "cafe\xCC\x81");
  EXPECT_EQ(nfd("\xEA\xB0\x81"), "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8");
}

TEST(Unicode, IncompleteTail) {
  EXPECT_EQ(incomplete_utf8_tail(""), 0u);
  EXPECT_EQ(incomplete_utf8_tail("ab"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F\xA6"), 3u);
  EXPECT_EQ(incomplete_utf8_tail("a\xF0\x9F\xA6\x99"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("a\xE0\x80"), 0u);  // overlong: can never complete
  EXPECT_EQ(incomplete_utf8_tail("a\xED\xA0"), 0u);  // surrogate
  EXPECT_EQ(incomplete_utf8_tail("a\xFF"), 0u);
}

TEST(Unicode, SanitizeAndClasses) {
  EXPECT_EQ(sanitize_utf8("a\xFF"
                          "b\xC3"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_TRUE(is_letter(U'ß'));
  EXPECT_TRUE(is_number(U'½'));
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_FALSE(is_whitespace(0x200B));  // zero width space is not White_Space
  EXPECT_EQ(to_lower(U'Ä'), U'ä');
}

TEST(Unicode, ByteAlphabetIsABijection) {
  for (int b = 0; b < 256; ++b) {
    const char32_t c = byte_to_char(static_cast<uint8_t>(b));
    EXPECT_EQ(char_to_byte(c), b);
    EXPECT_FALSE(is_whitespace(c)) << b;
  }
  EXPECT_EQ(byte_to_char(' '), U'Ġ');
  EXPECT_EQ(byte_to_char('\n'), U'Ċ');
  EXPECT_EQ(char_to_byte(U'€'), -1);
}

}  // namespace
}  // namespace kindred::tok
