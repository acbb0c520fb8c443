// API key minting, hashing and header parsing.
#include "server/api_keys.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

namespace kindred::server {
namespace {

TEST(ApiKeys, GeneratedKeyHasPrefixLengthAndAlphabet) {
  const std::string key = generate_api_key();
  EXPECT_EQ(key.size(), 46u);
  EXPECT_TRUE(key.starts_with("kr-"));
  for (char c : key.substr(3)) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << "bad character " << c;
  }
  EXPECT_TRUE(looks_like_api_key(key));
}

TEST(ApiKeys, GeneratedKeysDoNotRepeat) {
  std::set<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.insert(generate_api_key());
  EXPECT_EQ(keys.size(), 1000u);
}

TEST(ApiKeys, GeneratedKeysUseTheWholeAlphabet) {
  // 1000 keys x 42 free characters: every one of the 64 symbols shows up unless the encoder
  // is broken (e.g. maps to a subset).
  std::set<char> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = generate_api_key();
    seen.insert(key.begin() + 3, key.end() - 1);
  }
  EXPECT_EQ(seen.size(), 64u);
}

TEST(ApiKeys, HashIsSha256Hex) {
  EXPECT_EQ(hash_api_key(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_api_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string key = generate_api_key();
  EXPECT_EQ(hash_api_key(key), hash_api_key(key));
  EXPECT_NE(hash_api_key(key), hash_api_key(key + "x"));
  EXPECT_EQ(hash_api_key(key).size(), 64u);
}

TEST(ApiKeys, LooksLikeApiKeyRejectsMalformedKeys) {
  const std::string key = generate_api_key();
  EXPECT_FALSE(looks_like_api_key(""));
  EXPECT_FALSE(looks_like_api_key("kr-"));
  EXPECT_FALSE(looks_like_api_key(key.substr(0, key.size() - 1)));  // too short
  EXPECT_FALSE(looks_like_api_key(key + "A"));                        // too long
  EXPECT_FALSE(looks_like_api_key("sk-" + key.substr(3)));             // wrong prefix
  std::string with_plus = key;
  with_plus[10] = '+';  // standard base64, not base64url
  EXPECT_FALSE(looks_like_api_key(with_plus));
  std::string bad_tail = key;
  bad_tail.back() = 'B';  // index 1: sets a bit 32 bytes cannot produce
  EXPECT_FALSE(looks_like_api_key(bad_tail));
  bad_tail.back() = 'E';  // index 4: low bits clear, a possible final character
  EXPECT_TRUE(looks_like_api_key(bad_tail));
}

TEST(ApiKeys, BearerTokenParsesCaseInsensitiveScheme) {
  EXPECT_EQ(bearer_token("Bearer kr-abc"), "kr-abc");
  EXPECT_EQ(bearer_token("bearer kr-abc"), "kr-abc");
  EXPECT_EQ(bearer_token("BEARER kr-abc"), "kr-abc");
  EXPECT_EQ(bearer_token("  Bearer \t kr-abc  "), "kr-abc");
}

TEST(ApiKeys, BearerTokenRejectsOtherSchemesAndEmptyTokens) {
  EXPECT_EQ(bearer_token(""), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer   "), std::nullopt);
  EXPECT_EQ(bearer_token("Basic dXNlcjpwYXNz"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearerkr-abc"), std::nullopt);
  EXPECT_EQ(bearer_token("kr-abc"), std::nullopt);
}

TEST(ApiKeys, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "ab"));
  EXPECT_FALSE(constant_time_equals("xbc", "abc"));
}

}  // namespace
}  // namespace kindred::server
