#pragma once
// The receiver's side of the UDP socket: decodes each datagram and routes
// what it carries. Messages go to Inbound (stored in one operation per
// sender and burst); acks and transfer envelopes are posted to the control
// thread, for the outbox, the peer directory and the transfer manager.
// Its state (the burst being gathered) is the RECEIVER thread's only.
#include <asio/io_context.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "counters.hpp"
#include "net.hpp"
#include "store.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class Inbound;
class Outbox;
class PeerDirectory;
class TransferManager;

class Intake {
public:
    Intake(asio::io_context& io, std::size_t receive_buffer_bytes, Counters& counters,
           Inbound& inbound, Outbox& outbox, PeerDirectory& peers, TransferManager& transfers,
           std::shared_ptr<spdlog::logger> log);

    // UdpTransport's handlers, on the receiver thread.
    void on_datagram(std::string_view bytes, const Endpoint& from, bool truncated);
    // What the datagrams that arrived together carry, by sender, is handed
    // on once at the batch's end: one store operation per sender, one pass
    // over its acks.
    void on_batch_end();

private:
    struct Arrived {
        Endpoint from;
        std::string peer;
        std::vector<IncomingMessage> messages;
        std::vector<std::string> acked;
    };
    Arrived& arrived_from(const Endpoint& from, const std::string& peer);

    asio::io_context& io_;
    const std::size_t receive_buffer_bytes_;
    Counters& counters_;
    Inbound& inbound_;
    Outbox& outbox_;
    PeerDirectory& peers_;
    TransferManager& transfers_;
    std::shared_ptr<spdlog::logger> log_;
    std::vector<Arrived> arrived_;
};

}  // namespace chat
