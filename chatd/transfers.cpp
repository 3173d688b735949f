#include "transfers.hpp"

#include <fcntl.h>
#include <spdlog/logger.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "accept_target.hpp"
#include "address.hpp"
#include "clock.hpp"
#include "flat_json.hpp"
#include "offer_policy.hpp"
#include "peer_json.hpp"
#include "random_seed.hpp"
#include "read_line.hpp"
#include "reopen_target.hpp"
#include "retry.hpp"
#include "text.hpp"
#include "transfer_paths.hpp"
#include "transfer_record.hpp"
#include "transfer_stream.hpp"
#include "worker_jobs.hpp"

namespace chat {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxFilesPerJob = 250;  // descriptors in one worker message
// A failed job resumes with backoff (0.5 s doubling), about 15 s in all:
// long enough for the receiving daemon to restart.
constexpr int kJobAttempts = 6;
constexpr int kSyncAttempts = 3;  // a received tree's sync, when its worker dies
constexpr auto kManifestTimeout = std::chrono::seconds(30);
constexpr auto kProgressEvery = std::chrono::milliseconds(250);
// Answers of "still receiving" after every job is done, before the jobs
// run again (the receiver lost track of some files, e.g. in a restart).
constexpr unsigned kChecksBeforeRerun = 4;
constexpr std::size_t kFinishedKeptInMemory = 100;
// An offer without any answer this long: the client hears the peer may be down.
constexpr auto kUnansweredAfter = std::chrono::seconds(3);

asio::ip::address address_of(const std::string& peer_key) {
    return asio::ip::make_address(parse_host_port(peer_key).host);
}

// A transfer sends an event per file: a json document for each cost more
// than the file's own work, so these lines are written directly (manifest
// paths are valid UTF-8). A job's file list is append_job_file's.
std::string file_event_line(std::uint64_t number, const ManifestEntry& e) {
    std::string line = R"({"bytes":)" + std::to_string(e.size) + R"(,"event":"file","id":)" +
                       std::to_string(number) + R"(,"path":)";
    append_json_string(line, e.path);
    return line + "}\n";
}

// What a sender hears when our storage failed: the detail is local.
constexpr const char* kCouldNotStore = "the receiver could not store the transfer";

// Cancels every job of a transfer (the pool drops a queued one, stops a
// running one); the transfer forgets them.
void cancel_jobs(WorkerPool& pool, std::set<std::uint64_t>& jobs) {
    for (const auto job : jobs) pool.cancel(job);
    jobs.clear();
}

// Every change of a transfer's state goes through here: a move its state
// machine (transfer_state.hpp) does not allow is a bug, and logged as one.
template <typename State>
void move_state(spdlog::logger& log, std::uint64_t number, State& state, State to) {
    if (state != to && !can_move(state, to)) {
        log.error("transfer {}: {} -> {} is not a move its state machine allows", number,
                  to_string(state), to_string(to));
    }
    state = to;
}

}  // namespace

