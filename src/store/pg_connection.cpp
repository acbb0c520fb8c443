// Messages for the PostgreSQL backend: libpqxx errors and connection locations (pg_connection.h).
#include <libpq-fe.h>

#include <memory>

#include "store/pg_connection.h"
#include "store/store.h"

namespace kindred::store::pg {

std::string error_text(const std::exception& e) {
  std::string message = e.what();
  if (message.rfind("ERROR:", 0) == 0) message.erase(0, message.find_first_not_of(' ', 6));
  std::string out;
  std::size_t start = 0;
  while (start < message.size()) {
    std::size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    std::string line = message.substr(start, end - start);
    if (!line.empty()) out += (out.empty() ? "" : "; ") + line;
    start = end + 1;
  }
  return out;
}

void require_no_nul(std::string_view text, std::string_view field) {
  if (text.find('\0') != std::string_view::npos) {
    throw StoreError(std::string(field) + ": contains a NUL byte, which PostgreSQL text cannot hold");
  }
}

std::string describe_location(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (parsed == nullptr) {
    PQfreemem(error);
    // libpq's reason may quote the URL, password included: leave it out.
    throw StoreError("open PostgreSQL: malformed connection URL (expected postgresql://user:password@host:port/db)");
  }
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(parsed, &PQconninfoFree);
  std::string host, port, dbname, user;
  for (const PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string key = o->keyword;
    if (key == "host" || (key == "hostaddr" && host.empty())) host = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
    if (key == "user") user = o->val;
  }
  std::string out = "PostgreSQL database '" + (dbname.empty() ? user : dbname) + "' on " +
                    (host.empty() ? "the local socket" : host) + (port.empty() ? "" : ":" + port);
  if (!user.empty()) out += " as user '" + user + "'";
  return out;
}

}  // namespace kindred::store::pg
