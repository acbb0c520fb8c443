// API keys: minting, hashing for storage, and reading them off requests.
//
// A key is "kr-" followed by 43 characters of unpadded base64url: 32 bytes from OpenSSL's
// CSPRNG, so 256 bits of entropy. The store keeps only the key's SHA-256 (lowercase hex), so a
// leaked database does not leak usable keys; lookups hash the presented key and compare hashes.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace kindred::server {

inline constexpr std::string_view kApiKeyPrefix = "kr-";
inline constexpr size_t kApiKeyLength = 3 + 43;  // prefix + base64url of 32 bytes

// A fresh random key. Throws std::runtime_error if the CSPRNG cannot deliver.
std::string generate_api_key();

// SHA-256 of the key's bytes as 64 lowercase hex digits.
std::string hash_api_key(std::string_view key);

// True when `text` has the shape generate_api_key() produces (prefix, length, alphabet).
// A cheap pre-check: a malformed key answers 401 without touching the store.
bool looks_like_api_key(std::string_view text);

// The token of an "Authorization: Bearer <token>" header value. The scheme is matched
// case-insensitively (RFC 7235) and surrounding whitespace is trimmed; nullopt when the scheme
// is not Bearer or the token is empty.
std::optional<std::string> bearer_token(std::string_view authorization_header);

// Equality whose running time depends only on the lengths, not on where the inputs differ,
// so comparing secrets does not leak a matching prefix through timing.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace kindred::server
