#pragma once
// What chatd knows of each peer's long-term key, and the one decision made
// from it when a handshake proves a key: a pure table, no I/O. The control
// thread builds a PinTable (PeerKeys) and publishes it, read-only, to the
// receiver thread, which asks it about every finished handshake.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chat {

using KeyBytes = std::array<std::uint8_t, 32>;
// SHA-256 of a public key: what a fingerprint (device ID) is made from.
using KeyDigest = std::array<std::uint8_t, 32>;

enum class Trust { unverified, verified };
std::string_view trust_name(Trust trust);
std::optional<Trust> trust_named(std::string_view name);

// security.accept_new_peers: pin a first key seen (trust on first use), or
// take only verified keys: pinned with `chatcli trust` or confirmed with
// `chatcli verify` (a key pinned on first use before is not accepted).
enum class AcceptNewPeers { tofu, verified };
std::string_view accept_new_peers_name(AcceptNewPeers policy);
std::optional<AcceptNewPeers> accept_new_peers_named(std::string_view name);

// security.plain_peers: show plain-text datagrams (unauthenticated) or drop them.
enum class PlainPeers { allow, deny };
std::string_view plain_peers_name(PlainPeers policy);
std::optional<PlainPeers> plain_peers_named(std::string_view name);

// What a proven key means for the peer (by its address key) it came from.
enum class KeyVerdict {
    known,        // the pinned key: a session may start
    new_peer,     // no pin and first use is allowed: pin it, then talk
    changed,      // another key is pinned for this peer: refused, held
    not_trusted,  // no verified pin, and only verified keys are accepted: refused
};
std::string_view key_verdict_name(KeyVerdict verdict);

struct Pin {
    KeyDigest digest{};                  // of the pinned key
    std::optional<KeyBytes> public_key;  // unknown for a key pinned by fingerprint only
    Trust trust = Trust::unverified;
    std::optional<KeyDigest> changed_to;  // the other key last offered, if one was
};

class PinTable {
public:
    PinTable() = default;
    PinTable(AcceptNewPeers accept, PlainPeers plain) : accept_(accept), plain_(plain) {}

    void pin(const std::string& peer, Pin pin) { pins_[peer] = std::move(pin); }
    const Pin* find(const std::string& peer) const;
    // The pinned peer whose key this is, if any (a peer that moved).
    const std::string* peer_of(const KeyDigest& digest) const;

    KeyVerdict verdict(const std::string& peer, const KeyDigest& digest) const;
    // Whether this pin is not enough under the policy: an unverified pin
    // when only verified keys are accepted.
    bool refuses(const Pin& pin) const;
    AcceptNewPeers accept_new_peers() const { return accept_; }
    PlainPeers plain_peers() const { return plain_; }
    std::size_t size() const { return pins_.size(); }
    const std::unordered_map<std::string, Pin>& pins() const { return pins_; }

private:
    AcceptNewPeers accept_ = AcceptNewPeers::tofu;
    PlainPeers plain_ = PlainPeers::allow;
    std::unordered_map<std::string, Pin> pins_;
};

// Why a `verify` confirmation is refused. `given` is the safety number the
// user was shown (empty for --yes), `now` the number of the key offered now.
enum class ConfirmCheck {
    ok,
    number_changed,    // the key changed since the number was shown
    needs_comparison,  // --yes over a changed key: its fingerprint must be compared
};
ConfirmCheck check_confirm(std::string_view given, std::string_view now, bool key_changed);

}  // namespace chat
