#pragma once
// Who the peers are: the config's aliases, turning a peer spec into an
// endpoint (DNS through Asio's resolver), which wire each peer speaks
// (envelopes, plain text or both) and, through the store, when it was last
// seen; `peers` shows each with its key's trust (chatd/peer_keys.hpp).
// Control thread only (the io_context's thread).
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "control_server.hpp"
#include "net.hpp"
#include "peer_modes.hpp"
#include "store.hpp"

namespace chat {

class PeerKeys;
class StoreWorker;
class UdpTransport;

class PeerDirectory {
public:
    using Resolved = std::function<void(const std::string& error, const Endpoint& endpoint)>;
    using Found = std::function<void(const Endpoint& endpoint)>;

    // `config` is the running one (a reload changes its aliases in place).
    PeerDirectory(asio::io_context& io, const Config& config);

    // What the store knew at start.
    void load(const std::vector<PeerRow>& peers);
    // Resolution needs the bound socket (its family); marking a peer
    // needs the store. Until then (and after stop) answers are dropped.
    void start(const UdpTransport& transport, StoreWorker& store);
    void stop();

    // A peer that sent an envelope (message, ack, transfer) speaks them,
    // even if it never sent us a message: remembered in the store, so a
    // later plain datagram does not make it a plain peer, here or after a
    // restart.
    void note_envelope(const std::string& peer);
    // A stored message from the peer shows what it speaks.
    void note_message(const std::string& peer, bool plain);
    // A peer that has only ever spoken plain text gets plain text back.
    bool plain_only(const std::string& peer) const;
    std::size_t size() const { return modes_.size(); }

    // A spec (alias, HOST:PORT, [IPv6]:PORT, HOST) to an endpoint this
    // socket can reach, or an error saying why not.
    void resolve(const std::string& spec, Resolved done);
    // As resolve, but a bad peer is answered (bad_peer) here.
    void resolve_or_reject(const std::string& spec, std::shared_ptr<ReplySink> reply, Found found);
    // As resolve_or_reject, for a destination: also refuses what is not a
    // single host (unspecified, broadcast, multicast).
    void resolve_destination(const std::string& spec, std::shared_ptr<ReplySink> reply,
                             Found found);
    // An optional peer filter as its key ("" for none).
    void with_peer_key(const std::string& spec, std::shared_ptr<ReplySink> reply,
                       std::function<void(const std::string& key)> respond);

    // The `peers` reply: the aliases and every peer the store knows or a
    // key is pinned for, each with its key's short fingerprint and trust.
    std::string peers_line(const std::vector<PeerRow>& peers, const PeerKeys& keys) const;

private:
    const Config& config_;
    asio::ip::udp::resolver resolver_;
    const UdpTransport* transport_ = nullptr;
    StoreWorker* store_ = nullptr;
    std::unordered_map<std::string, PeerModes> modes_;
};

}  // namespace chat
