#include "daemon.hpp"

#include <netdb.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <asio/post.hpp>
#include <cerrno>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

#include "address.hpp"
#include "clock.hpp"
#include "envelope.hpp"
#include "heap.hpp"
#include "random_seed.hpp"
#include "retry.hpp"
#include "text.hpp"

namespace chat {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// How a received message just stored is shown; its text moves there.
MessageView received_view(std::int64_t row, IncomingMessage& m) {
    const std::int64_t sent = message_id_clock_ms(m.msg_id, m.ts_ms).value_or(0);
    return {row, "in", m.peer, m.name, std::move(m.text), m.ts_ms, m.plain, "received", sent};
}

constexpr std::size_t kFinishedTransfersKept = 1000;  // in the store; `transfers` shows 100

// A page stays well under the control session's 4 MiB reply queue.
constexpr std::size_t kStreamPageRows = 256;
constexpr std::size_t kStreamPageBytes = 512 * 1024;
constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

std::string fmt_seconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", seconds);
    return text;
}

// The reply to `send` once it is settled: delivered, queued or sent (plain).
json send_reply(const std::string& id, const std::string& to, const char* state, bool plain) {
    return {{"ok", true}, {"id", id}, {"to", to}, {"state", state}, {"plain", plain}};
}

// Message i of a send request, as an error names it.
std::string message_label(std::size_t i, std::size_t count) {
    if (count == 1) return "the message";
    return "message " + std::to_string(i + 1) + " of " + std::to_string(count);
}

// A single message's local id (as inbox and history show it) and time, so
// `chat --json` can print the message it sent.
void add_stored_row(json& reply, const std::vector<std::int64_t>& rows, std::int64_t ts_ms) {
    if (rows.empty()) return;
    reply["row"] = rows.front();
    reply["ts"] = format_rfc3339(ts_ms);
}

std::string message_line(const MessageView& message) {
    return reply_line(json{{"message", message_to_json(message)}});
}

// The listen address as an endpoint; a host name is looked up once, at start.
Endpoint listen_endpoint(const std::string& listen) {
    const HostPort hp = parse_host_port(listen, /*allow_port_zero=*/true);
    if (auto numeric = numeric_endpoint(hp.host, hp.port)) return *numeric;
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(hp.port);
    if (const int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        throw std::runtime_error("cannot resolve listen host '" + hp.host +
                                 "': " + gai_strerror(rc));
    }
    Endpoint e;
    std::memcpy(&e.storage, found->ai_addr, found->ai_addrlen);
    e.length = found->ai_addrlen;
    ::freeaddrinfo(found);
    return e;
}

}  // namespace

