#pragma once
// History, the outbox, known peers and their keys in one SQLite file (WAL). One Store
// is one connection: the store thread writes through its own, the control
// thread reads through another. Errors throw StoreError.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "control_protocol.hpp"
#include "trust.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace chat {

class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct IncomingMessage {
    std::string peer;    // endpoint key
    std::string name;    // sender's name, may be empty
    std::string msg_id;  // empty for plain
    std::string text;
    bool plain = false;
    std::int64_t ts_ms = 0;
    // Its place in the sender's stream; seq 0 for plain or unordered ones.
    std::string stream;
    std::uint64_t seq = 0;
    std::uint64_t floor = 0;
};

struct OutgoingMessage {
    std::string peer;
    std::string msg_id;
    std::string text;
    bool plain = false;
    std::int64_t ts_ms = 0;
    std::int64_t expires_ms = 0;
    std::string state;      // queued, or sent for plain
    std::uint64_t seq = 0;  // in our stream to this peer; 0 for plain
};

// An outbox row still waiting for its ack.
struct PendingRow {
    std::int64_t id = 0;
    std::string peer;
    std::string msg_id;
    std::string text;
    std::int64_t expires_ms = 0;
    std::uint64_t seq = 0;
};

// A received message held back until the ones its sender sent before it
// arrive (see common/message_order.hpp).
struct HeldKey {
    std::string peer;
    std::string stream;
    std::uint64_t seq = 0;
};

struct StreamState {
    std::uint64_t next = 0;  // 0: never seen
    std::vector<std::uint64_t> held;
};

// Which messages a listing shows: received only (inbox) or both
// directions (history), optionally of one peer (its endpoint key).
struct MessageFilter {
    bool received_only = false;
    std::string peer;
};

struct PeerRow {
    std::string address;
    std::string name;
    std::int64_t last_seen_ms = 0;
    bool speaks_envelope = false;
    bool speaks_plain = false;
};

// A transfer as it is kept across restarts. `doc` is a JSON object with
// the rest of its state (token, directory, reason, verified files...),
// owned by the transfer manager.
struct TransferRow {
    std::int64_t number = 0;  // the id users see
    std::string wire_id;
    std::string direction;  // in, out
    std::string peer;
    std::string state;
    std::string doc = "{}";
    // The encoded manifest. On save, nullopt leaves the stored one as it is,
    // so the (possibly large) manifest is written once.
    std::optional<std::string> manifest;
    std::int64_t updated_ms = 0;
};

// A peer's pinned key as kept across restarts (table peer_keys).
struct PeerKeyRow {
    std::string peer;  // endpoint key
    Pin pin;
    std::int64_t pinned_ms = 0;    // when this key was pinned
    std::int64_t verified_ms = 0;  // when it was verified; 0: never
};

class Store {
public:
    // Creates the file and schema if needed.
    explicit Store(const std::string& path);
    // Bytes of this connection's page cache (up to 2 MiB) as of its last
    // commit or page read; safe to read from any thread.
    std::int64_t cache_bytes() const { return cache_bytes_.load(std::memory_order_relaxed); }
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    void begin();
    void commit();
    void rollback();

    // The new row's id, or nullopt if this peer's message id is stored already.
    std::optional<std::int64_t> insert_incoming(const IncomingMessage& message);
    // Received messages, in order, with one INSERT per up to kRowsPerInsert
    // rows; for each its id, or nullopt if it was stored already.
    std::vector<std::optional<std::int64_t>> insert_incoming_rows(
        const std::vector<const IncomingMessage*>& messages);
    // Keeps a received message out of the listings for now; false if it is
    // held already.
    bool hold_incoming(const IncomingMessage& message);
    // Moves the held message(s) with this seq into the listings.
    std::vector<MessageView> release_held(const std::string& peer, const std::string& stream,
                                          std::uint64_t seq);
    StreamState stream_state(const std::string& peer, const std::string& stream);
    void save_stream(const std::string& peer, const std::string& stream, std::uint64_t next);
    // Held messages that arrived before `ts_ms`, by stream and seq.
    std::vector<HeldKey> held_before(std::int64_t ts_ms);
    // Names this store's own stream of sent messages (made once, kept).
    std::string stream_id();
    // The highest seq sent to each peer.
    std::unordered_map<std::string, std::uint64_t> last_sequences();
    std::int64_t insert_outgoing(const OutgoingMessage& message);
    // A send's messages, in order, with one INSERT per up to kRowsPerInsert
    // rows (a statement per row was half the cost of each); their ids.
    std::vector<std::int64_t> insert_outgoing_rows(const std::vector<OutgoingMessage>& messages);
    static constexpr std::size_t kRowsPerInsert = 64;
    // Marks the queued outgoing rows first_row..last_row delivered (a
    // burst's acks cover consecutive rows), as one run in `delivered`: the
    // listings and pending() read it from there until it is folded into the
    // rows. A row is in one run at most.
    void mark_delivered_rows(std::int64_t first_row, std::int64_t last_row, std::int64_t ts_ms);
    // Writes up to max_runs of the oldest runs into their rows and drops
    // them, in the caller's transaction; how many. The store thread does it
    // when idle, so the rewrite of each acked row leaves the ack's path;
    // opening the store folds them all.
    std::size_t fold_delivered(std::size_t max_runs);
    // Runs this connection marked and has not folded yet.
    std::size_t unfolded_runs() const { return unfolded_runs_; }
    void mark_expired(std::int64_t id);
    // What the peer spoke is added to what it spoke before, never taken
    // away: a peer that ever spoke envelopes stays an envelope peer.
    void touch_peer(const std::string& address, const std::string& name, bool spoke_envelope,
                    bool spoke_plain, std::int64_t ts_ms);

    // Results are read in pages, so a long history never sits in memory
    // whole: start after before_newest(filter, n) to get the newest n.
    std::int64_t before_newest(const MessageFilter& filter, std::size_t count);
    // Up to `count` matching messages with id > after_id, oldest first,
    // stopping early once their text passes max_bytes (at least one row).
    std::vector<MessageView> page(const MessageFilter& filter, std::int64_t after_id,
                                  std::size_t count, std::size_t max_bytes = SIZE_MAX);
    std::vector<PendingRow> pending();
    std::vector<PeerRow> peers();

    void save_transfer(const TransferRow& row);
    // Every transfer, oldest first, with its manifest if one is stored.
    std::vector<TransferRow> transfers();
    // Forgets finished transfers (done, failed, rejected, cancelled,
    // expired) but the newest `keep`.
    void prune_transfers(std::size_t keep);

    // Writes the peer's pin over the one stored.
    void save_peer_key(const PeerKeyRow& row);
    std::vector<PeerKeyRow> peer_keys();

private:
    void exec(const char* sql);
    bool has_column(const std::string& table, const std::string& column);
    void close();  // finalizes the cached statements, then the connection
    void fold_all_delivered();
    void note_cache_bytes();

    sqlite3* db_ = nullptr;
    std::string path_;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;  // prepared once per SQL text
    std::atomic<std::int64_t> cache_bytes_{0};
    std::size_t unfolded_runs_ = 0;
};

}  // namespace chat
