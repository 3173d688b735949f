#include "transfer_receiver.hpp"

#include <fcntl.h>
#include <spdlog/logger.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "accept_target.hpp"
#include "offer_policy.hpp"
#include "reopen_target.hpp"
#include "text.hpp"
#include "transfer_paths.hpp"
#include "transfer_record.hpp"
#include "worker_jobs.hpp"

namespace chat {
namespace {

using nlohmann::json;
using Clock = TransferClock;

constexpr int kSyncAttempts = 3;  // a received tree's sync, when its worker dies
// What a sender hears when our storage failed: the detail is local.
constexpr const char* kCouldNotStore = "the receiver could not store the transfer";

}  // namespace

Receiver::Receiver(TransferContext& ctx, TransferRegistry& registry, std::mt19937_64& random)
    : ctx_(ctx),
      registry_(registry),
      random_(random),
      listener_(ctx.io, ctx.log, listener_handlers()) {}

void Receiver::start(const Endpoint& listen) { listener_.start(listen); }

void Receiver::stop() {
    stopped_ = true;
    listener_.stop();
}

TransferListener::Handlers Receiver::listener_handlers() {
    TransferListener::Handlers h;
    h.token_of = [this](const std::string& id) -> const std::string* {
        const IncomingTransfer* t = registry_.incoming_by_id(id);
        return t && is_active(t->state) ? &t->token : nullptr;
    };
    h.wants_files = [this](const std::string& id) {
        const IncomingTransfer* t = registry_.incoming_by_id(id);
        return t && t->manifest && !t->publishing;
    };
    h.on_manifest = [this](const std::string& id, asio::ip::tcp::socket& socket,
                           const std::string& manifest) {
        if (IncomingTransfer* t = registry_.incoming_by_id(id))
            receive_manifest(*t, socket, manifest);
    };
    h.on_files = [this](const std::string& id, asio::ip::tcp::socket& socket,
                        const std::vector<std::size_t>& files) {
        if (IncomingTransfer* t = registry_.incoming_by_id(id)) receive_files(*t, socket, files);
    };
    return h;
}

void Receiver::reject(IncomingTransfer& t) {
    move_state(*ctx_.log, t.number, t.state, IncomingState::rejected);
    t.reason = "rejected by the receiver";
    ctx_.log->info("transfer {} from {} rejected", t.number, t.peer);
    save(t);
    answer(t);
}

void Receiver::cancel(IncomingTransfer& t) {
    fail_incoming(t, "cancelled by the receiver", IncomingState::cancelled);
    answer(t);
}

bool Receiver::restore(const TransferRow& row, const Endpoint& from, std::size_t& resumable) {
    auto record = decode_incoming_record(row.state, row.doc);
    if (!record) return false;
    const auto now = Clock::now();
    const std::int64_t now_ms = wall_clock_ms();
    auto t = std::make_unique<IncomingTransfer>();
    static_cast<TransferIds&>(*t) = ids_of(row);
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
    IncomingTransfer& ref = *t;
    registry_.incoming[t->number] = std::move(t);
    if (!is_active(ref.state)) return true;
    // Take the staging tree back, with what it holds.
    try {
        ref.dir_fd = reopen_accept_target(ref.dir, ref.accepted_by, default_download_dir());
        ref.staging = std::make_unique<StagingTree>(ref.dir_fd.get(), staging_name(ref.id));
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

void Receiver::save(const IncomingTransfer& t, std::function<void(bool)> then,
                    const std::string* manifest_text) {
    const IncomingRecord record{t.state,         t.run,    t.name,       t.reason, t.peer_reason,
                                t.token,         t.dir,    t.offered_ms, t.offer,  t.verified,
                                t.files_stamped, t.placed, t.accepted_by};
    persist_row(ctx_,
                row_of(t, TransferDirection::in, to_string(t.state), encode_record(record),
                       manifest_text ? std::optional(*manifest_text) : std::nullopt),
                std::move(then));
}

void Receiver::expire_offers() {
    const auto ttl = std::chrono::seconds(ctx_.config.transfer.offer_ttl_seconds);
    for (auto& [n, t] : registry_.incoming) {
        if (t->state == IncomingState::offered && Clock::now() - t->offered_at > ttl) {
            move_state(*ctx_.log, t->number, t->state, IncomingState::expired);
            t->reason = "the offer expired unanswered";
            ctx_.log->info("transfer {} from {}: {}", n, t->peer, t->reason);
            save(*t);
            answer(*t);
        }
    }
}

void Receiver::on_offer(const Endpoint& from, const std::string& id, const TransferOffer& offer,
                        const std::string& name) {
    expire_offers();
    const std::string peer = endpoint_key(from);
    if (IncomingTransfer* known = registry_.incoming_by_id(id)) {
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
        // "accepted" to a finishing sender would make it send again. Nor
        // while the accept is being saved: its save sends the answer, and
        // a sender told sooner could finish before the accept is on disk.
        if (known->publishing || known->saving_accept) return;
        return answer(*known);  // a retry, or a question while finishing: the answer again
    }
    registry_.forget_old();
    auto t = std::make_unique<IncomingTransfer>();
    t->number = registry_.next_number++;
    t->id = id;
    t->peer = peer;
    t->from = from;
    t->name = name;
    t->offer = offer;
    t->run = offer.run;
    IncomingTransfer& ref = *t;
    registry_.incoming[t->number] = std::move(t);

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

void Receiver::reconsider(IncomingTransfer& t) {
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

void Receiver::answer(const IncomingTransfer& t) {
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

void Receiver::on_cancel(const Endpoint& from, const std::string& id, const std::string& reason) {
    IncomingTransfer* t = registry_.incoming_by_id(id);
    if (!t || t->peer != endpoint_key(from)) return;
    if (t->state != IncomingState::offered && !is_active(t->state)) return;
    fail_incoming(*t, "cancelled by the sender" + (reason.empty() ? "" : ": " + reason),
                  IncomingState::cancelled);
}

void Receiver::accept_offer(IncomingTransfer& t, const std::string& requested_dir,
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
    UniqueFd fd;
    if (auto refusal = open_target(t, reply.get(), dir, fd))
        return refuse(refusal->code, refusal->why, refusal->for_peer);
    try {
        t.staging = std::make_unique<StagingTree>(fd.get(), staging_name(t.id));
    } catch (const StagingError& e) {
        fd.reset();
        return refuse(codes::failed, "cannot use " + dir + ": " + e.what(), kCouldNotStore);
    }
    t.dir = dir;
    if (!requested_dir.empty()) t.accepted_by = reply->client();
    t.dir_fd = std::move(fd);
    t.token = random_hex(random_);
    move_state(*ctx_.log, t.number, t.state, IncomingState::accepted);
    ctx_.log->info("transfer {} from {} accepted into {}", t.number, t.peer, dir);
    // The sender hears "accepted" only once a restart would remember it.
    t.saving_accept = true;
    save(t, [this, number = t.number, reply](bool durable) {
        auto it = registry_.incoming.find(number);
        if (it == registry_.incoming.end()) return;
        IncomingTransfer& t = *it->second;
        t.saving_accept = false;
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
            // Never a refusal that says nothing, whatever ended it meanwhile.
            const std::string why = !t.reason.empty()
                                        ? t.reason
                                        : "transfer " + std::to_string(t.number) + " is " +
                                              std::string(to_string(t.state)) + ", not accepted";
            reply->send_line(error_reply(codes::failed, why));
        }
        reply->finish();
    });
}

// Opens the directory a transfer is accepted into (`dir`: as asked, or
// empty for the default; on success the path opened and its descriptor in
// `fd`), with room for the offer; why not, as accept_offer refuses.
std::optional<Receiver::Refusal> Receiver::open_target(const IncomingTransfer& t,
                                                       const ReplySink* reply, std::string& dir,
                                                       UniqueFd& fd) {
    if (!dir.empty()) {
        // Only where the user who asked could write: chatd's own rights
        // may reach much further.
        const auto who = reply ? reply->client() : std::nullopt;
        if (!who) {
            return Refusal{codes::failed, "cannot tell who asked to accept into " + dir,
                           kCouldNotStore};
        }
        try {
            AcceptTarget target = open_accept_target(dir, *who);
            fd = std::move(target.fd);
            dir = std::move(target.path);
        } catch (const AcceptTargetError& e) {
            return Refusal{codes::bad_request, e.what(), kCouldNotStore};
        }
    } else {
        dir = default_download_dir();
        std::error_code ec;
        if (std::filesystem::create_directories(dir, ec)) {
            std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
        }
        fd.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fd) {
            return Refusal{codes::failed, "cannot use " + dir + ": " + std::strerror(errno),
                           kCouldNotStore};
        }
    }
    struct statvfs fs;
    if (::fstatvfs(fd.get(), &fs) == 0) {
        const auto free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
        const std::uint64_t margin = std::max<std::uint64_t>(16 << 20, t.offer.bytes / 100);
        if (free_bytes < t.offer.bytes + margin) {
            fd.reset();
            const std::string sizes =
                format_bytes(t.offer.bytes) + " offered, " + format_bytes(free_bytes) + " free";
            return Refusal{codes::failed, "not enough free space in " + dir + ": " + sizes,
                           "not enough free space on the receiver: " + sizes};
        }
    }
    return std::nullopt;
}

void Receiver::receive_manifest(IncomingTransfer& t, asio::ip::tcp::socket& socket,
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

void Receiver::receive_files(IncomingTransfer& t, asio::ip::tcp::socket& socket,
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
    job.kind = to_string(JobKind::receive);
    params.fresh = fresh;
    job.params_json = encode_receive_job(params);
    job.fds.push_back(socket.release());
    job.fds.push_back(::fcntl(t.staging->root_fd(), F_DUPFD_CLOEXEC, 0));
    job.on_progress = [this, number = t.number](const WorkerReport& report) {
        if (auto it = registry_.incoming.find(number);
            it != registry_.incoming.end() && it->second->tracker) {
            it->second->tracker->add(report.bytes, report.files, Clock::now(),
                                     report.already_there);
        }
    };
    submit_incoming_job(
        t, std::move(job),
        [this](IncomingTransfer& t, bool ok, const std::string& result, FailureKind kind) {
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
void Receiver::publish(IncomingTransfer& t) {
    if (t.publishing) return;
    try {
        t.staging->stamp(*t.manifest, t.files_stamped);
    } catch (const StagingError& e) {
        return fail_storage(t, e.what());
    }
    t.publishing = true;
    sync_staged(t);
}

void Receiver::sync_staged(IncomingTransfer& t) {
    PoolJob job;
    job.kind = to_string(JobKind::sync);
    job.fds.push_back(::fcntl(t.staging->root_fd(), F_DUPFD_CLOEXEC, 0));
    submit_incoming_job(
        t, std::move(job),
        [this](IncomingTransfer& t, bool ok, const std::string& result, FailureKind kind) {
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
void Receiver::submit_incoming_job(IncomingTransfer& t, PoolJob job, IncomingJobDone done) {
    auto job_id = std::make_shared<std::uint64_t>(0);
    job.on_done = [this, number = t.number, job_id, done = std::move(done)](
                      bool ok, const std::string& result, FailureKind kind) {
        const auto it = registry_.incoming.find(number);
        if (it == registry_.incoming.end()) return;
        it->second->jobs.erase(*job_id);
        done(*it->second, ok, result, kind);
    };
    *job_id = ctx_.pool.submit(std::move(job));
    t.jobs.insert(*job_id);
}

void Receiver::place(IncomingTransfer& t) {
    try {
        t.placed = t.staging->place(*t.manifest, t.dir_fd.get());
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

void Receiver::fail_incoming(IncomingTransfer& t, const std::string& why, IncomingState state) {
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

std::string Receiver::default_download_dir() const {
    return ctx_.config.transfer.download_dir.empty() ? ctx_.state_dir + "/incoming"
                                                     : ctx_.config.transfer.download_dir;
}

void Receiver::fail_storage(IncomingTransfer& t, const std::string& why) {
    t.peer_reason = kCouldNotStore;
    fail_incoming(t, why);
}

}  // namespace chat
