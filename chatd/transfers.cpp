#include "transfers.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "address.hpp"
#include "random_seed.hpp"

namespace chat {
namespace {

using nlohmann::json;
using Clock = TransferClock;

}  // namespace

TransferManager::TransferManager(TransferContext context)
    : ctx_(std::move(context)),
      random_(seeded_engine()),
      sender_(ctx_, registry_, random_),
      receiver_(ctx_, registry_, random_) {}

TransferManager::~TransferManager() { stop(); }

void TransferManager::start(const Endpoint& listen) {
    listen_ = listen;
    receiver_.start(listen);
}

void TransferManager::stop() {
    if (stopped_) return;
    stopped_ = true;
    receiver_.stop();
    sender_.stop();
}

void TransferManager::begin_outgoing(const TransferRequest& request, const Endpoint& to,
                                     OwnedFds fds, std::shared_ptr<ReplySink> reply) {
    sender_.begin(request, to, std::move(fds), std::move(reply));
}

void TransferManager::on_offer(const Endpoint& from, const std::string& id,
                               const TransferOffer& offer, const std::string& name) {
    receiver_.on_offer(from, id, offer, name);
}

void TransferManager::on_answer(const Endpoint& from, const std::string& id,
                                const TransferAnswer& answer) {
    sender_.on_answer(from, id, answer);
}

void TransferManager::on_cancel(const Endpoint& from, const std::string& id,
                                const std::string& reason) {
    receiver_.on_cancel(from, id, reason);
}

std::size_t TransferManager::active() const { return registry_.active(); }

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
        registry_.next_number =
            std::max(registry_.next_number, static_cast<std::uint64_t>(row.number) + 1);
        const auto endpoint = endpoint_of(row.peer);
        try {
            // Anything but "out" was read as incoming, as before.
            const bool out = direction_from_string(row.direction) == TransferDirection::out;
            const bool usable = endpoint && (!out || row.manifest) &&
                                (out ? sender_.restore(row, *endpoint, resumable)
                                     : receiver_.restore(row, *endpoint, resumable));
            if (!usable)
                ctx_.log->warn("transfer {}: its stored state is unusable; left out", row.number);
        } catch (const std::exception& e) {  // json or manifest errors: a damaged row
            ctx_.log->warn("transfer {}: its stored state is unusable ({}); left out", row.number,
                           e.what());
            registry_.outgoing.erase(static_cast<std::uint64_t>(row.number));
            registry_.incoming.erase(static_cast<std::uint64_t>(row.number));
        }
    }
    if (resumable > 0)
        ctx_.log->info("{} unfinished transfers taken back from the store", resumable);
    registry_.forget_old();
}

void TransferManager::list(std::shared_ptr<ReplySink> reply) {
    receiver_.expire_offers();
    const auto now = Clock::now();
    for (const auto& [n, t] : registry_.outgoing) {
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
    for (const auto& [n, t] : registry_.incoming) {
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
    receiver_.expire_offers();
    const auto fail = [&](const std::string& why) {
        reply->send_line(error_reply(codes::failed, why));
        reply->finish();
    };
    std::string unnamed;
    const std::uint64_t number = registry_.named(request, unnamed);
    if (number == 0) return fail(unnamed);
    if (auto in = registry_.incoming.find(number); in != registry_.incoming.end()) {
        IncomingTransfer& t = *in->second;
        if (request.action == DecideAction::accept) {
            if (t.state != IncomingState::offered)
                return fail("transfer " + std::to_string(t.number) + " is " +
                            std::string(to_string(t.state)) + ", not waiting for an answer");
            if (!request.to.empty() && request.to.front() != '/') {
                reply->send_line(error_reply(codes::bad_request, "--to needs an absolute path"));
                return reply->finish();
            }
            return receiver_.accept_offer(t, request.to, reply);
        }
        if (t.state != IncomingState::offered && !is_active(t.state)) {
            return fail("transfer " + std::to_string(t.number) + " is " +
                        std::string(to_string(t.state)) + " already");
        }
        if (request.action == DecideAction::reject && t.state != IncomingState::offered) {
            return fail("transfer " + std::to_string(t.number) + " is " +
                        std::string(to_string(t.state)) + ": use cancel");
        }
        if (request.action == DecideAction::reject) {
            receiver_.reject(t);
        } else {
            receiver_.cancel(t);
        }
        reply->send_line(
            reply_line({{"ok", true}, {"id", t.number}, {"state", to_string(t.state)}}));
        return reply->finish();
    }
    if (auto out = registry_.outgoing.find(number); out != registry_.outgoing.end()) {
        OutgoingTransfer& t = *out->second;
        if (request.action != DecideAction::cancel)
            return fail("transfer " + std::to_string(t.number) +
                        " is one we send: only cancel applies");
        if (is_finished(t.state)) {
            return fail("transfer " + std::to_string(t.number) + " is " +
                        std::string(to_string(t.state)) + " already");
        }
        sender_.cancel(t);
        reply->send_line(reply_line(
            {{"ok", true}, {"id", t.number}, {"state", to_string(OutgoingState::cancelled)}}));
        return reply->finish();
    }
    fail("no transfer " + std::to_string(number));
}

}  // namespace chat
