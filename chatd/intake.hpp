#pragma once
// The receiver's side of the UDP socket: decodes each datagram and routes
// what it carries. Messages go to Inbound (stored in one operation per
// sender and burst); acks and transfer envelopes are posted to the control
// thread, for the outbox, the peer directory and the transfer manager.
// A sealed packet goes to the SessionTable, and a data packet's inner
// datagram is routed as above; a JSON envelope in clear is refused (an
// older chatd), and plain text is shown only from peers with no pinned key
// (unless security.plain_peers is deny).
// Its state (the burst being gathered, the peers told they are too old)
// is the RECEIVER thread's only.
#include <asio/io_context.hpp>
#include <memory>
#include <set>
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
class PeerKeys;
class SessionTable;
class TransferManager;

class Intake {
public:
    Intake(asio::io_context& io, std::size_t receive_buffer_bytes, Counters& counters,
           Inbound& inbound, Outbox& outbox, PeerDirectory& peers, TransferManager& transfers,
           SessionTable& sessions, const PeerKeys& keys, std::shared_ptr<spdlog::logger> log);

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
    // Whether a datagram that came in clear may be shown (plain text only).
    bool admit_unsealed(std::string_view bytes, const std::string& peer);
    // The envelopes (sealed) or plain text (unsealed) a datagram carries.
    void route(std::string_view bytes, const Endpoint& from, const std::string& peer, bool sealed);

    asio::io_context& io_;
    const std::size_t receive_buffer_bytes_;
    Counters& counters_;
    Inbound& inbound_;
    Outbox& outbox_;
    PeerDirectory& peers_;
    TransferManager& transfers_;
    SessionTable& sessions_;
    const PeerKeys& keys_;
    std::shared_ptr<spdlog::logger> log_;
    std::vector<Arrived> arrived_;
    std::set<std::string> told_too_old_;  // peers logged once as speaking wire 1
};

}  // namespace chat
