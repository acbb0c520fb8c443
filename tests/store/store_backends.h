// Store tests that run against every backend: a fresh SQLite file, or a fresh PostgreSQL schema
// in the database named by KINDRED_TEST_PG_URL.
//
// PostgreSQL tests skip (with the reason) when KINDRED_TEST_PG_URL is unset -- except under
// CI=true, where a missing URL fails them (project rule: CI must exercise PostgreSQL). Each
// PgTestSchema is a uniquely named schema, dropped at the end, so parallel ctest runs (-j2)
// and reruns never see each other's tables.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>

#include "store/pg_store.h"
#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace kindred::store::testing {

inline std::optional<std::string> pg_test_url() {
  const char* url = std::getenv("KINDRED_TEST_PG_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

inline constexpr const char* kNoPgUrl =
    "KINDRED_TEST_PG_URL is not set, so the PostgreSQL store is not tested "
    "(start one with: export KINDRED_TEST_PG_URL=$(scripts/start-postgres.sh | tail -n1))";

// Declares `const std::string var` holding the PostgreSQL URL, or skips the test (fails it
// under CI=true). Usable in TEST bodies and in SetUp().
#define KINDRED_PG_URL_OR_SKIP(var)                                                 \
  const auto var##_opt = ::kindred::store::testing::pg_test_url();                  \
  if (!var##_opt) {                                                                 \
    if (::kindred::store::testing::running_in_ci()) {                               \
      FAIL() << "CI=true but " << ::kindred::store::testing::kNoPgUrl;              \
    } else {                                                                        \
      GTEST_SKIP() << ::kindred::store::testing::kNoPgUrl;                          \
    }                                                                               \
  }                                                                                 \
  const std::string var = *var##_opt

// A uniquely named schema in the test database; url() connects with it as search_path.
class PgTestSchema {
 public:
  explicit PgTestSchema(const std::string& base_url) : base_url_(base_url) {
    static std::atomic<int> counter{0};
    std::random_device rd;
    name_ = "kt_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(rd() % 1000000);
    pqxx::connection conn(base_url_);
    pqxx::nontransaction(conn).exec("CREATE SCHEMA " + name_);
    url_ = base_url_ + (base_url_.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + name_;
  }
  ~PgTestSchema() {
    try {
      pqxx::connection conn(base_url_);
      pqxx::nontransaction tx(conn);
      tx.exec("SET client_min_messages = warning");
      tx.exec("DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "dropping test schema " << name_ << ": " << e.what();
    }
  }
  PgTestSchema(const PgTestSchema&) = delete;
  PgTestSchema& operator=(const PgTestSchema&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }
  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
  std::string name_;
  std::string url_;
};

// One backend's fresh database and a store on it.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Store& store() = 0;
  // Another connection to the same database, as a second process or thread would open it.
  virtual std::unique_ptr<Store> open_again() = 0;
};

class SqliteBackend final : public Backend {
 public:
  Store& store() override { return store_; }
  std::unique_ptr<Store> open_again() override { return std::make_unique<SqliteStore>(path_, fast()); }

 private:
  TempDir dir_;
  std::string path_ = dir_.file("kindred.db");
  SqliteStore store_{path_, fast()};
};

class PgBackend final : public Backend {
 public:
  explicit PgBackend(const std::string& base_url) : schema_(base_url), store_(schema_.url()) {}
  Store& store() override { return store_; }
  std::unique_ptr<Store> open_again() override { return std::make_unique<PgStore>(schema_.url()); }

 private:
  PgTestSchema schema_;  // declared first: dropped after the store's connection closes
  PgStore store_;
};

// Base of the parameterized suites: GetParam() is "sqlite" or "postgres"; `store` points at a
// fresh store of that backend.
class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      KINDRED_PG_URL_OR_SKIP(url);
      pg_url_ = url;
    }
    backend_ = fresh_backend();
    store = &backend_->store();
  }
  // Another empty database of the same backend (a second SQLite file, a second PG schema).
  std::unique_ptr<Backend> fresh_backend() const {
    if (GetParam() == "postgres") return std::make_unique<PgBackend>(pg_url_);
    return std::make_unique<SqliteBackend>();
  }
  std::string pg_url_;
  std::unique_ptr<Backend> backend_;
  Store* store = nullptr;
};

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

#define KINDRED_ALL_BACKENDS(suite) \
  INSTANTIATE_TEST_SUITE_P(Backends, suite, ::testing::Values("sqlite", "postgres"), \
                           ::kindred::store::testing::backend_name)

// Expects f to throw a StoreError whose message contains every one of parts.
template <typename F>
void expect_store_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no StoreError";
  } catch (const StoreError& e) {
    for (const std::string& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

}  // namespace kindred::store::testing
