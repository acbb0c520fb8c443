// PgStore: turns (with their swipes) and memories.
//
// As in SQLite, swipes live in their own table keyed by (turn_id, idx) and a turn is read with
// one JOIN, so a reader sees a turn and its swipes from one snapshot. Embeddings are BYTEA of
// native little-endian float32 values.
#include <bit>
#include <cstring>

#include "store/pg_connection.h"
#include "store/pg_store.h"
#include "store/validate.h"

namespace kindred::store {

using pg::int32;
using pg::int64;
using pg::opt_int32;
using pg::opt_int64;
using pg::text;

static_assert(std::endian::native == std::endian::little, "embedding BYTEAs are little-endian float32");

namespace {

constexpr const char* kTurnSelect =
    "SELECT t.id, t.session_id, t.position, t.role, t.active_swipe, t.created_at, t.metadata, s.idx, s.text "
    "FROM turns t JOIN swipes s ON s.turn_id = t.id ";

// Folds the JOIN's rows (ordered by turn, then swipe index) into turns.
std::vector<Turn> read_turns(const pqxx::result& rows) {
  std::vector<Turn> out;
  for (const auto& r : rows) {
    const Id id = int64(r[0]);
    if (out.empty() || out.back().id != id) {
      const std::string role = text(r[3]);
      const auto parsed = parse_role(role);
      if (!parsed) throw StoreError("turn " + std::to_string(id) + ": unknown role '" + role + "' in database");
      out.push_back(Turn{.id = id,
                         .session_id = int64(r[1]),
                         .position = int32(r[2]),
                         .role = *parsed,
                         .active_swipe = int32(r[4]),
                         .created_at = int64(r[5]),
                         .metadata_json = text(r[6])});
    }
    out.back().swipes.push_back(text(r[8]));
  }
  return out;
}

void check_metadata(std::string_view json) { require_json(json, "metadata_json"); }

}  // namespace

Turn PgStore::load_turn(pqxx::transaction_base& tx, Id turn_id, bool lock) {
  if (lock) {
    // Writers lock the session row first (append_turn, truncate_turns do too): one lock order,
    // so swipe edits and truncation of one session cannot deadlock, and the next swipe index
    // is computed by one writer at a time.
    const auto owner = tx.exec_params("SELECT session_id FROM turns WHERE id = $1", turn_id);
    if (owner.empty()) throw StoreError("turn " + std::to_string(turn_id) + " does not exist");
    require_session(tx, int64(owner[0][0]), /*lock=*/true);
  }
  auto turns = read_turns(tx.exec_params(std::string(kTurnSelect) + "WHERE t.id = $1 ORDER BY s.idx", turn_id));
  if (turns.empty()) throw StoreError("turn " + std::to_string(turn_id) + " does not exist");
  return std::move(turns.front());
}

// ---- turns ----

Turn PgStore::append_turn(const Turn& t) {
  Turn out = t;
  mutate("append_turn (session " + std::to_string(t.session_id) + ")", [&](pqxx::transaction_base& tx) {
    if (t.swipes.empty()) throw StoreError("swipes: at least one text is required");
    if (t.active_swipe < 0 || static_cast<std::size_t>(t.active_swipe) >= t.swipes.size()) {
      throw StoreError("active_swipe: " + std::to_string(t.active_swipe) + " is out of range");
    }
    check_metadata(t.metadata_json);
    for (const std::string& swipe : t.swipes) pg::require_no_nul(swipe, "swipes");
    // Held until commit: another connection's append to this session waits here, then (READ
    // COMMITTED: a fresh snapshot per statement) sees this turn when it computes its position.
    require_session(tx, t.session_id, /*lock=*/true);
    out.position = int32(
        tx.exec_params1("SELECT coalesce(max(position) + 1, 0) FROM turns WHERE session_id = $1", t.session_id)[0]);
    out.created_at = t.created_at != 0 ? t.created_at : now();
    out.id = int64(tx.exec_params1("INSERT INTO turns (session_id, position, role, active_swipe, created_at, metadata) "
                                   "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                                   t.session_id, out.position, std::string(to_string(t.role)), t.active_swipe,
                                   out.created_at, t.metadata_json)[0]);
    for (std::size_t i = 0; i < t.swipes.size(); ++i) {
      tx.exec_params("INSERT INTO swipes (turn_id, idx, text) VALUES ($1, $2, $3)", out.id, static_cast<int>(i),
                     t.swipes[i]);
    }
    touch_session(tx, t.session_id);
  });
  return out;
}

std::optional<Turn> PgStore::get_turn(Id turn_id) {
  std::optional<Turn> out;
  read("get_turn " + std::to_string(turn_id), [&](pqxx::transaction_base& tx) {
    auto turns = read_turns(tx.exec_params(std::string(kTurnSelect) + "WHERE t.id = $1 ORDER BY s.idx", turn_id));
    if (!turns.empty()) out = std::move(turns.front());
  });
  return out;
}

std::vector<Turn> PgStore::turns(Id session_id) {
  std::vector<Turn> out;
  read("turns (session " + std::to_string(session_id) + ")", [&](pqxx::transaction_base& tx) {
    out = read_turns(
        tx.exec_params(std::string(kTurnSelect) + "WHERE t.session_id = $1 ORDER BY t.position, s.idx", session_id));
  });
  return out;
}

int PgStore::add_swipe(Id turn_id, std::string_view text_view, bool make_active) {
  int index = 0;
  mutate("add_swipe (turn " + std::to_string(turn_id) + ")", [&](pqxx::transaction_base& tx) {
    pg::require_no_nul(text_view, "text");
    const Turn t = load_turn(tx, turn_id, /*lock=*/true);
    index = static_cast<int>(t.swipes.size());
    tx.exec_params("INSERT INTO swipes (turn_id, idx, text) VALUES ($1, $2, $3)", turn_id, index,
                   std::string(text_view));
    if (make_active) tx.exec_params("UPDATE turns SET active_swipe = $1 WHERE id = $2", index, turn_id);
    touch_session(tx, t.session_id);
  });
  return index;
}

void PgStore::set_active_swipe(Id turn_id, int index) {
  mutate("set_active_swipe (turn " + std::to_string(turn_id) + ")", [&](pqxx::transaction_base& tx) {
    const Turn t = load_turn(tx, turn_id, /*lock=*/true);
    if (index < 0 || static_cast<std::size_t>(index) >= t.swipes.size()) {
      throw StoreError("index " + std::to_string(index) + " is out of range (" + std::to_string(t.swipes.size()) +
                       " swipes)");
    }
    tx.exec_params("UPDATE turns SET active_swipe = $1 WHERE id = $2", index, turn_id);
    touch_session(tx, t.session_id);
  });
}

void PgStore::edit_turn_text(Id turn_id, std::string_view text_view) {
  mutate("edit_turn_text (turn " + std::to_string(turn_id) + ")", [&](pqxx::transaction_base& tx) {
    pg::require_no_nul(text_view, "text");
    const Turn t = load_turn(tx, turn_id, /*lock=*/true);
    const auto r = tx.exec_params("UPDATE swipes SET text = $1 WHERE turn_id = $2 AND idx = $3",
                                  std::string(text_view), turn_id, t.active_swipe);
    if (r.affected_rows() != 1) throw StoreError("active swipe " + std::to_string(t.active_swipe) + " is missing");
    touch_session(tx, t.session_id);
  });
}

void PgStore::set_turn_metadata(Id turn_id, std::string_view metadata_json) {
  mutate("set_turn_metadata (turn " + std::to_string(turn_id) + ")", [&](pqxx::transaction_base& tx) {
    check_metadata(metadata_json);
    const auto r =
        tx.exec_params("UPDATE turns SET metadata = $1 WHERE id = $2", std::string(metadata_json), turn_id);
    if (r.affected_rows() == 0) throw StoreError("turn does not exist");
  });
}

int PgStore::truncate_turns(Id session_id, int from_position) {
  int removed = 0;
  mutate("truncate_turns (session " + std::to_string(session_id) + ", from " + std::to_string(from_position) + ")",
         [&](pqxx::transaction_base& tx) {
           if (from_position < 0) throw StoreError("from_position must be >= 0");
           require_session(tx, session_id, /*lock=*/true);
           // Swipes go with their turns (ON DELETE CASCADE); affected_rows counts the turns only.
           removed = static_cast<int>(
               tx.exec_params("DELETE FROM turns WHERE session_id = $1 AND position >= $2", session_id, from_position)
                   .affected_rows());
           touch_session(tx, session_id);
         });
  return removed;
}

// ---- memories ----

namespace {

constexpr const char* kMemoryCols =
    "id, session_id, kind, level, text, first_turn, last_turn, embedding, created_at, metadata";

Memory read_memory(const pqxx::row& r) {
  const Id id = int64(r[0]);
  const std::string kind = text(r[2]);
  const auto parsed = parse_memory_kind(kind);
  if (!parsed) throw StoreError("memory " + std::to_string(id) + ": unknown kind '" + kind + "' in database");
  const pqxx::binarystring bytes(r[7]);
  if (bytes.size() % sizeof(float) != 0) throw StoreError("memory " + std::to_string(id) + ": corrupt embedding");
  std::vector<float> embedding(bytes.size() / sizeof(float));
  if (bytes.size() != 0) std::memcpy(embedding.data(), bytes.data(), bytes.size());
  return Memory{.id = id,
                .session_id = opt_int64(r[1]),
                .kind = *parsed,
                .level = int32(r[3]),
                .text = text(r[4]),
                .first_turn = opt_int32(r[5]),
                .last_turn = opt_int32(r[6]),
                .embedding = std::move(embedding),
                .created_at = int64(r[8]),
                .metadata_json = text(r[9])};
}

pqxx::binarystring embedding_bytes(const std::vector<float>& embedding) {
  static const float kNone = 0.0f;  // a valid pointer for the empty embedding
  return pqxx::binarystring(embedding.empty() ? &kNone : embedding.data(), embedding.size() * sizeof(float));
}

// The shared checks, and PostgreSQL's own: text must not hold NUL (libpq would cut it there).
void check_pg_memory(const Memory& m) {
  pg::require_no_nul(m.text, "text");
  check_memory(m);
}

}  // namespace

Memory PgStore::create_memory(const Memory& m) {
  Memory out = m;
  mutate("create_memory", [&](pqxx::transaction_base& tx) {
    check_pg_memory(m);
    if (m.session_id) require_session(tx, *m.session_id, /*lock=*/false);
    out.created_at = m.created_at != 0 ? m.created_at : now();
    out.id = int64(tx.exec_params1("INSERT INTO memories (session_id, kind, level, text, first_turn, last_turn, "
                                   "embedding, created_at, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                                   "RETURNING id",
                                   m.session_id, std::string(to_string(m.kind)), m.level, m.text, m.first_turn,
                                   m.last_turn, embedding_bytes(m.embedding), out.created_at, m.metadata_json)[0]);
  });
  return out;
}

std::optional<Memory> PgStore::get_memory(Id id) {
  std::optional<Memory> out;
  read("get_memory " + std::to_string(id), [&](pqxx::transaction_base& tx) {
    const auto r = tx.exec_params(std::string("SELECT ") + kMemoryCols + " FROM memories WHERE id = $1", id);
    if (!r.empty()) out = read_memory(r[0]);
  });
  return out;
}

std::vector<Memory> PgStore::list_memories(const MemoryFilter& filter) {
  std::vector<Memory> out;
  read("list_memories", [&](pqxx::transaction_base& tx) {
    // One statement for every filter: IS NOT DISTINCT FROM matches NULL (global) when no
    // session is given.
    std::optional<std::string> kind;
    if (filter.kind) kind = std::string(to_string(*filter.kind));
    const auto rows = tx.exec_params(std::string("SELECT ") + kMemoryCols +
                                         " FROM memories WHERE (session_id IS NOT DISTINCT FROM $1::bigint"
                                         " OR ($2::boolean AND session_id IS NULL))"
                                         " AND ($3::text IS NULL OR kind = $3::text) ORDER BY id",
                                     filter.session_id, filter.include_global, kind);
    for (const auto& row : rows) out.push_back(read_memory(row));
  });
  return out;
}

void PgStore::update_memory(const Memory& m) {
  mutate("update_memory " + std::to_string(m.id), [&](pqxx::transaction_base& tx) {
    check_pg_memory(m);
    if (m.session_id) require_session(tx, *m.session_id, /*lock=*/false);
    const auto r = tx.exec_params(
        "UPDATE memories SET session_id = $1, kind = $2, level = $3, text = $4, first_turn = $5, last_turn = $6, "
        "embedding = $7, metadata = $8 WHERE id = $9",
        m.session_id, std::string(to_string(m.kind)), m.level, m.text, m.first_turn, m.last_turn,
        embedding_bytes(m.embedding), m.metadata_json, m.id);
    if (r.affected_rows() == 0) throw StoreError("no such memory");
  });
}

void PgStore::delete_memory(Id id) {
  mutate("delete_memory " + std::to_string(id), [&](pqxx::transaction_base& tx) {
    if (tx.exec_params("DELETE FROM memories WHERE id = $1", id).affected_rows() == 0) {
      throw StoreError("no such memory");
    }
  });
}

}  // namespace kindred::store
