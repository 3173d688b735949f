#include "intake.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <asio/post.hpp>

#include "clock.hpp"
#include "envelope.hpp"
#include "inbound.hpp"
#include "outbox.hpp"
#include "peer_directory.hpp"
#include "peer_keys.hpp"
#include "sealed_wire.hpp"
#include "session_table.hpp"
#include "text.hpp"
#include "transfers.hpp"

namespace chat {

Intake::Intake(asio::io_context& io, std::size_t receive_buffer_bytes, Counters& counters,
               Inbound& inbound, Outbox& outbox, PeerDirectory& peers, TransferManager& transfers,
               SessionTable& sessions, const PeerKeys& keys, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      receive_buffer_bytes_(receive_buffer_bytes),
      counters_(counters),
      inbound_(inbound),
      outbox_(outbox),
      peers_(peers),
      transfers_(transfers),
      sessions_(sessions),
      keys_(keys),
      log_(std::move(log)) {}

Intake::Arrived& Intake::arrived_from(const Endpoint& from, const std::string& peer) {
    auto arrived = std::find_if(arrived_.begin(), arrived_.end(),
                                [&](const Arrived& a) { return a.peer == peer; });
    if (arrived == arrived_.end()) arrived = arrived_.insert(arrived_.end(), {from, peer, {}, {}});
    return *arrived;
}

void Intake::on_datagram(std::string_view bytes, const Endpoint& from, bool truncated) {
    const std::string peer = endpoint_key(from);
    if (truncated) {
        bump(counters_.dropped_oversize);
        log_->debug("dropped a datagram from {}: larger than the {}-byte receive buffer", peer,
                    receive_buffer_bytes_);
        return;
    }
    if (crypto::is_sealed_packet(bytes)) {
        if (const auto inner = sessions_.on_packet(bytes, from, peer))
            route(*inner, from, peer, true);
        return;
    }
    if (admit_unsealed(bytes, peer)) route(bytes, from, peer, false);
}

bool Intake::admit_unsealed(std::string_view bytes, const std::string& peer) {
    if (trim(bytes).starts_with('{')) {
        // Dropped like any datagram we do not accept, and counted for why.
        bump(counters_.dropped_malformed);
        bump(counters_.refused_unsealed);
        if (told_too_old_.insert(peer).second) {
            log_->warn(
                "refused an unsealed envelope from {}: an older chatd speaking wire 1 (or "
                "something pretending to be one); it must be upgraded to talk to this one",
                peer);
        }
        return false;
    }
    if (sessions_.pinned(peer)) {
        bump(counters_.refused_downgrade);
        log_->debug("refused plain text from {}: it has a pinned key, so it seals", peer);
        return false;
    }
    if (keys_.pins()->plain_peers() == PlainPeers::deny) {
        bump(counters_.refused_plain);
        return false;
    }
    return true;
}

void Intake::route(std::string_view bytes, const Endpoint& from, const std::string& peer,
                   bool sealed) {
    Arrived& arrived = arrived_from(from, peer);
    // A transfer envelope: the peer speaks envelopes, on the control thread.
    const auto to_transfers = [&](auto handle) {
        asio::post(io_, [this, peer, handle = std::move(handle)] {
            peers_.note_envelope(peer);
            handle();
        });
    };
    for (DecodedDatagram& d : decode_datagrams(bytes)) {
        // Only plain text comes in clear; only envelopes come sealed.
        if (!sealed && d.kind != DatagramKind::plain) {
            // Dropped like any datagram we do not accept, and counted for why.
            bump(counters_.dropped_malformed);
            bump(counters_.refused_unsealed);
            continue;
        }
        if (sealed && d.kind == DatagramKind::plain) {
            d.kind = DatagramKind::malformed;
            d.error = "plain text inside a sealed packet";
        }
        switch (d.kind) {
            case DatagramKind::malformed:
                bump(counters_.dropped_malformed);
                log_->debug("dropped a {}-byte datagram from {}: {}", bytes.size(), peer, d.error);
                break;
            case DatagramKind::ack:
                arrived.acked.push_back(std::move(d.id));
                break;
            case DatagramKind::offer:
                to_transfers([this, from, d = std::move(d)] {
                    transfers_.on_offer(from, d.id, d.offer, d.name);
                });
                break;
            case DatagramKind::answer:
                to_transfers(
                    [this, from, d = std::move(d)] { transfers_.on_answer(from, d.id, d.answer); });
                break;
            case DatagramKind::cancel:
                to_transfers(
                    [this, from, d = std::move(d)] { transfers_.on_cancel(from, d.id, d.text); });
                break;
            case DatagramKind::plain:
                arrived.messages.push_back(
                    {peer, "", "", std::move(d.text), true, wall_clock_ms(), "", 0, 0});
                break;
            case DatagramKind::message:
                arrived.messages.push_back({peer, std::move(d.name), std::move(d.id),
                                            std::move(d.text), false, wall_clock_ms(),
                                            std::move(d.order.stream), d.order.seq, d.order.floor});
                break;
        }
    }
}

void Intake::on_batch_end() {
    for (Arrived& a : arrived_) {
        if (!a.acked.empty()) {
            asio::post(io_, [this, peer = a.peer, acked = std::move(a.acked)] {
                outbox_.on_acks(peer, acked);
            });
        }
        if (!a.messages.empty()) inbound_.store(std::move(a.messages), a.from);
    }
    arrived_.clear();
}

}  // namespace chat
