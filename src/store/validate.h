// Input checks and the clock shared by store backends and the session JSON codec.
#pragma once
#include <string_view>

#include "store/store.h"

namespace kindred::store {

Timestamp now_ms();
// Throws StoreError "<field>: invalid JSON (...)" unless text parses as JSON.
void require_json(std::string_view text, std::string_view field);
// Throws StoreError "<field>: must not be empty" for an empty string.
void require_non_empty(std::string_view text, std::string_view field);
// The checks create_api_key makes before writing: a name, a key_hash of 64 lowercase hex
// digits (SHA-256), a rate limit >= 0. Throws StoreError naming the field.
void check_api_key(const ApiKey& key);
// The checks create_memory / update_memory make: non-empty text, level >= 0, turn positions
// >= 0 and in order, metadata that is JSON. Throws StoreError naming the field.
void check_memory(const Memory& m);

}  // namespace kindred::store
