#include "transfer_sender.hpp"

#include <spdlog/logger.h>

#include <asio/post.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "address.hpp"
#include "peer_json.hpp"
#include "read_line.hpp"
#include "retry.hpp"
#include "text.hpp"
#include "transfer_record.hpp"

namespace chat {
namespace {

using nlohmann::json;
using Clock = TransferClock;

constexpr auto kManifestTimeout = std::chrono::seconds(30);
constexpr auto kProgressEvery = std::chrono::milliseconds(250);
// Answers of "still receiving" after every job is done, before the jobs
// run again (the receiver lost track of some files, e.g. in a restart).
constexpr unsigned kChecksBeforeRerun = 4;
constexpr int kJobAttempts = SendScheduler::kJobAttempts;

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

// Why the receiver ended a transfer, as its client hears it.
std::string ended_by(const OutgoingTransfer& t, const TransferAnswer& answer) {
    return (t.state == OutgoingState::sending || t.state == OutgoingState::finishing
                ? "stopped by "
                : "rejected by ") +
           t.peer + (answer.reason.empty() ? "" : ": " + answer.reason);
}

// The manifest connection's header, and the manifest with it.
std::string manifest_upload(const OutgoingTransfer& t) {
    // Written directly: the manifest is megabytes for a large tree, and its
    // text is valid UTF-8 (it was decoded before it was kept). A receiver
    // that says so takes it as the next line, as it is: as a string it was
    // escaped here and unescaped there (about 6 and 11 ms for 18,800 files).
    const bool as_line = t.manifest_line && std::memchr(t.manifest_text.data(), '\n',
                                                        t.manifest_text.size()) == nullptr;
    std::string header(as_line ? R"({"manifest_follows":true)" : R"({"manifest":)");
    if (!as_line) append_json_string(header, t.manifest_text);
    header += R"(,"token":)";
    append_json_string(header, t.token);
    header += R"(,"transfer":)";
    append_json_string(header, t.id);
    header += "}\n";
    if (as_line) {
        header.reserve(header.size() + t.manifest_text.size() + 1);
        header += t.manifest_text;
        header += '\n';
    }
    return header;
}

}  // namespace

Sender::Sender(TransferContext& ctx, TransferRegistry& registry, std::mt19937_64& random)
    : ctx_(ctx),
      registry_(registry),
      random_(random),
      scheduler_(
          ctx, registry,
          {[this](OutgoingTransfer& t, const WorkerReport& r) { on_job_progress(t, r); },
           [this](OutgoingTransfer& t) { all_jobs_done(t); },
           [this](OutgoingTransfer& t, const std::string& why) { finish_outgoing(t, why); }}) {}

void Sender::stop() {
    stopped_ = true;
    for (auto& [n, t] : registry_.outgoing) {
        if (t->retry) t->retry->cancel();
        if (t->unanswered) t->unanswered->cancel();
    }
}

void Sender::cancel(OutgoingTransfer& t) {
    cancel_jobs(ctx_.pool, t.jobs);
    // Twice: a lost datagram would leave the receiver's staging behind.
    for (int copy = 0; copy < 2; ++copy) {
        ctx_.send_datagram(t.to, encode_cancel(t.id, ""));
    }
    move_state(*ctx_.log, t.number, t.state, OutgoingState::cancelled);
    finish_outgoing(t, "cancelled by the sender");
}

void Sender::on_job_progress(OutgoingTransfer& t, const WorkerReport& report) {
    t.tracker->add(report.bytes, report.files, Clock::now(), report.already_there);
    for (const auto index : report.verified) {
        if (index >= t.manifest.entries.size() || !t.reply) break;
        const ManifestEntry& e = t.manifest.entries[index];
        t.reply->send_line(file_event_line(t.number, e));
    }
    emit_progress(t, false);
}

bool Sender::restore(const TransferRow& row, const Endpoint& to, std::size_t& resumable) {
    const auto record = decode_outgoing_record(row.state, row.doc);
    if (!record) return false;
    const auto now = Clock::now();
    auto t = std::make_unique<OutgoingTransfer>();
    static_cast<TransferIds&>(*t) = ids_of(row);
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
    registry_.outgoing[t->number] = std::move(t);
    return true;
}

void Sender::save(const OutgoingTransfer& t, bool with_manifest) {
    OutgoingRecord record{t.state, t.reason, t.run, t.wire_bytes, t.placed, t.names, 0, 0};
    if (t.tracker) {
        const auto s = t.tracker->snapshot(Clock::now());
        record.files = s.total_files;
        record.bytes = s.total_bytes;
    }
    persist_row(ctx_,
                row_of(t, TransferDirection::out, to_string(t.state), encode_record(record),
                       with_manifest ? std::optional(t.manifest_text) : std::nullopt),
                {});
}

OutgoingTransfer* Sender::resumable(const std::string& peer, const Manifest& manifest) {
    for (auto& [n, t] : registry_.outgoing) {
        if (t->peer == peer &&
            (t->state == OutgoingState::interrupted || t->state == OutgoingState::failed) &&
            t->manifest == manifest) {
            return t.get();
        }
    }
    return nullptr;
}

void Sender::begin(const TransferRequest& request, const Endpoint& to, OwnedFds fds,
                   std::shared_ptr<ReplySink> reply) {
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
    registry_.forget_old();
    const std::string peer = endpoint_key(to);
    // The same paths, unchanged, to the same peer: pick up where it stopped.
    OutgoingTransfer* t = resumable(peer, manifest);
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
        auto fresh = std::make_unique<OutgoingTransfer>();
        fresh->number = registry_.next_number++;
        fresh->id = random_hex(random_);
        fresh->peer = peer;
        fresh->take_manifest(std::move(manifest));
        fresh->retry = std::make_unique<asio::steady_timer>(ctx_.io);
        t = fresh.get();
        registry_.outgoing[fresh->number] = std::move(fresh);
    }
    OutgoingTransfer& ref = *t;
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

void Sender::tell_unanswered(std::uint64_t number) {
    const auto it = registry_.outgoing.find(number);
    if (stopped_ || it == registry_.outgoing.end() || it->second->state != OutgoingState::offered)
        return;
    OutgoingTransfer& t = *it->second;
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

void Sender::send_offer(OutgoingTransfer& t) {
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
        if (auto it = registry_.outgoing.find(number); it != registry_.outgoing.end())
            send_offer(*it->second);
    });
}

