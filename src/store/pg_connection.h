// Internal to the PostgreSQL backend (pg_*.cpp): one libpqxx connection with the stack of open
// transaction levels, and the helpers that turn libpqxx errors and URLs into messages.
//
// Written against libpqxx 6.4 (Debian 12's libpqxx-dev). The outermost level is a pqxx
// transaction object; nested levels are plain SAVEPOINT / ROLLBACK TO statements run through
// it. (libpqxx 6.4's subtransaction::abort() does not roll its savepoint back after a failed
// statement, which left the outer transaction unusable.)
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

namespace kindred::store::pg {

struct Connection {
  explicit Connection(const std::string& url) : conn(url) {}
  pqxx::connection conn;
  std::unique_ptr<pqxx::dbtransaction> transaction;  // open while depth > 0
  int depth = 0;                                     // 1: the transaction, more: savepoints
};

// PostgreSQL's message without the "ERROR:  " prefix, its lines joined by "; ".
std::string error_text(const std::exception& e);

// "PostgreSQL database 'db' on host:port as user 'u'" from a postgresql:// URL or a libpq
// key=value string -- never the password. Throws StoreError for a malformed URL (without
// echoing it, since it may carry the password).
std::string describe_location(const std::string& url);

// libpq passes text parameters as C strings, so a NUL byte would silently cut the text short:
// refuse it ("<field>: contains a NUL byte ...") instead.
void require_no_nul(std::string_view text, std::string_view field);

// A field as text; a NULL becomes the empty string only where the schema forbids NULL.
inline std::string text(const pqxx::field& f) { return f.as<std::string>(); }
inline std::int64_t int64(const pqxx::field& f) { return f.as<std::int64_t>(); }
inline int int32(const pqxx::field& f) { return f.as<int>(); }
inline std::optional<std::int64_t> opt_int64(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::int64_t>();
}
inline std::optional<int> opt_int32(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int>();
}
inline std::optional<std::string> opt_text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

}  // namespace kindred::store::pg