Daemon::Daemon(asio::io_context& io, DaemonSettings settings, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      settings_(std::move(settings)),
      log_(std::move(log)),
      control_(io, settings_.socket_path, settings_.config.socket_group, *this, log_),
      resolver_(io),
      retry_timer_(io),
      notifier_(settings_.service.notify_socket),
      service_timer_(io),
      hold_timer_(io),
      random_(seeded_engine()) {}

Daemon::~Daemon() { stop(); }

void Daemon::post(std::function<void()> fn) { asio::post(io_, std::move(fn)); }

void Daemon::persist(std::function<void(Store&)> work, std::function<void(bool)> then) {
    StoreOp op;
    op.work = std::move(work);
    op.done = [this, then = std::move(then)](bool durable) {
        if (!durable) log_->error("a transfer's state could not be stored");
        if (then)
            post([this, then, durable] {
                if (running_) then(durable);
            });
    };
    store_worker_->submit(std::move(op));
}

void Daemon::start() {
    CreatedDirectories created;
    try {
        created.create(settings_.state_dir, settings_.default_state_dir);
        state_lock_ = std::make_unique<StateDirLock>(settings_.state_dir);
        if (settings_.default_socket_path) {
            const auto dir = std::filesystem::path(settings_.socket_path).parent_path();
            if (!dir.empty()) created.create(dir.string(), true);
        }
        start_services();
    } catch (...) {
        // Without the lock the state dir may be another daemon's by now,
        // though this start created it: it stays.
        const bool locked = state_lock_ != nullptr;
        stop();
        reader_.reset();
        state_lock_.reset();
        if (locked) {
            created.remove(
                {"chatd.lock", "chatd.db", "chatd.db-wal", "chatd.db-shm", "chatd.db-journal"});
        }
        throw;
    }
}

void Daemon::start_services() {
    namespace fs = std::filesystem;
    const std::string db_path = (fs::path(settings_.state_dir) / "chatd.db").string();
    make_store_files_private(db_path);
    if (settings_.config.transfer.download_dir.empty())
        make_default_download_dir_private(settings_.state_dir);
    auto writer = std::make_unique<Store>(db_path);
    reader_ = std::make_unique<Store>(db_path);
    const Endpoint listen = listen_endpoint(settings_.config.listen);
    transport_ = std::make_unique<UdpTransport>(listen, settings_.config.max_datagram_bytes,
                                                counters_, log_);
    control_.start();
    workers_ = std::make_unique<WorkerPool>(io_, settings_.worker_executable,
                                            settings_.config.transfer.workers, log_);
    workers_->start();
    transfers_ = std::make_unique<TransferManager>(
        TransferContext{io_, settings_.config, settings_.name, settings_.state_dir, *workers_,
                        [this](const Endpoint& to, std::string datagram) {
                            transport_->send(to, std::move(datagram));
                        },
                        [this](const std::string& line) { notify_followers(line, ""); },
                        [this](std::function<void(Store&)> work, std::function<void(bool)> then) {
                            persist(std::move(work), std::move(then));
                        },
                        log_});
    // TCP takes the UDP port's number. When the kernel picked that number,
    // TCP may have it in use already (another connection's local port):
    // then pick another pair.
    const bool any_port = parse_host_port(endpoint_key(listen), true).port == 0;
    for (int attempt = 1;; ++attempt) {
        try {
            transfers_->start(transport_->local_endpoint());
            break;
        } catch (const std::system_error& e) {
            // Asio's error category maps no std::errc here: compare errno.
            if (!any_port || e.code().value() != EADDRINUSE || attempt == 20) throw;
            transport_.reset();
            transport_ = std::make_unique<UdpTransport>(listen, settings_.config.max_datagram_bytes,
                                                        counters_, log_);
        }
    }

    for (const auto& peer : reader_->peers()) {
        peer_modes_[peer.address] = {peer.speaks_envelope, peer.speaks_plain};
    }
    stream_id_ = reader_->stream_id();
    last_seq_ = reader_->last_sequences();
    const auto now = steady_clock::now();
    for (const auto& row : reader_->pending()) {
        const HostPort hp = parse_host_port(row.peer);
        const auto numeric = numeric_endpoint(hp.host, hp.port);
        const auto to = numeric ? for_socket(*numeric, transport_->local_endpoint()) : std::nullopt;
        if (!to) {
            log_->warn("outbox message {} to {} cannot be sent from {}; left queued", row.id,
                       row.peer, listen_address());
            continue;
        }
        pending_[row.msg_id] = {row.id, row.peer, *to, row.text, row.seq, 0, now, row.expires_ms};
        if (row.seq > 0) unacked_[row.peer].insert(row.seq);
    }

    store_worker_ = std::make_unique<StoreWorker>(std::move(writer), counters_, log_);
    reader_->prune_transfers(kFinishedTransfersKept);
    transfers_->restore(reader_->transfers());
    transport_->start([this](std::string_view bytes, const Endpoint& from,
                             bool truncated) { on_datagram(bytes, from, truncated); },
                      [this] { on_received_batch(); });
    running_ = true;
    arm_retry_timer();
    arm_hold_timer();
    last_status_ = status_line();
    notifier_.notify("READY=1\nSTATUS=" + last_status_);
    arm_service_timer();
    log_->info("chatd {} as '{}': UDP {}, control socket {}, state {}, {} queued in the outbox",
               CHAT_VERSION, settings_.name, listen_address(), settings_.socket_path,
               settings_.state_dir, pending_.size());
}

void Daemon::stop() {
    if (!running_ && !transport_) return;
    if (running_) notifier_.notify("STOPPING=1");
    running_ = false;
    service_timer_.cancel();
    control_.stop();
    if (transfers_) transfers_->stop();
    if (workers_) workers_->stop();
    retry_timer_.cancel();
    hold_timer_.cancel();
    resolver_.cancel();
    for (auto& [id, send] : waiters_) {
        if (send->timer) send->timer->cancel();
    }
    waiters_.clear();
    followers_.clear();
    if (transport_) transport_->stop();
    if (store_worker_) store_worker_->stop();  // commits what is queued
    store_worker_.reset();
    transfers_.reset();
    workers_.reset();
    transport_.reset();
    reader_.reset();
}

std::string Daemon::listen_address() const {
    return transport_ ? endpoint_key(transport_->local_endpoint()) : settings_.config.listen;
}

// The time in milliseconds, then 80 random bits: ids from one sender sort
// roughly by time, so the receiver's index of seen ids grows at its end
// (a commit touches a few pages, not one per message) and the random part
// still cannot be guessed.
std::string Daemon::new_message_id() {
    // By hand, not snprintf: one per message sent, and formatting was a
    // twentieth of the control thread under load.
    std::string id(32, '0');
    const auto put_hex = [&id](std::size_t end, int digits, std::uint64_t value) {
        for (int i = 1; i <= digits; ++i, value >>= 4)
            id[end - static_cast<std::size_t>(i)] = kHexDigits[value & 0xf];
    };
    put_hex(12, 12, static_cast<std::uint64_t>(wall_clock_ms()));
    put_hex(16, 4, random_());
    put_hex(32, 16, random_());
    return id;
}

// ---- receiver thread -------------------------------------------------------

void Daemon::on_datagram(std::string_view bytes, const Endpoint& from, bool truncated) {
    const std::string peer = endpoint_key(from);
    if (truncated) {
        bump(counters_.dropped_oversize);
        log_->debug("dropped a datagram from {}: larger than the {}-byte receive buffer", peer,
                    settings_.config.max_datagram_bytes);
        return;
    }
    auto arrived = std::find_if(arrived_.begin(), arrived_.end(),
                                [&](const Arrived& a) { return a.peer == peer; });
    if (arrived == arrived_.end()) arrived = arrived_.insert(arrived_.end(), {from, peer, {}, {}});
    std::vector<IncomingMessage>& messages = arrived->messages;
    std::vector<std::string>& acked = arrived->acked;
    for (DecodedDatagram& d : decode_datagrams(bytes)) {
        switch (d.kind) {
            case DatagramKind::malformed:
                bump(counters_.dropped_malformed);
                log_->debug("dropped a {}-byte datagram from {}: {}", bytes.size(), peer, d.error);
                break;
            case DatagramKind::ack:
                acked.push_back(std::move(d.id));
                break;
            case DatagramKind::offer:
                post([this, from, peer, d = std::move(d)] {
                    note_envelope_peer(peer);
                    transfers_->on_offer(from, d.id, d.offer, d.name);
                });
                break;
            case DatagramKind::answer:
                post([this, from, peer, d = std::move(d)] {
                    note_envelope_peer(peer);
                    transfers_->on_answer(from, d.id, d.answer);
                });
                break;
            case DatagramKind::cancel:
                post([this, from, peer, d = std::move(d)] {
                    note_envelope_peer(peer);
                    transfers_->on_cancel(from, d.id, d.text);
                });
                break;
            case DatagramKind::plain:
                messages.push_back(
                    {peer, "", "", std::move(d.text), true, wall_clock_ms(), "", 0, 0});
                break;
            case DatagramKind::message:
                messages.push_back({peer, std::move(d.name), std::move(d.id), std::move(d.text),
                                    false, wall_clock_ms(), std::move(d.order.stream), d.order.seq,
                                    d.order.floor});
                break;
        }
    }
}

// A burst's messages from one sender are stored in one operation and their
// acks go back bundled; the acks it brought are settled in one pass.
void Daemon::on_received_batch() {
    for (Arrived& a : arrived_) {
        if (!a.acked.empty())
            post([this, peer = a.peer, acked = std::move(a.acked)] { on_acks(peer, acked); });
        if (!a.messages.empty()) store_incoming(std::move(a.messages), a.from);
    }
    arrived_.clear();
}

// Stores first, acks after the commit: an ack promises the message is on
// disk. A duplicate is acked again (its first ack may have been lost) but
// shown once. The duplicate window lives on the store thread and learns an
// id only once it is committed, so a failed commit never turns the retry
// into a "duplicate" that is acked but was never stored.
void Daemon::store_incoming(std::vector<IncomingMessage> messages, const Endpoint& from) {
    struct Outcome {
        std::vector<IncomingMessage> messages;
        std::vector<std::string> keys;  // "peer id" for the duplicate window; "" for plain
        std::vector<bool> fresh;
        std::vector<MessageView> shown;
    };
    auto outcome = std::make_shared<Outcome>();
    outcome->messages = std::move(messages);
    outcome->fresh.assign(outcome->messages.size(), false);
    for (const auto& m : outcome->messages)
        outcome->keys.push_back(m.plain ? std::string() : m.peer + ' ' + m.msg_id);
    StoreOp op;
    op.work = [this, outcome](Store& store) {
        const IncomingMessage& last = outcome->messages.back();
        // What every message of the batch spoke, and the latest name given.
        bool spoke_envelope = false, spoke_plain = false;
        std::string name;
        for (const auto& m : outcome->messages) {
            (m.plain ? spoke_plain : spoke_envelope) = true;
            if (!m.name.empty()) name = m.name;
        }
        store.touch_peer(last.peer, name, spoke_envelope, spoke_plain, last.ts_ms);
        std::set<std::string> streams;  // whose next seq to save, once each
        std::string stream_key;         // "peer stream", made once per run of one stream
        const std::string* keyed = nullptr;
        // Messages due at once (nearly all) go in together, in arrival
        // order, before anything else writes rows: one INSERT per 64 rows.
        std::vector<std::size_t> due;
        const auto insert_due = [&] {
            if (due.empty()) return;
            std::vector<const IncomingMessage*> batch;
            batch.reserve(due.size());
            for (const std::size_t i : due) batch.push_back(&outcome->messages[i]);
            const auto rows = store.insert_incoming_rows(batch);
            for (std::size_t k = 0; k < due.size(); ++k) {
                if (!rows[k]) continue;
                IncomingMessage& m = outcome->messages[due[k]];
                outcome->fresh[due[k]] = true;
                outcome->shown.push_back(received_view(*rows[k], m));
            }
            due.clear();
        };
        for (std::size_t i = 0; i < outcome->messages.size(); ++i) {
            IncomingMessage& m = outcome->messages[i];
            const std::string& key = outcome->keys[i];
            if (!key.empty() && committed_ids_.contains(key)) continue;
            if (m.seq == 0) {
                due.push_back(i);
                continue;
            }
            if (!keyed || *keyed != m.stream) {
                stream_key = known_stream(store, m.peer, m.stream);
                keyed = &m.stream;
                streams.insert(m.stream);
            }
            const auto seqs = order_.arrive(stream_key, m.seq, m.floor);
            if (seqs.size() == 1 && seqs.front() == m.seq) {
                due.push_back(i);
                continue;
            }
            insert_due();
            outcome->fresh[i] = place_in_order(store, m, seqs, outcome->shown);
        }
        insert_due();
        for (const auto& stream : streams) {
            store.save_stream(last.peer, stream, order_.next(last.peer + ' ' + stream));
        }
        order_.trim(4096);
    };
    op.done = [this, outcome, from](bool durable) {
        if (!durable) {
            // No ack, so the sender retries; the order is read again from the store.
            for (const auto& m : outcome->messages) {
                if (m.seq > 0) order_.forget(m.peer + ' ' + m.stream);
            }
            return;
        }
        std::vector<std::string> acks;
        for (std::size_t i = 0; i < outcome->messages.size(); ++i) {
            const IncomingMessage& m = outcome->messages[i];
            if (!m.plain) {
                committed_ids_.insert(std::move(outcome->keys[i]));
                acks.push_back(encode_ack(m.msg_id));
            }
            if (outcome->fresh[i]) {
                bump(counters_.received);
            } else if (!m.plain) {
                bump(counters_.duplicates);
            }
        }
        for (auto& datagram : bundle_envelopes(acks)) transport_->send(from, std::move(datagram));
        if (!outcome->shown.empty()) {
            post([this, shown = std::move(outcome->shown)] {
                for (const auto& view : shown) on_stored(view);
            });
        }
    };
    store_worker_->submit(std::move(op));
}

std::string Daemon::known_stream(Store& store, const std::string& peer, const std::string& stream) {
    std::string key = peer + ' ' + stream;
    if (!order_.knows(key)) {
        const StreamState state = store.stream_state(peer, stream);
        order_.restore(key, state.next, state.held);
    }
    return key;
}

bool Daemon::place_in_order(Store& store, IncomingMessage& m,
                            const std::vector<std::uint64_t>& seqs,
                            std::vector<MessageView>& shown) {
    bool fresh = false;
    bool placed = false;
    for (const std::uint64_t seq : seqs) {
        // Only seqs other than the arriving one can have waited (every held
        // seq is above the next expected), so it needs no lookup.
        if (seq != m.seq) {
            for (auto& view : store.release_held(m.peer, m.stream, seq)) shown.push_back(view);
        }
        if (seq != m.seq || placed) continue;
        placed = true;
        if (auto row = store.insert_incoming(m)) {
            fresh = true;
            shown.push_back(received_view(*row, m));
        }
    }
    if (!placed) fresh = store.hold_incoming(m);
    return fresh;
}

void Daemon::release_overdue(Store& store, std::int64_t cutoff_ms,
                             std::vector<MessageView>& shown) {
    const auto overdue = store.held_before(cutoff_ms);
    for (std::size_t i = 0; i < overdue.size();) {
        // One stream's overdue messages are consecutive, by seq.
        std::size_t last = i;
        while (last + 1 < overdue.size() && overdue[last + 1].peer == overdue[i].peer &&
               overdue[last + 1].stream == overdue[i].stream)
            ++last;
        const HeldKey& k = overdue[i];
        const std::string key = known_stream(store, k.peer, k.stream);
        std::vector<std::uint64_t> due;
        do {
            due = order_.skip_gap(key);
            for (const std::uint64_t seq : due) {
                for (auto& view : store.release_held(k.peer, k.stream, seq)) shown.push_back(view);
            }
        } while (!due.empty() && due.back() < overdue[last].seq);
        store.save_stream(k.peer, k.stream, order_.next(key));
        log_->info("showing messages from {} that waited {} s for an earlier one that never came",
                   k.peer, hold_limit().count() / 1000);
        i = last + 1;
    }
}

// ---- control thread --------------------------------------------------------

// An ack of ours or a transfer envelope: the peer speaks envelopes, even if
// it never sent us a message (remembered, so a later plain datagram from
// it does not make it a plain peer, here or after a restart).
void Daemon::note_envelope_peer(const std::string& peer) {
    auto& mode = peer_modes_[peer];
    if (mode.envelope || !store_worker_) return;
    mode.envelope = true;
    StoreOp op;
    op.work = [peer, seen = wall_clock_ms()](Store& store) {
        store.touch_peer(peer, "", true, false, seen);
    };
    op.done = [](bool) {};
    store_worker_->submit(std::move(op));
}

void Daemon::on_stored(const MessageView& message) {
    auto& mode = peer_modes_[message.peer];
    (message.plain ? mode.plain : mode.envelope) = true;
    log_->debug("message {} from {}", message.id, message.peer);
    prune_followers();
    for (auto& follower : followers_) {
        if (message.id <= follower.last_id) continue;
        if (!follower.peer.empty() && follower.peer != message.peer) continue;
        follower.reply->send_line(message_line(message));
        follower.last_id = message.id;
    }
}

void Daemon::notify_followers(const std::string& text, const std::string& peer) {
    prune_followers();
    for (auto& follower : followers_) {
        if (follower.peer.empty() || peer.empty() || follower.peer == peer)
            follower.reply->send_line(text);
    }
}

void Daemon::handle_transfer(TransferRequest request, std::shared_ptr<ReplySink> reply) {
    const std::string spec = request.peer;
    resolve_destination(
        spec, reply, [this, request = std::move(request), reply](const Endpoint& to) {
            reply->receive_fds(request.fds,
                               [this, request, reply, to](OwnedFds fds, const std::string& error) {
                                   if (!running_) return;
                                   if (!error.empty()) {
                                       reply->send_line(error_reply(codes::failed, error));
                                       return reply->finish();
                                   }
                                   transfers_->begin_outgoing(request, to, std::move(fds), reply);
                               });
        });
}

void Daemon::prune_followers() {
    std::erase_if(followers_, [](const Follower& f) { return !f.reply->is_open(); });
}

void Daemon::on_acks(const std::string& peer, const std::vector<std::string>& msg_ids) {
    const auto now = steady_clock::now();
    const std::int64_t acked_at = wall_clock_ms();
    // Marked delivered by row; an ack that beat the outbox commit waits for
    // its row in acked_early_ (on_outgoing_stored marks it).
    std::vector<std::int64_t> rows;
    bool any = false;
    for (const std::string& msg_id : msg_ids) {
        const auto it = pending_.find(msg_id);
        if (it == pending_.end() || it->second.peer != peer) {
            bump(counters_.unknown_acks);
            log_->debug("ignored an ack from {} for unknown message {}", peer, msg_id);
            continue;
        }
        bump(counters_.acked);
        any = true;
        forget_pending(it->second);
        if (it->second.row > 0) {
            rows.push_back(it->second.row);
        } else {
            acked_early_.insert_or_assign(msg_id, acked_at);
        }
        pending_.erase(it);
        if (const auto waiter = waiters_.find(msg_id); waiter != waiters_.end()) {
            auto send = std::move(waiter->second);
            waiters_.erase(waiter);
            if (--send->unacked == 0 && send->stored) {
                settle(*send, settled_line(*send, "delivered"));
            }
        }
    }
    if (!any) return;
    note_envelope_peer(peer);
    // The first ack after a silence: the link is back, so the peer's other
    // messages need not wait out their backoff.
    const milliseconds initial(settings_.config.retry_initial_ms);
    auto [heard, first] = last_ack_.try_emplace(peer, now);
    if (!first && now - heard->second > initial) {
        for (auto& [id, p] : pending_) {
            if (p.peer != peer || p.next_due <= now + initial) continue;
            p.next_due = now;
            p.attempts = 1;
        }
    }
    heard->second = now;
    mark_delivered(std::move(rows), acked_at);
}

void Daemon::mark_delivered(std::vector<std::int64_t> rows, std::int64_t acked_at) {
    if (rows.empty()) return;
    std::sort(rows.begin(), rows.end());
    StoreOp op;
    op.work = [rows = std::move(rows), acked_at](Store& s) {
        // One statement per run of consecutive rows, each row in it acked.
        for (std::size_t i = 0; i < rows.size();) {
            std::size_t last = i;
            while (last + 1 < rows.size() && rows[last + 1] == rows[last] + 1) ++last;
            s.mark_delivered_rows(rows[i], rows[last], acked_at);
            i = last + 1;
        }
    };
    store_worker_->submit(std::move(op));
}

void Daemon::fail_waiter(const std::string& msg_id, const std::string& line) {
    const auto it = waiters_.find(msg_id);
    if (it == waiters_.end()) return;
    settle(*it->second, line);
    waiters_.erase(it);
}

void Daemon::settle(OutgoingSend& send, const std::string& line) {
    if (send.answered) return;
    send.answered = true;
    if (send.timer) send.timer->cancel();
    send.reply->send_line(line);
    send.reply->finish();
}

// A batch's reply is written directly, as json writes it (keys sorted):
// a document of a hundred ids, dumped, was a twentieth of the control
// thread under load.
std::string Daemon::settled_line(const OutgoingSend& send, const char* state) const {
    const OutgoingMessage& first = send.messages.front();
    if (!send.batch) {
        json reply = send_reply(first.msg_id, first.peer, state, first.plain);
        add_stored_row(reply, send.rows, first.ts_ms);
        return reply_line(reply);
    }
    std::string line = R"({"ids":[)";
    for (std::size_t i = 0; i < send.messages.size(); ++i) {
        if (i > 0) line += ',';
        append_json_string(line, send.messages[i].msg_id);
    }
    line += first.plain ? R"(],"ok":true,"plain":true,"state":)"
                        : R"(],"ok":true,"plain":false,"state":)";
    append_json_string(line, state);
    line += R"(,"to":)";
    append_json_string(line, first.peer);
    line += "}\n";
    return line;
}

void Daemon::arm_retry_timer() {
    if (retry_timer_armed_ || pending_.empty() || !running_) return;
    retry_timer_armed_ = true;
    const auto tick = std::min<std::int64_t>(100, settings_.config.retry_initial_ms);
    retry_timer_.expires_after(milliseconds(tick));
    retry_timer_.async_wait([this](asio::error_code ec) {
        retry_timer_armed_ = false;
        if (!ec) on_retry_tick();
    });
}

void Daemon::on_retry_tick() {
    const auto now = steady_clock::now();
    const std::int64_t wall_now = wall_clock_ms();
    const milliseconds initial(settings_.config.retry_initial_ms);
    const milliseconds cap(settings_.config.retry_max_ms);
    std::vector<std::pair<const std::string, Pending>*> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
        Pending& p = it->second;
        if (wall_now >= p.expires_ms) {
            bump(counters_.expired);
            log_->info("message to {} expired unacknowledged after {} attempts", p.peer,
                       p.attempts);
            const auto row = p.row;
            store_worker_->submit({[row](Store& s) { s.mark_expired(row); }, {}});
            fail_waiter(it->first, error_reply(codes::failed, "the message to " + p.peer +
                                                                  " expired unacknowledged"));
            forget_pending(p);
            it = pending_.erase(it);
            continue;
        }
        if (now >= p.next_due) due.push_back(&*it);
        ++it;
    }
    // Each peer's in the order they were sent, so the receiver holds few.
    std::sort(due.begin(), due.end(), [](const auto* a, const auto* b) {
        return std::tie(a->second.peer, a->second.seq) < std::tie(b->second.peer, b->second.seq);
    });
    std::vector<std::string> envelopes;
    for (std::size_t i = 0; i < due.size(); ++i) {
        Pending& p = due[i]->second;
        if (p.attempts > 0) bump(counters_.retried);
        envelopes.push_back(envelope_of(due[i]->first, p));
        ++p.attempts;
        p.next_due = now + retry_delay(p.attempts, initial, cap);
        if (i + 1 == due.size() || due[i + 1]->second.peer != p.peer) {
            send_bundled(p.to, envelopes);
            envelopes.clear();
        }
    }
    arm_retry_timer();
}

