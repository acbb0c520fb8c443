// The parts of the Kindred API (docs/SERVER_API.md, prefix /kindred/v1) that add_kindred_routes
// registers, one per route file, and the tenant checks they share.
#pragma once
#include <cstdint>
#include <string>

#include "server/server_state.h"

namespace kindred::server {

inline constexpr const char* kKindredPrefix = "/kindred/v1";

// Characters (kindred_routes.cpp) and sessions with their messages (session_routes.cpp).
void add_character_routes(Router& router, ServerState& state);
void add_session_routes(Router& router, ServerState& state);

// The caller's record, or ApiError 404 (character_not_found / session_not_found) when it does
// not exist or belongs to another tenant: the two answers are the same on purpose.
store::Character owned_character(store::Store& store, const Caller& caller, int64_t id);
store::Session owned_session(store::Store& store, const Caller& caller, int64_t id);

}  // namespace kindred::server
