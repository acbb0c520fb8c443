// A thin RAII layer over the SQLite C API: a connection (Db) that owns a cache of prepared
// statements, and a Stmt handle that binds, steps and reads columns. Every SQLite error
// becomes a StoreError carrying SQLite's own message. Not thread-safe, like the Store.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kindred::store::sqlite {

// A prepared statement. Borrowed from Db::prepare(); reset and unbound on release so the
// cached statement is ready for the next use.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Binds are 1-based, like SQLite's; they return *this to chain.
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Stmt& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Stmt& bind_blob(int index, const void* data, std::size_t size);
  Stmt& bind_null(int index);
  template <typename T>
  Stmt& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Steps once: true when a row is ready, false when done. Errors throw.
  bool step();
  // Runs to completion (for statements without rows) and resets.
  void run();
  void reset();

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  int int32(int col) const { return static_cast<int>(int64(col)); }
  std::string text(int col) const;
  std::optional<std::int64_t> opt_int64(int col) const;
  std::optional<std::string> opt_text(int col) const;
  std::vector<unsigned char> blob(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// An open connection. prepare() caches statements by their SQL text, so callers pass
// constant SQL and pay for compiling it once.
class Db {
 public:
  // Opens (creating if missing) the database at path. Throws StoreError.
  explicit Db(const std::string& path);
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // The returned handle must not outlive the Db; two live handles of the same SQL would share
  // one statement, so callers never nest the same query.
  Stmt prepare(std::string_view sql);  // returned by guaranteed copy elision
  // Runs one or more statements without parameters or results (DDL, PRAGMA, BEGIN ...).
  void exec(std::string_view sql);
  // ROLLBACK that never throws (for error paths, where the transaction may already be gone).
  void rollback_quietly() noexcept;
  std::int64_t last_insert_id() const;
  int changes() const;
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// Throws StoreError "<what>: <sqlite message>" for a non-OK result code.
void check(sqlite3* db, int rc, std::string_view what);

}  // namespace kindred::store::sqlite
