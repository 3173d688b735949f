#include "store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "envelope.hpp"
#include "store_statement.hpp"
#include "transfer_state.hpp"

namespace chat {
namespace {

// 2 added transfers, 3 message order, 4 dropped the outbox index, 5 runs of
// delivered rows, 6 manifests apart from their transfers, 7 pinned peer keys
constexpr int kSchemaVersion = 7;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages (
    id         INTEGER PRIMARY KEY,
    direction  TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    peer       TEXT    NOT NULL,
    peer_name  TEXT    NOT NULL DEFAULT '',
    msg_id     TEXT,
    text       TEXT    NOT NULL,
    plain      INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    expires    INTEGER,
    acked_ts   INTEGER,
    seq        INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_seen ON messages (peer, msg_id)
    WHERE direction = 'in' AND msg_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS peers (
    address         TEXT PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    last_seen       INTEGER NOT NULL,
    speaks_envelope INTEGER NOT NULL DEFAULT 0,
    speaks_plain    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS transfers (
    number    INTEGER PRIMARY KEY,
    wire_id   TEXT    NOT NULL,
    direction TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    peer      TEXT    NOT NULL,
    state     TEXT    NOT NULL,
    doc       TEXT    NOT NULL,
    updated   INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS transfers_wire ON transfers (direction, peer, wire_id);
-- Apart from its transfer, whose row SQLite rewrites whole at every save.
CREATE TABLE IF NOT EXISTS transfer_manifests (
    number   INTEGER PRIMARY KEY REFERENCES transfers (number) ON DELETE CASCADE,
    manifest TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS held (
    id        INTEGER PRIMARY KEY,
    peer      TEXT    NOT NULL,
    peer_name TEXT    NOT NULL DEFAULT '',
    msg_id    TEXT    NOT NULL,
    text      TEXT    NOT NULL,
    ts        INTEGER NOT NULL,
    stream    TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    UNIQUE (peer, msg_id)
);
CREATE INDEX IF NOT EXISTS held_stream ON held (peer, stream, seq);
CREATE TABLE IF NOT EXISTS streams (
    peer   TEXT    NOT NULL,
    stream TEXT    NOT NULL,
    next   INTEGER NOT NULL,
    PRIMARY KEY (peer, stream)
);
-- Outbox rows acked together, first..last (consecutive ids, each in at
-- most one run): marking a burst delivered writes one small row here, not
-- each message's row again (that was a third of the sending store thread).
-- Folded into messages when the store thread is idle, and on open.
CREATE TABLE IF NOT EXISTS delivered (
    first    INTEGER PRIMARY KEY,
    last     INTEGER NOT NULL,
    acked_ts INTEGER NOT NULL
);
-- Each peer's pinned long-term key (peer: its endpoint key, as above).
-- public_key is NULL for a key pinned by fingerprint until a handshake
-- proves it; changed_digest is the other key it last offered.
CREATE TABLE IF NOT EXISTS peer_keys (
    peer           TEXT    PRIMARY KEY,
    digest         BLOB    NOT NULL CHECK (length(digest) = 32),
    public_key     BLOB,
    trust          INTEGER NOT NULL,
    changed_digest BLOB,
    pinned_ts      INTEGER NOT NULL,
    verified_ts    INTEGER
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('stream', lower(hex(randomblob(16))));
)sql";

// Whether a run in `delivered` covers the row (NULL if no run starts at or
// before it): runs do not overlap, so only the one starting last can.
constexpr const char* kInDeliveredRun =
    "(SELECT last FROM delivered WHERE first <= messages.id ORDER BY first DESC LIMIT 1) "
    ">= messages.id";
const std::string& message_columns() {
    static const std::string columns =
        std::string(
            "SELECT id, direction, peer, peer_name, text, ts, plain, "
            "CASE WHEN state = 'queued' AND direction = 'out' AND ") +
        kInDeliveredRun + " THEN 'delivered' ELSE state END, msg_id FROM messages ";
    return columns;
}

}  // namespace

Store::Store(const std::string& path) : path_(path) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
        const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw StoreError("store: cannot open '" + path + "': " + why);
    }
    try {
        sqlite3_busy_timeout(db_, 5000);
        exec("PRAGMA journal_mode = WAL");
        // An ack promises the message is on disk: fsync each (batched) commit.
        exec("PRAGMA synchronous = FULL");
        exec("PRAGMA foreign_keys = ON");
        const auto found = [&] {  // reset before the migrations: DROP needs no reader
            Statement version(db_, cache_, "PRAGMA user_version");
            version.step();
            return version.integer(0);
        }();
        if (found > kSchemaVersion) {
            throw StoreError("store: schema version " + std::to_string(found) +
                             " is newer than this chatd understands (" +
                             std::to_string(kSchemaVersion) + ")");
        }
        exec(kSchema);
        if (found < 3 && !has_column("messages", "seq"))
            exec("ALTER TABLE messages ADD COLUMN seq INTEGER");
        // Each message entered and left it: a fifth of the cost of a sent
        // message. Rows are marked delivered by id; the outbox is read at
        // start only, by a scan like the one for last_sequences().
        if (found < 4) exec("DROP INDEX IF EXISTS messages_outbox");
        // In the transfer's row, a manifest of megabytes was written again
        // with every save of its state (after each job of a receiving one).
        if (found < 6 && has_column("transfers", "manifest")) {
            exec(
                "BEGIN IMMEDIATE;"
                "INSERT OR REPLACE INTO transfer_manifests (number, manifest) "
                "SELECT number, manifest FROM transfers WHERE manifest IS NOT NULL;"
                "ALTER TABLE transfers DROP COLUMN manifest;"
                "COMMIT");
        }
        exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
        fold_all_delivered();
    } catch (const StoreError& e) {
        close();
        // Named once, after the prefix: "store: '<path>': <why>".
        std::string_view why = e.what();
        if (why.starts_with("store: ")) why.remove_prefix(7);
        throw StoreError("store: '" + path + "': " + std::string(why));
    }
}

Store::~Store() { close(); }

void Store::note_cache_bytes() {
    int current = 0, highest = 0;
    if (sqlite3_db_status(db_, SQLITE_DBSTATUS_CACHE_USED, &current, &highest, 0) == SQLITE_OK)
        cache_bytes_.store(current, std::memory_order_relaxed);
}

void Store::close() {
    for (const auto& [sql, statement] : cache_) sqlite3_finalize(statement);
    cache_.clear();
    sqlite3_close(db_);
    db_ = nullptr;
}

void Store::exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string why = error ? error : sqlite3_errmsg(db_);
        sqlite3_free(error);
        throw StoreError("store: " + why);
    }
}

bool Store::has_column(const std::string& table, const std::string& column) {
    Statement info(db_, cache_, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2");
    info.bind(1, table).bind(2, column);
    return info.step();
}

void Store::begin() { exec("BEGIN IMMEDIATE"); }
void Store::commit() {
    exec("COMMIT");
    note_cache_bytes();
}
void Store::rollback() {
    if (!sqlite3_get_autocommit(db_)) exec("ROLLBACK");
}

namespace {
// "INSERT ... VALUES " and `count` rows, each `head`, `params` numbered
// parameters (the row's first is ?(row * params + 1)), then `tail`.
std::string multi_row_insert(std::string_view insert, std::string_view head, int params,
                             std::string_view tail, std::size_t count) {
    std::string sql(insert);
    for (std::size_t row = 0; row < count; ++row) {
        sql += row == 0 ? "" : ", ";
        sql += head;
        for (int i = 1; i <= params; ++i)
            sql += ", ?" + std::to_string(static_cast<int>(row) * params + i);
        sql += tail;
    }
    return sql;
}
// The ids of the `count` rows one INSERT just wrote: consecutive, since
// each new rowid is one above the largest (until that reaches 2^63 - 1).
void append_inserted_rows(sqlite3* db, std::size_t count, std::vector<std::int64_t>& rows) {
    if (sqlite3_changes(db) != static_cast<int>(count)) {
        throw StoreError("store: an insert wrote " + std::to_string(sqlite3_changes(db)) +
                         " rows of " + std::to_string(count));
    }
    const std::int64_t last = sqlite3_last_insert_rowid(db);
    for (std::size_t i = 0; i < count; ++i)
        rows.push_back(last - static_cast<std::int64_t>(count - 1 - i));
}
constexpr int kIncomingParams = 6;
void bind_incoming(Statement& insert, int base, const IncomingMessage& m) {
    insert.bind(base + 1, m.peer).bind(base + 2, m.name).bind(base + 4, m.text);
    insert.bind(base + 5, std::int64_t{m.plain}).bind(base + 6, m.ts_ms);
    if (m.msg_id.empty()) {
        insert.bind_null(base + 3);
    } else {
        insert.bind(base + 3, m.msg_id);
    }
}
constexpr const char* kInsertIncoming =
    "INSERT INTO messages (direction, peer, peer_name, msg_id, text, plain, ts, state) VALUES ";
}  // namespace

std::vector<std::optional<std::int64_t>> Store::insert_incoming_rows(
    const std::vector<const IncomingMessage*>& messages) {
    std::vector<std::optional<std::int64_t>> rows;
    rows.reserve(messages.size());
    std::vector<std::int64_t> inserted;
    for (std::size_t first = 0; first < messages.size(); first += kRowsPerInsert) {
        const std::size_t count = std::min(kRowsPerInsert, messages.size() - first);
        Statement insert(
            db_, cache_,
            multi_row_insert(kInsertIncoming, "('in'", kIncomingParams, ", 'received')", count));
        for (std::size_t i = 0; i < count; ++i)
            bind_incoming(insert, static_cast<int>(i) * kIncomingParams, *messages[first + i]);
        if (insert.step_unless_constrained()) {
            inserted.clear();
            append_inserted_rows(db_, count, inserted);
            rows.insert(rows.end(), inserted.begin(), inserted.end());
        } else {
            // One of them is stored already (past the duplicate window, or
            // twice in this batch): each again, alone, to tell which.
            for (std::size_t i = 0; i < count; ++i)
                rows.push_back(insert_incoming(*messages[first + i]));
        }
    }
    return rows;
}

std::optional<std::int64_t> Store::insert_incoming(const IncomingMessage& m) {
    Statement insert(
        db_, cache_,
        "INSERT OR IGNORE INTO messages (direction, peer, peer_name, msg_id, text, plain, "
        "ts, state) VALUES ('in', ?1, ?2, ?3, ?4, ?5, ?6, 'received')");
    bind_incoming(insert, 0, m);
    insert.step();
    if (sqlite3_changes(db_) == 0) return std::nullopt;
    return sqlite3_last_insert_rowid(db_);
}

bool Store::hold_incoming(const IncomingMessage& m) {
    Statement insert(db_, cache_,
                     "INSERT OR IGNORE INTO held (peer, peer_name, msg_id, text, ts, stream, seq) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    insert.bind(1, m.peer).bind(2, m.name).bind(3, m.msg_id).bind(4, m.text).bind(5, m.ts_ms);
    insert.bind(6, m.stream).bind(7, static_cast<std::int64_t>(m.seq)).step();
    return sqlite3_changes(db_) > 0;
}

std::vector<MessageView> Store::release_held(const std::string& peer, const std::string& stream,
                                             std::uint64_t seq) {
    // All rows with that seq: a sender that reused one must not leave a
    // message acked but never shown.
    std::vector<std::pair<std::int64_t, IncomingMessage>> rows;
    {
        Statement select(db_, cache_,
                         "SELECT id, peer_name, msg_id, text, ts FROM held "
                         "WHERE peer = ?1 AND stream = ?2 AND seq = ?3 ORDER BY id");
        select.bind(1, peer).bind(2, stream).bind(3, static_cast<std::int64_t>(seq));
        while (select.step()) {
            IncomingMessage m;
            m.peer = peer;
            m.name = select.text(1);
            m.msg_id = select.text(2);
            m.text = select.text(3);
            m.ts_ms = select.integer(4);
            rows.emplace_back(select.integer(0), std::move(m));
        }
    }
    std::vector<MessageView> shown;
    for (const auto& [held_id, m] : rows) {
        Statement(db_, cache_, "DELETE FROM held WHERE id = ?1").bind(1, held_id).step();
        if (const auto row = insert_incoming(m))
            shown.push_back({*row, kMessageIn, peer, m.name, m.text, m.ts_ms, false, "received",
                             message_id_clock_ms(m.msg_id, m.ts_ms).value_or(0)});
    }
    return shown;
}

StreamState Store::stream_state(const std::string& peer, const std::string& stream) {
    StreamState state;
    Statement next(db_, cache_, "SELECT next FROM streams WHERE peer = ?1 AND stream = ?2");
    next.bind(1, peer).bind(2, stream);
    if (next.step()) state.next = static_cast<std::uint64_t>(next.integer(0));
    Statement held(db_, cache_,
                   "SELECT seq FROM held WHERE peer = ?1 AND stream = ?2 ORDER BY seq");
    held.bind(1, peer).bind(2, stream);
    while (held.step()) state.held.push_back(static_cast<std::uint64_t>(held.integer(0)));
    return state;
}

void Store::save_stream(const std::string& peer, const std::string& stream, std::uint64_t next) {
    Statement upsert(db_, cache_,
                     "INSERT INTO streams (peer, stream, next) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (peer, stream) DO UPDATE SET next = excluded.next");
    upsert.bind(1, peer).bind(2, stream).bind(3, static_cast<std::int64_t>(next)).step();
}

std::vector<HeldKey> Store::held_before(std::int64_t ts_ms) {
    Statement select(db_, cache_,
                     "SELECT peer, stream, seq FROM held WHERE ts < ?1 ORDER BY peer, stream, seq");
    select.bind(1, ts_ms);
    std::vector<HeldKey> keys;
    while (select.step()) {
        keys.push_back(
            {select.text(0), select.text(1), static_cast<std::uint64_t>(select.integer(2))});
    }
    return keys;
}

std::string Store::stream_id() {
    Statement select(db_, cache_, "SELECT value FROM meta WHERE key = 'stream'");
    if (!select.step()) throw StoreError("store: no stream id in '" + path_ + "'");
    return select.text(0);
}

std::unordered_map<std::string, std::uint64_t> Store::last_sequences() {
    Statement select(db_, cache_,
                     "SELECT peer, MAX(seq) FROM messages WHERE direction = 'out' "
                     "AND seq IS NOT NULL GROUP BY peer");
    std::unordered_map<std::string, std::uint64_t> last;
    while (select.step()) last[select.text(0)] = static_cast<std::uint64_t>(select.integer(1));
    return last;
}

namespace {
constexpr int kOutgoingParams = 8;
void bind_outgoing(Statement& insert, int base, const OutgoingMessage& m) {
    insert.bind(base + 1, m.peer).bind(base + 2, m.msg_id).bind(base + 3, m.text);
    insert.bind(base + 4, std::int64_t{m.plain}).bind(base + 5, m.ts_ms).bind(base + 6, m.state);
    insert.bind(base + 7, m.expires_ms);
    if (m.seq > 0) {
        insert.bind(base + 8, static_cast<std::int64_t>(m.seq));
    } else {
        insert.bind_null(base + 8);
    }
}
constexpr const char* kInsertOutgoing =
    "INSERT INTO messages (direction, peer, msg_id, text, plain, ts, state, expires, seq) VALUES ";
}  // namespace

std::int64_t Store::insert_outgoing(const OutgoingMessage& m) {
    return insert_outgoing_rows({m}).front();
}

std::vector<std::int64_t> Store::insert_outgoing_rows(
    const std::vector<OutgoingMessage>& messages) {
    std::vector<std::int64_t> rows;
    rows.reserve(messages.size());
    for (std::size_t first = 0; first < messages.size(); first += kRowsPerInsert) {
        const std::size_t count = std::min(kRowsPerInsert, messages.size() - first);
        Statement insert(db_, cache_,
                         multi_row_insert(kInsertOutgoing, "('out'", kOutgoingParams, ")", count));
        for (std::size_t i = 0; i < count; ++i)
            bind_outgoing(insert, static_cast<int>(i) * kOutgoingParams, messages[first + i]);
        insert.step();
        append_inserted_rows(db_, count, rows);
    }
    return rows;
}

void Store::mark_delivered_rows(std::int64_t first_row, std::int64_t last_row, std::int64_t ts_ms) {
    Statement(db_, cache_,
              "INSERT OR IGNORE INTO delivered (first, last, acked_ts) VALUES (?1, ?2, ?3)")
        .bind(1, first_row)
        .bind(2, last_row)
        .bind(3, ts_ms)
        .step();
    if (sqlite3_changes(db_) > 0) ++unfolded_runs_;
}

std::size_t Store::fold_delivered(std::size_t max_runs) {
    std::vector<std::array<std::int64_t, 3>> runs;
    {
        Statement oldest(db_, cache_,
                         "SELECT first, last, acked_ts FROM delivered ORDER BY first LIMIT ?1");
        oldest.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(max_runs, INT64_MAX)));
        while (oldest.step())
            runs.push_back({oldest.integer(0), oldest.integer(1), oldest.integer(2)});
    }
    // Run by run, by row id: one UPDATE joining the tables scanned every
    // message for every run (12 s for 120,000 rows, against 0.27 s so).
    for (const auto& [first, last, acked_ts] : runs) {
        Statement(db_, cache_,
                  "UPDATE messages SET state = 'delivered', acked_ts = ?3 WHERE id BETWEEN ?1 AND "
                  "?2 AND direction = 'out' AND state = 'queued'")
            .bind(1, first)
            .bind(2, last)
            .bind(3, acked_ts)
            .step();
        Statement(db_, cache_, "DELETE FROM delivered WHERE first = ?1").bind(1, first).step();
    }
    // Fewer than asked for: the table is empty now, whatever was counted
    // (a run in a transaction that rolled back never arrived).
    unfolded_runs_ =
        runs.size() < max_runs ? 0 : unfolded_runs_ - std::min(unfolded_runs_, runs.size());
    return runs.size();
}

void Store::fold_all_delivered() {
    // Only when there is something to fold: the reading connection opens
    // the same file and should not take the write lock for nothing.
    if (!Statement(db_, cache_, "SELECT 1 FROM delivered LIMIT 1").step()) return;
    exec("BEGIN IMMEDIATE");
    try {
        while (fold_delivered(4096) > 0) {
        }
        exec("COMMIT");
    } catch (const StoreError&) {
        rollback();
        throw;
    }
}

void Store::mark_expired(std::int64_t id) {
    Statement(db_, cache_,
              std::string("UPDATE messages SET state = 'expired' WHERE id = ?1 AND state = "
                          "'queued' AND NOT coalesce(") +
                  kInDeliveredRun + ", 0)")
        .bind(1, id)
        .step();
}

void Store::touch_peer(const std::string& address, const std::string& name, bool spoke_envelope,
                       bool spoke_plain, std::int64_t ts_ms) {
    Statement upsert(db_, cache_,
                     "INSERT INTO peers (address, name, last_seen, speaks_envelope, speaks_plain) "
                     "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (address) DO UPDATE SET "
                     "name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE name END, "
                     "last_seen = excluded.last_seen, "
                     "speaks_envelope = speaks_envelope OR excluded.speaks_envelope, "
                     "speaks_plain = speaks_plain OR excluded.speaks_plain");
    upsert.bind(1, address).bind(2, name).bind(3, ts_ms);
    upsert.bind(4, std::int64_t{spoke_envelope}).bind(5, std::int64_t{spoke_plain}).step();
}

namespace {
// Binds ?1 and ?2 of kFilter.
constexpr const char* kFilter = "(?1 = 0 OR direction = 'in') AND (?2 = '' OR peer = ?2)";
void bind_filter(Statement& statement, const MessageFilter& filter) {
    statement.bind(1, std::int64_t{filter.received_only}).bind(2, filter.peer);
}
}  // namespace

std::int64_t Store::before_newest(const MessageFilter& filter, std::size_t count) {
    Statement select(db_, cache_,
                     std::string("SELECT id FROM messages WHERE ") + kFilter +
                         " ORDER BY id DESC LIMIT 1 OFFSET ?3");
    bind_filter(select, filter);
    select.bind(3, static_cast<std::int64_t>(count));
    return select.step() ? select.integer(0) : 0;
}

std::vector<MessageView> Store::page(const MessageFilter& filter, std::int64_t after_id,
                                     std::size_t count, std::size_t max_bytes) {
    Statement select(
        db_, cache_,
        message_columns() + "WHERE " + kFilter + " AND id > ?3 ORDER BY id ASC LIMIT ?4");
    bind_filter(select, filter);
    select.bind(3, after_id).bind(4, static_cast<std::int64_t>(count));
    std::vector<MessageView> rows;
    std::size_t bytes = 0;
    while (bytes < max_bytes && select.step()) {
        MessageView m;
        m.id = select.integer(0);
        m.direction = select.text(1);
        m.peer = select.text(2);
        m.name = select.text(3);
        m.text = select.text(4);
        m.ts_ms = select.integer(5);
        m.plain = select.integer(6) != 0;
        m.state = select.text(7);
        m.sent_ms =
            m.outgoing() ? m.ts_ms : message_id_clock_ms(select.text(8), m.ts_ms).value_or(0);
        bytes += m.text.size();
        rows.push_back(std::move(m));
    }
    note_cache_bytes();
    return rows;
}

std::vector<PendingRow> Store::pending() {
    Statement select(db_, cache_,
                     std::string("SELECT id, peer, msg_id, text, expires, seq FROM messages "
                                 "WHERE direction = 'out' AND state = 'queued' AND NOT coalesce(") +
                         kInDeliveredRun + ", 0) ORDER BY id");
    std::vector<PendingRow> rows;
    while (select.step()) {
        rows.push_back({select.integer(0), select.text(1), select.text(2), select.text(3),
                        select.integer(4), static_cast<std::uint64_t>(select.integer(5))});
    }
    return rows;
}

std::vector<PeerRow> Store::peers() {
    Statement select(db_, cache_,
                     "SELECT address, name, last_seen, speaks_envelope, speaks_plain FROM peers "
                     "ORDER BY last_seen DESC");
    std::vector<PeerRow> rows;
    while (select.step()) {
        rows.push_back({select.text(0), select.text(1), select.integer(2), select.integer(3) != 0,
                        select.integer(4) != 0});
    }
    return rows;
}

void Store::save_transfer(const TransferRow& row) {
    Statement upsert(db_, cache_,
                     "INSERT INTO transfers (number, wire_id, direction, peer, state, doc, "
                     "updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                     "ON CONFLICT (number) DO UPDATE SET state = excluded.state, "
                     "doc = excluded.doc, updated = excluded.updated");
    upsert.bind(1, row.number).bind(2, row.wire_id).bind(3, row.direction).bind(4, row.peer);
    upsert.bind(5, row.state).bind(6, row.doc).bind(7, row.updated_ms);
    upsert.step();
    if (row.manifest) {
        Statement put(db_, cache_,
                      "INSERT OR REPLACE INTO transfer_manifests (number, manifest) "
                      "VALUES (?1, ?2)");
        put.bind(1, row.number).bind(2, *row.manifest).step();
    }
}

std::vector<TransferRow> Store::transfers() {
    Statement select(db_, cache_,
                     "SELECT t.number, wire_id, direction, peer, state, doc, manifest, updated "
                     "FROM transfers t LEFT JOIN transfer_manifests m USING (number) "
                     "ORDER BY t.number");
    std::vector<TransferRow> rows;
    while (select.step()) {
        TransferRow row{select.integer(0), select.text(1), select.text(2), select.text(3),
                        select.text(4),    select.text(5), std::nullopt,   select.integer(7)};
        if (sqlite3_column_type(select.handle(), 6) != SQLITE_NULL) row.manifest = select.text(6);
        rows.push_back(std::move(row));
    }
    return rows;
}

void Store::prune_transfers(std::size_t keep) {
    // The finished states are transfer_state's: one list for the store and the manager.
    std::string finished = "state IN (";
    for (const std::string_view name : finished_state_names()) {
        if (finished.back() != '(') finished += ", ";
        finished += "'" + std::string(name) + "'";
    }
    finished += ")";
    Statement remove(db_, cache_,
                     "DELETE FROM transfers WHERE " + finished +
                         " AND number NOT IN (SELECT number FROM transfers WHERE " + finished +
                         " ORDER BY number DESC LIMIT ?1)");
    remove.bind(1, static_cast<std::int64_t>(keep)).step();
}

namespace {
// The trust column: 0 unverified, 1 verified.
constexpr std::int64_t trust_column(Trust trust) { return trust == Trust::verified ? 1 : 0; }
}  // namespace

void Store::save_peer_key(const PeerKeyRow& row) {
    Statement save(db_, cache_,
                   "INSERT OR REPLACE INTO peer_keys (peer, digest, public_key, trust, "
                   "changed_digest, pinned_ts, verified_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    save.bind(1, row.peer).bind(2, row.pin.digest).bind(3, row.pin.public_key);
    save.bind(4, trust_column(row.pin.trust)).bind(5, row.pin.changed_to).bind(6, row.pinned_ms);
    row.verified_ms != 0 ? save.bind(7, row.verified_ms) : save.bind_null(7);
    save.step();
}

std::vector<PeerKeyRow> Store::peer_keys() {
    Statement rows(db_, cache_,
                   "SELECT peer, digest, public_key, trust, changed_digest, pinned_ts, "
                   "coalesce(verified_ts, 0) FROM peer_keys ORDER BY peer");
    std::vector<PeerKeyRow> out;
    while (rows.step()) {
        PeerKeyRow row;
        row.peer = rows.text(0);
        row.pin.digest = rows.blob<32>(1).value_or(KeyDigest{});
        row.pin.public_key = rows.blob<32>(2);
        row.pin.trust = rows.integer(3) == 1 ? Trust::verified : Trust::unverified;
        row.pin.changed_to = rows.blob<32>(4);
        row.pinned_ms = rows.integer(5);
        row.verified_ms = rows.integer(6);
        out.push_back(std::move(row));
    }
    return out;
}

}  // namespace chat