struct TransferManager::Outgoing {
    std::uint64_t number = 0;
    std::string id;
    std::string peer;
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
    Clock::time_point started = Clock::now();
    Clock::time_point last_progress{};
    unsigned offer_attempts = 0;
    std::unique_ptr<asio::steady_timer> retry;
    std::string token;
    std::uint16_t port = 0;
    bool manifest_line = false;  // the receiver takes the manifest as a line of its own
    std::size_t jobs_left = 0;
    std::unique_ptr<asio::steady_timer> unanswered;     // tell_unanswered's
    Clock::time_point data_started{};                   // accepted: the data may flow
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

struct TransferManager::Incoming {
    std::uint64_t number = 0;
    std::string id;
    std::string peer;
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
    int dir_fd = -1;
    std::unique_ptr<StagingTree> staging;
    std::optional<Manifest> manifest;
    std::set<std::size_t> verified;
    // Files some data connection has named before (in this process): only
    // those can have staged bytes to resume from.
    std::vector<bool> seen;
    std::unique_ptr<ProgressTracker> tracker;
    std::vector<std::pair<std::string, std::string>> placed;
    Clock::time_point offered_at = Clock::now();
    std::int64_t offered_ms = wall_clock_ms();  // kept across restarts
    bool restored = false;                      // taken back from the store after a restart
    bool files_stamped = true;                  // workers set mode and mtime (older rows: no)
    Clock::time_point verified_saved;           // when `verified` was last saved
    bool publishing = false;                    // every file verified; a worker syncs them
    int sync_failures = 0;
    ~Incoming() {
        staging.reset();
        if (dir_fd >= 0) ::close(dir_fd);
    }
};

TransferManager::TransferManager(TransferContext context)
    : ctx_(std::move(context)),
      listener_(ctx_.io, ctx_.log, listener_handlers()),
      random_(seeded_engine()) {}

TransferManager::~TransferManager() { stop(); }

TransferListener::Handlers TransferManager::listener_handlers() {
    TransferListener::Handlers h;
    h.token_of = [this](const std::string& id) -> const std::string* {
        const Incoming* t = incoming_by_id(id);
        return t && is_active(t->state) ? &t->token : nullptr;
    };
    h.wants_files = [this](const std::string& id) {
        const Incoming* t = incoming_by_id(id);
        return t && t->manifest && !t->publishing;
    };
    h.on_manifest = [this](const std::string& id, asio::ip::tcp::socket& socket,
                           const std::string& manifest) {
        if (Incoming* t = incoming_by_id(id)) receive_manifest(*t, socket, manifest);
    };
    h.on_files = [this](const std::string& id, asio::ip::tcp::socket& socket,
                        const std::vector<std::size_t>& files) {
        if (Incoming* t = incoming_by_id(id)) receive_files(*t, socket, files);
    };
    return h;
}

void TransferManager::start(const Endpoint& listen) {
    listen_ = listen;
    listener_.start(listen);
}

void TransferManager::stop() {
    if (stopped_) return;
    stopped_ = true;
    listener_.stop();
    for (auto& [n, t] : outgoing_) {
        if (t->retry) t->retry->cancel();
        if (t->unanswered) t->unanswered->cancel();
    }
}

std::optional<Endpoint> TransferManager::endpoint_of(const std::string& peer_key) const {
    try {
        const HostPort hp = parse_host_port(peer_key);
        const auto numeric = numeric_endpoint(hp.host, hp.port);
        return numeric ? for_socket(*numeric, listen_) : std::nullopt;
    } catch (const std::invalid_argument&) {
        return std::nullopt;
    }
}

void TransferManager::restore(const std::vector<TransferRow>& rows) {
    std::size_t resumable = 0;
    for (const TransferRow& row : rows) {
        next_number_ = std::max(next_number_, static_cast<std::uint64_t>(row.number) + 1);
        const auto endpoint = endpoint_of(row.peer);
        try {
            const bool out = row.direction == "out";
            const bool usable = endpoint && (!out || row.manifest) &&
                                (out ? restore_outgoing(row, *endpoint, resumable)
                                     : restore_incoming(row, *endpoint, resumable));
            if (!usable)
                ctx_.log->warn("transfer {}: its stored state is unusable; left out", row.number);
        } catch (const std::exception& e) {  // json or manifest errors: a damaged row
            ctx_.log->warn("transfer {}: its stored state is unusable ({}); left out", row.number,
                           e.what());
            outgoing_.erase(static_cast<std::uint64_t>(row.number));
            incoming_.erase(static_cast<std::uint64_t>(row.number));
        }
    }
    if (resumable > 0)
        ctx_.log->info("{} unfinished transfers taken back from the store", resumable);
    forget_old();
}

bool TransferManager::restore_outgoing(const TransferRow& row, const Endpoint& to,
                                       std::size_t& resumable) {
    const auto record = decode_outgoing_record(row.state, row.doc);
    if (!record) return false;
    const auto now = Clock::now();
    auto t = std::make_unique<Outgoing>();
    t->number = static_cast<std::uint64_t>(row.number);
    t->id = row.wire_id;
    t->peer = row.peer;
    t->to = to;
    t->state = record->state;
    t->reason = record->reason;
    t->run = record->run;
    t->wire_bytes = record->wire_bytes;
    t->placed = record->placed;
    // A finished transfer needs only its summary; only one that can still
    // resume (failed, or under way) needs its manifest.
    std::uint64_t total_bytes = record->bytes;
    std::size_t total_files = record->files;
    t->names = record->names.value_or(std::vector<std::string>{});
    if (needs_manifest(*record)) {
        t->take_manifest(decode_manifest(*row.manifest));
        t->manifest_text = *row.manifest;
        total_bytes = t->manifest.total_bytes();
        total_files = t->manifest.file_count();
    }
    if (!is_finished(t->state)) {
        // Its descriptors went with the old process.
        move_state(*ctx_.log, t->number, t->state, OutgoingState::interrupted);
        t->reason = "chatd restarted: send the same paths again to resume";
        ++resumable;
    }
    t->tracker = std::make_unique<ProgressTracker>(total_bytes, total_files, now);
    if (t->state == OutgoingState::done)
        t->tracker->add(static_cast<std::int64_t>(total_bytes), total_files, now);
    release_manifest(*t);
    t->retry = std::make_unique<asio::steady_timer>(ctx_.io);
    outgoing_[t->number] = std::move(t);
    return true;
}

bool TransferManager::restore_incoming(const TransferRow& row, const Endpoint& from,
                                       std::size_t& resumable) {
    auto record = decode_incoming_record(row.state, row.doc);
    if (!record) return false;
    const auto now = Clock::now();
    const std::int64_t now_ms = wall_clock_ms();
    auto t = std::make_unique<Incoming>();
    t->number = static_cast<std::uint64_t>(row.number);
    t->id = row.wire_id;
    t->peer = row.peer;
    t->from = from;
    t->state = record->state;
    t->name = std::move(record->name);
    t->reason = std::move(record->reason);
    t->peer_reason = std::move(record->peer_reason);
    t->run = record->run;
    t->token = std::move(record->token);
    t->dir = std::move(record->dir);
    t->accepted_by = std::move(record->accepted_by);
    t->offered_ms = record->offered_ms.value_or(now_ms);
    t->restored = true;
    t->offered_at =
        now - std::chrono::milliseconds(std::max<std::int64_t>(0, now_ms - t->offered_ms));
    t->offer = std::move(record->offer);
    t->placed = std::move(record->placed);
    if (row.manifest && !is_finished(t->state)) t->manifest = decode_manifest(*row.manifest);
    t->verified = std::move(record->verified);
    t->files_stamped = record->files_stamped;
    if (t->state == IncomingState::done) {  // listed whole, as before the restart
        t->tracker = std::make_unique<ProgressTracker>(t->offer.bytes, t->offer.files, now);
        t->tracker->add(static_cast<std::int64_t>(t->offer.bytes), t->offer.files, now);
    }
    Incoming& ref = *t;
    incoming_[t->number] = std::move(t);
    if (!is_active(ref.state)) return true;
    // Take the staging tree back, with what it holds.
    try {
        ref.dir_fd = reopen_accept_target(ref.dir, ref.accepted_by, default_download_dir());
        ref.staging = std::make_unique<StagingTree>(ref.dir_fd, staging_name(ref.id));
    } catch (const AcceptTargetError& e) {
        fail_storage(ref, e.what());
        return true;
    } catch (const StagingError& e) {
        fail_storage(ref, e.what());
        return true;
    }
    if (ref.manifest) {
        ref.tracker = std::make_unique<ProgressTracker>(ref.manifest->total_bytes(),
                                                        ref.manifest->file_count(), now);
    }
    ++resumable;
    return true;
}

void TransferManager::forget_old() {
    std::size_t count = 0;
    for (const auto& [n, t] : outgoing_) count += is_finished(t->state);
    for (const auto& [n, t] : incoming_) count += is_finished(t->state);
    // Both maps are ordered by number, oldest first.
    auto out = outgoing_.begin();
    auto in = incoming_.begin();
    while (count > kFinishedKeptInMemory) {
        while (out != outgoing_.end() && !is_finished(out->second->state)) ++out;
        while (in != incoming_.end() && !is_finished(in->second->state)) ++in;
        if (out == outgoing_.end() && in == incoming_.end()) break;
        if (in == incoming_.end() || (out != outgoing_.end() && out->first < in->first)) {
            out = outgoing_.erase(out);
        } else {
            in = incoming_.erase(in);
        }
        --count;
    }
}

void TransferManager::save(const Outgoing& t, bool with_manifest) {
    OutgoingRecord record{t.state, t.reason, t.run, t.wire_bytes, t.placed, t.names, 0, 0};
    if (t.tracker) {
        const auto s = t.tracker->snapshot(Clock::now());
        record.files = s.total_files;
        record.bytes = s.total_bytes;
    }
    persist_row(
        {static_cast<std::int64_t>(t.number), t.id, "out", t.peer, std::string(to_string(t.state)),
         encode_record(record), with_manifest ? std::optional(t.manifest_text) : std::nullopt, 0},
        {});
}

void TransferManager::save(const Incoming& t, std::function<void(bool)> then,
                           const std::string* manifest_text) {
    const IncomingRecord record{t.state,         t.run,    t.name,       t.reason, t.peer_reason,
                                t.token,         t.dir,    t.offered_ms, t.offer,  t.verified,
                                t.files_stamped, t.placed, t.accepted_by};
    persist_row(
        {static_cast<std::int64_t>(t.number), t.id, "in", t.peer, std::string(to_string(t.state)),
         encode_record(record), manifest_text ? std::optional(*manifest_text) : std::nullopt, 0},
        std::move(then));
}

void TransferManager::persist_row(TransferRow row, std::function<void(bool)> then) {
    row.updated_ms = wall_clock_ms();
    ctx_.persist([row = std::move(row)](Store& store) { store.save_transfer(row); },
                 std::move(then));
}

std::size_t TransferManager::active() const {
    std::size_t count = 0;
    for (const auto& [n, t] : outgoing_) count += is_active(t->state);
    for (const auto& [n, t] : incoming_) count += is_active(t->state);
    return count;
}

std::string TransferManager::random_hex() {
    char text[33];
    std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(random_()),
                  static_cast<unsigned long long>(random_()));
    return text;
}

TransferManager::Outgoing* TransferManager::outgoing_by_id(const std::string& id) {
    for (auto& [n, t] : outgoing_) {
        if (t->id == id) return t.get();
    }
    return nullptr;
}

TransferManager::Incoming* TransferManager::incoming_by_id(const std::string& id) {
    for (auto& [n, t] : incoming_) {
        if (t->id == id) return t.get();
    }
    return nullptr;
}

// ---- sending ---------------------------------------------------------------

TransferManager::Outgoing* TransferManager::resumable(const std::string& peer,
                                                      const Manifest& manifest) {
    for (auto& [n, t] : outgoing_) {
        if (t->peer == peer &&
            (t->state == OutgoingState::interrupted || t->state == OutgoingState::failed) &&
            t->manifest == manifest) {
            return t.get();
        }
    }
    return nullptr;
}

