#pragma once
// The transfers under way and kept, both directions, and what the parts
// of the transfer manager share about them. Everything here is touched on
// the control thread only (the io_context's thread): the manager, the
// Sender and the Receiver all run there.
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "clock.hpp"
#include "control_protocol.hpp"
#include "control_server.hpp"
#include "dir_access.hpp"
#include "envelope.hpp"
#include "manifest.hpp"
#include "net.hpp"
#include "staging.hpp"
#include "store.hpp"
#include "transfer_jobs.hpp"
#include "transfer_state.hpp"
#include "unique_fd.hpp"
#include "worker_pool.hpp"

namespace spdlog {
class logger;
}

namespace chat {

using TransferClock = std::chrono::steady_clock;

// What a transfer of either direction is known by.
struct TransferIds {
    std::uint64_t number = 0;  // the id users see
    std::string id;            // shared with the peer
    std::string peer;          // its HOST:PORT key
};

// A stored row's ids, and a row to store (stamped when persisted).
TransferIds ids_of(const TransferRow& row);
TransferRow row_of(const TransferIds& ids, TransferDirection direction, std::string_view state,
                   std::string doc, std::optional<std::string> manifest);

struct OutgoingTransfer : TransferIds {
    Endpoint to;
    Manifest manifest;                      // released once finished: a big one is megabytes
    std::string manifest_text;              // as chatcli sent it: stored and sent as is
    std::vector<std::string> names;         // top-level names, kept for listings
    std::vector<std::size_t> file_entries;  // manifest entry of each descriptor
    std::shared_ptr<OwnedFds> fds;          // shared with the queued send jobs
    OutgoingState state = OutgoingState::offered;
    std::string reason;
    std::uint64_t run = 1;
    std::set<std::uint64_t> jobs;  // in the worker pool
    // Not yet submitted: only as many jobs as workers are queued at once, so
    // the duplicated descriptors they carry stay few.
    std::deque<std::vector<std::size_t>> waiting_batches;
    std::uint64_t wire_bytes = 0;
    unsigned checks = 0;  // answers while finishing
    bool rerun = false;   // the jobs ran once more while finishing
    std::vector<std::string> placed;
    std::shared_ptr<ReplySink> reply;
    bool wait = true;
    std::unique_ptr<ProgressTracker> tracker;
    TransferClock::time_point started = TransferClock::now();
    TransferClock::time_point last_progress{};
    unsigned offer_attempts = 0;
    std::unique_ptr<asio::steady_timer> retry;
    std::string token;
    std::uint16_t port = 0;
    bool manifest_line = false;  // the receiver takes the manifest as a line of its own
    std::size_t jobs_left = 0;
    std::unique_ptr<asio::steady_timer> unanswered;     // Sender::tell_unanswered's
    TransferClock::time_point data_started{};           // accepted: the data may flow
    std::map<std::uint64_t, std::uint64_t> send_rates;  // running send job -> its rate

    // With the manifest, its top-level names and which entries are files.
    void take_manifest(Manifest m) {
        manifest = std::move(m);
        names = manifest.top_level_names();
        file_entries.clear();
        for (std::size_t i = 0; i < manifest.entries.size(); ++i) {
            if (manifest.entries[i].type == EntryType::file) file_entries.push_back(i);
        }
    }
};

struct IncomingTransfer : TransferIds {
    Endpoint from;
    std::string name;
    TransferOffer offer;
    IncomingState state = IncomingState::offered;
    std::string reason;
    // What the sender is told instead, when `reason` is about our own
    // storage: local paths and errors stay on this host.
    std::string peer_reason;
    std::uint64_t run = 1;
    std::set<std::uint64_t> jobs;
    std::string token;
    std::string dir;
    // Who named `dir` with --to (none: the default download dir), so a
    // restart checks it for them again.
    std::optional<UserIds> accepted_by;
    UniqueFd dir_fd;  // `dir`, opened; declared before `staging`, which goes first
    std::unique_ptr<StagingTree> staging;
    std::optional<Manifest> manifest;
    std::set<std::size_t> verified;
    // Files some data connection has named before (in this process): only
    // those can have staged bytes to resume from.
    std::vector<bool> seen;
    std::unique_ptr<ProgressTracker> tracker;
    std::vector<std::pair<std::string, std::string>> placed;
    TransferClock::time_point offered_at = TransferClock::now();
    std::int64_t offered_ms = wall_clock_ms();  // kept across restarts
    bool restored = false;                      // taken back from the store after a restart
    bool files_stamped = true;                  // workers set mode and mtime (older rows: no)
    TransferClock::time_point verified_saved;   // when `verified` was last saved
    bool publishing = false;                    // every file verified; a worker syncs them
    bool saving_accept = false;                 // "accepted" not durable yet: not told yet
    int sync_failures = 0;
    IncomingTransfer() = default;
    IncomingTransfer(const IncomingTransfer&) = delete;
    IncomingTransfer& operator=(const IncomingTransfer&) = delete;
};

// Every transfer by its number (the id users see), both directions, and
// the next number to give. Both maps are ordered by number, oldest first.
class TransferRegistry {
public:
    std::map<std::uint64_t, std::unique_ptr<OutgoingTransfer>> outgoing;
    std::map<std::uint64_t, std::unique_ptr<IncomingTransfer>> incoming;
    std::uint64_t next_number = 1;

    // By the shared id; null if none.
    OutgoingTransfer* outgoing_by_id(const std::string& id);
    IncomingTransfer* incoming_by_id(const std::string& id);
    // By number, still there; null if gone.
    OutgoingTransfer* find_outgoing(std::uint64_t number);
    IncomingTransfer* find_incoming(std::uint64_t number);
    // Keeps the newest finished transfers in memory (the store keeps more).
    void forget_old();
    // The transfers under way.
    std::size_t active() const;
    // The transfer a request names by number or by its shared id's start;
    // 0 with `why` set if none or several.
    std::uint64_t named(const DecideRequest& request, std::string& why) const;
};

// Cancels every job of a transfer (the pool drops a queued one, stops a
// running one); the transfer forgets them.
void cancel_jobs(WorkerPool& pool, std::set<std::uint64_t>& jobs);

// 128 random bits as hex: a transfer's shared id, a one-time token.
std::string random_hex(std::mt19937_64& random);

// Every change of a transfer's state goes through here: a move its state
// machine (transfer_state.hpp) does not allow is a bug, and logged as one.
void move_state(spdlog::logger& log, std::uint64_t number, OutgoingState& state, OutgoingState to);
void move_state(spdlog::logger& log, std::uint64_t number, IncomingState& state, IncomingState to);

}  // namespace chat
