#include "intake.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <asio/post.hpp>

#include "clock.hpp"
#include "envelope.hpp"
#include "inbound.hpp"
#include "outbox.hpp"
#include "peer_directory.hpp"
#include "transfers.hpp"

namespace chat {

Intake::Intake(asio::io_context& io, std::size_t receive_buffer_bytes, Counters& counters,
               Inbound& inbound, Outbox& outbox, PeerDirectory& peers, TransferManager& transfers,
               std::shared_ptr<spdlog::logger> log)
    : io_(io),
      receive_buffer_bytes_(receive_buffer_bytes),
      counters_(counters),
      inbound_(inbound),
      outbox_(outbox),
      peers_(peers),
      transfers_(transfers),
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
    Arrived& arrived = arrived_from(from, peer);
    // A transfer envelope: the peer speaks envelopes, on the control thread.
    const auto to_transfers = [&](auto handle) {
        asio::post(io_, [this, peer, handle = std::move(handle)] {
            peers_.note_envelope(peer);
            handle();
        });
    };
    for (DecodedDatagram& d : decode_datagrams(bytes)) {
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