void TransferManager::begin_outgoing(const TransferRequest& request, const Endpoint& to,
                                     OwnedFds fds, std::shared_ptr<ReplySink> reply) {
    Manifest manifest;
    try {
        manifest = decode_manifest(request.manifest);
    } catch (const ManifestError& e) {
        reply->send_line(error_reply(codes::bad_request, e.what()));
        return reply->finish();
    }
    if (manifest.entries.empty()) {  // a receiver would be asked to accept nothing
        reply->send_line(error_reply(codes::bad_request, "nothing to send: the manifest is empty"));
        return reply->finish();
    }
    if (fds.size() != manifest.file_count()) {
        reply->send_line(error_reply(
            codes::bad_request, "the manifest lists " + std::to_string(manifest.file_count()) +
                                    " files but " + std::to_string(fds.size()) + " were passed"));
        return reply->finish();
    }
    forget_old();
    const std::string peer = endpoint_key(to);
    // The same paths, unchanged, to the same peer: pick up where it stopped.
    Outgoing* t = resumable(peer, manifest);
    const bool resumed = t != nullptr;
    if (resumed) {
        ++t->run;
        t->reason.clear();
        t->offer_attempts = 0;
        t->jobs_left = 0;
        t->checks = 0;
        t->rerun = false;
        t->wire_bytes = 0;
    } else {
        auto fresh = std::make_unique<Outgoing>();
        fresh->number = next_number_++;
        fresh->id = random_hex();
        fresh->peer = peer;
        fresh->take_manifest(std::move(manifest));
        fresh->retry = std::make_unique<asio::steady_timer>(ctx_.io);
        t = fresh.get();
        outgoing_[fresh->number] = std::move(fresh);
    }
    Outgoing& ref = *t;
    // Decoded above, so valid: the store and the receiver get this text, not
    // an encoding of it again (a tree of 20,000 files is megabytes of JSON).
    ref.manifest_text = request.manifest;
    move_state(*ctx_.log, ref.number, ref.state, OutgoingState::offered);
    ref.to = to;
    ref.fds = std::make_shared<OwnedFds>(std::move(fds));
    ref.reply = reply;
    ref.wait = request.wait;
    ref.started = Clock::now();
    ref.tracker = std::make_unique<ProgressTracker>(ref.manifest.total_bytes(),
                                                    ref.manifest.file_count(), Clock::now());
    save(ref, !resumed);
    ctx_.log->info("transfer {} to {}: {} {} files, {}", ref.number, ref.peer,
                   resumed ? "resuming" : "offering", ref.manifest.file_count(),
                   format_bytes(ref.manifest.total_bytes()));
    reply->send_line(reply_line({{"event", "offered"},
                                 {"id", ref.number},
                                 {"transfer_id", ref.id},
                                 {"to", ref.peer},
                                 {"files", ref.manifest.file_count()},
                                 {"bytes", ref.manifest.total_bytes()},
                                 {"resumed", resumed}}));
    if (!ref.wait) {
        reply->send_line(reply_line(
            {{"ok", true}, {"id", ref.number}, {"state", to_string(OutgoingState::offered)}}));
        reply->finish();
        ref.reply.reset();
    }
    send_offer(ref);
    tell_unanswered(ref.number);
}

void TransferManager::tell_unanswered(std::uint64_t number) {
    const auto it = outgoing_.find(number);
    if (stopped_ || it == outgoing_.end() || it->second->state != OutgoingState::offered) return;
    Outgoing& t = *it->second;
    const auto age = Clock::now() - t.started;
    if (age >= kUnansweredAfter && t.reply) {
        t.reply->send_line(reply_line(
            {{"event", "unanswered"},
             {"id", number},
             {"peer", t.peer},
             {"seconds", std::chrono::duration_cast<std::chrono::seconds>(age).count()}}));
    }
    if (!t.unanswered) t.unanswered = std::make_unique<asio::steady_timer>(ctx_.io);
    t.unanswered->expires_after(age < kUnansweredAfter ? kUnansweredAfter - age
                                                       : std::chrono::seconds(1));
    t.unanswered->async_wait([this, number](asio::error_code ec) {
        if (!ec) tell_unanswered(number);
    });
}

void TransferManager::send_offer(Outgoing& t) {
    // A rerun still asks: the receiver may have published meanwhile, its
    // answer lost, and then it refuses the rerun's connections.
    const bool finishing =
        t.state == OutgoingState::finishing || (t.state == OutgoingState::sending && t.rerun);
    if (t.state != OutgoingState::offered && t.state != OutgoingState::waiting && !finishing)
        return;
    const auto age = Clock::now() - t.started;
    if (age > std::chrono::seconds(ctx_.config.transfer.offer_ttl_seconds)) {
        return finish_outgoing(t, finishing
                                      ? t.peer + " never confirmed that it has the files"
                                      : "no answer from " + t.peer + " before the offer expired");
    }
    // While finishing, the offer asks the receiver whether it has published.
    TransferOffer offer{t.manifest.file_count(), t.manifest.total_bytes(),
                        t.manifest.entries.size(), t.manifest.top_level_names(), t.run};
    if (offer.names.size() > kMaxOfferNames) offer.names.resize(kMaxOfferNames);
    ctx_.send_datagram(t.to, encode_offer(t.id, offer, ctx_.our_name));
    // Until someone decides, a slow heartbeat keeps the offer alive.
    const unsigned attempt = t.state == OutgoingState::waiting ? 64 : ++t.offer_attempts;
    t.retry->expires_after(retry_delay(attempt,
                                       std::chrono::milliseconds(ctx_.config.retry_initial_ms),
                                       std::chrono::milliseconds(ctx_.config.retry_max_ms)));
    t.retry->async_wait([this, number = t.number](asio::error_code ec) {
        if (ec || stopped_) return;
        if (auto it = outgoing_.find(number); it != outgoing_.end()) send_offer(*it->second);
    });
}

void TransferManager::on_answer(const Endpoint& from, const std::string& id,
                                const TransferAnswer& answer) {
    Outgoing* t = outgoing_by_id(id);
    if (!t || t->peer != endpoint_key(from)) {
        ctx_.log->debug("ignored an answer from {} for unknown transfer {}", endpoint_key(from),
                        id);
        return;
    }
    // The decoder admits only an answer's states.
    const auto verdict = answer_state_from_string(answer.state);
    if (!verdict) return;
    const auto rejected_because = [&] {
        return (t->state == OutgoingState::sending || t->state == OutgoingState::finishing
                    ? "stopped by "
                    : "rejected by ") +
               t->peer + (answer.reason.empty() ? "" : ": " + answer.reason);
    };
    // The receiver ended it (cancelled, or failed on its side): finished
    // for good, so the same paths sent again are a new offer, not a resume.
    if (t->state == OutgoingState::interrupted && *verdict == AnswerState::rejected) {
        t->reason = rejected_because();
        move_state(*ctx_.log, t->number, t->state, OutgoingState::rejected);
        return finish_outgoing(*t, t->reason);
    }
    if (t->state == OutgoingState::sending || t->state == OutgoingState::finishing) {
        if (*verdict == AnswerState::rejected) {
            cancel_jobs(ctx_.pool, t->jobs);
            const std::string why = rejected_because();
            move_state(*ctx_.log, t->number, t->state, OutgoingState::rejected);
            return finish_outgoing(*t, why);
        }
        if (*verdict == AnswerState::done) {  // while rerunning too: the receiver has it all
            cancel_jobs(ctx_.pool, t->jobs);
            t->placed = answer.placed;
            return finish_outgoing(*t, "");
        }
        if (t->state == OutgoingState::sending) return;  // a late copy
        // Every job is done, yet the receiver is still receiving: it lost
        // track of some files (a restart). Running the jobs again costs
        // little: it has the data, so only hashes are compared.
        if (*verdict == AnswerState::accepted && ++t->checks >= kChecksBeforeRerun && !t->rerun) {
            ctx_.log->info("transfer {}: {} has not confirmed every file; checking them again",
                           t->number, t->peer);
            t->rerun = true;
            move_state(*ctx_.log, t->number, t->state, OutgoingState::sending);
            start_jobs(*t);
        }
        return;
    }
    if (*verdict == AnswerState::pending) {
        if (t->state == OutgoingState::offered) {
            move_state(*ctx_.log, t->number, t->state, OutgoingState::waiting);
            if (t->reply) {
                t->reply->send_line(reply_line({{"event", "waiting"}, {"id", t->number}}));
            }
        }
        return;
    }
    if (t->state != OutgoingState::offered && t->state != OutgoingState::waiting)
        return;  // a late copy
    t->retry->cancel();
    if (*verdict == AnswerState::rejected) {
        move_state(*ctx_.log, t->number, t->state, OutgoingState::rejected);
        return finish_outgoing(*t, rejected_because());
    }
    t->data_started = Clock::now();
    if (*verdict == AnswerState::done) {  // a re-run of a transfer that had arrived already
        t->placed = answer.placed;
        return finish_outgoing(*t, "");
    }
    move_state(*ctx_.log, t->number, t->state, OutgoingState::sending);
    t->token = answer.token;
    t->port = answer.port;
    t->manifest_line = answer.manifest_line;
    save(*t, false);
    ctx_.log->info("transfer {} accepted by {}", t->number, t->peer);
    if (t->reply) t->reply->send_line(reply_line({{"event", "accepted"}, {"id", t->number}}));
    send_manifest(t->number, 1);
}