void Sender::on_answer(const Endpoint& from, const std::string& id, const TransferAnswer& answer) {
    OutgoingTransfer* t = registry_.outgoing_by_id(id);
    if (!t || t->peer != endpoint_key(from)) {
        ctx_.log->debug("ignored an answer from {} for unknown transfer {}", endpoint_key(from),
                        id);
        return;
    }
    // The decoder admits only an answer's states.
    const auto verdict = answer_state_from_string(answer.state);
    if (!verdict) return;
    // The receiver ended it (cancelled, or failed on its side): finished
    // for good, so the same paths sent again are a new offer, not a resume.
    if (t->state == OutgoingState::interrupted && *verdict == AnswerState::rejected) {
        t->reason = ended_by(*t, answer);
        move_state(*ctx_.log, t->number, t->state, OutgoingState::rejected);
        return finish_outgoing(*t, t->reason);
    }
    if (t->state == OutgoingState::sending || t->state == OutgoingState::finishing)
        return on_answer_while_sending(*t, *verdict, answer);
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
        return finish_outgoing(*t, ended_by(*t, answer));
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

void Sender::on_answer_while_sending(OutgoingTransfer& t, AnswerState verdict,
                                     const TransferAnswer& answer) {
    if (verdict == AnswerState::rejected) {
        cancel_jobs(ctx_.pool, t.jobs);
        const std::string why = ended_by(t, answer);
        move_state(*ctx_.log, t.number, t.state, OutgoingState::rejected);
        return finish_outgoing(t, why);
    }
    if (verdict == AnswerState::done) {  // while rerunning too: the receiver has it all
        cancel_jobs(ctx_.pool, t.jobs);
        t.placed = answer.placed;
        return finish_outgoing(t, "");
    }
    if (t.state == OutgoingState::sending) return;  // a late copy
    // Every job is done, yet the receiver is still receiving: it lost
    // track of some files (a restart). Running the jobs again costs
    // little: it has the data, so only hashes are compared.
    if (verdict == AnswerState::accepted && ++t.checks >= kChecksBeforeRerun && !t.rerun) {
        ctx_.log->info("transfer {}: {} has not confirmed every file; checking them again",
                       t.number, t.peer);
        t.rerun = true;
        move_state(*ctx_.log, t.number, t.state, OutgoingState::sending);
        scheduler_.start(t);
    }
}

// The manifest goes over its own connection. A refusal is final; a lost
// connection (a lossy or cut link) is tried again with the jobs' backoff:
// the receiver answers ok again to a manifest it already has.
void Sender::send_manifest(std::uint64_t number, int attempt) {
    OutgoingTransfer& t = *registry_.outgoing.at(number);
    auto socket = std::make_shared<asio::ip::tcp::socket>(ctx_.io);
    auto header = std::make_shared<std::string>(manifest_upload(t));
    const asio::ip::tcp::endpoint endpoint(address_of(t.peer), t.port);
    // A silent peer must not hold the transfer: closing the socket fails
    // whichever step is waiting.
    auto deadline = std::make_shared<asio::steady_timer>(ctx_.io, kManifestTimeout);
    deadline->async_wait([socket](asio::error_code ec) {
        if (!ec) socket->close(ec);
    });
    // Whether the transfer is still waiting on this attempt.
    auto current = [this, number]() -> OutgoingTransfer* {
        auto it = registry_.outgoing.find(number);
        return it == registry_.outgoing.end() || it->second->state != OutgoingState::sending
                   ? nullptr
                   : it->second.get();
    };
    auto lost = [this, number, attempt, deadline](OutgoingTransfer& t, const std::string& why) {
        deadline->cancel();
        if (attempt >= kJobAttempts) return finish_outgoing(t, why);
        const auto delay = scheduler_.retry_later(
            number, attempt, [this, number, attempt] { send_manifest(number, attempt + 1); });
        ctx_.log->warn("transfer {}: {}; trying again in {} ms", number, why, delay.count());
    };
    socket->async_connect(endpoint, [this, socket, header, current, lost,
                                     deadline](asio::error_code ec) {
        OutgoingTransfer* t = current();
        if (!t) return;
        if (ec) return lost(*t, "cannot connect to send the manifest: " + ec.message());
        asio::async_write(
            *socket, asio::buffer(*header),
            [this, socket, header, current, lost, deadline](asio::error_code ec, std::size_t) {
                OutgoingTransfer* t = current();
                if (!t) return;
                if (ec) return lost(*t, "cannot send the manifest: " + ec.message());
                auto reply = std::make_shared<asio::streambuf>(64 * 1024);
                read_line(
                    socket, reply, 0,
                    [this, reply, current, lost, deadline](asio::error_code ec, std::size_t n) {
                        OutgoingTransfer* t = current();
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
                        scheduler_.start(*t);
                    });
            });
    });
}

// Every file is verified; the receiver still has to publish. Until it says
// so, the offer goes on as the question "done?".
void Sender::all_jobs_done(OutgoingTransfer& t) {
    move_state(*ctx_.log, t.number, t.state, OutgoingState::finishing);
    t.offer_attempts = 0;
    t.checks = 0;
    save(t, false);
    send_offer(t);
}

void Sender::emit_progress(OutgoingTransfer& t, bool force) {
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

void Sender::finish_outgoing(OutgoingTransfer& t, const std::string& error) {
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
        Sender& sender;
        OutgoingTransfer& t;
        std::shared_ptr<OwnedFds> fds;
        ~Release() {
            sender.release_manifest(t);
            asio::post(sender.ctx_.io, [fds = std::move(fds)] {});
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

void Sender::release_manifest(OutgoingTransfer& t) {
    // A failed transfer keeps it: sending the same paths again resumes it.
    if (t.state == OutgoingState::failed || t.state == OutgoingState::interrupted) return;
    // swap, not assignment: assigning an empty string or {} keeps the
    // capacity, which kept megabytes per finished transfer alive.
    t.manifest = Manifest{};
    std::string().swap(t.manifest_text);
    std::vector<std::size_t>().swap(t.file_entries);
}

}  // namespace chat
