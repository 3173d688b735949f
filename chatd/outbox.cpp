#include "outbox.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <asio/post.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "clock.hpp"
#include "enum_names.hpp"
#include "envelope.hpp"
#include "handshaker.hpp"
#include "peer_directory.hpp"
#include "peer_keys.hpp"
#include "random_seed.hpp"
#include "store_worker.hpp"
#include "text.hpp"
#include "udp_transport.hpp"

namespace chat {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

std::string fmt_seconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", seconds);
    return text;
}

// The reply to `send` once it is settled: delivered, queued or sent (plain).
json send_reply(const std::string& id, const std::string& to, const char* state, bool plain) {
    return {{"ok", true}, {"id", id}, {"to", to}, {"state", state}, {"plain", plain}};
}

// A single message's local id (as inbox and history show it) and time, so
// `chat --json` can print the message it sent.
void add_stored_row(json& reply, const std::vector<std::int64_t>& rows, std::int64_t ts_ms) {
    if (rows.empty()) return;
    reply["row"] = rows.front();
    reply["ts"] = format_rfc3339(ts_ms);
}

}  // namespace

std::string message_label(std::size_t i, std::size_t count) {
    if (count == 1) return "the message";
    return "message " + std::to_string(i + 1) + " of " + std::to_string(count);
}

namespace {
constexpr std::pair<SendState, std::string_view> kSendStateNames[] = {
    {SendState::queued, "queued"}, {SendState::delivered, "delivered"}, {SendState::sent, "sent"}};
}  // namespace

// The names are literals, so the view's data is a C string.
const char* to_string(SendState state) { return name_in(kSendStateNames, state, "queued").data(); }

// A send request (one text, or a batch of `texts` to one peer) on its way
// through the store to the wire. Envelope messages leave while their
// outbox rows commit; the reply waits for both the commit and, with
// `wait`, every ack.
struct Outbox::OutgoingSend {
    std::vector<OutgoingMessage> messages;
    std::vector<std::int64_t> rows;  // set by the store thread before `done`
    Endpoint to;
    std::vector<std::string> datagrams;  // as first sent (plain: once stored)
    bool batch = false;                  // reply with every id
    bool wait = false;
    double timeout_seconds = 0;
    std::shared_ptr<ReplySink> reply;
    // Control thread only.
    bool stored = false;
    bool answered = false;
    std::size_t unacked = 0;
    std::shared_ptr<asio::steady_timer> timer;

    bool plain() const { return messages.front().plain; }
    std::string settled_line(SendState state) const;
    std::string timed_out_line() const;
};

// A batch's reply is written directly, as json writes it (keys sorted):
// a document of a hundred ids, dumped, was a twentieth of the control
// thread under load.
std::string Outbox::OutgoingSend::settled_line(SendState settled) const {
    const char* state = to_string(settled);
    const OutgoingMessage& first = messages.front();
    if (!batch) {
        json reply = send_reply(first.msg_id, first.peer, state, first.plain);
        add_stored_row(reply, rows, first.ts_ms);
        return reply_line(reply);
    }
    std::string line = R"({"ids":[)";
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (i > 0) line += ',';
        append_json_string(line, messages[i].msg_id);
    }
    line += first.plain ? R"(],"ok":true,"plain":true,"state":)"
                        : R"(],"ok":true,"plain":false,"state":)";
    append_json_string(line, state);
    line += R"(,"to":)";
    append_json_string(line, first.peer);
    line += "}\n";
    return line;
}

std::string Outbox::OutgoingSend::timed_out_line() const {
    const OutgoingMessage& first = messages.front();
    const std::size_t count = messages.size();
    json failed = {{"ok", false}, {"code", codes::timeout}, {"to", first.peer}};
    if (batch) {
        failed["ids"] = json::array();
        for (const auto& m : messages) failed["ids"].push_back(m.msg_id);
        failed["delivered"] = count - unacked;
    } else {
        failed["id"] = first.msg_id;
        failed["state"] = to_string(SendState::queued);
        if (stored) add_stored_row(failed, rows, first.ts_ms);
    }
    const std::string what = batch ? std::to_string(unacked) + " of " + std::to_string(count) +
                                         " messages were not acknowledged by " + first.peer
                                   : "no acknowledgement from " + first.peer;
    failed["error"] = what + " within " + fmt_seconds(timeout_seconds) +
                      (batch ? "; they stay in the outbox and are retried until "
                             : "; the message stays in the outbox and is retried until ") +
                      format_rfc3339(first.expires_ms);
    return reply_line(failed);
}