// The manifest goes over its own connection. A refusal is final; a lost
// connection (a lossy or cut link) is tried again with the jobs' backoff:
// the receiver answers ok again to a manifest it already has.
void TransferManager::send_manifest(std::uint64_t number, int attempt) {
    Outgoing& t = *outgoing_.at(number);
    auto socket = std::make_shared<asio::ip::tcp::socket>(ctx_.io);
    // Written directly: the manifest is megabytes for a large tree, and its
    // text is valid UTF-8 (it was decoded before it was kept). A receiver
    // that says so takes it as the next line, as it is: as a string it was
    // escaped here and unescaped there (about 6 and 11 ms for 18,800 files).
    const bool as_line = t.manifest_line && std::memchr(t.manifest_text.data(), '\n',
                                                        t.manifest_text.size()) == nullptr;
    auto header =
        std::make_shared<std::string>(as_line ? R"({"manifest_follows":true)" : R"({"manifest":)");
    if (!as_line) append_json_string(*header, t.manifest_text);
    *header += R"(,"token":)";
    append_json_string(*header, t.token);
    *header += R"(,"transfer":)";
    append_json_string(*header, t.id);
    *header += "}\n";
    if (as_line) {
        header->reserve(header->size() + t.manifest_text.size() + 1);
        *header += t.manifest_text;
        *header += '\n';
    }
    const asio::ip::tcp::endpoint endpoint(address_of(t.peer), t.port);
    // A silent peer must not hold the transfer: closing the socket fails
    // whichever step is waiting.
    auto deadline = std::make_shared<asio::steady_timer>(ctx_.io, kManifestTimeout);
    deadline->async_wait([socket](asio::error_code ec) {
        if (!ec) socket->close(ec);
    });
    // Whether the transfer is still waiting on this attempt.
    auto current = [this, number]() -> Outgoing* {
        auto it = outgoing_.find(number);
        return it == outgoing_.end() || it->second->state != OutgoingState::sending
                   ? nullptr
                   : it->second.get();
    };
    auto lost = [this, number, attempt, deadline](Outgoing& t, const std::string& why) {
        deadline->cancel();
        if (attempt >= kJobAttempts) return finish_outgoing(t, why);
        const auto delay = retry_later(
            number, attempt, [this, number, attempt] { send_manifest(number, attempt + 1); });
        ctx_.log->warn("transfer {}: {}; trying again in {} ms", number, why, delay.count());
    };
    socket->async_connect(endpoint, [this, socket, header, current, lost,
                                     deadline](asio::error_code ec) {
        Outgoing* t = current();
        if (!t) return;
        if (ec) return lost(*t, "cannot connect to send the manifest: " + ec.message());
        asio::async_write(
            *socket, asio::buffer(*header),
            [this, socket, header, current, lost, deadline](asio::error_code ec, std::size_t) {
                Outgoing* t = current();
                if (!t) return;
                if (ec) return lost(*t, "cannot send the manifest: " + ec.message());
                auto reply = std::make_shared<asio::streambuf>(64 * 1024);
                read_line(
                    socket, reply, 0,
                    [this, reply, current, lost, deadline](asio::error_code ec, std::size_t n) {
                        Outgoing* t = current();
                        if (!t) return;
                        if (ec)
                            return lost(*t, "the receiver dropped the manifest: " + ec.message());
                        deadline->cancel();
                        const std::string text(static_cast<const char*>(reply->data().data()), n);
                        const json verdict = json::parse(text, nullptr, false);
                        if (!true_field(verdict, "ok")) {
                            const std::string error = string_field(verdict, "error");
                            const std::string why = verdict.is_object()
                                                        ? (error.empty() ? "refused" : error)
                                                        : "a bad reply";
                            return finish_outgoing(*t, "the receiver refused the manifest: " + why);
                        }
                        start_jobs(*t);
                    });
            });
    });
}

// The backoff shared by failed jobs and a lost manifest: 0.5 s doubling.
// `again` runs only if the transfer is still sending by then.
std::chrono::milliseconds TransferManager::retry_later(std::uint64_t number, int attempt,
                                                       std::function<void()> again) {
    const auto delay = std::chrono::milliseconds(500) * (1 << (attempt - 1));
    auto timer = std::make_shared<asio::steady_timer>(ctx_.io, delay);
    timer->async_wait([this, number, timer, again = std::move(again)](asio::error_code ec) {
        if (!ec && outgoing_.count(number) && outgoing_.at(number)->state == OutgoingState::sending)
            again();
    });
    return delay;
}

void TransferManager::start_jobs(Outgoing& t) {
    std::vector<std::uint64_t> sizes;
    for (const std::size_t entry : t.file_entries) sizes.push_back(t.manifest.entries[entry].size);
    if (sizes.empty()) return all_jobs_done(t);
    t.tracker = std::make_unique<ProgressTracker>(t.manifest.total_bytes(), t.manifest.file_count(),
                                                  Clock::now());
    t.jobs_left = 0;
    const auto jobs = split_jobs(sizes, ctx_.config.transfer.workers);
    std::vector<std::vector<std::size_t>> batches;
    for (const auto& job : jobs) {
        for (std::size_t start = 0; start < job.files.size(); start += kMaxFilesPerJob) {
            const std::size_t end = std::min(job.files.size(), start + kMaxFilesPerJob);
            batches.emplace_back(job.files.begin() + static_cast<std::ptrdiff_t>(start),
                                 job.files.begin() + static_cast<std::ptrdiff_t>(end));
        }
    }
    t.jobs_left = batches.size();
    t.waiting_batches.assign(std::make_move_iterator(batches.begin()),
                             std::make_move_iterator(batches.end()));
    pump_jobs(t);
}

void TransferManager::pump_jobs(Outgoing& t) {
    const std::size_t window = std::max<std::size_t>(1, ctx_.pool.pids().size());
    while (t.jobs.size() < window && !t.waiting_batches.empty()) {
        auto slots = std::move(t.waiting_batches.front());
        t.waiting_batches.pop_front();
        submit_job(t.number, std::move(slots), 1);
    }
}