std::string Daemon::envelope_of(const std::string& msg_id, const Pending& p) {
    MessageOrderStamp order;
    if (p.seq > 0) {
        const auto& unacked = unacked_[p.peer];
        order = {stream_id_, p.seq, unacked.empty() ? p.seq : *unacked.begin()};
    }
    return encode_message(msg_id, p.text, settings_.name, order);
}

void Daemon::send_bundled(const Endpoint& to, const std::vector<std::string>& envelopes) {
    for (auto& datagram : bundle_envelopes(envelopes)) transport_->send(to, std::move(datagram));
}

void Daemon::forget_pending(const Pending& p) {
    if (p.seq == 0) return;
    const auto it = unacked_.find(p.peer);
    if (it == unacked_.end()) return;
    it->second.erase(p.seq);
    if (it->second.empty()) unacked_.erase(it);
}

// Longer than a sender following our retry settings keeps a gap open.
milliseconds Daemon::hold_limit() const {
    return milliseconds(std::max<std::int64_t>(1'000, 4 * settings_.config.retry_max_ms));
}

void Daemon::arm_hold_timer() {
    if (!running_) return;
    hold_timer_.expires_after(std::min(milliseconds(5000), hold_limit() / 4));
    hold_timer_.async_wait([this](asio::error_code ec) {
        if (!ec) on_hold_tick();
    });
}

void Daemon::on_hold_tick() {
    auto shown = std::make_shared<std::vector<MessageView>>();
    const std::int64_t cutoff = wall_clock_ms() - hold_limit().count();
    StoreOp op;
    op.work = [this, shown, cutoff](Store& store) { release_overdue(store, cutoff, *shown); };
    op.done = [this, shown](bool durable) {
        if (!durable) {
            order_.clear();  // read back from the store
            return;
        }
        if (shown->empty()) return;
        post([this, shown] {
            for (const auto& view : *shown) on_stored(view);
        });
    };
    store_worker_->submit(std::move(op));
    arm_hold_timer();
}

void Daemon::handle(Request request, std::shared_ptr<ReplySink> reply) {
    std::visit(
        [&](auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, SendRequest>) {
                handle_send(std::move(r), reply);
            } else if constexpr (std::is_same_v<T, InboxRequest>) {
                handle_inbox(std::move(r), reply);
            } else if constexpr (std::is_same_v<T, HistoryRequest>) {
                handle_history(std::move(r), reply);
            } else if constexpr (std::is_same_v<T, StatusRequest>) {
                handle_status(reply);
            } else if constexpr (std::is_same_v<T, PeersRequest>) {
                handle_peers(reply);
            } else if constexpr (std::is_same_v<T, TransferRequest>) {
                handle_transfer(std::move(r), reply);
            } else if constexpr (std::is_same_v<T, TransfersRequest>) {
                transfers_->list(reply);
            } else if constexpr (std::is_same_v<T, StallRequest>) {
                handle_stall(r, reply);
            } else {
                transfers_->decide(r, reply);
            }
        },
        request);
}

void Daemon::resolve_peer(const std::string& spec, Resolved done) {
    const std::string target = peer_address(settings_.config, spec);
    HostPort hp;
    try {
        hp = parse_host_port(target);
    } catch (const std::invalid_argument& e) {
        done("invalid peer '" + spec + "': " + e.what() +
                 " (expected HOST:PORT, [IPv6]:PORT, HOST or an alias from the config's peers)",
             {});
        return;
    }
    const Endpoint bound = transport_->local_endpoint();
    // Copied into the resolver callback: it must own what it uses.
    const auto usable = [done, bound](const Endpoint& e, const std::string& shown) {
        if (auto to = for_socket(e, bound)) {
            done("", *to);
        } else {
            done(unreachable_family_reason(e, shown, bound), {});
        }
    };
    if (auto numeric = numeric_endpoint(hp.host, hp.port)) {
        usable(*numeric, target);
        return;
    }
    resolver_.async_resolve(
        hp.host, std::to_string(hp.port), asio::ip::udp::resolver::numeric_service,
        [done, usable, target, bound](asio::error_code ec,
                                      asio::ip::udp::resolver::results_type results) {
            if (ec) {
                done("cannot resolve peer '" + target + "': " + ec.message(), {});
                return;
            }
            // Prefer an address this socket can reach (localhost may list ::1
            // first for an IPv4 socket); else let usable() say why not.
            std::optional<Endpoint> fallback;
            for (const auto& entry : results) {
                Endpoint e;
                std::memcpy(&e.storage, entry.endpoint().data(), entry.endpoint().size());
                e.length = static_cast<socklen_t>(entry.endpoint().size());
                if (e.family() != AF_INET && e.family() != AF_INET6) continue;
                if (for_socket(e, bound)) {
                    usable(e, target);
                    return;
                }
                if (!fallback) fallback = e;
            }
            if (fallback) return usable(*fallback, target);
            done("peer '" + target + "' has no address", {});
        });
}

void Daemon::resolve_or_reject(const std::string& spec, std::shared_ptr<ReplySink> reply,
                               std::function<void(const Endpoint&)> resolved) {
    resolve_peer(spec, [this, reply, resolved](const std::string& error, const Endpoint& endpoint) {
        if (!running_) return;
        if (!error.empty()) {
            reply->send_line(error_reply(codes::bad_peer, error));
            return reply->finish();
        }
        resolved(endpoint);
    });
}

void Daemon::resolve_destination(const std::string& spec, std::shared_ptr<ReplySink> reply,
                                 std::function<void(const Endpoint&)> resolved) {
    resolve_or_reject(spec, reply, [reply, resolved](const Endpoint& to) {
        // Refused before anything is sent: broadcast sending is not a feature.
        if (const auto kind = classify_address(endpoint_host(to));
            kind && *kind != AddressKind::single_host) {
            reply->send_line(error_reply(codes::bad_peer, "cannot send to " + endpoint_key(to) +
                                                              ": not a single host (" +
                                                              describe(*kind) + ")"));
            return reply->finish();
        }
        if (const auto interface =
                broadcast_interface(endpoint_host(to), local_broadcast_addresses())) {
            reply->send_line(error_reply(
                codes::bad_peer, "cannot send to " + endpoint_key(to) + ": not a single host (" +
                                     describe_broadcast_of(*interface) + ")"));
            return reply->finish();
        }
        resolved(to);
    });
}

void Daemon::with_peer_key(const std::string& spec, std::shared_ptr<ReplySink> reply,
                           std::function<void(const std::string& key)> respond) {
    if (spec.empty()) return respond("");
    resolve_or_reject(spec, reply, [respond](const Endpoint& e) { respond(endpoint_key(e)); });
}

void Daemon::handle_send(SendRequest request, std::shared_ptr<ReplySink> reply) {
    const bool batch = !request.texts.empty();  // answered with every id
    if (!batch) request.texts.push_back(std::move(request.text));
    const std::size_t count = request.texts.size();
    // In a batch the bad message is named; nothing of the batch is sent.
    for (std::size_t i = 0; i < count; ++i) {
        std::string why;
        if (request.texts[i].empty()) {
            why = count == 1 ? "empty message" : message_label(i, count) + " is empty";
        } else if (!is_valid_utf8(request.texts[i])) {
            why = (count == 1 ? std::string("the text") : message_label(i, count)) +
                  " is not valid UTF-8";
        }
        if (!why.empty()) {
            reply->send_line(error_reply(codes::bad_request, why + "; nothing was sent"));
            return reply->finish();
        }
    }
    const std::string spec = request.peer;
    resolve_destination(spec, reply,
                        [this, request = std::move(request), batch, reply](const Endpoint& to) {
                            send_resolved(request, batch, to, reply);
                        });
}

void Daemon::send_resolved(SendRequest request, bool batch, const Endpoint& to,
                           std::shared_ptr<ReplySink> reply) {
    const std::string peer = endpoint_key(to);
    const auto mode = peer_modes_.find(peer);
    // A peer that has only ever spoken plain text gets plain text back; one
    // that ever spoke envelopes (a message, an ack, a transfer) gets them.
    const bool plain = request.plain ||
                       (mode != peer_modes_.end() && mode->second.plain && !mode->second.envelope);
    const std::size_t count = request.texts.size();
    const std::int64_t now = wall_clock_ms();
    auto send = std::make_shared<OutgoingSend>();
    send->messages.reserve(count);
    std::uint64_t seq = plain ? 0 : last_seq_[peer];
    const auto unacked = unacked_.find(peer);
    for (std::size_t i = 0; i < count; ++i) {
        std::string& text = request.texts[i];
        const std::string msg_id = plain ? "" : new_message_id();
        if (!plain) ++seq;
        // The floor as it goes out first; a resend's may be higher, but
        // never longer than the seq, which the size check allows for.
        const std::uint64_t floor = unacked == unacked_.end() || unacked->second.empty()
                                        ? seq - i
                                        : *unacked->second.begin();
        std::string datagram =
            plain ? encode_plain(text)
                  : encode_message(msg_id, text, settings_.name, {stream_id_, seq, floor});
        const std::size_t longest =
            datagram.size() +
            (plain ? 0 : std::to_string(seq).size() - std::to_string(floor).size());
        if (longest > settings_.config.max_datagram_bytes) {
            reply->send_line(error_reply(
                codes::too_large, message_label(i, count) + " is " + std::to_string(longest) +
                                      " bytes as a datagram; the limit is " +
                                      std::to_string(settings_.config.max_datagram_bytes) +
                                      " (max_datagram_bytes); nothing was sent"));
            return reply->finish();
        }
        send->datagrams.push_back(std::move(datagram));
        send->messages.push_back({peer, msg_id, std::move(text), plain, now,
                                  now + settings_.config.outbox_ttl_seconds * 1000,
                                  plain ? "sent" : "queued", seq});
    }
    if (!plain) last_seq_[peer] = seq;
    send->to = to;
    send->batch = batch;
    send->wait = request.wait;
    send->timeout_seconds = request.timeout_seconds;
    send->reply = std::move(reply);
    queue_outgoing(std::move(send));
}

// Envelope messages leave while their outbox rows commit, so the peer's
// fsync overlaps ours; the store queue is in order, so the rows exist
// before any ack can mark them delivered. The reply waits for the commit:
// a send is only ever answered ok once it is durable here (and, waiting,
// acked by the peer, which stores before it acks). Plain text has no ack,
// so it leaves only once stored.
void Daemon::queue_outgoing(std::shared_ptr<OutgoingSend> send) {
    StoreOp op;
    op.work = [send](Store& store) { send->rows = store.insert_outgoing_rows(send->messages); };
    op.done = [this, send](bool durable) {
        post([this, send, durable] { on_outgoing_stored(send, durable); });
    };
    store_worker_->submit(std::move(op));
    if (send->messages.front().plain) return;

    const auto first_retry = steady_clock::now() + milliseconds(settings_.config.retry_initial_ms);
    auto& unacked = unacked_[send->messages.front().peer];
    for (const auto& m : send->messages) {
        unacked.insert(m.seq);
        pending_.insert_or_assign(
            m.msg_id, Pending{0, m.peer, send->to, m.text, m.seq, 1, first_retry, m.expires_ms});
    }
    send_bundled(send->to, send->datagrams);
    send->datagrams.clear();
    send->datagrams.shrink_to_fit();
    arm_retry_timer();
    if (send->wait) wait_for_acks(send);
}

void Daemon::on_outgoing_stored(std::shared_ptr<OutgoingSend> send, bool durable) {
    if (!running_) return;
    const bool plain = send->messages.front().plain;
    if (!durable) {
        if (!plain) {
            // Sent once already, but with no outbox row it is not retried.
            for (const auto& m : send->messages) {
                waiters_.erase(m.msg_id);
                acked_early_.erase(m.msg_id);
                const auto it = pending_.find(m.msg_id);
                if (it == pending_.end()) continue;
                forget_pending(it->second);
                pending_.erase(it);
            }
        }
        return settle(*send, error_reply(codes::failed,
                                         plain ? "could not store the message (see the daemon's "
                                                 "log); nothing was sent"
                                               : "could not store the message (see the daemon's "
                                                 "log); it was sent once and is not retried"));
    }
    if (plain) {
        for (auto& datagram : send->datagrams) transport_->send(send->to, std::move(datagram));
        return settle(*send, settled_line(*send, "sent"));
    }
    std::vector<std::int64_t> acked_rows;
    std::int64_t acked_at = 0;
    for (std::size_t i = 0; i < send->messages.size(); ++i) {
        const std::string& id = send->messages[i].msg_id;
        if (const auto it = pending_.find(id); it != pending_.end()) {
            it->second.row = send->rows[i];
        } else if (const auto early = acked_early_.find(id); early != acked_early_.end()) {
            acked_rows.push_back(send->rows[i]);
            acked_at = std::max(acked_at, early->second);
            acked_early_.erase(early);
        }
    }
    mark_delivered(std::move(acked_rows), acked_at);
    send->stored = true;
    if (!send->wait) return settle(*send, settled_line(*send, "queued"));
    if (send->unacked == 0) settle(*send, settled_line(*send, "delivered"));
}

// Answered by on_acks, by expiry, or here when the timeout passes first.
void Daemon::wait_for_acks(std::shared_ptr<OutgoingSend> send) {
    send->unacked = send->messages.size();
    for (const auto& m : send->messages) waiters_.insert_or_assign(m.msg_id, send);
    send->timer = std::make_shared<asio::steady_timer>(io_);
    send->timer->expires_after(
        milliseconds(static_cast<std::int64_t>(send->timeout_seconds * 1000)));
    send->timer->async_wait([this, send](asio::error_code ec) {
        if (ec || send->answered) return;
        for (const auto& m : send->messages) waiters_.erase(m.msg_id);
        const OutgoingMessage& first = send->messages.front();
        const std::size_t count = send->messages.size();
        json failed = {{"ok", false}, {"code", codes::timeout}, {"to", first.peer}};
        if (send->batch) {
            failed["ids"] = json::array();
            for (const auto& m : send->messages) failed["ids"].push_back(m.msg_id);
            failed["delivered"] = count - send->unacked;
        } else {
            failed["id"] = first.msg_id;
            failed["state"] = "queued";
            if (send->stored) add_stored_row(failed, send->rows, first.ts_ms);
        }
        const std::string what =
            send->batch ? std::to_string(send->unacked) + " of " + std::to_string(count) +
                              " messages were not acknowledged by " + first.peer
                        : "no acknowledgement from " + first.peer;
        failed["error"] =
            what + " within " + fmt_seconds(send->timeout_seconds) +
            (send->batch ? "; they stay in the outbox and are retried until "
                         : "; the message stays in the outbox and is retried until ") +
            format_rfc3339(first.expires_ms);
        settle(*send, reply_line(failed));
    });
}

void Daemon::stream_messages(std::shared_ptr<ReplySink> reply, MessageFilter filter,
                             std::int64_t after_id, std::size_t remaining, StreamDone done) {
    if (!running_ || !reply->is_open()) return;
    const auto rows =
        reader_->page(filter, after_id, std::min(remaining, kStreamPageRows), kStreamPageBytes);
    for (const auto& m : rows) reply->send_line(message_line(m));
    const std::int64_t last = rows.empty() ? after_id : rows.back().id;
    // Ends on an empty page: for a follower, that page and going live are
    // one handler, with nothing in between.
    if (rows.empty() || rows.size() == remaining) return done(last);
    reply->on_drained([this, reply, filter = std::move(filter), last, remaining,
                       done = std::move(done), sent = rows.size()]() mutable {
        stream_messages(reply, std::move(filter), last, remaining - sent, std::move(done));
    });
}

void Daemon::handle_inbox(InboxRequest request, std::shared_ptr<ReplySink> reply) {
    with_peer_key(request.peer, reply, [this, request, reply](const std::string& peer) {
        MessageFilter filter{true, peer};
        const std::int64_t start = reader_->before_newest(filter, request.limit);
        if (!request.follow) {
            return stream_messages(reply, filter, start, request.limit, [reply](std::int64_t) {
                reply->send_line(reply_line({{"ok", true}}));
                reply->finish();
            });
        }
        // Following: the backlog, then whatever arrived meanwhile, then live.
        // The last (short) page and going live happen in one handler, and
        // new messages are posted here after their commit, so none is lost
        // between the two and last_id keeps any from showing twice.
        stream_messages(reply, filter, start, kUnlimited, [this, reply, peer](std::int64_t last) {
            followers_.push_back({reply, peer, last});
        });
    });
}

void Daemon::handle_history(HistoryRequest request, std::shared_ptr<ReplySink> reply) {
    with_peer_key(request.peer, reply, [this, request, reply](const std::string& peer) {
        MessageFilter filter{false, peer};
        const std::int64_t start = reader_->before_newest(filter, request.limit);
        stream_messages(reply, filter, start, request.limit, [reply](std::int64_t) {
            reply->send_line(reply_line({{"ok", true}}));
            reply->finish();
        });
    });
}

void Daemon::handle_stall(const StallRequest& request, std::shared_ptr<ReplySink> reply) {
    if (!settings_.test_hooks) {
        reply->send_line(error_reply(codes::bad_request,
                                     "stall is a test hook: start chatd with "
                                     "CHATD_TEST_HOOKS=1 to use it"));
        return reply->finish();
    }
    const auto how_long = std::chrono::milliseconds(static_cast<long>(request.seconds * 1000));
    log_->warn("test hook: stalling the {} loop for {} ms", request.loop, how_long.count());
    if (request.loop == "receiver") {
        transport_->stall_receiver(how_long);
    } else if (request.loop == "sender") {
        transport_->stall_sender(how_long);
    } else if (request.loop == "store") {
        store_worker_->submit({[how_long](Store&) { std::this_thread::sleep_for(how_long); }, {}});
    } else {
        post([how_long] { std::this_thread::sleep_for(how_long); });
    }
    reply->send_line(reply_line({{"ok", true}}));
    reply->finish();
}

std::string Daemon::status_line() const {
    const std::size_t transfers = transfers_ ? transfers_->active() : 0;
    return "listening on " + listen_address() + "; " + std::to_string(peer_modes_.size()) +
           " peers known; " + std::to_string(transfers) + " transfers running; " +
           std::to_string(pending_.size()) + " messages awaiting an ack";
}

void Daemon::arm_service_timer() {
    if (!notifier_.enabled()) return;
    const auto watchdog = settings_.service.watchdog;
    // Twice per watchdog period, as sd_watchdog_enabled(3) advises.
    service_timer_.expires_after(watchdog.count() > 0 ? std::chrono::microseconds(watchdog / 2)
                                                      : std::chrono::microseconds(5'000'000));
    service_timer_.async_wait([this](asio::error_code ec) {
        if (!ec && running_) on_service_tick();
    });
}

void Daemon::on_service_tick() {
    if (settings_.service.watchdog.count() > 0) {
        // The control loop answers by running this; the others by the
        // probes of the last tick having come back.
        const auto probes = transport_->probes_received();
        const auto store_beats = store_beats_.load();
        std::string stuck;
        if (probes_out_ && probes == probes_seen_) stuck = "the UDP receiver or sender";
        if (probes_out_ && store_beats == store_beats_seen_)
            stuck += (stuck.empty() ? "" : " and ") + std::string("the store");
        if (stuck.empty()) {
            notifier_.notify("WATCHDOG=1");
            if (std::exchange(watchdog_withheld_, false))
                log_->info("every loop answers again; watchdog pings resumed");
        } else if (!std::exchange(watchdog_withheld_, true)) {
            log_->error("{} stopped answering; withholding the watchdog ping", stuck);
        }
        probes_seen_ = probes;
        store_beats_seen_ = store_beats;
        transport_->send_probe();
        store_worker_->submit({[](Store&) {}, [this](bool) { store_beats_.fetch_add(1); }});
        probes_out_ = true;
    }
    if (auto status = status_line(); status != last_status_) {
        last_status_ = std::move(status);
        notifier_.notify("STATUS=" + last_status_);
    }
    arm_service_timer();
}

void Daemon::reload() {
    notifier_.notify("RELOADING=1");
    Config fresh;
    try {
        if (!settings_.load_config) throw ConfigError("no configuration to reload");
        fresh = settings_.load_config();
    } catch (const ConfigError& e) {
        log_->error("reload refused, the running configuration stays: {}", e.what());
        notifier_.notify("READY=1");
        return;
    }
    Config& running = settings_.config;
    std::vector<std::string> changed, need_restart;
    // What the sockets, the store and the workers were built with stays.
    const auto keep = [&](auto& fresh_value, const auto& running_value, const char* key) {
        if (fresh_value == running_value) return;
        need_restart.emplace_back(key);
        fresh_value = running_value;
    };
    keep(fresh.listen, running.listen, "listen");
    keep(fresh.socket, running.socket, "socket");
    keep(fresh.socket_group, running.socket_group, "socket_group");
    keep(fresh.state_dir, running.state_dir, "state_dir");
    keep(fresh.name, running.name, "name");
    keep(fresh.max_datagram_bytes, running.max_datagram_bytes, "max_datagram_bytes");
    keep(fresh.transfer.workers, running.transfer.workers, "transfer.workers");
    const json before = json::parse(config_to_json(running));
    const json after = json::parse(config_to_json(fresh));
    for (const auto& [key, value] : after.items()) {
        if (key == "transfer") {
            for (const auto& [sub, v] : value.items()) {
                if (before["transfer"][sub] != v) changed.push_back("transfer." + sub);
            }
        } else if (before[key] != value) {
            changed.push_back(key);
        }
    }
    running = std::move(fresh);
    log_->set_level(spdlog::level::from_str(running.log_level));
    const auto joined = [](const std::vector<std::string>& keys) {
        std::string out;
        for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
        return out;
    };
    log_->info("configuration reloaded; changed: {}",
               changed.empty() ? "nothing" : joined(changed));
    if (!need_restart.empty()) log_->warn("not changed until a restart: {}", joined(need_restart));
    last_status_ = status_line();
    notifier_.notify("READY=1\nSTATUS=" + last_status_);
}

void Daemon::handle_status(std::shared_ptr<ReplySink> reply) {
    const auto load = [](const std::atomic<std::uint64_t>& c) {
        return c.load(std::memory_order_relaxed);
    };
    const json counters = {{"received", load(counters_.received)},
                           {"sent", load(counters_.sent)},
                           {"acked", load(counters_.acked)},
                           {"retried", load(counters_.retried)},
                           {"duplicates", load(counters_.duplicates)},
                           {"dropped_malformed", load(counters_.dropped_malformed)},
                           {"dropped_oversize", load(counters_.dropped_oversize)},
                           {"unknown_acks", load(counters_.unknown_acks)},
                           {"expired", load(counters_.expired)},
                           {"send_errors", load(counters_.send_errors)},
                           {"store_errors", load(counters_.store_errors)},
                           {"store_commits", load(counters_.store_commits)}};
    const auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(steady_clock::now() - started_);
    reply->send_line(
        reply_line({{"ok", true},
                    {"version", CHAT_VERSION},
                    {"name", settings_.name},
                    {"listen", listen_address()},
                    {"socket", settings_.socket_path},
                    {"state_dir", settings_.state_dir},
                    {"uptime_seconds", uptime.count()},
                    {"outbox", pending_.size()},
                    {"followers", (prune_followers(), followers_.size())},
                    {"workers", workers_json()},
                    {"transfers", transfers_ ? transfers_->active() : 0},
                    {"heap_bytes", heap_bytes_in_use()},
                    {"store_cache_bytes", store_worker_->cache_bytes() + reader_->cache_bytes()},
                    {"counters", counters}}));
    reply->finish();
}

nlohmann::json Daemon::workers_json() const {
    if (!workers_) return nullptr;
    return {{"pids", workers_->pids()},
            {"busy", workers_->busy()},
            {"queued", workers_->queued()},
            {"restarts", workers_->restarts()}};
}

void Daemon::handle_peers(std::shared_ptr<ReplySink> reply) {
    json peers = json::array();
    for (const auto& p : reader_->peers()) {
        json entry = {
            {"address", p.address},
            {"last_seen", format_rfc3339(p.last_seen_ms)},
            {"speaks", p.speaks_envelope ? (p.speaks_plain ? "both" : "chatd") : "plain"}};
        if (!p.name.empty()) entry["name"] = p.name;
        peers.push_back(std::move(entry));
    }
    reply->send_line(
        reply_line({{"ok", true}, {"aliases", settings_.config.peers}, {"peers", peers}}));
    reply->finish();
}

}  // namespace chat
