// SqliteStore: turns (with their swipes) and memories.
//
// Swipes live in their own table keyed by (turn_id, idx); a turn is read with one JOIN so a
// reader always sees a turn and its swipes from the same snapshot. Embeddings are stored as
// a BLOB of native little-endian float32 values.
#include <bit>
#include <cstring>

#include "store/sqlite_db.h"
#include "store/sqlite_store.h"
#include "store/validate.h"

namespace kindred::store {

using sqlite::Db;
using sqlite::Stmt;

static_assert(std::endian::native == std::endian::little, "embedding BLOBs are little-endian float32");

namespace {

constexpr const char* kTurnSelect =
    "SELECT t.id, t.session_id, t.position, t.role, t.active_swipe, t.created_at, t.metadata, s.idx, s.text "
    "FROM turns t JOIN swipes s ON s.turn_id = t.id ";

// Folds the JOIN's rows (ordered by turn, then swipe index) into turns.
std::vector<Turn> read_turns(Stmt& st) {
  std::vector<Turn> out;
  while (st.step()) {
    const Id id = st.int64(0);
    if (out.empty() || out.back().id != id) {
      const std::string role = st.text(3);
      const auto parsed = parse_role(role);
      if (!parsed) throw StoreError("turn " + std::to_string(id) + ": unknown role '" + role + "' in database");
      out.push_back(Turn{.id = id,
                         .session_id = st.int64(1),
                         .position = st.int32(2),
                         .role = *parsed,
                         .active_swipe = st.int32(4),
                         .created_at = st.int64(5),
                         .metadata_json = st.text(6)});
    }
    out.back().swipes.push_back(st.text(8));
  }
  return out;
}

void check_metadata(std::string_view json) { require_json(json, "metadata_json"); }

}  // namespace

Turn SqliteStore::load_turn(Id turn_id) {
  auto st = db_->prepare(std::string(kTurnSelect) + "WHERE t.id = ? ORDER BY s.idx");
  st.bind(1, turn_id);
  auto turns = read_turns(st);
  if (turns.empty()) throw StoreError("turn " + std::to_string(turn_id) + " does not exist");
  return std::move(turns.front());
}

// ---- turns ----

Turn SqliteStore::append_turn(const Turn& t) {
  Turn out = t;
  mutate("append_turn (session " + std::to_string(t.session_id) + ")", [&] {
    require_session(t.session_id);
    if (t.swipes.empty()) throw StoreError("swipes: at least one text is required");
    if (t.active_swipe < 0 || static_cast<std::size_t>(t.active_swipe) >= t.swipes.size()) {
      throw StoreError("active_swipe: " + std::to_string(t.active_swipe) + " is out of range");
    }
    check_metadata(t.metadata_json);
    auto next = db_->prepare("SELECT coalesce(max(position) + 1, 0) FROM turns WHERE session_id = ?");
    next.bind(1, t.session_id).step();
    out.position = next.int32(0);
    next.reset();
    out.created_at = t.created_at != 0 ? t.created_at : now();
    db_->prepare(
           "INSERT INTO turns (session_id, position, role, active_swipe, created_at, metadata) "
           "VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, t.session_id)
        .bind(2, out.position)
        .bind(3, to_string(t.role))
        .bind(4, t.active_swipe)
        .bind(5, out.created_at)
        .bind(6, t.metadata_json)
        .run();
    out.id = db_->last_insert_id();
    for (std::size_t i = 0; i < t.swipes.size(); ++i) {
      db_->prepare("INSERT INTO swipes (turn_id, idx, text) VALUES (?, ?, ?)")
          .bind(1, out.id)
          .bind(2, static_cast<std::int64_t>(i))
          .bind(3, t.swipes[i])
          .run();
    }
    touch_session(t.session_id);
  });
  return out;
}

std::optional<Turn> SqliteStore::get_turn(Id turn_id) {
  std::optional<Turn> out;
  read("get_turn " + std::to_string(turn_id), [&] {
    auto st = db_->prepare(std::string(kTurnSelect) + "WHERE t.id = ? ORDER BY s.idx");
    st.bind(1, turn_id);
    auto turns = read_turns(st);
    if (!turns.empty()) out = std::move(turns.front());
  });
  return out;
}

std::vector<Turn> SqliteStore::turns(Id session_id) {
  std::vector<Turn> out;
  read("turns (session " + std::to_string(session_id) + ")", [&] {
    auto st = db_->prepare(std::string(kTurnSelect) + "WHERE t.session_id = ? ORDER BY t.position, s.idx");
    st.bind(1, session_id);
    out = read_turns(st);
  });
  return out;
}

int SqliteStore::add_swipe(Id turn_id, std::string_view text, bool make_active) {
  int index = 0;
  mutate("add_swipe (turn " + std::to_string(turn_id) + ")", [&] {
    const Turn t = load_turn(turn_id);
    index = static_cast<int>(t.swipes.size());
    db_->prepare("INSERT INTO swipes (turn_id, idx, text) VALUES (?, ?, ?)")
        .bind(1, turn_id)
        .bind(2, index)
        .bind(3, text)
        .run();
    if (make_active) {
      db_->prepare("UPDATE turns SET active_swipe = ? WHERE id = ?").bind(1, index).bind(2, turn_id).run();
    }
    touch_session(t.session_id);
  });
  return index;
}

void SqliteStore::set_active_swipe(Id turn_id, int index) {
  mutate("set_active_swipe (turn " + std::to_string(turn_id) + ")", [&] {
    const Turn t = load_turn(turn_id);
    if (index < 0 || static_cast<std::size_t>(index) >= t.swipes.size()) {
      throw StoreError("index " + std::to_string(index) + " is out of range (" + std::to_string(t.swipes.size()) +
                       " swipes)");
    }
    db_->prepare("UPDATE turns SET active_swipe = ? WHERE id = ?").bind(1, index).bind(2, turn_id).run();
    touch_session(t.session_id);
  });
}

void SqliteStore::edit_turn_text(Id turn_id, std::string_view text) {
  mutate("edit_turn_text (turn " + std::to_string(turn_id) + ")", [&] {
    const Turn t = load_turn(turn_id);
    db_->prepare("UPDATE swipes SET text = ? WHERE turn_id = ? AND idx = ?")
        .bind(1, text)
        .bind(2, turn_id)
        .bind(3, t.active_swipe)
        .run();
    if (db_->changes() != 1) throw StoreError("active swipe " + std::to_string(t.active_swipe) + " is missing");
    touch_session(t.session_id);
  });
}

void SqliteStore::set_turn_metadata(Id turn_id, std::string_view metadata_json) {
  mutate("set_turn_metadata (turn " + std::to_string(turn_id) + ")", [&] {
    check_metadata(metadata_json);
    db_->prepare("UPDATE turns SET metadata = ? WHERE id = ?").bind(1, metadata_json).bind(2, turn_id).run();
    if (db_->changes() == 0) throw StoreError("turn does not exist");
  });
}

int SqliteStore::truncate_turns(Id session_id, int from_position) {
  int removed = 0;
  mutate("truncate_turns (session " + std::to_string(session_id) + ", from " + std::to_string(from_position) + ")",
         [&] {
           require_session(session_id);
           if (from_position < 0) throw StoreError("from_position must be >= 0");
           // Swipes go with their turns (ON DELETE CASCADE); changes() counts the turns only.
           db_->prepare("DELETE FROM turns WHERE session_id = ? AND position >= ?")
               .bind(1, session_id)
               .bind(2, from_position)
               .run();
           removed = db_->changes();
           touch_session(session_id);
         });
  return removed;
}

// ---- memories ----

namespace {

constexpr const char* kMemoryCols =
    "id, session_id, kind, level, text, first_turn, last_turn, embedding, created_at, metadata";

Memory read_memory(const Stmt& st) {
  const Id id = st.int64(0);
  const std::string kind = st.text(2);
  const auto parsed = parse_memory_kind(kind);
  if (!parsed) throw StoreError("memory " + std::to_string(id) + ": unknown kind '" + kind + "' in database");
  const auto bytes = st.blob(7);
  if (bytes.size() % sizeof(float) != 0) throw StoreError("memory " + std::to_string(id) + ": corrupt embedding");
  std::vector<float> embedding(bytes.size() / sizeof(float));
  if (!bytes.empty()) std::memcpy(embedding.data(), bytes.data(), bytes.size());
  const auto opt_int = [&](int col) -> std::optional<int> {
    if (st.is_null(col)) return std::nullopt;
    return st.int32(col);
  };
  return Memory{.id = id,
                .session_id = st.opt_int64(1),
                .kind = *parsed,
                .level = st.int32(3),
                .text = st.text(4),
                .first_turn = opt_int(5),
                .last_turn = opt_int(6),
                .embedding = std::move(embedding),
                .created_at = st.int64(8),
                .metadata_json = st.text(9)};
}


}  // namespace

Memory SqliteStore::create_memory(const Memory& m) {
  Memory out = m;
  mutate("create_memory", [&] {
    check_memory(m);
    if (m.session_id) require_session(*m.session_id);
    out.created_at = m.created_at != 0 ? m.created_at : now();
    db_->prepare(
           "INSERT INTO memories (session_id, kind, level, text, first_turn, last_turn, embedding, created_at, "
           "metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, m.session_id)
        .bind(2, to_string(m.kind))
        .bind(3, m.level)
        .bind(4, m.text)
        .bind(5, m.first_turn)
        .bind(6, m.last_turn)
        .bind_blob(7, m.embedding.data(), m.embedding.size() * sizeof(float))
        .bind(8, out.created_at)
        .bind(9, m.metadata_json)
        .run();
    out.id = db_->last_insert_id();
  });
  return out;
}

std::optional<Memory> SqliteStore::get_memory(Id id) {
  std::optional<Memory> out;
  read("get_memory " + std::to_string(id), [&] {
    auto st = db_->prepare(std::string("SELECT ") + kMemoryCols + " FROM memories WHERE id = ?");
    if (st.bind(1, id).step()) out = read_memory(st);
  });
  return out;
}

std::vector<Memory> SqliteStore::list_memories(const MemoryFilter& filter) {
  std::vector<Memory> out;
  read("list_memories", [&] {
    // One statement for every filter: "IS ?1" matches NULL (global) when no session is given.
    auto st = db_->prepare(std::string("SELECT ") + kMemoryCols +
                           " FROM memories WHERE (session_id IS ?1 OR (?2 AND session_id IS NULL))"
                           " AND (?3 IS NULL OR kind = ?3) ORDER BY id");
    st.bind(1, filter.session_id).bind(2, filter.include_global ? 1 : 0);
    if (filter.kind) st.bind(3, to_string(*filter.kind));
    while (st.step()) out.push_back(read_memory(st));
  });
  return out;
}

void SqliteStore::update_memory(const Memory& m) {
  mutate("update_memory " + std::to_string(m.id), [&] {
    check_memory(m);
    if (m.session_id) require_session(*m.session_id);
    db_->prepare(
           "UPDATE memories SET session_id = ?, kind = ?, level = ?, text = ?, first_turn = ?, last_turn = ?, "
           "embedding = ?, metadata = ? WHERE id = ?")
        .bind(1, m.session_id)
        .bind(2, to_string(m.kind))
        .bind(3, m.level)
        .bind(4, m.text)
        .bind(5, m.first_turn)
        .bind(6, m.last_turn)
        .bind_blob(7, m.embedding.data(), m.embedding.size() * sizeof(float))
        .bind(8, m.metadata_json)
        .bind(9, m.id)
        .run();
    if (db_->changes() == 0) throw StoreError("no such memory");
  });
}

void SqliteStore::delete_memory(Id id) {
  mutate("delete_memory " + std::to_string(id), [&] {
    db_->prepare("DELETE FROM memories WHERE id = ?").bind(1, id).run();
    if (db_->changes() == 0) throw StoreError("no such memory");
  });
}

}  // namespace kindred::store