// `slots` index the descriptors (and t.file_entries).
void TransferManager::submit_job(std::uint64_t number, std::vector<std::size_t> slots,
                                 int attempt) {
    Outgoing& t = *outgoing_.at(number);
    SendJobParams params;
    for (const std::size_t slot : slots) {
        const std::size_t index = t.file_entries[slot];
        const ManifestEntry& e = t.manifest.entries[index];
        params.files.push_back({index, e.path, e.size, std::nullopt});
    }
    params.host = parse_host_port(t.peer).host;
    params.port = t.port;
    params.transfer = t.id;
    params.token = t.token;
    // The transfer's rate limit is shared by the send jobs that can run at once.
    const std::uint64_t parallel =
        std::max<std::uint64_t>(1, std::min<std::uint64_t>(t.jobs_left, ctx_.pool.send_slots()));
    // The smallest share: never 0 (no limit) for a limit below the job count.
    params.max_rate = share_rate(ctx_.config.transfer.max_rate, parallel).back();
    PoolJob job;
    job.kind = "send";
    job.params_json = encode_send_job(params);
    job.shared_fds = t.fds;
    job.shared_slots = slots;
    job.on_progress = [this, number](const WorkerReport& report) {
        auto it = outgoing_.find(number);
        if (it == outgoing_.end()) return;
        Outgoing& t = *it->second;
        t.tracker->add(report.bytes, report.files, Clock::now(), report.already_there);
        for (const auto index : report.verified) {
            if (index >= t.manifest.entries.size() || !t.reply) break;
            const ManifestEntry& e = t.manifest.entries[index];
            t.reply->send_line(file_event_line(number, e));
        }
        emit_progress(t, false);
    };
    job.on_start = [this, number](std::uint64_t id) {
        auto it = outgoing_.find(number);
        if (it == outgoing_.end() || it->second->state != OutgoingState::sending) return;
        it->second->send_rates[id] = 0;
        share_rate_among_jobs(*it->second);
    };
    auto job_id = std::make_shared<std::uint64_t>(0);
    job.on_done = [this, number, slots, attempt, job_id](bool ok, const std::string& result,
                                                         FailureKind kind) {
        auto it = outgoing_.find(number);
        if (it == outgoing_.end()) return;
        Outgoing& t = *it->second;
        t.jobs.erase(*job_id);
        if (t.send_rates.erase(*job_id) != 0) share_rate_among_jobs(t);
        if (t.state != OutgoingState::sending) return;
        if (ok) {
            t.wire_bytes += decode_send_result(result).wire_bytes;
            if (--t.jobs_left == 0) return all_jobs_done(t);
            return pump_jobs(t);
        }
        // The receiver's own storage failing is final; anything else resumes.
        if (attempt >= kJobAttempts || kind == FailureKind::peer) {
            cancel_jobs(ctx_.pool, t.jobs);
            return finish_outgoing(t, result);
        }
        const auto delay = retry_later(number, attempt, [this, number, slots, attempt] {
            submit_job(number, slots, attempt + 1);
        });
        ctx_.log->warn("transfer {}: a job failed ({}); resuming it in {} ms", number, result,
                       delay.count());
    };
    *job_id = ctx_.pool.submit(std::move(job));
    t.jobs.insert(*job_id);
}

// The limit is the transfer's: a job that ends gives its share to the
// jobs still running, and one that starts takes its part.
void TransferManager::share_rate_among_jobs(Outgoing& t) {
    const auto shares = share_rate(ctx_.config.transfer.max_rate, t.send_rates.size());
    std::size_t i = 0;
    for (auto& [job, rate] : t.send_rates) {
        const std::uint64_t share = shares[i++];
        if (share == rate) continue;
        if (ctx_.pool.set_rate(job, share)) rate = share;
        ctx_.log->debug("transfer {}: send job {} now at {} B/s ({} running)", t.number, job, share,
                        t.send_rates.size());
    }
}

// Every file is verified; the receiver still has to publish. Until it says
// so, the offer goes on as the question "done?".
void TransferManager::all_jobs_done(Outgoing& t) {
    move_state(*ctx_.log, t.number, t.state, OutgoingState::finishing);
    t.offer_attempts = 0;
    t.checks = 0;
    save(t, false);
    send_offer(t);
}

void TransferManager::emit_progress(Outgoing& t, bool force) {
    const auto now = Clock::now();
    if (!t.reply || (!force && now - t.last_progress < kProgressEvery)) return;
    t.last_progress = now;
    const auto s = t.tracker->snapshot(now);
    json event = {{"event", "progress"},       {"id", t.number},
                  {"bytes", s.bytes_done},     {"total_bytes", s.total_bytes},
                  {"files", s.files_done},     {"total_files", s.total_files},
                  {"rate", s.bytes_per_second}};
    if (s.seconds_left) event["eta"] = *s.seconds_left;
    t.reply->send_line(reply_line(event));
}

void TransferManager::finish_outgoing(Outgoing& t, const std::string& error) {
    t.retry->cancel();
    // Closed after the reply has gone out: closing 20,000 descriptors takes
    // tens of ms, and the client need not wait for that.
    // A send job still queued holds them too, until it is dropped.
    auto fds = std::move(t.fds);
    t.waiting_batches.clear();
    const auto now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - t.started).count();
    // Data time: from acceptance, not counting the wait for a person.
    const double data_seconds = t.data_started == Clock::time_point{}
                                    ? 0.0
                                    : std::chrono::duration<double>(now - t.data_started).count();
    t.send_rates.clear();
    if (error.empty()) {
        move_state(*ctx_.log, t.number, t.state, OutgoingState::done);
        ctx_.log->info(
            "transfer {} to {} done: {} files, {} in {:.2f} s ({:.2f} s of data, {} over the wire)",
            t.number, t.peer, t.manifest.file_count(), format_bytes(t.manifest.total_bytes()),
            seconds, data_seconds, format_bytes(t.wire_bytes));
    } else {
        if (t.state != OutgoingState::rejected && t.state != OutgoingState::cancelled)
            move_state(*ctx_.log, t.number, t.state, OutgoingState::failed);
        t.reason = error;
        ctx_.log->warn("transfer {} to {} {}: {}", t.number, t.peer, to_string(t.state), error);
    }
    save(t, false);
    struct Release {
        TransferManager& manager;
        Outgoing& t;
        std::shared_ptr<OwnedFds> fds;
        ~Release() {
            manager.release_manifest(t);
            asio::post(manager.ctx_.io, [fds = std::move(fds)] {});
        }
    } release{*this, t, std::move(fds)};
    if (!t.reply) return;
    if (error.empty()) {
        const auto s = t.tracker->snapshot(now);
        // Files that were there already report no progress: count them done.
        t.tracker->add(static_cast<std::int64_t>(s.total_bytes - s.bytes_done),
                       s.total_files - s.files_done, now, s.total_bytes - s.bytes_done);
        emit_progress(t, true);
        t.reply->send_line(reply_line({{"event", "done"},
                                       {"id", t.number},
                                       {"files", t.manifest.file_count()},
                                       {"bytes", t.manifest.total_bytes()},
                                       {"sent_bytes", t.wire_bytes},
                                       {"placed", t.placed},
                                       {"names", t.names},
                                       {"seconds", seconds},
                                       {"data_seconds", data_seconds}}));
        t.reply->send_line(reply_line(
            {{"ok", true}, {"id", t.number}, {"state", to_string(OutgoingState::done)}}));
    } else {
        t.reply->send_line(reply_line({{"event", "error"}, {"id", t.number}, {"error", error}}));
        t.reply->send_line(error_reply(codes::failed, error));
    }
    t.reply->finish();
    t.reply.reset();
}