Outbox::Outbox(asio::io_context& io, const Config& config, const std::string& name,
               Counters& counters, PeerDirectory& peers, PeerKeys& keys, Handshaker& handshaker,
               std::shared_ptr<spdlog::logger> log)
    : io_(io),
      config_(config),
      name_(name),
      counters_(counters),
      peers_(peers),
      keys_(keys),
      handshaker_(handshaker),
      log_(std::move(log)),
      retry_timer_(io),
      random_(seeded_engine()) {}

Outbox::~Outbox() = default;

RetrySchedule Outbox::schedule() const {
    return {milliseconds(config_.retry_initial_ms), milliseconds(config_.retry_max_ms)};
}

void Outbox::restore(Store& reader, const UdpTransport& transport,
                     const std::string& listen_address) {
    stream_id_ = reader.stream_id();
    last_seq_ = reader.last_sequences();
    const auto now = steady_clock::now();
    for (const auto& row : reader.pending()) {
        const HostPort hp = parse_host_port(row.peer);
        const auto numeric = numeric_endpoint(hp.host, hp.port);
        const auto to = numeric ? for_socket(*numeric, transport.local_endpoint()) : std::nullopt;
        if (!to) {
            log_->warn("outbox message {} to {} cannot be sent from {}; left queued", row.id,
                       row.peer, listen_address);
            continue;
        }
        pending_[row.msg_id] = {row.id, row.peer, *to, row.text, row.seq, 0, now, row.expires_ms};
        if (row.seq > 0) unacked_[row.peer].insert(row.seq);
    }
}

void Outbox::start(UdpTransport& transport, StoreWorker& store) {
    transport_ = &transport;
    store_ = &store;
    running_ = true;
    arm_retry_timer();
}

void Outbox::stop() {
    running_ = false;
    retry_timer_.cancel();
    for (auto& [id, send] : waiters_) {
        if (send->timer) send->timer->cancel();
    }
    waiters_.clear();
}

