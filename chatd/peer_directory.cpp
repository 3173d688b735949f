#include "peer_directory.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include "address.hpp"
#include "clock.hpp"
#include "device_id.hpp"
#include "peer_keys.hpp"
#include "store_worker.hpp"
#include "text.hpp"
#include "udp_transport.hpp"

namespace chat {
namespace {

// The endpoint of a resolver entry.
Endpoint endpoint_of(const asio::ip::udp::endpoint& entry) {
    Endpoint e;
    std::memcpy(&e.storage, entry.data(), entry.size());
    e.length = static_cast<socklen_t>(entry.size());
    return e;
}

}  // namespace

PeerDirectory::PeerDirectory(asio::io_context& io, const Config& config)
    : config_(config), resolver_(io) {}

void PeerDirectory::load(const std::vector<PeerRow>& peers) {
    for (const auto& peer : peers) modes_[peer.address] = {peer.speaks_envelope, peer.speaks_plain};
}

void PeerDirectory::start(const UdpTransport& transport, StoreWorker& store) {
    transport_ = &transport;
    store_ = &store;
}

void PeerDirectory::stop() {
    resolver_.cancel();
    transport_ = nullptr;
    store_ = nullptr;
}

void PeerDirectory::note_envelope(const std::string& peer) {
    auto& mode = modes_[peer];
    if (mode.envelope || !store_) return;
    mode.envelope = true;
    StoreOp op;
    op.work = [peer, seen = wall_clock_ms()](Store& store) {
        store.touch_peer(peer, "", true, false, seen);
    };
    op.done = [](bool) {};
    store_->submit(std::move(op));
}

void PeerDirectory::note_message(const std::string& peer, bool plain) {
    auto& mode = modes_[peer];
    (plain ? mode.plain : mode.envelope) = true;
}

bool PeerDirectory::plain_only(const std::string& peer) const {
    const auto mode = modes_.find(peer);
    return mode != modes_.end() && mode->second.plain_only();
}

void PeerDirectory::resolve(const std::string& spec, Resolved done) {
    const std::string target = peer_address(config_, spec);
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
                const Endpoint e = endpoint_of(entry.endpoint());
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

void PeerDirectory::resolve_or_reject(const std::string& spec, std::shared_ptr<ReplySink> reply,
                                      Found found) {
    resolve(spec, [this, reply, found](const std::string& error, const Endpoint& endpoint) {
        if (!transport_) return;  // stopped meanwhile
        if (!error.empty()) {
            reply->send_line(error_reply(codes::bad_peer, error));
            return reply->finish();
        }
        found(endpoint);
    });
}

void PeerDirectory::resolve_destination(const std::string& spec, std::shared_ptr<ReplySink> reply,
                                        Found found) {
    resolve_or_reject(spec, reply, [reply, found](const Endpoint& to) {
        // Refused before anything is sent: broadcast sending is not a feature.
        const auto refuse = [&](const std::string& why) {
            reply->send_line(error_reply(codes::bad_peer, "cannot send to " + endpoint_key(to) +
                                                              ": not a single host (" + why + ")"));
            reply->finish();
        };
        if (const auto kind = classify_address(endpoint_host(to));
            kind && *kind != AddressKind::single_host) {
            return refuse(describe(*kind));
        }
        if (const auto interface =
                broadcast_interface(endpoint_host(to), local_broadcast_addresses())) {
            return refuse(describe_broadcast_of(*interface));
        }
        found(to);
    });
}

void PeerDirectory::with_peer_key(const std::string& spec, std::shared_ptr<ReplySink> reply,
                                  std::function<void(const std::string& key)> respond) {
    if (spec.empty()) return respond("");
    resolve_or_reject(spec, reply, [respond](const Endpoint& e) { respond(endpoint_key(e)); });
}

std::string PeerDirectory::peers_line(const std::vector<PeerRow>& rows,
                                      const PeerKeys& keys) const {
    using nlohmann::json;
    json peers = json::array();
    const auto add_trust = [&keys](json& entry, const std::string& peer) {
        if (const Pin* pin = keys.pin(peer)) entry["fingerprint"] = short_device_id(pin->digest);
        entry["trust"] = peer_standing_name(keys.standing(peer));
    };
    std::unordered_set<std::string> listed;
    for (const auto& p : rows) {
        json entry = {{"address", p.address},
                      {"last_seen", format_rfc3339(p.last_seen_ms)},
                      {"speaks", to_string(PeerModes{p.speaks_envelope, p.speaks_plain}.speech())}};
        if (!p.name.empty()) entry["name"] = p.name;
        add_trust(entry, p.address);
        listed.insert(p.address);
        peers.push_back(std::move(entry));
    }
    // Pinned (with `trust`) before first contact: known by its key alone.
    std::vector<std::string> pinned_only;
    for (const auto& [peer, pin] : keys.pins()->pins())
        if (!listed.contains(peer)) pinned_only.push_back(peer);
    std::sort(pinned_only.begin(), pinned_only.end());
    for (const auto& peer : pinned_only) {
        json entry = {{"address", peer}};
        add_trust(entry, peer);
        peers.push_back(std::move(entry));
    }
    return reply_line({{"ok", true}, {"aliases", config_.peers}, {"peers", peers}});
}

}  // namespace chat