void TransferManager::release_manifest(Outgoing& t) {
    // A failed transfer keeps it: sending the same paths again resumes it.
    if (t.state == OutgoingState::failed || t.state == OutgoingState::interrupted) return;
    // swap, not assignment: assigning an empty string or {} keeps the
    // capacity, which kept megabytes per finished transfer alive.
    t.manifest = Manifest{};
    std::string().swap(t.manifest_text);
    std::vector<std::size_t>().swap(t.file_entries);
}

// ---- receiving ---------------------------------------------------------

void TransferManager::expire_offers() {
    const auto ttl = std::chrono::seconds(ctx_.config.transfer.offer_ttl_seconds);
    for (auto& [n, t] : incoming_) {
        if (t->state == IncomingState::offered && Clock::now() - t->offered_at > ttl) {
            move_state(*ctx_.log, t->number, t->state, IncomingState::expired);
            t->reason = "the offer expired unanswered";
            ctx_.log->info("transfer {} from {}: {}", n, t->peer, t->reason);
            save(*t);
            answer(*t);
        }
    }
}

void TransferManager::on_offer(const Endpoint& from, const std::string& id,
                               const TransferOffer& offer, const std::string& name) {
    expire_offers();
    const std::string peer = endpoint_key(from);
    if (Incoming* known = incoming_by_id(id)) {
        if (known->peer != peer) return;
        known->from = from;
        if (offer.run > known->run) {
            // The sender ran the transfer again to resume it.
            known->run = offer.run;
            if (known->state == IncomingState::failed || known->state == IncomingState::expired) {
                ctx_.log->info("transfer {} from {} offered again", known->number, peer);
                move_state(*ctx_.log, known->number, known->state, IncomingState::offered);
                known->reason.clear();
                known->peer_reason.clear();
                known->offered_at = Clock::now();
                known->offered_ms = wall_clock_ms();
                known->verified.clear();
                known->seen.clear();
                known->manifest.reset();
                save(*known);
                return reconsider(*known);
            }
            save(*known);
        }
        // Publishing: no answer until it is done (it is sent then), since
        // "accepted" to a finishing sender would make it send again.
        if (known->publishing) return;
        return answer(*known);  // a retry, or a question while finishing: the answer again
    }
    forget_old();
    auto t = std::make_unique<Incoming>();
    t->number = next_number_++;
    t->id = id;
    t->peer = peer;
    t->from = from;
    t->name = name;
    t->offer = offer;
    t->run = offer.run;
    Incoming& ref = *t;
    incoming_[t->number] = std::move(t);

    if (auto refusal = offer_refusal(ctx_.config.transfer, offer.bytes)) {
        move_state(*ctx_.log, ref.number, ref.state, IncomingState::rejected);
        ref.reason = std::move(*refusal);
        ctx_.log->info("transfer {} from {} refused: {}", ref.number, peer, ref.reason);
        save(ref);
        return answer(ref);
    }
    save(ref);
    reconsider(ref);
}

void TransferManager::reconsider(Incoming& t) {
    ctx_.log->info("transfer {} offered by {} ({}): {} files, {}", t.number, t.peer,
                   sanitize_for_terminal(t.name), t.offer.files, format_bytes(t.offer.bytes));
    ctx_.notify(reply_line({{"offer",
                             {{"id", t.number},
                              {"transfer_id", t.id},
                              {"from", t.peer},
                              {"name", t.name},
                              {"files", t.offer.files},
                              {"bytes", t.offer.bytes},
                              {"names", t.offer.names}}}}));
    if (accepts_without_asking(ctx_.config, t.peer)) return accept_offer(t, "", nullptr);
    answer(t);
}

void TransferManager::answer(const Incoming& t) {
    TransferAnswer a;
    if (is_active(t.state)) {
        a = {
            std::string(to_string(AnswerState::accepted)), t.token, listener_.port(), "", {}, true};
    } else if (t.state == IncomingState::done) {
        a.state = to_string(AnswerState::done);
        for (const auto& [offered, placed] : t.placed) a.placed.push_back(placed);
        if (a.placed.size() > kMaxOfferNames) a.placed.resize(kMaxOfferNames);
    } else if (t.state == IncomingState::offered) {
        a.state = to_string(AnswerState::pending);
    } else {
        const std::string& why = t.peer_reason.empty() ? t.reason : t.peer_reason;
        a = {std::string(to_string(AnswerState::rejected)),
             "",
             0,
             why.empty() ? std::string(to_string(t.state)) : why,
             {}};
    }
    ctx_.send_datagram(t.from, encode_answer(t.id, a));
}

void TransferManager::on_cancel(const Endpoint& from, const std::string& id,
                                const std::string& reason) {
    Incoming* t = incoming_by_id(id);
    if (!t || t->peer != endpoint_key(from)) return;
    if (t->state != IncomingState::offered && !is_active(t->state)) return;
    fail_incoming(*t, "cancelled by the sender" + (reason.empty() ? "" : ": " + reason),
                  IncomingState::cancelled);
}

void TransferManager::accept_offer(Incoming& t, const std::string& requested_dir,
                                   std::shared_ptr<ReplySink> reply) {
    // Asked by a person (`reply`): a directory that will not do is theirs
    // to fix, so the offer stays pending. By policy, no one is there to
    // ask: refused. Either way the sender hears nothing of our paths.
    const auto refuse = [&](const char* code, const std::string& why, const std::string& for_peer) {
        if (reply) {
            ctx_.log->info("transfer {} from {}: not accepted: {}", t.number, t.peer, why);
            reply->send_line(error_reply(code, why));
            return reply->finish();
        }
        move_state(*ctx_.log, t.number, t.state, IncomingState::rejected);
        t.reason = why;
        t.peer_reason = for_peer;
        ctx_.log->warn("transfer {} from {} refused: {}", t.number, t.peer, why);
        save(t);
        answer(t);
    };
    std::string dir = requested_dir;
    int fd = -1;
    if (!dir.empty()) {
        // Only where the user who asked could write: chatd's own rights
        // may reach much further.
        const auto who = reply ? reply->client() : std::nullopt;
        if (!who) {
            return refuse(codes::failed, "cannot tell who asked to accept into " + dir,
                          kCouldNotStore);
        }
        try {
            AcceptTarget target = open_accept_target(dir, *who);
            fd = target.fd;
            dir = std::move(target.path);
        } catch (const AcceptTargetError& e) {
            return refuse(codes::bad_request, e.what(), kCouldNotStore);
        }
    } else {
        dir = default_download_dir();
        std::error_code ec;
        if (std::filesystem::create_directories(dir, ec)) {
            std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
        }
        fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            return refuse(codes::failed, "cannot use " + dir + ": " + std::strerror(errno),
                          kCouldNotStore);
        }
    }
    struct statvfs fs;
    if (::fstatvfs(fd, &fs) == 0) {
        const auto free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
        const std::uint64_t margin = std::max<std::uint64_t>(16 << 20, t.offer.bytes / 100);
        if (free_bytes < t.offer.bytes + margin) {
            ::close(fd);
            const std::string sizes =
                format_bytes(t.offer.bytes) + " offered, " + format_bytes(free_bytes) + " free";
            return refuse(codes::failed, "not enough free space in " + dir + ": " + sizes,
                          "not enough free space on the receiver: " + sizes);
        }
    }
    try {
        t.staging = std::make_unique<StagingTree>(fd, staging_name(t.id));
    } catch (const StagingError& e) {
        ::close(fd);
        return refuse(codes::failed, "cannot use " + dir + ": " + e.what(), kCouldNotStore);
    }
    t.dir = dir;
    if (!requested_dir.empty()) t.accepted_by = reply->client();
    t.dir_fd = fd;
    t.token = random_hex();
    move_state(*ctx_.log, t.number, t.state, IncomingState::accepted);
    ctx_.log->info("transfer {} from {} accepted into {}", t.number, t.peer, dir);
    // The sender hears "accepted" only once a restart would remember it.
    save(t, [this, number = t.number, reply](bool durable) {
        auto it = incoming_.find(number);
        if (it == incoming_.end()) return;
        Incoming& t = *it->second;
        if (!durable && t.state == IncomingState::accepted) {
            fail_incoming(t, "cannot record the transfer in the store");
        }
        answer(t);
        if (!reply) return;
        if (t.state == IncomingState::accepted) {
            reply->send_line(reply_line({{"ok", true},
                                         {"id", t.number},
                                         {"state", to_string(IncomingState::accepted)},
                                         {"to", t.dir}}));
        } else {
            reply->send_line(error_reply(codes::failed, t.reason));
        }
        reply->finish();
    });
}