// The time in milliseconds, then 80 random bits: ids from one sender sort
// roughly by time, so the receiver's index of seen ids grows at its end
// (a commit touches a few pages, not one per message) and the random part
// still cannot be guessed.
std::string Outbox::new_message_id() {
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

Outbox::Built Outbox::build(const OutgoingSend& send, std::size_t i, std::uint64_t floor) const {
    const OutgoingMessage& m = send.messages[i];
    Built built;
    built.datagram = m.plain ? encode_plain(m.text)
                             : encode_message(m.msg_id, m.text, name_, {stream_id_, m.seq, floor});
    // The floor as it goes out first; a resend's may be higher, but never
    // longer than the seq, which the size check allows for.
    const std::size_t longest =
        built.datagram.size() +
        (m.plain ? 0 : std::to_string(m.seq).size() - std::to_string(floor).size());
    if (longest > config_.max_datagram_bytes) {
        built.error = message_label(i, send.messages.size()) + " is " + std::to_string(longest) +
                      " bytes as a datagram; the limit is " +
                      std::to_string(config_.max_datagram_bytes) +
                      " (max_datagram_bytes); nothing was sent";
    }
    return built;
}

void Outbox::send(SendRequest request, bool batch, const Endpoint& to,
                  std::shared_ptr<ReplySink> reply) {
    const std::string peer = endpoint_key(to);
    // A peer that has only ever spoken plain text (and has no pinned key)
    // gets plain text back; one that ever spoke envelopes gets them, sealed.
    const bool plain =
        request.plain || (peers_.plain_only(peer) && keys_.pins()->find(peer) == nullptr);
    const std::size_t count = request.texts.size();
    const std::int64_t now = wall_clock_ms();
    auto send = std::make_shared<OutgoingSend>();
    send->messages.reserve(count);
    std::uint64_t seq = plain ? 0 : last_seq_[peer];
    const auto unacked = unacked_.find(peer);
    const SendState state = plain ? SendState::sent : SendState::queued;
    for (std::size_t i = 0; i < count; ++i) {
        if (!plain) ++seq;
        const std::uint64_t floor = unacked == unacked_.end() || unacked->second.empty()
                                        ? seq - i
                                        : *unacked->second.begin();
        send->messages.push_back({peer, plain ? "" : new_message_id(), std::move(request.texts[i]),
                                  plain, now, now + config_.outbox_ttl_seconds * 1000,
                                  to_string(state), seq});
        Built built = build(*send, i, floor);
        if (!built.error.empty()) {
            reply->send_line(error_reply(codes::too_large, built.error));
            return reply->finish();
        }
        send->datagrams.push_back(std::move(built.datagram));
    }
    if (!plain) last_seq_[peer] = seq;
    send->to = to;
    send->batch = batch;
    send->wait = request.wait;
    send->timeout_seconds = request.timeout_seconds;
    send->reply = std::move(reply);
    queue(std::move(send));
}

// Envelope messages leave while their outbox rows commit, so the peer's
// fsync overlaps ours; the store queue is in order, so the rows exist
// before any ack can mark them delivered. The reply waits for the commit:
// a send is only ever answered ok once it is durable here (and, waiting,
// acked by the peer, which stores before it acks). Plain text has no ack,
// so it leaves only once stored.
void Outbox::queue(std::shared_ptr<OutgoingSend> send) {
    StoreOp op;
    op.work = [send](Store& store) { send->rows = store.insert_outgoing_rows(send->messages); };
    op.done = [this, send](bool durable) {
        asio::post(io_, [this, send, durable] { on_stored(send, durable); });
    };
    store_->submit(std::move(op));
    if (send->plain()) return;

    const std::string& peer = send->messages.front().peer;
    // Without a session they wait, due at once, for the retry tick to find one.
    const bool sending = can_seal(send->to, peer);
    const auto now = steady_clock::now();
    const auto first_retry = sending ? schedule().first_due(now) : now;
    const unsigned attempts = sending ? RetrySchedule::kFirstAttempt : 0;
    auto& unacked = unacked_[peer];
    for (const auto& m : send->messages) {
        unacked.insert(m.seq);
        pending_.insert_or_assign(m.msg_id, Pending{0, m.peer, send->to, m.text, m.seq, attempts,
                                                    first_retry, m.expires_ms});
    }
    if (sending) send_bundled(send->to, send->datagrams);
    send->datagrams.clear();
    send->datagrams.shrink_to_fit();
    arm_retry_timer();
    if (send->wait) wait_for_acks(send);
}

void Outbox::on_stored(std::shared_ptr<OutgoingSend> send, bool durable) {
    if (!running_) return;
    const bool plain = send->plain();
    if (!durable) {
        if (!plain) drop_unstored(*send);
        return settle(*send, error_reply(codes::failed,
                                         plain ? "could not store the message (see the daemon's "
                                                 "log); nothing was sent"
                                               : "could not store the message (see the daemon's "
                                                 "log); it was sent once and is not retried"));
    }
    if (plain) {
        for (auto& datagram : send->datagrams)
            transport_->send(send->to, std::move(datagram), Wire::raw);
        return settle(*send, send->settled_line(SendState::sent));
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
    if (!send->wait) return settle(*send, send->settled_line(SendState::queued));
    if (send->unacked == 0) settle(*send, send->settled_line(SendState::delivered));
}

// Sent once already, but with no outbox row it is not retried.
void Outbox::drop_unstored(const OutgoingSend& send) {
    for (const auto& m : send.messages) {
        waiters_.erase(m.msg_id);
        acked_early_.erase(m.msg_id);
        const auto it = pending_.find(m.msg_id);
        if (it == pending_.end()) continue;
        forget(it->second);
        pending_.erase(it);
    }
}

// Answered by on_acks, by expiry, or here when the timeout passes first.
void Outbox::wait_for_acks(std::shared_ptr<OutgoingSend> send) {
    send->unacked = send->messages.size();
    for (const auto& m : send->messages) waiters_.insert_or_assign(m.msg_id, send);
    send->timer = std::make_shared<asio::steady_timer>(io_);
    send->timer->expires_after(
        milliseconds(static_cast<std::int64_t>(send->timeout_seconds * 1000)));
    send->timer->async_wait([this, send](asio::error_code ec) {
        if (ec || send->answered) return;
        for (const auto& m : send->messages) waiters_.erase(m.msg_id);
        settle(*send, send->timed_out_line());
    });
}

void Outbox::settle(OutgoingSend& send, const std::string& line) {
    if (send.answered) return;
    send.answered = true;
    if (send.timer) send.timer->cancel();
    send.reply->send_line(line);
    send.reply->finish();
}

void Outbox::fail_waiter(const std::string& msg_id, const std::string& line) {
    const auto it = waiters_.find(msg_id);
    if (it == waiters_.end()) return;
    settle(*it->second, line);
    waiters_.erase(it);
}

void Outbox::ack_waiter(const std::string& msg_id) {
    const auto waiter = waiters_.find(msg_id);
    if (waiter == waiters_.end()) return;
    auto send = std::move(waiter->second);
    waiters_.erase(waiter);
    if (--send->unacked == 0 && send->stored) {
        settle(*send, send->settled_line(SendState::delivered));
    }
}

void Outbox::on_acks(const std::string& peer, const std::vector<std::string>& msg_ids) {
    const std::int64_t acked_at = wall_clock_ms();
    // Marked delivered by row; an ack that beat the outbox commit waits for
    // its row in acked_early_ (on_stored marks it).
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
        forget(it->second);
        if (it->second.row > 0) {
            rows.push_back(it->second.row);
        } else {
            acked_early_.insert_or_assign(msg_id, acked_at);
        }
        pending_.erase(it);
        ack_waiter(msg_id);
    }
    if (!any) return;
    peers_.note_envelope(peer);
    on_link_heard(peer);
    mark_delivered(std::move(rows), acked_at);
}

void Outbox::on_link_heard(const std::string& peer) {
    const auto now = steady_clock::now();
    const RetrySchedule retry = schedule();
    auto [heard, first] = last_ack_.try_emplace(peer, now);
    const std::optional<steady_clock::time_point> previous =
        first ? std::nullopt : std::optional(heard->second);
    if (retry.link_back(previous, now)) {
        for (auto& [id, p] : pending_) {
            if (p.peer != peer || !retry.bring_forward(p.next_due, now)) continue;
            p.next_due = now;
            p.attempts = RetrySchedule::kFirstAttempt;
        }
    }
    heard->second = now;
}

void Outbox::mark_delivered(std::vector<std::int64_t> rows, std::int64_t acked_at) {
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
    store_->submit(std::move(op));
}

void Outbox::arm_retry_timer() {
    if (retry_timer_armed_ || pending_.empty() || !running_) return;
    retry_timer_armed_ = true;
    retry_timer_.expires_after(schedule().tick());
    retry_timer_.async_wait([this](asio::error_code ec) {
        retry_timer_armed_ = false;
        if (!ec) on_retry_tick();
    });
}

std::vector<std::pair<const std::string, Outbox::Pending>*> Outbox::expire_and_collect_due() {
    const auto now = steady_clock::now();
    const std::int64_t wall_now = wall_clock_ms();
    std::vector<std::pair<const std::string, Pending>*> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
        Pending& p = it->second;
        if (RetrySchedule::expired(wall_now, p.expires_ms)) {
            bump(counters_.expired);
            log_->info("message to {} expired unacknowledged after {} attempts", p.peer,
                       p.attempts);
            const auto row = p.row;
            store_->submit({[row](Store& s) { s.mark_expired(row); }, {}});
            fail_waiter(it->first, error_reply(codes::failed, "the message to " + p.peer +
                                                                  " expired unacknowledged"));
            forget(p);
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
    return due;
}

void Outbox::on_session_up(const std::string& peer) {
    const auto now = steady_clock::now();
    bool any = false;
    for (auto& [id, p] : pending_) {
        if (p.peer != peer) continue;
        p.next_due = std::min(p.next_due, now);
        any = true;
    }
    if (any && running_) on_retry_tick();
}

bool Outbox::can_seal(const Endpoint& to, const std::string& peer) {
    if (keys_.held(peer)) return false;
    return handshaker_.ready(to, peer);
}

void Outbox::on_retry_tick() {
    const auto now = steady_clock::now();
    const RetrySchedule retry = schedule();
    const auto due = expire_and_collect_due();
    std::vector<std::string> envelopes;
    // Whether the peer of the run being gathered can be sealed for.
    std::optional<bool> sealable;
    for (std::size_t i = 0; i < due.size(); ++i) {
        Pending& p = due[i]->second;
        const bool last_of_peer = i + 1 == due.size() || due[i + 1]->second.peer != p.peer;
        if (!sealable) sealable = can_seal(p.to, p.peer);
        // Without a session the attempt is the handshake it asked for: the
        // message keeps its schedule and goes once the session is up.
        if (p.attempts > 0) {
            bump(counters_.retried);
            if (*sealable) handshaker_.renew(p.to, p.peer);
        }
        if (*sealable) envelopes.push_back(envelope_of(due[i]->first, p));
        ++p.attempts;
        p.next_due = retry.next_due(now, p.attempts);
        if (last_of_peer) {
            if (!envelopes.empty()) send_bundled(p.to, envelopes);
            envelopes.clear();
            sealable.reset();
        }
    }
    arm_retry_timer();
}

std::string Outbox::envelope_of(const std::string& msg_id, const Pending& p) {
    MessageOrderStamp order;
    if (p.seq > 0) {
        const auto& unacked = unacked_[p.peer];
        order = {stream_id_, p.seq, unacked.empty() ? p.seq : *unacked.begin()};
    }
    return encode_message(msg_id, p.text, name_, order);
}

void Outbox::send_bundled(const Endpoint& to, const std::vector<std::string>& envelopes) {
    for (auto& datagram : bundle_envelopes(envelopes)) transport_->send(to, std::move(datagram));
}

void Outbox::forget(const Pending& p) {
    if (p.seq == 0) return;
    const auto it = unacked_.find(p.peer);
    if (it == unacked_.end()) return;
    it->second.erase(p.seq);
    if (it->second.empty()) unacked_.erase(it);
}

}  // namespace chat