void TransferManager::receive_manifest(Incoming& t, asio::ip::tcp::socket& socket,
                                       const std::string& text) {
    auto reply_and_close = [&socket](const json& doc) {
        const std::string out = reply_line(doc);
        asio::error_code ec;
        asio::write(socket, asio::buffer(out), ec);
        socket.close(ec);
    };
    if (t.manifest) return reply_and_close({{"ok", true}});  // a resumed sender
    Manifest manifest;
    try {
        manifest = decode_manifest(text);
    } catch (const ManifestError& e) {
        reply_and_close({{"ok", false}, {"error", e.what()}});
        return fail_incoming(t, std::string("the sender's manifest was refused: ") + e.what());
    }
    if (manifest.file_count() != t.offer.files || manifest.total_bytes() != t.offer.bytes) {
        reply_and_close({{"ok", false}, {"error", "the manifest does not match the offer"}});
        return fail_incoming(t, "the manifest does not match the offer");
    }
    try {
        for (const auto& skipped : t.staging->prepare(manifest)) {
            ctx_.log->info("transfer {}: skipped {}", t.number, skipped);
        }
    } catch (const StagingError& e) {
        reply_and_close({{"ok", false}, {"error", e.what()}});
        return fail_incoming(t, e.what());
    }
    t.tracker = std::make_unique<ProgressTracker>(manifest.total_bytes(), manifest.file_count(),
                                                  Clock::now());
    t.manifest = std::move(manifest);
    move_state(*ctx_.log, t.number, t.state, IncomingState::receiving);
    save(t, {}, &text);  // decoded above: stored as it came, not encoded again
    reply_and_close({{"ok", true}});
    if (t.manifest->file_count() == 0) publish(t);
}

void TransferManager::receive_files(Incoming& t, asio::ip::tcp::socket& socket,
                                    const std::vector<std::size_t>& files) {
    ReceiveJobParams params;
    // A restart may have left staged data anywhere; otherwise only files
    // named before can have some.
    if (t.seen.empty()) t.seen.assign(t.manifest->entries.size(), false);
    bool fresh = !t.restored;
    for (const std::size_t i : files) {
        if (i >= t.manifest->entries.size() || t.manifest->entries[i].type != EntryType::file) {
            asio::error_code ec;
            socket.close(ec);
            return;
        }
        const ManifestEntry& e = t.manifest->entries[i];
        params.files.push_back(
            {i, e.path, e.size,
             t.files_stamped ? std::optional(FileStamp{e.mode, e.mtime_ns}) : std::nullopt});
        fresh = fresh && !t.seen[i];
        t.seen[i] = true;
    }
    PoolJob job;
    job.kind = "receive";
    params.fresh = fresh;
    job.params_json = encode_receive_job(params);
    job.fds.push_back(socket.release());
    job.fds.push_back(::fcntl(t.staging->root_fd(), F_DUPFD_CLOEXEC, 0));
    job.on_progress = [this, number = t.number](const WorkerReport& report) {
        if (auto it = incoming_.find(number); it != incoming_.end() && it->second->tracker) {
            it->second->tracker->add(report.bytes, report.files, Clock::now(),
                                     report.already_there);
        }
    };
    submit_incoming_job(
        t, std::move(job),
        [this](Incoming& t, bool ok, const std::string& result, FailureKind kind) {
            if (t.state != IncomingState::receiving) return;
            if (!ok) {
                if (kind == FailureKind::storage) return fail_storage(t, result);
                ctx_.log->warn("transfer {}: a receiving job failed ({}); the sender resumes it",
                               t.number, result);
                return;
            }
            for (const std::size_t i : decode_receive_result(result).verified) t.verified.insert(i);
            if (t.verified.size() == t.offer.files) return publish(t);
            // What is verified survives a restart. Saved at most once a second:
            // the list is the whole tree's, and a restart that lost the last
            // second's only re-hashes those files.
            const auto now = Clock::now();
            if (now - t.verified_saved >= std::chrono::seconds(1)) {
                t.verified_saved = now;
                save(t);
            }
        });
}

// Modes and mtimes here, then the syncfs in a worker: it can take seconds
// when the file system holds much dirty data, and the event loop must keep
// answering meanwhile. The renames follow once it is done.
void TransferManager::publish(Incoming& t) {
    if (t.publishing) return;
    try {
        t.staging->stamp(*t.manifest, t.files_stamped);
    } catch (const StagingError& e) {
        return fail_storage(t, e.what());
    }
    t.publishing = true;
    sync_staged(t);
}

void TransferManager::sync_staged(Incoming& t) {
    PoolJob job;
    job.kind = "sync";
    job.fds.push_back(::fcntl(t.staging->root_fd(), F_DUPFD_CLOEXEC, 0));
    submit_incoming_job(
        t, std::move(job),
        [this](Incoming& t, bool ok, const std::string& result, FailureKind kind) {
            if (t.state != IncomingState::receiving || !t.publishing) return;
            // Stopping: the tree stays staged and verified; the sender's next
            // run after the restart publishes it.
            if (stopped_) {
                t.publishing = false;
                return;
            }
            // A worker that died is replaced: the files are all there, so sync
            // again rather than lose them; a sync that fails says so.
            if (!ok && ++t.sync_failures < kSyncAttempts && kind != FailureKind::sync) {
                ctx_.log->warn("transfer {}: syncing the received files failed ({}); trying again",
                               t.number, result);
                return sync_staged(t);
            }
            t.publishing = false;
            if (ok) return place(t);
            fail_storage(t, result);
        });
}

// Runs a job for an incoming transfer: `done` gets the transfer, if it is
// still there, with the job already off its list.
void TransferManager::submit_incoming_job(Incoming& t, PoolJob job, IncomingJobDone done) {
    auto job_id = std::make_shared<std::uint64_t>(0);
    job.on_done = [this, number = t.number, job_id, done = std::move(done)](
                      bool ok, const std::string& result, FailureKind kind) {
        const auto it = incoming_.find(number);
        if (it == incoming_.end()) return;
        it->second->jobs.erase(*job_id);
        done(*it->second, ok, result, kind);
    };
    *job_id = ctx_.pool.submit(std::move(job));
    t.jobs.insert(*job_id);
}

void TransferManager::place(Incoming& t) {
    try {
        t.placed = t.staging->place(*t.manifest, t.dir_fd);
    } catch (const StagingError& e) {
        return fail_storage(t, e.what());
    }
    t.staging->remove();  // empty by now
    t.staging.reset();
    move_state(*ctx_.log, t.number, t.state, IncomingState::done);
    std::string names;
    for (const auto& [offered, placed] : t.placed) {
        names += (names.empty() ? "" : ", ") + placed +
                 (placed != offered ? " (offered as " + offered + ")" : "");
    }
    ctx_.log->info("transfer {} from {} done: {} in {}", t.number, t.peer,
                   sanitize_for_terminal(names), t.dir);
    t.manifest.reset();  // megabytes for a big tree; the listing needs only the offer
    t.verified.clear();
    save(t);
    answer(t);  // the sender waits for this
}

void TransferManager::fail_incoming(Incoming& t, const std::string& why, IncomingState state) {
    move_state(*ctx_.log, t.number, t.state, state);
    t.reason = why;
    t.publishing = false;
    ctx_.log->warn("transfer {} from {} {}: {}", t.number, t.peer, to_string(state), why);
    cancel_jobs(ctx_.pool, t.jobs);
    t.verified.clear();
    // Nothing partial stays behind. Removed from the open descriptors, not
    // by path: t.dir is the user's, and may lead elsewhere by now.
    if (t.staging) {
        if (!t.staging->remove())
            ctx_.log->warn("transfer {}: cannot remove its staging: {}", t.number,
                           std::strerror(errno));
        t.staging.reset();
    }
    save(t);
}

std::string TransferManager::default_download_dir() const {
    return ctx_.config.transfer.download_dir.empty() ? ctx_.state_dir + "/incoming"
                                                     : ctx_.config.transfer.download_dir;
}

void TransferManager::fail_storage(Incoming& t, const std::string& why) {
    t.peer_reason = kCouldNotStore;
    fail_incoming(t, why);
}

// ---- control -------------------------------------------------------------

void TransferManager::list(std::shared_ptr<ReplySink> reply) {
    expire_offers();
    const auto now = Clock::now();
    for (const auto& [n, t] : outgoing_) {
        const auto s = t->tracker->snapshot(now);
        json doc = {{"id", n},
                    {"transfer_id", t->id},
                    {"direction", "out"},
                    {"peer", t->peer},
                    {"state", to_string(t->state)},
                    {"files", s.total_files},
                    {"bytes", s.total_bytes},
                    {"files_done", s.files_done},
                    {"bytes_done", s.bytes_done},
                    {"names", t->names}};
        if (!t->reason.empty()) doc["reason"] = t->reason;
        if (!t->placed.empty()) doc["placed"] = t->placed;
        if (const auto age = now - t->started;
            t->state == OutgoingState::offered && age >= kUnansweredAfter) {
            doc["detail"] = "no answer yet; retrying";
            doc["unanswered_seconds"] =
                std::chrono::duration_cast<std::chrono::seconds>(age).count();
        }
        reply->send_line(reply_line({{"transfer", doc}}));
    }
    for (const auto& [n, t] : incoming_) {
        json doc = {{"id", n},
                    {"transfer_id", t->id},
                    {"direction", "in"},
                    {"peer", t->peer},
                    {"state", to_string(t->state)},
                    {"files", t->offer.files},
                    {"bytes", t->offer.bytes},
                    {"names", t->offer.names}};
        if (!t->name.empty()) doc["name"] = t->name;
        if (t->tracker) {
            const auto s = t->tracker->snapshot(now);
            doc["files_done"] = s.files_done;
            doc["bytes_done"] = s.bytes_done;
        }
        if (!t->dir.empty()) doc["dir"] = t->dir;
        if (!t->reason.empty()) doc["reason"] = t->reason;
        if (!t->placed.empty()) {
            json placed = json::array();
            for (const auto& [offered, name] : t->placed) placed.push_back(name);
            doc["placed"] = placed;
        }
        reply->send_line(reply_line({{"transfer", doc}}));
    }
    reply->send_line(reply_line({{"ok", true}}));
    reply->finish();
}

void TransferManager::decide(const DecideRequest& request, std::shared_ptr<ReplySink> reply) {
    expire_offers();
    const auto fail = [&](const std::string& why) {
        reply->send_line(error_reply(codes::failed, why));
        reply->finish();
    };
    std::string unnamed;
    const std::uint64_t number = named(request, unnamed);
    if (number == 0) return fail(unnamed);
    if (auto in = incoming_.find(number); in != incoming_.end()) {
        Incoming& t = *in->second;
        if (request.action == "accept") {
            if (t.state != IncomingState::offered)
                return fail("transfer " + std::to_string(t.number) + " is " +
                            std::string(to_string(t.state)) + ", not waiting for an answer");
            if (!request.to.empty() && request.to.front() != '/') {
                reply->send_line(error_reply(codes::bad_request, "--to needs an absolute path"));
                return reply->finish();
            }
            return accept_offer(t, request.to, reply);
        }
        if (t.state != IncomingState::offered && !is_active(t.state)) {
            return fail("transfer " + std::to_string(t.number) + " is " +
                        std::string(to_string(t.state)) + " already");
        }
        if (request.action == "reject" && t.state != IncomingState::offered) {
            return fail("transfer " + std::to_string(t.number) + " is " +
                        std::string(to_string(t.state)) + ": use cancel");
        }
        if (request.action == "reject") {
            move_state(*ctx_.log, t.number, t.state, IncomingState::rejected);
            t.reason = "rejected by the receiver";
            ctx_.log->info("transfer {} from {} rejected", t.number, t.peer);
            save(t);
        } else {
            fail_incoming(t, "cancelled by the receiver", IncomingState::cancelled);
        }
        answer(t);
        reply->send_line(
            reply_line({{"ok", true}, {"id", t.number}, {"state", to_string(t.state)}}));
        return reply->finish();
    }
    if (auto out = outgoing_.find(number); out != outgoing_.end()) {
        Outgoing& t = *out->second;
        if (request.action != "cancel")
            return fail("transfer " + std::to_string(t.number) +
                        " is one we send: only cancel applies");
        if (is_finished(t.state)) {
            return fail("transfer " + std::to_string(t.number) + " is " +
                        std::string(to_string(t.state)) + " already");
        }
        cancel_jobs(ctx_.pool, t.jobs);
        // Twice: a lost datagram would leave the receiver's staging behind.
        for (int copy = 0; copy < 2; ++copy) {
            ctx_.send_datagram(t.to, encode_cancel(t.id, ""));
        }
        move_state(*ctx_.log, t.number, t.state, OutgoingState::cancelled);
        finish_outgoing(t, "cancelled by the sender");
        reply->send_line(reply_line(
            {{"ok", true}, {"id", t.number}, {"state", to_string(OutgoingState::cancelled)}}));
        return reply->finish();
    }
    fail("no transfer " + std::to_string(number));
}

std::uint64_t TransferManager::named(const DecideRequest& request, std::string& why) const {
    if (request.id != 0 && (incoming_.count(request.id) || outgoing_.count(request.id)))
        return request.id;
    std::vector<std::uint64_t> found;
    if (!request.id_prefix.empty()) {
        for (const auto& [n, t] : outgoing_)
            if (t->id.starts_with(request.id_prefix)) found.push_back(n);
        for (const auto& [n, t] : incoming_)
            if (t->id.starts_with(request.id_prefix)) found.push_back(n);
    }
    if (found.size() == 1) return found.front();
    if (found.empty()) {
        why = "no transfer " + (request.id != 0 ? std::to_string(request.id) : request.id_prefix);
        return 0;
    }
    std::sort(found.begin(), found.end());
    why = request.id_prefix + " names " + std::to_string(found.size()) + " transfers (";
    for (std::size_t i = 0; i < found.size(); ++i)
        why += (i ? ", #" : "#") + std::to_string(found[i]);
    why += "): give the number or more digits";
    return 0;
}

}  // namespace chat
